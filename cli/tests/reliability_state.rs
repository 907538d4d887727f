//! `lls weights import` and `lls train --resume` on learned state that is damaged, written
//! by hand, or pointed at the wrong place: banked designs import the bank images the RTL
//! loads, `$readmemh` syntax is read as Verilog reads it, and `--out` never overwrites an
//! input.

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

/// Exports tiny-banked's initial state into `dir/images`; returns the config and folder.
fn banked(dir: &Path) -> (PathBuf, PathBuf) {
    let cfg = config(dir, "rtl-gen/tests/configs/tiny-banked.toml");
    let images = dir.join("images");
    let out = lls(&[&"weights", &"export", &"--config", &cfg, &"--out", &images]);
    assert!(out.status.success(), "{}", stderr(&out));
    (cfg, images)
}

#[test]
fn import_reads_the_bank_images_the_rtl_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, images) = banked(dir.path());
    let bank = images.join("tiny_banked_layer0_w_b0.hex");
    let text = std::fs::read_to_string(&bank).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "zzzz_not_a_word";
    std::fs::write(&bank, lines.join("\n") + "\n").unwrap();
    let ck = dir.path().join("ck.json");
    let out = lls(&[
        &"weights",
        &"import",
        &"--config",
        &cfg,
        &"--images",
        &images,
        &"--out",
        &ck,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{}: line 3: expected a hex word (2 lanes × weight_bits = 18), found \"zzzz_not_a_word\"",
            bank.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!ck.exists());
}

#[test]
fn import_reads_readmemh_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, images) = banked(dir.path());
    // The classifier (60 words a lane, one bank) is read from its lane images.
    let lane = images.join("tiny_banked_classifier_w1.hex");
    let text = std::fs::read_to_string(&lane).unwrap();
    let words: Vec<&str> = text.lines().collect();
    let mut edited = String::from("// classifier, lane 1\n/* written\n   by hand */\n");
    edited += &format!("@1e\n  {}\n", words[30..].join(" "));
    edited += &format!("@0 {} // the first half\n\n\n", words[..30].join("\t"));
    std::fs::write(&lane, edited).unwrap();
    let ck = dir.path().join("ck.json");
    let out = lls(&[
        &"weights",
        &"import",
        &"--config",
        &cfg,
        &"--images",
        &images,
        &"--out",
        &ck,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ck.exists());

    // A word given twice after `@` names the address.
    std::fs::write(&lane, format!("{text}@3b 0\n")).unwrap();
    let out = lls(&[
        &"weights",
        &"import",
        &"--config",
        &cfg,
        &"--images",
        &images,
        &"--out",
        &ck,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "{}: line 61: word @3b is given twice (lines 60 and 61)",
            lane.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn import_never_writes_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, images) = banked(dir.path());
    let before = std::fs::read(&cfg).unwrap();
    let dotted = dir.path().join(".").join("tiny-banked.toml");
    for out_path in [cfg.clone(), dotted] {
        let out = lls(&[
            &"weights",
            &"import",
            &"--config",
            &cfg,
            &"--images",
            &images,
            &"--out",
            &out_path,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "--out {}: is the --config file {}; writing there would destroy it",
                out_path.display(),
                cfg.display()
            )),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
    let image = images.join("tiny_banked_layer0_w_b1.hex");
    let out = lls(&[
        &"weights",
        &"import",
        &"--config",
        &cfg,
        &"--images",
        &images,
        &"--out",
        &image,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is the --images file"),
        "{}",
        stderr(&out)
    );
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

/// `lls cosim --checkpoint`: the state is checked before anything is built, and the report
/// may not overwrite it.
#[test]
fn cosim_from_a_checkpoint_checks_it_first() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "configs/digits-mlp.toml");
    let ck = checkpoint(dir.path(), &cfg, 0, 7);
    let work = dir.path().join("cosim");
    let out = lls(&[
        &"cosim",
        &"--config",
        &cfg,
        &"--checkpoint",
        &ck,
        &"--json",
        &ck,
        &"--work",
        &work,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--json"), "{}", stderr(&out));
    let other = config(dir.path(), "configs/digits-icebreaker.toml");
    let out = lls(&[
        &"cosim",
        &"--config",
        &other,
        &"--checkpoint",
        &ck,
        &"--work",
        &work,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("digits-mlp"), "{}", stderr(&out));
    assert!(!work.exists(), "nothing built before the checks");
}
