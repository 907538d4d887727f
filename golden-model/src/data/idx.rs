//! Reader for the IDX format of MNIST and Fashion-MNIST.
//!
//! An IDX file is a big-endian `u32` magic number (`0x00000803` for a 3-D `u8` tensor of
//! images, `0x00000801` for a 1-D `u8` tensor of labels), one big-endian `u32` per
//! dimension, then the `u8` data, row-major. The readers check the magic, that the file
//! holds exactly the bytes the header declares (no less, no more), and for labels that
//! each label is below the number of classes.

use std::path::Path;

use crate::error::DataError;

/// Magic number of an IDX file of `u8` images (3 dimensions: count, rows, columns).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels (1 dimension: count).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Header size of an IDX image file: magic + 3 dimensions.
const IMAGES_HEADER: usize = 16;
/// Header size of an IDX label file: magic + 1 dimension.
const LABELS_HEADER: usize = 8;

/// Hint of a [`DataError::NotFound`] for the IDX data sets.
pub(crate) const FETCH_HINT: &str =
    "run scripts/fetch-data to download MNIST and Fashion-MNIST into data/";

/// Reads a whole file, mapping a missing file to [`DataError::NotFound`] with `hint`.
pub(crate) fn read_file(path: &Path, hint: &'static str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::NotFound {
                path: path.to_path_buf(),
                hint,
            }
        } else {
            DataError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Reads an IDX image file: returns `(pixels, n, rows, cols)`, the pixels `n × rows × cols`
/// bytes, row-major, image after image.
pub fn read_idx_images(path: &Path) -> Result<(Vec<u8>, usize, usize, usize), DataError> {
    let bytes = read_file(path, FETCH_HINT)?;
    parse_idx_images(path, &bytes)
}

/// Reads an IDX label file and checks every label is `< classes`.
pub fn read_idx_labels(path: &Path, classes: usize) -> Result<Vec<u8>, DataError> {
    let bytes = read_file(path, FETCH_HINT)?;
    parse_idx_labels(path, &bytes, classes)
}

/// Parses the bytes of an IDX image file; `path` only names the file in errors.
pub fn parse_idx_images(
    path: &Path,
    bytes: &[u8],
) -> Result<(Vec<u8>, usize, usize, usize), DataError> {
    let header = header(path, bytes, IDX_IMAGES_MAGIC, "images", IMAGES_HEADER)?;
    let (n, rows, cols) = (header[0], header[1], header[2]);
    if rows == 0 || cols == 0 {
        return Err(DataError::BadDims {
            path: path.to_path_buf(),
            offset: 8,
            detail: format!("images of {rows}×{cols} pixels are empty"),
        });
    }
    let data_len = u64::from(n)
        .checked_mul(u64::from(rows))
        .and_then(|x| x.checked_mul(u64::from(cols)))
        .ok_or_else(|| DataError::BadDims {
            path: path.to_path_buf(),
            offset: 4,
            detail: format!(
                "{n} images of {rows}×{cols} pixels are more bytes than fit in 64 bits"
            ),
        })?;
    let data = body(
        path,
        bytes,
        IMAGES_HEADER,
        data_len,
        "pixel bytes after the header",
    )?;
    // `body` has checked that data_len equals a slice length, so these fit in usize.
    let to_usize = |x: u32| usize::try_from(x).unwrap_or(usize::MAX);
    Ok((data.to_vec(), to_usize(n), to_usize(rows), to_usize(cols)))
}

/// Parses the bytes of an IDX label file and checks every label is `< classes`; `path`
/// only names the file in errors.
pub fn parse_idx_labels(path: &Path, bytes: &[u8], classes: usize) -> Result<Vec<u8>, DataError> {
    let header = header(path, bytes, IDX_LABELS_MAGIC, "labels", LABELS_HEADER)?;
    let data = body(
        path,
        bytes,
        LABELS_HEADER,
        u64::from(header[0]),
        "label bytes after the header",
    )?;
    if let Some(i) = data.iter().position(|&l| usize::from(l) >= classes) {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            offset: (LABELS_HEADER + i) as u64,
            label: data[i],
            classes,
        });
    }
    Ok(data.to_vec())
}

/// Checks the magic and returns the dimensions of a header of `header_len` bytes.
fn header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    what: &'static str,
    header_len: usize,
) -> Result<Vec<u32>, DataError> {
    let be = |i: usize| -> Option<u32> {
        let word: [u8; 4] = bytes.get(i..i + 4)?.try_into().ok()?;
        Some(u32::from_be_bytes(word))
    };
    // A file too short for the magic cannot be judged by it: call it truncated.
    let found = be(0).ok_or_else(|| truncated_header(path, bytes, header_len))?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
            what,
        });
    }
    (4..header_len)
        .step_by(4)
        .map(|i| be(i).ok_or_else(|| truncated_header(path, bytes, header_len)))
        .collect()
}

fn truncated_header(path: &Path, bytes: &[u8], header_len: usize) -> DataError {
    DataError::Truncated {
        path: path.to_path_buf(),
        offset: 0,
        expected: header_len as u64,
        found: bytes.len() as u64,
        what: "header bytes",
    }
}

/// Returns the `data_len` bytes after the header, which must end the file exactly.
fn body<'a>(
    path: &Path,
    bytes: &'a [u8],
    header_len: usize,
    data_len: u64,
    what: &'static str,
) -> Result<&'a [u8], DataError> {
    let rest = bytes.get(header_len..).unwrap_or_default();
    let found = rest.len() as u64;
    if found < data_len {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            offset: header_len as u64,
            expected: data_len,
            found,
            what,
        });
    }
    if found > data_len {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            offset: header_len as u64 + data_len,
            extra: found - data_len,
        });
    }
    Ok(rest)
}
