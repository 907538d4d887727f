//! `lls` on data sets the network cannot take, sizes no supported FPGA holds, and sample
//! counts that ask for nothing: each exits 1 with a message naming the field or flag and
//! the fix, before any work (no data loaded, no simulator built), and never panics.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ sits in the workspace")
        .to_path_buf()
}

/// Runs `lls` in the workspace root with an empty data directory, so that a command
/// which loads MNIST before its checks fails on the missing files instead of passing.
/// Returns the exit code and stderr.
fn lls(args: &[&str]) -> (i32, String) {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_lls"))
        .args(args)
        .current_dir(workspace())
        .env("LLS_DATA_DIR", empty.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("lls runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // A panic exits 101, an abort has no code: both are failures of their own.
    assert!(
        !stderr.contains("panicked"),
        "lls {args:?} panicked:\n{stderr}"
    );
    (out.status.code().unwrap_or(-1), stderr)
}

fn assert_error(args: &[&str], expected: &[&str]) {
    let (code, stderr) = lls(args);
    assert_eq!(code, 1, "lls {args:?} must exit 1; stderr:\n{stderr}");
    for part in expected {
        assert!(
            stderr.contains(part),
            "lls {args:?}: stderr lacks `{part}`:\n{stderr}"
        );
    }
}

/// digits-mlp.toml with `edits` applied, written to a temp folder.
fn digits_with(dir: &Path, name: &str, edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(workspace().join("configs/digits-mlp.toml"))
        .expect("digits preset");
    for (from, to) in edits {
        assert!(text.contains(from), "preset lacks `{from}`");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 temp path").to_owned()
}

const DIGITS_ON_MNIST: [&str; 2] = [
    "error: network.inputs: is 64, but mnist images have 784 pixels (28×28)",
    "use a config made for mnist (`lls presets` lists them), or a data set (--dataset or \
     data.dataset) whose images have 64 pixels",
];
const MNIST_ON_DIGITS: [&str; 2] = [
    "error: network.inputs: is 784, but digits images have 64 pixels (8×8)",
    "use a config made for digits",
];

#[test]
fn bench_refuses_mnist_on_a_digits_network() {
    assert_error(
        &[
            "bench",
            "--config",
            "configs/digits-mlp.toml",
            "--dataset",
            "mnist",
        ],
        &DIGITS_ON_MNIST,
    );
}

#[test]
fn bench_refuses_digits_on_an_mnist_network() {
    assert_error(
        &[
            "bench",
            "--config",
            "configs/mnist-mlp.toml",
            "--dataset",
            "digits",
        ],
        &MNIST_ON_DIGITS,
    );
}

#[test]
fn cosim_refuses_mnist_on_a_digits_network() {
    assert_error(
        &[
            "cosim",
            "--config",
            "configs/digits-mlp.toml",
            "--dataset",
            "mnist",
            "--simulator",
            "iverilog",
            "--samples",
            "3",
        ],
        &DIGITS_ON_MNIST,
    );
}

#[test]
fn cosim_refuses_digits_on_an_mnist_network() {
    assert_error(
        &[
            "cosim",
            "--config",
            "configs/mnist-mlp.toml",
            "--dataset",
            "digits",
            "--samples",
            "3",
        ],
        &MNIST_ON_DIGITS,
    );
}

#[test]
fn bench_and_cosim_refuse_fewer_classes_than_labels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = digits_with(dir.path(), "c5.toml", &[("classes = 10", "classes = 5")]);
    let expected = [
        "error: network.classes: is 5, but digits has 10 classes (labels 0 to 9)",
        "set network.classes = 10",
    ];
    assert_error(
        &["bench", "--config", &config, "--samples", "10"],
        &expected,
    );
    assert_error(&["cosim", "--config", &config, "--samples", "3"], &expected);
}

#[test]
fn bench_refuses_zero_samples() {
    assert_error(
        &[
            "bench",
            "--config",
            "configs/digits-mlp.toml",
            "--samples",
            "0",
        ],
        &["error: --samples: is 0", "measure at least 1 sample"],
    );
}

#[test]
fn cosim_refuses_zero_samples() {
    assert_error(
        &[
            "cosim",
            "--config",
            "configs/digits-mlp.toml",
            "--simulator",
            "iverilog",
            "--samples",
            "0",
        ],
        &["error: --samples: is 0", "co-simulate at least 1 sample"],
    );
}

#[test]
fn cosim_refuses_a_reset_after_the_last_sample() {
    for reset_at in ["3", "10"] {
        assert_error(
            &[
                "cosim",
                "--config",
                "configs/digits-mlp.toml",
                "--simulator",
                "iverilog",
                "--samples",
                "3",
                "--reset-at",
                reset_at,
            ],
            &[
                &format!("error: --reset-at: sample {reset_at} is not among the 3 samples"),
                "use 0 to 2, or raise --samples",
            ],
        );
    }
}

#[test]
fn cosim_counts_the_reset_against_the_samples_the_split_holds() {
    // digits' train split has 1437 samples: --samples 5000 co-simulates those 1437.
    assert_error(
        &[
            "cosim",
            "--config",
            "configs/digits-mlp.toml",
            "--simulator",
            "iverilog",
            "--samples",
            "5000",
            "--reset-at",
            "2000",
        ],
        &[
            "error: --reset-at: sample 2000 is not among the 1437 samples",
            "use 0 to 1436",
        ],
    );
}

#[test]
fn gen_refuses_a_network_no_fpga_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, size) in [("huge.toml", "1073741824"), ("big.toml", "65536")] {
        let hidden = format!("hidden = [{size}]");
        let inputs = format!("inputs = {size}");
        let config = digits_with(
            dir.path(),
            name,
            &[
                ("inputs = 64", &inputs),
                ("hidden = [32]", &hidden),
                ("acc_bits = 40", "acc_bits = 62"),
            ],
        );
        let out = dir.path().join(format!("{name}.rtl"));
        assert_error(
            &[
                "gen",
                "--config",
                &config,
                "--out",
                out.to_str().expect("utf-8"),
            ],
            &[
                "error: network: stores ",
                "more than the 5172096 bits of RAM of ecp5-85k, the largest supported FPGA",
                "shrink network.inputs, network.hidden or fixed.weight_bits",
            ],
        );
        assert!(!out.exists(), "nothing is generated for {name}");
    }
}

/// The checks above refuse what is wrong, not what is right.
#[test]
fn bench_still_runs_digits_on_the_digits_preset() {
    let (code, stderr) = lls(&[
        "bench",
        "--config",
        "configs/digits-mlp.toml",
        "--samples",
        "20",
    ]);
    assert_eq!(code, 0, "{stderr}");
}

/// bench and cosim take preset names as the other commands do, and refuse a `--json`
/// that is their config.
#[test]
fn bench_and_cosim_take_preset_names_and_never_write_over_their_config() {
    assert_error(
        &["cosim", "--config", "digits-mlp", "--samples", "0"],
        &["--samples: is 0"],
    );
    assert_error(
        &["bench", "--config", "digits-mlp", "--samples", "0"],
        &["--samples: is 0"],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let config = digits_with(dir.path(), "c.toml", &[]);
    for cmd in ["bench", "cosim"] {
        assert_error(
            &[cmd, "--config", &config, "--json", &config],
            &["--json", "is the --config file"],
        );
        let text = std::fs::read_to_string(&config).expect("config kept");
        assert!(
            text.starts_with('#') || text.contains("[network]"),
            "{cmd} kept the config"
        );
    }
}

#[test]
fn board_train_refuses_bad_options_before_any_work() {
    let digits = "configs/digits-mlp.toml";
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--sim", "--samples", "0"], &["--samples: is 0"]),
        (
            &["--sim", "--link-errors", "0.5"],
            &["--link-errors: 0.5 is not in 0..0.1"],
        ),
        (&["--sim", "--attempts", "0"], &["--attempts: is 0"]),
        (
            &["--sim", "--samples", "999999"],
            &["--samples: 999999 is more than the", "pass at most"],
        ),
        (
            &["--port", "/dev/ttyNOPE"],
            &["--port /dev/ttyNOPE: cannot open it", "connect the board"],
        ),
    ];
    for (options, expected) in cases {
        let mut args = vec!["board", "train", "--config", digits];
        args.extend(options);
        assert_error(&args, expected);
    }
    assert_error(
        &[
            "board", "train", "--config", digits, "--sim", "--save", digits,
        ],
        &["--save configs/digits-mlp.toml: is the --config file"],
    );
}

#[test]
fn board_infer_refuses_bad_options_before_any_work() {
    let digits = "configs/digits-mlp.toml";
    let cases: [(&[&str], &[&str]); 5] = [
        (&["--sim", "--samples", "0"], &["--samples: is 0"]),
        (
            &["--sim", "--allow-config-change"],
            &["--allow-config-change: applies to --checkpoint"],
        ),
        (
            &["--sim", "--checkpoint", "no-such.ckpt.json"],
            &[
                "--checkpoint no-such.ckpt.json: cannot read it",
                "lls train --save",
            ],
        ),
        (
            &["--sim", "--samples", "999999"],
            &["--samples: 999999 is more than the 360 test samples"],
        ),
        (
            &["--sim", "--json", digits],
            &["--json configs/digits-mlp.toml: is the --config file"],
        ),
    ];
    for (options, expected) in cases {
        let mut args = vec!["board", "infer", "--config", digits];
        args.extend(options);
        assert_error(&args, expected);
    }
}

#[test]
fn board_read_weights_refuses_bad_options_before_any_work() {
    let digits = "configs/digits-mlp.toml";
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--sim", "--out", digits],
            &["--out configs/digits-mlp.toml: is the --config file"],
        ),
        (
            &["--sim", "--out", "configs"],
            &["--out configs: is a folder"],
        ),
        (
            &["--port", "/dev/ttyNOPE", "--out", "x.ckpt.json"],
            &["--port /dev/ttyNOPE: cannot open it", "connect the board"],
        ),
    ];
    for (options, expected) in cases {
        let mut args = vec!["board", "read-weights", "--config", digits];
        args.extend(options);
        assert_error(&args, expected);
    }
}

#[test]
fn board_load_weights_refuses_bad_options_before_any_work() {
    let digits = "configs/digits-mlp.toml";
    let cases: [(&[&str], &[&str]); 3] = [
        (
            &["--sim", "--checkpoint", "nope.ckpt.json"],
            &["--checkpoint nope.ckpt.json: cannot read it"],
        ),
        (
            &["--sim", "--checkpoint", digits],
            &["configs/digits-mlp.toml: not an lls checkpoint"],
        ),
        (
            &["--port", "/dev/ttyNOPE", "--checkpoint", "nope.ckpt.json"],
            &["--checkpoint nope.ckpt.json: cannot read it"],
        ),
    ];
    for (options, expected) in cases {
        let mut args = vec!["board", "load-weights", "--config", digits];
        args.extend(options);
        assert_error(&args, expected);
    }
    assert_error(
        &[
            "board",
            "train",
            "--sim",
            "--config",
            digits,
            "--allow-config-change",
        ],
        &["--allow-config-change: applies to --checkpoint"],
    );
}
