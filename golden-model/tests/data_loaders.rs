//! Tests of the data loaders (`golden_model::data`).
//!
//! The digits tests use the committed fixture `tests/data/digits.csv.gz` and need nothing
//! else. The IDX tests write small synthetic files to a unique directory under the system
//! temp dir. The MNIST and Fashion-MNIST tests (`real_*`) need the real data: they read it
//! from `$LLS_DATA_DIR`, or `data/` at the workspace root, and FAIL (they do not skip) when
//! it is missing. Run `scripts/fetch-data` first (seconds; it is idempotent).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use golden_model::data::{
    default_data_dir, load, parse_digits_csv, parse_idx_images, parse_idx_labels,
    read_digits_csv_gz, read_idx_images, read_idx_labels, DataError, Dataset, DatasetKind, Split,
    DIGITS_FIXTURE,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- helpers

/// A fresh, empty, unique directory under the system temp dir.
fn tmp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "lls-data-loaders-{}-{name}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx_images(n: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x803, n, rows, cols] {
        v.extend_from_slice(&u32::to_be_bytes(word));
    }
    v.extend_from_slice(pixels);
    v
}

fn idx_labels(n: u32, labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x801, n] {
        v.extend_from_slice(&u32::to_be_bytes(word));
    }
    v.extend_from_slice(labels);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A deterministic pseudo-random 28×28 split of `n` samples, as IDX bytes.
fn synthetic_split(n: u32, seed: u8) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n as usize * 784)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let labels: Vec<u8> = (0..n as u8).map(|i| (i + seed) % 10).collect();
    (
        idx_images(n, 28, 28, &pixels),
        idx_labels(n, &labels),
        pixels,
        labels,
    )
}

/// Writes a synthetic `<root>/<kind>/` with `n_train` and `n_test` samples.
fn write_synthetic(root: &Path, kind: &str, n_train: u32, n_test: u32) -> (Split, Split) {
    let mut splits = Vec::new();
    for (prefix, n, seed) in [("train", n_train, 1), ("t10k", n_test, 2)] {
        let (img, lab, pixels, labels) = synthetic_split(n, seed);
        write(root, &format!("{kind}/{prefix}-images-idx3-ubyte"), &img);
        write(root, &format!("{kind}/{prefix}-labels-idx1-ubyte"), &lab);
        splits.push(Split {
            images: pixels,
            labels,
            pixels: 784,
        });
    }
    let test = splits.pop().unwrap();
    (splits.pop().unwrap(), test)
}

fn err<T: std::fmt::Debug>(r: Result<T, DataError>) -> String {
    r.unwrap_err().to_string()
}

fn label_counts(labels: &[u8]) -> [usize; 10] {
    let mut c = [0; 10];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

/// A digits CSV of `rows` rows: row i has pixels (i + j) % 17 and label i % 10.
fn digits_csv(rows: usize) -> String {
    let mut s = String::new();
    for i in 0..rows {
        for j in 0..64 {
            s.push_str(&format!("{},", (i + j) % 17));
        }
        s.push_str(&format!("{}\n", i % 10));
    }
    s
}

/// One valid digits CSV line with `f(fields)` applied.
fn digits_line(edit: impl FnOnce(&mut Vec<String>)) -> String {
    let mut fields: Vec<String> = (0..64).map(|j| (j % 17).to_string()).collect();
    fields.push("3".to_owned());
    edit(&mut fields);
    fields.join(",")
}

// ---------------------------------------------------------------- digits

#[test]
fn digits_fixture_is_the_pinned_file() {
    let bytes = std::fs::read(DIGITS_FIXTURE).unwrap();
    assert_eq!(bytes.len(), 57_523);
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hash,
        "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    );
}

#[test]
fn digits_fixture_loads() {
    // A data dir without digits.csv.gz falls back to the committed fixture.
    let dir = tmp_dir("digits-fallback");
    let ds: Dataset = load(DatasetKind::Digits, &dir).unwrap();
    assert_eq!(ds.name, "digits");
    assert_eq!(
        (ds.width, ds.height, ds.classes, ds.pixel_max),
        (8, 8, 10, 16)
    );
    assert_eq!(ds.pixels(), 64);
    assert_eq!((ds.train.len(), ds.test.len()), (1437, 360));
    assert_eq!((ds.train.pixels, ds.test.pixels), (64, 64));
    assert_eq!(ds.train.images.len(), 1437 * 64);
    assert_eq!(ds.test.images.len(), 360 * 64);

    let all: Vec<u8> = ds
        .train
        .labels
        .iter()
        .chain(&ds.test.labels)
        .copied()
        .collect();
    assert_eq!(all.len(), 1797);
    assert_eq!(
        label_counts(&all),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert!(ds
        .train
        .images
        .iter()
        .chain(&ds.test.images)
        .all(|&p| p <= 16));

    // First and last rows of the CSV.
    assert_eq!(
        ds.train.image(0),
        [
            0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4,
            12, 0, 0, 8, 8, 0, 0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10,
            12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0
        ]
    );
    assert_eq!(ds.train.label(0), 0);
    assert_eq!(ds.train.label(1), 1);
    assert_eq!(ds.test.label(359), 8);

    // The same as reading the fixture directly.
    let (images, labels) = read_digits_csv_gz(Path::new(DIGITS_FIXTURE)).unwrap();
    assert_eq!(&images[..1437 * 64], ds.train.images.as_slice());
    assert_eq!(&labels[1437..], ds.test.labels.as_slice());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn digits_prefers_the_data_dir_copy() {
    let dir = tmp_dir("digits-local");
    write(&dir, "digits.csv.gz", &gzip(digits_csv(1797).as_bytes()));
    let ds = load(DatasetKind::Digits, &dir).unwrap();
    assert_eq!(ds.train.label(0), 0);
    assert_eq!(ds.train.image(1)[..3], [1, 2, 3]);
    assert_eq!(ds.test.label(0), (1437 % 10) as u8);
    assert_eq!(ds.test.image(0)[0], (1437 % 17) as u8);

    // A CSV with another row count is not the digits data set.
    let path = write(&dir, "digits.csv.gz", &gzip(digits_csv(1796).as_bytes()));
    assert_eq!(
        err(load(DatasetKind::Digits, &dir)),
        format!(
            "{}: expected 1797 rows, found 1796; the file is not the UCI/sklearn digits CSV, \
             restore it (see golden-model/tests/data/README.md)",
            path.display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn digits_csv_parsing_edge_cases() {
    let p = Path::new("x.csv");
    // No final newline, CRLF line ends, empty input.
    let line = digits_line(|_| {});
    let (img, lab) = parse_digits_csv(p, format!("{line}\r\n{line}").as_bytes()).unwrap();
    assert_eq!((img.len(), lab), (128, vec![3, 3]));
    assert_eq!(parse_digits_csv(p, b"").unwrap(), (vec![], vec![]));
    assert_eq!(parse_digits_csv(p, b"\n").unwrap(), (vec![], vec![]));
}

#[test]
fn digits_bad_files() {
    let dir = tmp_dir("digits-bad");
    let good = digits_line(|_| {});
    let cases: Vec<(&str, String, String)> = vec![
        (
            "few-fields",
            format!("{good}\n1,2,3\n"),
            "line 2: expected 65 comma-separated fields, found 3".to_owned(),
        ),
        (
            "many-fields",
            digits_line(|f| f.push("0".to_owned())),
            "line 1: expected 65 comma-separated fields, found 66".to_owned(),
        ),
        (
            "empty-line",
            format!("{good}\n\n{good}\n"),
            "line 2: expected 65 comma-separated fields, found 0".to_owned(),
        ),
        (
            "not-integer",
            format!(
                "{good}\n{good}\n{}",
                digits_line(|f| f[4] = "1.5".to_owned())
            ),
            "line 3: field 5 is not a non-negative integer: \"1.5\"".to_owned(),
        ),
        (
            "negative",
            digits_line(|f| f[0] = "-1".to_owned()),
            "line 1: field 1 is not a non-negative integer: \"-1\"".to_owned(),
        ),
        (
            "empty-field",
            digits_line(|f| f[64] = String::new()),
            "line 1: field 65 is not a non-negative integer: \"\"".to_owned(),
        ),
        (
            "space",
            digits_line(|f| f[1] = " 1".to_owned()),
            "line 1: field 2 is not a non-negative integer: \" 1\"".to_owned(),
        ),
        (
            "pixel-17",
            digits_line(|f| f[63] = "17".to_owned()),
            "line 1: field 64: pixel value 17 is above the maximum 16".to_owned(),
        ),
        (
            "pixel-huge",
            digits_line(|f| f[0] = "99999999999999999999999".to_owned()),
            "line 1: field 1: pixel value 18446744073709551615 is above the maximum 16".to_owned(),
        ),
        (
            "label-10",
            digits_line(|f| f[64] = "10".to_owned()),
            "line 1: field 65: label 10 is out of range for 10 classes".to_owned(),
        ),
        (
            "label-256",
            digits_line(|f| f[64] = "256".to_owned()),
            "line 1: field 65: label 256 is out of range for 10 classes".to_owned(),
        ),
    ];
    for (name, csv, detail) in cases {
        let path = write(&dir, &format!("{name}.csv.gz"), &gzip(csv.as_bytes()));
        assert_eq!(
            err(read_digits_csv_gz(&path)),
            format!(
                "{}: {detail}; the file is corrupt, restore it (see \
                 golden-model/tests/data/README.md)",
                path.display()
            ),
            "case {name}"
        );
    }

    let path = write(&dir, "plain.csv.gz", good.as_bytes());
    assert_eq!(
        err(read_digits_csv_gz(&path)),
        format!(
            "{}: not a valid gzip file: invalid gzip header; restore it (see \
             golden-model/tests/data/README.md)",
            path.display()
        )
    );
    let gz = gzip(good.as_bytes());
    let path = write(&dir, "cut.csv.gz", &gz[..gz.len() / 2]);
    assert!(matches!(
        read_digits_csv_gz(&path),
        Err(DataError::Gzip { .. })
    ));

    let path = write(&dir, "bomb.csv.gz", &gzip(&vec![b'0'; (16 << 20) + 1]));
    assert_eq!(
        err(read_digits_csv_gz(&path)),
        format!(
            "{}: decompresses to more than 16777216 bytes, far more than the digits CSV; \
             restore it (see golden-model/tests/data/README.md)",
            path.display()
        )
    );

    let path = dir.join("missing.csv.gz");
    assert_eq!(
        err(read_digits_csv_gz(&path)),
        format!(
            "{}: not found; the digits CSV is committed at golden-model/tests/data/digits.csv.gz: \
             restore it with git checkout, or fetch it as golden-model/tests/data/README.md \
             describes",
            path.display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------- kinds and splits

#[test]
fn dataset_kind_names() {
    for (kind, name) in [
        (DatasetKind::Digits, "digits"),
        (DatasetKind::Mnist, "mnist"),
        (DatasetKind::FashionMnist, "fashion-mnist"),
    ] {
        assert_eq!(kind.to_string(), name);
        assert_eq!(name.parse::<DatasetKind>().unwrap(), kind);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        assert_eq!(
            serde_json::from_str::<DatasetKind>(&format!("\"{name}\"")).unwrap(),
            kind
        );
    }
    assert_eq!(
        err("cifar10".parse::<DatasetKind>()),
        "unknown data set \"cifar10\": expected one of digits, mnist, fashion-mnist"
    );
    assert!(serde_json::from_str::<DatasetKind>("\"fashion_mnist\"").is_err());
}

#[test]
fn split_accessors() {
    let s = Split {
        images: (0..12).collect(),
        labels: vec![7, 8, 9],
        pixels: 4,
    };
    assert_eq!(s.len(), 3);
    assert!(!s.is_empty());
    assert_eq!(s.image(1), [4, 5, 6, 7]);
    assert_eq!(s.label(2), 9);
    let t = s.take(2);
    assert_eq!(
        (t.images.len(), t.labels.as_slice()),
        (8, [7, 8].as_slice())
    );
    assert_eq!(s.take(10), s);
    assert!(s.take(0).is_empty());
    let pairs: Vec<(Vec<u8>, u8)> = s.iter().map(|(i, l)| (i.to_vec(), l)).collect();
    assert_eq!(pairs[2], (vec![8, 9, 10, 11], 9));
    assert_eq!(format!("{s:?}"), "Split { len: 3, pixels: 4, .. }");
}

// ---------------------------------------------------------------- IDX

#[test]
fn idx_round_trip() {
    let dir = tmp_dir("idx-roundtrip");
    let pixels: Vec<u8> = (0..=255).cycle().take(3 * 2 * 5).collect();
    let path = write(&dir, "img", &idx_images(3, 2, 5, &pixels));
    assert_eq!(read_idx_images(&path).unwrap(), (pixels, 3, 2, 5));
    let path = write(&dir, "empty", &idx_images(0, 28, 28, &[]));
    assert_eq!(read_idx_images(&path).unwrap(), (vec![], 0, 28, 28));

    let path = write(&dir, "lab", &idx_labels(4, &[0, 9, 3, 9]));
    assert_eq!(read_idx_labels(&path, 10).unwrap(), [0, 9, 3, 9]);
    assert_eq!(read_idx_labels(&path, 256).unwrap(), [0, 9, 3, 9]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn idx_load_synthetic() {
    let dir = tmp_dir("idx-load");
    for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
        let (train, test) = write_synthetic(&dir, kind.name(), 5, 3);
        let ds = load(kind, &dir).unwrap();
        assert_eq!(
            ds,
            Dataset {
                name: kind.name().to_owned(),
                width: 28,
                height: 28,
                classes: 10,
                pixel_max: 255,
                train,
                test,
            }
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn idx_bad_files() {
    let dir = tmp_dir("idx-bad");
    let d = |p: &Path| p.display().to_string();

    // The example from the spec: a header for all of MNIST train, and 12 pixel bytes.
    let path = write(
        &dir,
        "data/mnist/train-images-idx3-ubyte",
        &idx_images(60000, 28, 28, &[0; 12]),
    );
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: truncated at byte 16: expected 47040000 pixel bytes after the header, \
             found 12; re-run scripts/fetch-data",
            d(&path)
        )
    );
    let path = write(&dir, "lab-trunc", &idx_labels(100, &[1; 99]));
    assert_eq!(
        err(read_idx_labels(&path, 10)),
        format!(
            "{}: truncated at byte 8: expected 100 label bytes after the header, found 99; \
             re-run scripts/fetch-data",
            d(&path)
        )
    );
    assert!(matches!(
        read_idx_labels(&path, 10),
        Err(DataError::Truncated {
            offset: 8,
            expected: 100,
            found: 99,
            ..
        })
    ));

    // Short headers.
    let path = write(&dir, "short-img", &idx_images(1, 2, 2, &[])[..10]);
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: truncated at byte 0: expected 16 header bytes, found 10; re-run scripts/fetch-data",
            d(&path)
        )
    );
    let path = write(&dir, "short-lab", &[0, 0, 8]);
    assert_eq!(
        err(read_idx_labels(&path, 10)),
        format!(
            "{}: truncated at byte 0: expected 8 header bytes, found 3; re-run scripts/fetch-data",
            d(&path)
        )
    );
    let path = write(&dir, "empty-file", &[]);
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: truncated at byte 0: expected 16 header bytes, found 0; re-run scripts/fetch-data",
            d(&path)
        )
    );

    // Wrong magic: each file type read as the other, and a gzip file.
    let labels = write(&dir, "labels", &idx_labels(2, &[1, 2]));
    assert_eq!(
        err(read_idx_images(&labels)),
        format!(
            "{}: bad magic at byte 0: expected 0x00000803 (IDX images), found 0x00000801; \
             this is not an IDX images file, re-run scripts/fetch-data",
            d(&labels)
        )
    );
    let images = write(&dir, "images", &idx_images(1, 1, 1, &[7]));
    assert_eq!(
        err(read_idx_labels(&images, 10)),
        format!(
            "{}: bad magic at byte 0: expected 0x00000801 (IDX labels), found 0x00000803; \
             this is not an IDX labels file, re-run scripts/fetch-data",
            d(&images)
        )
    );
    let path = write(&dir, "gz", &gzip(&idx_images(1, 1, 1, &[7])));
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: bad magic at byte 0: expected 0x00000803 (IDX images), found 0x1f8b0800; \
             this is not an IDX images file, re-run scripts/fetch-data",
            d(&path)
        )
    );

    // Trailing bytes.
    let path = write(
        &dir,
        "long-img",
        &idx_images(1, 2, 2, &[1, 2, 3, 4, 5, 6, 7]),
    );
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: 3 unexpected bytes at byte 20, past the end of the data the header declares; \
             the file is corrupt, re-run scripts/fetch-data",
            d(&path)
        )
    );
    let path = write(&dir, "long-lab", &idx_labels(0, &[1]));
    assert_eq!(
        err(read_idx_labels(&path, 10)),
        format!(
            "{}: 1 unexpected bytes at byte 8, past the end of the data the header declares; \
             the file is corrupt, re-run scripts/fetch-data",
            d(&path)
        )
    );

    // Impossible dimensions.
    let path = write(&dir, "zero-rows", &idx_images(5, 0, 28, &[]));
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: bad dimensions at byte 8: images of 0×28 pixels are empty; re-run scripts/fetch-data",
            d(&path)
        )
    );
    let path = write(
        &dir,
        "huge",
        &idx_images(u32::MAX, u32::MAX, u32::MAX, &[0; 8]),
    );
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: bad dimensions at byte 4: 4294967295 images of 4294967295×4294967295 pixels \
             are more bytes than fit in 64 bits; re-run scripts/fetch-data",
            d(&path)
        )
    );

    // Label out of range.
    let path = write(&dir, "label-10", &idx_labels(3, &[9, 10, 11]));
    assert_eq!(
        err(read_idx_labels(&path, 10)),
        format!(
            "{}: label 10 at byte 9 is out of range for 10 classes; the file is corrupt or not \
             this data set, re-run scripts/fetch-data",
            d(&path)
        )
    );
    assert_eq!(read_idx_labels(&path, 12).unwrap(), [9, 10, 11]);

    // Missing file, and a directory where a file should be.
    let path = dir.join("nope");
    assert_eq!(
        err(read_idx_images(&path)),
        format!(
            "{}: not found; run scripts/fetch-data to download MNIST and Fashion-MNIST into data/",
            d(&path)
        )
    );
    assert_eq!(
        err(read_idx_labels(&dir, 10)),
        format!("{}: cannot read: Is a directory (os error 21)", d(&dir))
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn idx_load_bad_data_dirs() {
    // Missing data: the message says to run scripts/fetch-data.
    let dir = tmp_dir("load-missing");
    assert_eq!(
        err(load(DatasetKind::Mnist, &dir)),
        format!(
            "{}: not found; run scripts/fetch-data to download MNIST and Fashion-MNIST into data/",
            dir.join("mnist/train-labels-idx1-ubyte").display()
        )
    );
    // Train present, test missing.
    write_synthetic(&dir, "fashion-mnist", 2, 2);
    std::fs::remove_file(dir.join("fashion-mnist/t10k-images-idx3-ubyte")).unwrap();
    assert_eq!(
        err(load(DatasetKind::FashionMnist, &dir)),
        format!(
            "{}: not found; run scripts/fetch-data to download MNIST and Fashion-MNIST into data/",
            dir.join("fashion-mnist/t10k-images-idx3-ubyte").display()
        )
    );

    // Image and label counts differ.
    write_synthetic(&dir, "mnist", 3, 2);
    let labels = write(
        &dir,
        "mnist/t10k-labels-idx1-ubyte",
        &idx_labels(3, &[1, 2, 3]),
    );
    assert_eq!(
        err(load(DatasetKind::Mnist, &dir)),
        format!(
            "{}: 3 labels, but {} has 2 images; both files must come from the same data set, \
             re-run scripts/fetch-data",
            labels.display(),
            dir.join("mnist/t10k-images-idx3-ubyte").display()
        )
    );

    // Images that are not 28×28.
    write_synthetic(&dir, "mnist", 3, 2);
    let images = write(
        &dir,
        "mnist/train-images-idx3-ubyte",
        &idx_images(3, 32, 32, &[0; 3 * 32 * 32]),
    );
    assert_eq!(
        err(load(DatasetKind::Mnist, &dir)),
        format!(
            "{}: bad dimensions at byte 8: expected 28×28 images, found 32×32; re-run scripts/fetch-data",
            images.display()
        )
    );

    // An empty split.
    write_synthetic(&dir, "mnist", 0, 2);
    assert_eq!(
        err(load(DatasetKind::Mnist, &dir)),
        format!(
            "{}: bad dimensions at byte 4: the file holds no images; re-run scripts/fetch-data",
            dir.join("mnist/train-images-idx3-ubyte").display()
        )
    );

    // A label ≥ 10 in a real-layout file.
    write_synthetic(&dir, "mnist", 3, 2);
    let labels = write(
        &dir,
        "mnist/train-labels-idx1-ubyte",
        &idx_labels(3, &[1, 2, 200]),
    );
    assert_eq!(
        err(load(DatasetKind::Mnist, &dir)),
        format!(
            "{}: label 200 at byte 10 is out of range for 10 classes; the file is corrupt or not \
             this data set, re-run scripts/fetch-data",
            labels.display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// ---------------------------------------------------------------- never panic

fn valid_images() -> Vec<u8> {
    idx_images(3, 4, 5, &(0..60).collect::<Vec<u8>>())
}

fn valid_labels() -> Vec<u8> {
    idx_labels(6, &[0, 1, 2, 9, 8, 7])
}

/// Checks a successful parse is self-consistent.
fn check_images(r: Result<(Vec<u8>, usize, usize, usize), DataError>, len: usize) {
    if let Ok((pixels, n, rows, cols)) = r {
        assert_eq!(pixels.len(), n * rows * cols);
        assert_eq!(len, 16 + pixels.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn idx_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                    classes in 0usize..300) {
        let p = Path::new("random");
        check_images(parse_idx_images(p, &bytes), bytes.len());
        if let Ok(labels) = parse_idx_labels(p, &bytes, classes) {
            prop_assert_eq!(labels.len() + 8, bytes.len());
            prop_assert!(labels.iter().all(|&l| (l as usize) < classes));
        }
    }

    #[test]
    fn idx_random_headers_never_panic(n in any::<u32>(), rows in any::<u32>(), cols in any::<u32>(),
                                      tail in proptest::collection::vec(any::<u8>(), 0..64)) {
        let p = Path::new("random");
        let bytes = idx_images(n, rows, cols, &tail);
        check_images(parse_idx_images(p, &bytes), bytes.len());
        let bytes = idx_labels(n, &tail);
        let _ = parse_idx_labels(p, &bytes, 10);
    }

    #[test]
    fn idx_truncations_are_errors(cut in 0usize..100) {
        let p = Path::new("cut");
        let images = valid_images();
        let r = parse_idx_images(p, &images[..cut.min(images.len() - 1)]);
        prop_assert!(matches!(r, Err(DataError::Truncated { .. })), "{:?}", r);
        let labels = valid_labels();
        let r = parse_idx_labels(p, &labels[..cut.min(labels.len() - 1)], 10);
        prop_assert!(matches!(r, Err(DataError::Truncated { .. })), "{:?}", r);
    }

    #[test]
    fn idx_mutations_never_panic(edits in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
                                 cut in 0usize..100) {
        let p = Path::new("mutated");
        for (mut bytes, is_images) in [(valid_images(), true), (valid_labels(), false)] {
            for &(i, b) in &edits {
                if let Some(x) = bytes.get_mut(i) {
                    *x = b;
                }
            }
            bytes.truncate(cut);
            if is_images {
                check_images(parse_idx_images(p, &bytes), bytes.len());
            } else {
                let _ = parse_idx_labels(p, &bytes, 10);
            }
        }
    }

    #[test]
    fn digits_random_text_never_panics(text in "[0-9,\\-\\r\\n a.]{0,300}") {
        if let Ok((images, labels)) = parse_digits_csv(Path::new("random.csv"), text.as_bytes()) {
            prop_assert_eq!(images.len(), labels.len() * 64);
            prop_assert!(images.iter().all(|&p| p <= 16));
            prop_assert!(labels.iter().all(|&l| l < 10));
        }
    }

    #[test]
    fn digits_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_digits_csv(Path::new("random.csv"), &bytes);
    }
}

proptest! {
    // Through the file readers: fewer cases, each writes a file.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn readers_on_random_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                                           cut in 0usize..100, gz in any::<bool>()) {
        let dir = tmp_dir("prop");
        let mut images = valid_images();
        images.truncate(cut);
        let path = write(&dir, "images", &images);
        let r = read_idx_images(&path);
        prop_assert_eq!(r.is_ok(), cut >= 76);
        let path = write(&dir, "random", &bytes);
        let _ = read_idx_images(&path);
        let _ = read_idx_labels(&path, 10);
        let body = if gz { gzip(&bytes) } else { bytes.clone() };
        let path = write(&dir, "random.csv.gz", &body);
        let _ = read_digits_csv_gz(&path);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

// ---------------------------------------------------------------- real MNIST / Fashion-MNIST

/// Loads a real data set from `$LLS_DATA_DIR` or `<workspace>/data`; fails with a message
/// to run scripts/fetch-data when it is missing.
fn real(kind: DatasetKind) -> Dataset {
    let dir = default_data_dir();
    load(kind, &dir).unwrap_or_else(|e| {
        panic!(
            "{kind} is needed for this test and did not load from {} ({e}); run \
             scripts/fetch-data (or set LLS_DATA_DIR to a directory it filled)",
            dir.display()
        )
    })
}

#[test]
fn real_mnist() {
    let ds = real(DatasetKind::Mnist);
    assert_eq!(
        (ds.width, ds.height, ds.classes, ds.pixel_max),
        (28, 28, 10, 255)
    );
    assert_eq!((ds.train.len(), ds.test.len()), (60000, 10000));
    assert_eq!(ds.train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(ds.test.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(
        label_counts(&ds.train.labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        label_counts(&ds.test.labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let mean =
        ds.train.images.iter().map(|&p| p as f64).sum::<f64>() / ds.train.images.len() as f64;
    assert!((mean - 33.32).abs() < 0.01, "train pixel mean {mean}");
}

#[test]
fn real_fashion_mnist() {
    let ds = real(DatasetKind::FashionMnist);
    assert_eq!((ds.train.len(), ds.test.len()), (60000, 10000));
    assert_eq!(ds.train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(ds.test.labels[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    assert_eq!(label_counts(&ds.train.labels), [6000; 10]);
    assert_eq!(label_counts(&ds.test.labels), [1000; 10]);
}
