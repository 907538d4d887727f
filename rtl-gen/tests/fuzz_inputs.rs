//! A mutation fuzzer over every file a user hands `lls`: config TOML, IDX image and label
//! files, the digits CSV, checkpoints and `$readmemh` weight images. Each input is a
//! valid file mutated (bytes flipped, cut, repeated or inserted, numbers replaced by
//! extremes; checkpoints also edited field by field and re-stamped), then parsed, and a
//! config that parses is taken on to `DesignParams::new` and, when small, to `generate`.
//! An input may be refused; none may panic.
//!
//! The suite runs a short pass. An opt-in long run:
//! `LLS_FUZZ_CASES=100000 cargo test --release -p rtl-gen --test fuzz_inputs -- --nocapture`
//! (cases per target; `LLS_FUZZ_SEED` picks another stream). Each target prints its count
//! of cases, refusals and panics; a panic's input is written to the temp folder.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use golden_model::checkpoint::{Checkpoint, ConfigMatch, Progress};
use golden_model::config::Config;
use golden_model::data::digits::parse_digits_csv;
use golden_model::data::idx::{parse_idx_images, parse_idx_labels};
use golden_model::rng::SplitMix64;
use golden_model::spec::fixed::FixedNet;
use rtl_gen::params::DesignParams;

/// Cases per target: the suite's short pass unless `LLS_FUZZ_CASES` asks for more.
fn cases() -> usize {
    std::env::var("LLS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn rng(target: u64) -> SplitMix64 {
    let seed: u64 = std::env::var("LLS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    SplitMix64::new(seed ^ target.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Numbers that break careless size arithmetic.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "3",
    "65",
    "255",
    "256",
    "1023",
    "65536",
    "1073741824",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "-0.0",
    "nan",
    "inf",
    "0.5",
    "\"\"",
    "[]",
];

/// One random edit of `seed`'s bytes.
fn mutate(rng: &mut SplitMix64, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        let len = out.len().max(1);
        let at = rng.below(len);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => out.truncate(at),
            2 => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                let piece = out[at.min(end)..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, piece);
            }
            3 => {
                let junk: Vec<u8> = (0..1 + rng.below(8))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, junk);
            }
            4 => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                out.drain(at.min(end)..end);
            }
            _ => replace_number(rng, &mut out),
        }
    }
    out
}

/// Replaces one decimal or hex number in the text by an extreme.
fn replace_number(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].is_ascii_hexdigit() && (i == 0 || !out[i - 1].is_ascii_alphanumeric()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let start = starts[rng.below(starts.len())];
    let end = (start..out.len())
        .find(|&i| !out[i].is_ascii_alphanumeric() && out[i] != b'.')
        .unwrap_or(out.len());
    let with = EXTREMES[rng.below(EXTREMES.len())].as_bytes().to_vec();
    out.splice(start..end, with);
}

/// Runs `f` on each of `n` inputs from `make`, counting refusals (`f` returns false) and
/// panics; asserts there were none of the latter.
fn campaign(
    name: &str,
    n: usize,
    mut make: impl FnMut(usize) -> Vec<u8>,
    f: impl Fn(&[u8]) -> bool,
) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let (mut refused, mut panics) = (0usize, Vec::new());
    for k in 0..n {
        let input = make(k);
        match catch_unwind(AssertUnwindSafe(|| f(&input))) {
            Ok(true) => {}
            Ok(false) => refused += 1,
            Err(e) => {
                let what = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let file = std::env::temp_dir().join(format!("lls-fuzz-{name}-{k}.bin"));
                std::fs::write(&file, &input).ok();
                panics.push(format!("{}: {what}", file.display()));
            }
        }
    }
    std::panic::set_hook(hook);
    println!(
        "fuzz {name}: {n} cases, {refused} refused, {} panics",
        panics.len()
    );
    assert!(
        panics.is_empty(),
        "{name}: {} panics, first inputs:\n{}",
        panics.len(),
        panics[..panics.len().min(5)].join("\n")
    );
}

fn repo(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn seed_configs() -> Vec<String> {
    [
        "configs/digits-mlp.toml",
        "configs/mnist-mlp.toml",
        "rtl-gen/tests/configs/tiny-banked.toml",
        "rtl-gen/tests/configs/tiny-m.toml",
        "rtl-gen/tests/configs/tiny-mxm.toml",
        "rtl-gen/tests/configs/tiny-shared.toml",
        "rtl-gen/tests/configs/tiny-sine.toml",
    ]
    .iter()
    .map(|p| repo(p))
    .collect()
}

/// A config is parsed, sized for the chip and, when small, generated.
fn take_config(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(cfg) = Config::from_toml_str(text, "fuzz.toml") else {
        return false;
    };
    let Ok(params) = DesignParams::new(&cfg, true) else {
        return false;
    };
    // Sizes the config checks accept are generated; past a few million weights the
    // images alone take seconds, so the long run stays a fuzz run.
    let weights: usize = params.layers.iter().map(|l| l.inputs * l.outputs).sum();
    if weights <= 1 << 22 {
        return rtl_gen::generate(&cfg, text, true).is_ok();
    }
    true
}

/// Sets the network's sizes together to powers of two up to 2^31, so that the size
/// checks, not only the parser, are reached.
fn scale_sizes(rng: &mut SplitMix64, text: &str) -> Vec<u8> {
    let sizes: Vec<u64> = (0..4).map(|_| 1u64 << rng.below(32)).collect();
    text.lines()
        .map(|line| match line.split_once(" = ") {
            Some(("inputs", _)) => format!("inputs = {}", sizes[0]),
            Some(("hidden", _)) => format!("hidden = [{}, {}]", sizes[1], sizes[2]),
            Some(("classes", _)) => format!("classes = {}", sizes[3]),
            Some(("acc_bits", _)) => format!("acc_bits = {}", 32 + rng.below(40)),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

#[test]
fn configs_never_panic() {
    let seeds = seed_configs();
    let mut rng = rng(1);
    campaign(
        "config",
        cases(),
        |k| {
            let seed = &seeds[k % seeds.len()];
            match k % 4 {
                0 => scale_sizes(&mut rng, seed),
                _ => mutate(&mut rng, seed.as_bytes()),
            }
        },
        take_config,
    );
}

/// A valid IDX file: `n` images of `side`², or their labels.
fn idx(images: bool, n: u32, side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    if images {
        out.extend(0x0000_0803u32.to_be_bytes());
        out.extend(n.to_be_bytes());
        out.extend(side.to_be_bytes());
        out.extend(side.to_be_bytes());
        out.extend((0..n * side * side).map(|i| (i * 7) as u8));
    } else {
        out.extend(0x0000_0801u32.to_be_bytes());
        out.extend(n.to_be_bytes());
        out.extend((0..n).map(|i| (i % 10) as u8));
    }
    out
}

#[test]
fn idx_files_never_panic() {
    let path = Path::new("fuzz-idx");
    let (images, labels) = (idx(true, 3, 28), idx(false, 3, 0));
    let mut rng = rng(2);
    campaign(
        "idx",
        cases(),
        |k| mutate(&mut rng, if k % 2 == 0 { &images } else { &labels }),
        |b| parse_idx_images(path, b).is_ok() | parse_idx_labels(path, b, 10).is_ok(),
    );
}

#[test]
fn digits_csv_never_panics() {
    let row = |label: u8| {
        let pixels: Vec<String> = (0..64).map(|i| (i % 17).to_string()).collect();
        format!("{},{label}\n", pixels.join(","))
    };
    let csv: String = (0..4).map(row).collect();
    let mut rng = rng(3);
    campaign(
        "digits-csv",
        cases(),
        |_| mutate(&mut rng, csv.as_bytes()),
        |b| parse_digits_csv(Path::new("fuzz.csv"), b).is_ok(),
    );
}

/// A checkpoint edited field by field and re-stamped, so that its checksum holds and the
/// checks behind it are reached.
fn edited_checkpoint(rng: &mut SplitMix64, base: &Checkpoint) -> Vec<u8> {
    let mut ck = base.clone();
    let big = [
        0,
        1,
        2,
        u64::MAX,
        u64::MAX / 2,
        1 << 40,
        1_000_000_000_000_000,
    ];
    match rng.below(6) {
        0 => ck.progress.epoch = big[rng.below(big.len())],
        1 => ck.progress.samples = big[rng.below(big.len())],
        2 => {
            let l = rng.below(ck.layers.len());
            let w = &mut ck.layers[l].weights;
            let keep = rng.below(w.len() + 2);
            w.truncate(keep);
        }
        3 => {
            let l = rng.below(ck.layers.len());
            for w in ck.layers[l].weights.iter_mut().take(5) {
                *w = [i32::MAX, i32::MIN, 1 << 20][rng.below(3)];
            }
        }
        4 => {
            ck.layers.truncate(rng.below(ck.layers.len() + 1));
        }
        _ => {
            ck.progress = Progress {
                epoch: rng.next_u64(),
                samples: rng.next_u64(),
            }
        }
    }
    ck.to_json().into_bytes()
}

#[test]
fn checkpoints_never_panic() {
    let text = repo("rtl-gen/tests/configs/tiny-mxm.toml");
    let cfg = Config::from_toml_str(&text, "tiny-mxm.toml").expect("tiny-mxm");
    let base = Checkpoint::capture(&FixedNet::new(&cfg), &cfg, &text, Progress::default());
    let json = base.to_json();
    let path = Path::new("fuzz-ck.json");
    let mut rng = rng(4);
    campaign(
        "checkpoint",
        cases(),
        |k| match k % 2 {
            0 => mutate(&mut rng, json.as_bytes()),
            _ => edited_checkpoint(&mut rng, &base),
        },
        |b| match Checkpoint::from_json(b, path) {
            Ok(ck) => ck.restore(&cfg, &text, ConfigMatch::Exact, path).is_ok(),
            Err(_) => false,
        },
    );
}

#[test]
fn weight_images_never_panic() {
    let text = repo("rtl-gen/tests/configs/tiny-mxm.toml");
    let cfg = Config::from_toml_str(&text, "tiny-mxm.toml").expect("tiny-mxm");
    let layers = rtl_gen::mem::image_layers(&cfg).expect("layers");
    let net = FixedNet::new(&cfg);
    let images = rtl_gen::mem::state_images(&cfg, &net).expect("images");
    let seeds: Vec<(usize, String)> = layers
        .iter()
        .enumerate()
        .map(|(k, l)| {
            (
                k,
                images[&rtl_gen::blocks::layer::weight_file(l, 0)].clone(),
            )
        })
        .collect();
    assert_eq!(seeds.len(), 2);
    let mut rng = rng(5);
    campaign(
        "readmemh",
        cases(),
        |k| mutate(&mut rng, seeds[k % seeds.len()].1.as_bytes()),
        |b| {
            // Both layers' parsers see every input: the shapes differ.
            layers
                .iter()
                .any(|l| rtl_gen::mem::parse_weight_lane_image(l, b, "fuzz.hex").is_ok())
        },
    );
}
