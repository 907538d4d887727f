//! Data loaders: MNIST and Fashion-MNIST (IDX files) and the UCI/sklearn 8×8 digits (CSV).
//!
//! # Where the data lives
//!
//! * **MNIST / Fashion-MNIST**: the four raw IDX files of each in `<data_dir>/mnist/` and
//!   `<data_dir>/fashion-mnist/` (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//!   `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`). `scripts/fetch-data [DIR]` puts
//!   them there (default `data/` at the workspace root, git-ignored) from the npm and
//!   Debian registries and verifies their sha256s.
//! * **Digits**: `<data_dir>/digits.csv.gz` if it exists, otherwise the committed fixture
//!   [`DIGITS_FIXTURE`] (`golden-model/tests/data/digits.csv.gz`). So digits always loads,
//!   offline and without `scripts/fetch-data`.
//!
//! [`default_data_dir`] is `$LLS_DATA_DIR` when set, else `<workspace>/data`.
//!
//! # Splits
//!
//! MNIST and Fashion-MNIST come with their own train (60,000) and test (10,000) sets. The
//! digits CSV is one set of 1797 samples; it is split deterministically, without
//! shuffling: the first [`DIGITS_TRAIN`] = 1437 rows are train, the last 360 are test
//! (about 80/20).
//!
//! # Validation
//!
//! Every reader validates its input fully (magic, header, sizes, value ranges, field
//! counts) and returns a [`DataError`] that names the file, the byte offset or CSV line,
//! and what to do. No file content makes a loader panic.

pub mod digits;
pub mod idx;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use crate::error::DataError;
pub use digits::{
    parse_digits_csv, read_digits_csv_gz, DIGITS_CLASSES, DIGITS_FIXTURE, DIGITS_PIXELS,
    DIGITS_PIXEL_MAX, DIGITS_ROWS,
};
pub use idx::{
    parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels, IDX_IMAGES_MAGIC,
    IDX_LABELS_MAGIC,
};

/// Rows of the digits CSV that form the train split (the rest, 360, are the test split).
pub const DIGITS_TRAIN: usize = 1437;

/// Side of an MNIST / Fashion-MNIST image (28×28).
pub const MNIST_SIDE: usize = 28;

/// Environment variable that overrides the data directory in [`default_data_dir`].
pub const DATA_DIR_ENV: &str = "LLS_DATA_DIR";

/// `$LLS_DATA_DIR` when set (and not empty), else `data/` at the workspace root (where
/// `scripts/fetch-data` puts the data by default).
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            crate_dir.parent().unwrap_or(crate_dir).join("data")
        }
    }
}

/// Samples of one split: `len()` images of `pixels` bytes each, and their labels.
#[derive(Clone, PartialEq, Eq)]
pub struct Split {
    /// `len() × pixels` bytes, row-major, image after image.
    pub images: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
    /// Pixels per image (`width × height`).
    pub pixels: usize,
}

impl Split {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of sample `i`. Panics when `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * self.pixels..(i + 1) * self.pixels]
    }

    /// The label of sample `i`. Panics when `i >= len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// A copy of the first `n` samples (all of them when `n >= len()`).
    pub fn take(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images[..n * self.pixels].to_vec(),
            labels: self.labels[..n].to_vec(),
            pixels: self.pixels,
        }
    }

    /// The samples in order, as `(image, label)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], u8)> + '_ {
        (0..self.len()).map(move |i| (self.image(i), self.label(i)))
    }
}

impl fmt::Debug for Split {
    /// A summary: the pixel data of a real split is megabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Split")
            .field("len", &self.len())
            .field("pixels", &self.pixels)
            .finish_non_exhaustive()
    }
}

/// A data set: its geometry and its train and test splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// "digits", "mnist" or "fashion-mnist".
    pub name: String,
    pub width: usize,
    pub height: usize,
    pub classes: usize,
    /// Largest pixel value: 255 for MNIST and Fashion-MNIST, 16 for digits.
    pub pixel_max: u8,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Pixels per image (`width × height`).
    pub fn pixels(&self) -> usize {
        self.width * self.height
    }
}

/// Which data set to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// UCI/sklearn 8×8 digits, 1797 samples, pixels 0..=16 (committed fixture).
    Digits,
    /// MNIST, 28×28, 60,000 train + 10,000 test.
    Mnist,
    /// Fashion-MNIST, 28×28, 60,000 train + 10,000 test.
    FashionMnist,
}

impl DatasetKind {
    /// All kinds, in a fixed order.
    pub const ALL: [DatasetKind; 3] = [
        DatasetKind::Digits,
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
    ];

    /// The name used on the command line, in configs and as the directory under the data
    /// directory: "digits", "mnist", "fashion-mnist".
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Digits => "digits",
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// Number of classes (10 for all three).
    pub fn classes(self) -> usize {
        10
    }

    /// Largest pixel value: 16 for digits, 255 otherwise.
    pub fn pixel_max(self) -> u8 {
        match self {
            DatasetKind::Digits => DIGITS_PIXEL_MAX,
            DatasetKind::Mnist | DatasetKind::FashionMnist => u8::MAX,
        }
    }

    /// Image side in pixels: 8 for digits, 28 otherwise.
    pub fn side(self) -> usize {
        match self {
            DatasetKind::Digits => 8,
            DatasetKind::Mnist | DatasetKind::FashionMnist => MNIST_SIDE,
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| DataError::UnknownDataset { name: s.to_owned() })
    }
}

/// Loads a data set from `data_dir` (see the module docs for the layout).
pub fn load(kind: DatasetKind, data_dir: &Path) -> Result<Dataset, DataError> {
    let (train, test) = match kind {
        DatasetKind::Digits => load_digits(data_dir)?,
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            let dir = data_dir.join(kind.name());
            (
                load_idx_split(&dir, "train", kind.classes())?,
                load_idx_split(&dir, "t10k", kind.classes())?,
            )
        }
    };
    Ok(Dataset {
        name: kind.name().to_owned(),
        width: kind.side(),
        height: kind.side(),
        classes: kind.classes(),
        pixel_max: kind.pixel_max(),
        train,
        test,
    })
}

/// The digits CSV to load: `<data_dir>/digits.csv.gz` if it exists, else the fixture.
pub fn digits_path(data_dir: &Path) -> PathBuf {
    let local = data_dir.join("digits.csv.gz");
    if local.exists() {
        local
    } else {
        PathBuf::from(DIGITS_FIXTURE)
    }
}

fn load_digits(data_dir: &Path) -> Result<(Split, Split), DataError> {
    let path = digits_path(data_dir);
    let (images, labels) = read_digits_csv_gz(&path)?;
    if labels.len() != DIGITS_ROWS {
        return Err(DataError::CsvRowCount {
            path,
            expected: DIGITS_ROWS,
            found: labels.len(),
        });
    }
    let all = Split {
        images,
        labels,
        pixels: DIGITS_PIXELS,
    };
    let train = all.take(DIGITS_TRAIN);
    let test = Split {
        images: all.images[DIGITS_TRAIN * DIGITS_PIXELS..].to_vec(),
        labels: all.labels[DIGITS_TRAIN..].to_vec(),
        pixels: DIGITS_PIXELS,
    };
    Ok((train, test))
}

/// Loads `<dir>/<prefix>-{images-idx3,labels-idx1}-ubyte`: 28×28 images, at least one,
/// and as many labels as images.
fn load_idx_split(dir: &Path, prefix: &str, classes: usize) -> Result<Split, DataError> {
    let images_path = dir.join(format!("{prefix}-images-idx3-ubyte"));
    let labels_path = dir.join(format!("{prefix}-labels-idx1-ubyte"));
    let labels = read_idx_labels(&labels_path, classes)?;
    let (images, n, rows, cols) = read_idx_images(&images_path)?;
    if (rows, cols) != (MNIST_SIDE, MNIST_SIDE) {
        return Err(DataError::BadDims {
            path: images_path,
            offset: 8,
            detail: format!("expected {MNIST_SIDE}×{MNIST_SIDE} images, found {rows}×{cols}"),
        });
    }
    if n == 0 {
        return Err(DataError::BadDims {
            path: images_path,
            offset: 4,
            detail: "the file holds no images".to_owned(),
        });
    }
    if labels.len() != n {
        return Err(DataError::CountMismatch {
            images_path,
            images: n,
            labels_path,
            labels: labels.len(),
        });
    }
    Ok(Split {
        images,
        labels,
        pixels: rows * cols,
    })
}
