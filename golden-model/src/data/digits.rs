//! Reader for the UCI/sklearn 8×8 handwritten digits, `digits.csv.gz`.
//!
//! The file (from the scikit-learn wheel, `sklearn/datasets/data/digits.csv.gz`) is gzip
//! of 1797 lines without a header, each 65 comma-separated integers: 64 pixels of an 8×8
//! image, row-major, each in `0..=16`, then the label `0..=9`. It is the test set of UCI
//! "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak 1998, CC BY 4.0); a
//! copy is committed at `golden-model/tests/data/digits.csv.gz` (see the README there).

use std::io::Read;
use std::path::Path;

use crate::error::DataError;

/// Path of the committed digits fixture.
pub const DIGITS_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/digits.csv.gz");

/// Pixels of a digits image (8×8).
pub const DIGITS_PIXELS: usize = 64;
/// Largest pixel value of the digits data set.
pub const DIGITS_PIXEL_MAX: u8 = 16;
/// Classes of the digits data set.
pub const DIGITS_CLASSES: usize = 10;
/// Rows of the digits CSV.
pub const DIGITS_ROWS: usize = 1797;

/// Hint of a [`DataError::NotFound`] for the digits CSV.
pub(crate) const DIGITS_HINT: &str = "the digits CSV is committed at \
     golden-model/tests/data/digits.csv.gz: restore it with git checkout, or fetch it as \
     golden-model/tests/data/README.md describes";

/// Upper bound on the decompressed size (the real file is 264,712 bytes).
const MAX_DECOMPRESSED: u64 = 16 << 20;

/// Reads a gzipped digits CSV: returns `(images, labels)`, the images `rows × 64` bytes,
/// row-major. Checks the field count, that every field is a decimal integer, pixels
/// `<= 16` and labels `< 10`. It does not check the row count (see [`super::load`]).
pub fn read_digits_csv_gz(path: &Path) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let gz = super::idx::read_file(path, DIGITS_HINT)?;
    let mut csv = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut csv)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    if csv.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_DECOMPRESSED,
        });
    }
    parse_digits_csv(path, &csv)
}

/// Parses the decompressed digits CSV; `path` only names the file in errors. Lines end in
/// `\n` (a `\r` before it is accepted); the final newline is optional.
pub fn parse_digits_csv(path: &Path, csv: &[u8]) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let csv = csv.strip_suffix(b"\n").unwrap_or(csv);
    let mut images = Vec::new();
    let mut labels = Vec::new();
    if csv.is_empty() {
        return Ok((images, labels));
    }
    for (i, line) in csv.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let found = if line.is_empty() {
            0
        } else {
            line.iter().filter(|&&b| b == b',').count() + 1
        };
        if found != DIGITS_PIXELS + 1 {
            return Err(DataError::CsvFieldCount {
                path: path.to_path_buf(),
                line: line_no,
                expected: DIGITS_PIXELS + 1,
                found,
            });
        }
        for (j, text) in line.split(|&b| b == b',').enumerate() {
            let field = j + 1;
            let value = parse_uint(text).ok_or_else(|| DataError::CsvNotInteger {
                path: path.to_path_buf(),
                line: line_no,
                field,
                text: String::from_utf8_lossy(text).into_owned(),
            })?;
            if j < DIGITS_PIXELS {
                match u8::try_from(value) {
                    Ok(v) if v <= DIGITS_PIXEL_MAX => images.push(v),
                    _ => {
                        return Err(DataError::CsvPixelOutOfRange {
                            path: path.to_path_buf(),
                            line: line_no,
                            field,
                            value,
                            max: DIGITS_PIXEL_MAX,
                        })
                    }
                }
            } else {
                match u8::try_from(value) {
                    Ok(v) if usize::from(v) < DIGITS_CLASSES => labels.push(v),
                    _ => {
                        return Err(DataError::CsvLabelOutOfRange {
                            path: path.to_path_buf(),
                            line: line_no,
                            field,
                            value,
                            classes: DIGITS_CLASSES,
                        })
                    }
                }
            }
        }
    }
    Ok((images, labels))
}

/// A non-empty run of ASCII digits; a value too big for `u64` saturates to `u64::MAX`
/// (it is out of range all the same).
fn parse_uint(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}
