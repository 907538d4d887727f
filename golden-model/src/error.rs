//! errors

/// An error from the data loaders in [`crate::data`].
///
/// Every message names the file (and the byte offset in an IDX file, or the line in a
/// CSV file) and ends with what to do about it. File content never causes a panic: any
/// malformed input maps to one of these variants.
///
/// This enum is self-contained (no `use` items in this module) so that other error
/// enums can live beside it in `error.rs`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error("{}: not found; {hint}", .path.display())]
    NotFound {
        path: std::path::PathBuf,
        /// What to do, e.g. "run scripts/fetch-data ...".
        hint: &'static str,
    },

    /// The file exists but could not be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The first four bytes are not the expected IDX magic number.
    #[error(
        "{}: bad magic at byte 0: expected {expected:#010x} (IDX {what}), found {found:#010x}; \
         this is not an IDX {what} file, re-run scripts/fetch-data",
        .path.display()
    )]
    BadMagic {
        path: std::path::PathBuf,
        expected: u32,
        found: u32,
        /// "images" or "labels".
        what: &'static str,
    },

    /// The file ends before the header, or before the data the header declares.
    #[error(
        "{}: truncated at byte {offset}: expected {expected} {what}, found {found}; \
         re-run scripts/fetch-data",
        .path.display()
    )]
    Truncated {
        path: std::path::PathBuf,
        /// Where the incomplete section (header or data) starts.
        offset: u64,
        expected: u64,
        found: u64,
        /// e.g. "header bytes", "pixel bytes after the header".
        what: &'static str,
    },

    /// The file is longer than its header declares.
    #[error(
        "{}: {extra} unexpected bytes at byte {offset}, past the end of the data the header \
         declares; the file is corrupt, re-run scripts/fetch-data",
        .path.display()
    )]
    TrailingBytes {
        path: std::path::PathBuf,
        offset: u64,
        extra: u64,
    },

    /// The dimensions in the header are impossible or not the ones expected.
    #[error("{}: bad dimensions at byte {offset}: {detail}; re-run scripts/fetch-data", .path.display())]
    BadDims {
        path: std::path::PathBuf,
        offset: u64,
        detail: String,
    },

    /// An image file and its label file disagree on the number of samples.
    #[error(
        "{}: {labels} labels, but {} has {images} images; both files must come from the same \
         data set, re-run scripts/fetch-data",
        .labels_path.display(),
        .images_path.display()
    )]
    CountMismatch {
        images_path: std::path::PathBuf,
        images: usize,
        labels_path: std::path::PathBuf,
        labels: usize,
    },

    /// An IDX label is not below the number of classes.
    #[error(
        "{}: label {label} at byte {offset} is out of range for {classes} classes; \
         the file is corrupt or not this data set, re-run scripts/fetch-data",
        .path.display()
    )]
    LabelOutOfRange {
        path: std::path::PathBuf,
        offset: u64,
        label: u8,
        classes: usize,
    },

    /// The gzip stream is corrupt or not gzip at all.
    #[error(
        "{}: not a valid gzip file: {source}; restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    Gzip {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The decompressed CSV is implausibly large.
    #[error(
        "{}: decompresses to more than {limit} bytes, far more than the digits CSV; \
         restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    TooLarge {
        path: std::path::PathBuf,
        limit: u64,
    },

    /// A CSV line does not have the expected number of comma-separated fields.
    #[error(
        "{}: line {line}: expected {expected} comma-separated fields, found {found}; \
         the file is corrupt, restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    CsvFieldCount {
        path: std::path::PathBuf,
        line: usize,
        expected: usize,
        found: usize,
    },

    /// A CSV field is not a non-negative decimal integer.
    #[error(
        "{}: line {line}: field {field} is not a non-negative integer: {text:?}; \
         the file is corrupt, restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    CsvNotInteger {
        path: std::path::PathBuf,
        line: usize,
        /// 1-based field number.
        field: usize,
        text: String,
    },

    /// A CSV pixel value is above the data set's maximum.
    #[error(
        "{}: line {line}: field {field}: pixel value {value} is above the maximum {max}; \
         the file is corrupt, restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    CsvPixelOutOfRange {
        path: std::path::PathBuf,
        line: usize,
        field: usize,
        value: u64,
        max: u8,
    },

    /// A CSV label is not below the number of classes.
    #[error(
        "{}: line {line}: field {field}: label {value} is out of range for {classes} classes; \
         the file is corrupt, restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    CsvLabelOutOfRange {
        path: std::path::PathBuf,
        line: usize,
        field: usize,
        value: u64,
        classes: usize,
    },

    /// The CSV has a different number of rows than the data set has.
    #[error(
        "{}: expected {expected} rows, found {found}; the file is not the UCI/sklearn digits \
         CSV, restore it (see golden-model/tests/data/README.md)",
        .path.display()
    )]
    CsvRowCount {
        path: std::path::PathBuf,
        expected: usize,
        found: usize,
    },

    /// A data set name that [`crate::data::DatasetKind`] does not know.
    #[error("unknown data set {name:?}: expected one of digits, mnist, fashion-mnist")]
    UnknownDataset { name: String },
}
