//! `lls train --resume` from a checkpoint whose epoch does not fit the run: refused before
//! any training (an epoch of 10^15 would replay 10^15 shuffles; an epoch beyond --epochs
//! would save later weights under an earlier epoch).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const LLS: &str = env!("CARGO_BIN_EXE_lls");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Copies a config into `dir` (so that nothing can touch the repository's copy).
fn config(dir: &Path, from: &str) -> PathBuf {
    let path = dir.join(Path::new(from).file_name().unwrap());
    std::fs::copy(workspace().join(from), &path).unwrap();
    path
}

/// Runs `lls` with `args`, killed after 120 s (a hang fails the test instead of hanging).
fn lls(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut child = Command::new(LLS)
        .args(args.iter().map(|a| a.as_ref()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!(
                "lls {:?} still runs after 120 s",
                args.iter().map(|a| a.as_ref()).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A checkpoint of digits-mlp's initial net at `progress`, with a valid checksum.
fn checkpoint(dir: &Path, cfg: &Path, epoch: u64, samples: u64) -> PathBuf {
    use golden_model::checkpoint::{Checkpoint, Progress};
    let text = std::fs::read_to_string(cfg).unwrap();
    let c = golden_model::config::Config::from_toml_str(&text, "digits-mlp.toml").unwrap();
    let net = golden_model::spec::fixed::FixedNet::new(&c);
    let path = dir.join(format!("epoch-{epoch}.ckpt.json"));
    Checkpoint::capture(&net, &c, &text, Progress { epoch, samples })
        .save(&path)
        .unwrap();
    path
}

#[test]
fn resume_refuses_an_epoch_beyond_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "configs/digits-mlp.toml");
    let huge = checkpoint(
        dir.path(),
        &cfg,
        1_000_000_000_000_000,
        1_000_000_000_000_000,
    );
    let out = lls(&[
        &"train",
        &"--config",
        &cfg,
        &"--resume",
        &huge,
        &"--limit",
        &"20",
        &"-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("progress.epoch = 1000000000000000 is beyond the 20 epochs"),
        "{}",
        stderr(&out)
    );

    // Two epochs done, resumed to one with --save: refused, nothing written.
    let two = checkpoint(dir.path(), &cfg, 2, 40);
    let saved = dir.path().join("one.ckpt.json");
    let out = lls(&[
        &"train",
        &"--config",
        &cfg,
        &"--resume",
        &two,
        &"--epochs",
        &"1",
        &"--limit",
        &"20",
        &"-q",
        &"--save",
        &saved,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("progress.epoch = 2 is beyond the 1 epochs this run trains to"),
        "{}",
        stderr(&out)
    );
    assert!(!saved.exists());
}
