//! Outputs and validation of `lls train`, `run`, `gen`, `costs`, `sweep`, `flash` (issue 30):
//! no output overwrites an input, outputs are all or nothing and never stale, everything
//! that can be checked is checked before the long work, and each error names the flag or
//! path at fault and the fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TINY: &str = include_str!("../../rtl-gen/tests/configs/tiny-square.toml");

fn lls() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lls"));
    cmd.env_remove("LLS_DATA_DIR").env_remove("LLS_VERILATOR");
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("lls starts");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// tiny-square shaped for the digits data (64 inputs, 10 classes), written to `dir/name`.
fn digits_config(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = TINY
        .replace("inputs = 8\n", "inputs = 64\n")
        .replace("classes = 3\n", "classes = 10\n");
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).expect("write config");
    path
}

fn tiny_config(dir: &Path, lanes: usize) -> PathBuf {
    let path = dir.join(format!("tiny-{lanes}.toml"));
    std::fs::write(
        &path,
        TINY.replace("lanes = 2", &format!("lanes = {lanes}")),
    )
    .expect("write config");
    path
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest_files(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("manifest parses");
    let mut files: Vec<String> = value["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("name").to_string())
        .collect();
    files.sort();
    files
}

// Case 3: an output on an input.

#[test]
fn train_refuses_to_save_or_write_json_over_its_config() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let before = std::fs::read(&cfg).expect("config");
    std::os::unix::fs::symlink(&cfg, tmp.path().join("link.toml")).expect("symlink");
    for (flag, value) in [
        ("--save", cfg.clone()),
        ("--json", cfg.clone()),
        ("--json", tmp.path().join(".").join("c.toml")),
        ("--save", tmp.path().join("link.toml")),
    ] {
        let (code, stdout, stderr) = run(lls()
            .args(["train", "-q", "--limit", "20", "--config"])
            .arg(&cfg)
            .arg(flag)
            .arg(&value));
        assert_eq!(code, 1, "{flag} {}: {stderr}", value.display());
        assert!(
            stderr.contains(flag) && stderr.contains("is the --config file"),
            "{stderr}"
        );
        assert!(!stdout.contains("test "), "trained first: {stdout}");
        assert_eq!(std::fs::read(&cfg).expect("config"), before);
    }
}

#[test]
fn gen_refuses_an_out_folder_that_holds_its_config() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("rtl");
    std::fs::create_dir(&out).expect("mkdir");
    let cfg = tiny_config(&out, 2);
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--out") && stderr.contains("holds the --config file"),
        "{stderr}"
    );
    assert!(cfg.is_file());
}

// Case 6: stale and half-written output.

#[test]
fn gen_replaces_an_earlier_generation_without_orphans_and_keeps_foreign_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("rtl");
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(tiny_config(tmp.path(), 2))
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert!(names(&out).iter().any(|n| n.ends_with("_w1.hex")));
    std::fs::write(out.join("NOTES.md"), "mine").expect("write");
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(tiny_config(tmp.path(), 1))
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let mut expected = manifest_files(&out);
    expected.push("NOTES.md".to_string());
    expected.sort();
    assert_eq!(
        names(&out),
        expected,
        "lanes 2 → 1 left files of the earlier generation"
    );
    assert!(!names(&out).iter().any(|n| n.ends_with("_w1.hex")));
    assert_eq!(
        names(tmp.path()),
        ["rtl", "tiny-1.toml", "tiny-2.toml"],
        "a temporary folder stayed beside the output"
    );
}

#[test]
fn gen_clears_what_an_interrupted_generation_left() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("rtl");
    std::fs::create_dir(&out).expect("mkdir");
    // What the earlier writer left when killed: temporaries inside, a half folder beside.
    std::fs::write(out.join(".tiny_square_layer0.v.tmp"), "half").expect("write");
    let half = tmp.path().join(".rtl.lls-new");
    std::fs::create_dir(&half).expect("mkdir");
    std::fs::write(half.join("tiny_square_layer0.v"), "half").expect("write");
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(tiny_config(tmp.path(), 2))
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(&out), manifest_files(&out));
    assert_eq!(names(tmp.path()), ["rtl", "tiny-2.toml"]);
}

#[test]
fn killing_gen_leaves_one_whole_generation() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("rtl");
    let small = tiny_config(tmp.path(), 2);
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(&small)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let first = manifest_files(&out);
    // The mnist preset takes long enough to generate that the kill lands mid-way.
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/mnist-mlp.toml");
    let mut child = lls()
        .args(["gen", "--config"])
        .arg(&preset)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("lls starts");
    let staging = tmp.path().join(".rtl.lls-new");
    let start = std::time::Instant::now();
    while !staging.exists() && start.elapsed().as_secs() < 20 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
    // Either generation, whole: the folder holds exactly what its manifest lists.
    let now = manifest_files(&out);
    assert_eq!(names(&out), now);
    assert!(now == first || now.iter().any(|n| n.starts_with("mnist")));
    // The next run clears whatever the kill left beside it.
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(&small)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(&out), first);
    assert_eq!(names(tmp.path()), ["rtl", "tiny-2.toml"]);
}

#[test]
fn json_into_a_folder_is_refused_and_leaves_no_temporary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).expect("mkdir");
    let (code, stdout, stderr) = run(lls()
        .args(["costs", "--config"])
        .arg(tiny_config(tmp.path(), 2))
        .arg("--json")
        .arg(&dir));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--json") && stderr.contains("is a folder"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "checked after the work: {stdout}");
    assert_eq!(names(tmp.path()), ["d", "tiny-2.toml"]);
}

#[test]
fn sweep_replaces_its_charts_and_checks_every_width_first() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = tiny_config(tmp.path(), 2);
    let out = tmp.path().join("sweep");
    std::fs::create_dir(&out).expect("mkdir");
    // An earlier sweep with --synth drew this chart; a sweep without must not keep it.
    std::fs::write(out.join("sweep-fmax.png"), "stale").expect("write");
    std::fs::write(out.join("keep.txt"), "mine").expect("write");
    let (code, _, stderr) = run(lls()
        .args(["sweep", "--hidden", "4,0", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 1);
    assert!(stderr.contains("--hidden 0"), "{stderr}");
    assert_eq!(names(&out), ["keep.txt", "sweep-fmax.png"]);
    let (code, _, stderr) = run(lls()
        .args(["sweep", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(&out), ["keep.txt", "sweep.json", "sweep.png"]);
    assert_eq!(names(tmp.path()), ["sweep", "tiny-2.toml"]);
}

/// A verilator that answers the version check and fails every build.
fn broken_verilator(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("verilator");
    std::fs::write(
        &path,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'Verilator 5.020 2024-01-01'; exit 0; }\necho 'broken on purpose' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn a_failed_run_leaves_the_earlier_report_beside_the_earlier_rtl() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let out = tmp.path().join("run");
    std::fs::create_dir_all(out.join("rtl")).expect("mkdir");
    std::fs::write(out.join("report.json"), "{\"bit_exact\": true}").expect("write");
    std::fs::write(out.join("rtl").join("old.v"), "old").expect("write");
    let (code, stdout, stderr) = run(lls()
        .env("LLS_VERILATOR", broken_verilator(tmp.path()))
        .args(["run", "--no-synth", "--cosim-samples", "2", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("train"), "failed before the run: {stderr}");
    assert!(stderr.contains("broken on purpose"), "{stderr}");
    assert_eq!(names(&out), ["report.json", "rtl"]);
    assert_eq!(names(&out.join("rtl")), ["old.v"]);
    assert_eq!(names(tmp.path()), ["c.toml", "run", "verilator"]);
}

// Case 7: validation before the long work.

fn assert_refused_before_training(args: &[&str], cfg: &Path, out: &Path, wanted: &[&str]) {
    let (code, stdout, stderr) = run(lls()
        .args(args)
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out));
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(!stdout.contains("train"), "trained first: {stdout}");
    for w in wanted {
        assert!(stderr.contains(w), "no {w:?} in {stderr}");
    }
}

#[test]
fn run_refuses_bp_wide_weights_a_file_out_and_a_missing_verilator_before_training() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("run");
    let bp = digits_config(tmp.path(), "bp.toml", |t| {
        t.replace("rule = \"lls\"", "rule = \"bp\"")
    });
    assert_refused_before_training(
        &["run", "--no-synth"],
        &bp,
        &out,
        &["bp needs the backward pass"],
    );
    let wide = digits_config(tmp.path(), "wide.toml", |t| {
        t.replace("weight_bits = 16", "weight_bits = 18")
    });
    assert_refused_before_training(
        &["run", "--no-synth"],
        &wide,
        &out,
        &["fixed.weight_bits", "16"],
    );
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let file = tmp.path().join("file");
    std::fs::write(&file, "").expect("write");
    assert_refused_before_training(&["run", "--no-synth"], &cfg, &file, &["--out", "is a file"]);
    let mut cmd = lls();
    cmd.env("LLS_VERILATOR", tmp.path().join("no-verilator"));
    let (code, stdout, stderr) = run(cmd
        .args(["run", "--no-synth", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 1);
    assert!(!stdout.contains("train"), "trained first: {stdout}");
    assert!(
        stderr.contains("verilator not found") && stderr.contains("LLS_VERILATOR"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn run_and_train_refuse_a_network_that_does_not_fit_the_data_set_before_training() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let five = digits_config(tmp.path(), "five.toml", |t| {
        t.replace("classes = 10\n", "classes = 5\n")
    });
    assert_refused_before_training(
        &["run", "--no-synth"],
        &five,
        &tmp.path().join("run"),
        &["network.classes", "10 classes"],
    );
    let (code, stdout, stderr) = run(lls().args(["train", "-q", "--config"]).arg(&five));
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("network.classes"), "{stderr}");
}

#[test]
fn train_saves_into_a_missing_folder_and_checks_save_before_training() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let save = tmp.path().join("new").join("deeper").join("ck.json");
    let (code, _, stderr) = run(lls()
        .args(["train", "-q", "--limit", "20", "--config"])
        .arg(&cfg)
        .arg("--save")
        .arg(&save));
    assert_eq!(code, 0, "{stderr}");
    assert!(save.is_file());
    let file = tmp.path().join("file");
    std::fs::write(&file, "").expect("write");
    let (code, stdout, stderr) = run(lls()
        .args(["train", "-q", "--limit", "20", "--config"])
        .arg(&cfg)
        .arg("--save")
        .arg(file.join("ck.json")));
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "trained first: {stdout}");
    assert!(
        stderr.contains("--save") && stderr.contains("is a file, not a folder"),
        "{stderr}"
    );
}

// Case 8: messages.

#[test]
fn the_config_change_hint_names_a_flag_train_accepts() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let ck = tmp.path().join("ck.json");
    let (code, _, stderr) = run(lls()
        .args(["train", "-q", "--limit", "20", "--config"])
        .arg(&cfg)
        .arg("--save")
        .arg(&ck));
    assert_eq!(code, 0, "{stderr}");
    let more = digits_config(tmp.path(), "c.toml", |t| {
        t.replace("epochs = 1", "epochs = 2")
    });
    let resume = |extra: &[&str]| {
        run(lls()
            .args(["train", "-q", "--limit", "20", "--config"])
            .arg(&more)
            .arg("--resume")
            .arg(&ck)
            .args(extra))
    };
    let (code, _, stderr) = resume(&[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--allow-config-change"), "{stderr}");
    let (code, stdout, stderr) = resume(&["--allow-config-change"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("after 2 epochs"), "{stdout}");
}

#[test]
fn config_takes_a_preset_name_as_lls_presets_lists_it() {
    let (code, stdout, stderr) = run(lls().args(["costs", "--config", "digits-mlp"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("digits-mlp"), "{stdout}");
    let (code, _, stderr) = run(lls().args(["costs", "--config", "no-such-preset"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no-such-preset")
            && stderr.contains("digits-mlp")
            && stderr.contains("lls presets"),
        "{stderr}"
    );
}

#[test]
fn a_file_where_a_folder_belongs_is_named_with_the_fix() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("file");
    std::fs::write(&file, "").expect("write");
    let (code, _, stderr) = run(lls()
        .args(["gen", "--config"])
        .arg(tiny_config(tmp.path(), 2))
        .arg("--out")
        .arg(&file));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&*file.to_string_lossy()) && stderr.contains("is a file, not a folder"),
        "{stderr}"
    );
    assert!(!stderr.contains("os error"), "{stderr}");
}

#[test]
fn an_empty_data_dir_is_unset_and_the_fetch_hint_names_the_folder_in_use() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/mnist-mlp.toml");
    let (code, _, stderr) = run(lls()
        .current_dir(tmp.path())
        .env("LLS_DATA_DIR", "")
        .args(["train", "-q", "--config"])
        .arg(&cfg));
    assert_eq!(code, 1);
    assert!(stderr.contains("data/mnist/"), "{stderr}");
    let elsewhere = tmp.path().join("elsewhere");
    let (code, _, stderr) = run(lls()
        .env("LLS_DATA_DIR", &elsewhere)
        .args(["train", "-q", "--config"])
        .arg(&cfg));
    assert_eq!(code, 1);
    let hint = format!("scripts/fetch-data {}", elsewhere.display());
    assert!(stderr.contains(&hint), "{stderr}");
    assert!(!stderr.contains("into data/"), "{stderr}");
}

// Case 9: nonsense values.

#[test]
fn limit_and_crop_pad_out_of_bounds_are_refused_with_the_bounds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = digits_config(tmp.path(), "c.toml", |t| t);
    let train = |extra: &[&str]| {
        run(lls()
            .args(["train", "-q", "--config"])
            .arg(&cfg)
            .args(extra))
    };
    let (code, stdout, stderr) = train(&["--limit", "0"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("--limit 0") && stderr.contains("1..=1437"),
        "{stderr}"
    );
    let (code, _, stderr) = train(&["--limit", "100000"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--limit 100000") && stderr.contains("1..=1437"),
        "{stderr}"
    );
    let (code, _, stderr) = train(&[
        "--recipe",
        "official",
        "--arith",
        "float",
        "--crop-pad",
        "100000",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--crop-pad 100000") && stderr.contains("0..=8"),
        "{stderr}"
    );
    let (code, _, stderr) = train(&["--crop-pad", "2"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--crop-pad 2") && stderr.contains("--recipe official"),
        "{stderr}"
    );
}

/// Ctrl-C in the middle of `lls run`: the folder being built is removed, the earlier
/// output stays as it was, and the exit code is 130.
#[test]
fn an_interrupted_run_leaves_the_earlier_output_and_no_partial_folder() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Long enough to be interrupted while training.
    let cfg = digits_config(tmp.path(), "c.toml", |t| {
        t.replace("epochs = 1\n", "epochs = 100000\n")
    });
    let out = tmp.path().join("run");
    std::fs::create_dir(&out).expect("earlier output");
    std::fs::write(out.join("report.md"), "earlier").expect("earlier report");
    let mut child = lls()
        .args(["run", "--no-synth", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lls starts");
    let building = tmp.path().join(".run.lls-new");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !building.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no folder being built"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("lls exits");
    assert_eq!(status.code(), Some(130));
    assert!(!building.exists(), "the partial folder is removed");
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).expect("earlier report"),
        "earlier"
    );
    assert_eq!(names(tmp.path()), ["c.toml", "run"]);
}

#[test]
fn flash_refuses_a_missing_foreign_or_bare_bitstream_before_the_programmer_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = digits_config(dir.path(), "tiny.toml", |t| t);
    let out = dir.path().join("build");
    let flash = |board: &str| {
        run(lls()
            .args(["flash", "--board", board, "--dry-run", "--config"])
            .arg(&cfg)
            .arg("--out")
            .arg(&out))
    };
    // Nothing built yet: the report it looks for, and how to build it.
    let (code, _, err) = flash("icebreaker");
    assert_eq!(code, 1);
    assert!(
        err.contains("report.json") && err.contains("lls synth --config ... --board icebreaker"),
        "{err}"
    );
    // A report from another board, or from the bare design (no board): refused.
    let board_dir = out.join("tiny-square").join("icebreaker");
    std::fs::create_dir_all(&board_dir).unwrap();
    for (report, names) in [
        (r#"{"board": "ulx3s"}"#, "the ulx3s"),
        (r#"{"board": null}"#, "the bare design"),
    ] {
        std::fs::write(board_dir.join("report.json"), report).unwrap();
        let (code, _, err) = flash("icebreaker");
        assert_eq!(code, 1);
        assert!(
            err.contains(names) && err.contains("--board icebreaker"),
            "{err}"
        );
    }
    // The board's report, then the bitstream: missing, of the wrong kind, empty, present.
    std::fs::write(board_dir.join("report.json"), r#"{"board": "icebreaker"}"#).unwrap();
    let (code, _, err) = flash("icebreaker");
    assert_eq!(code, 1);
    assert!(
        err.contains("no bitstream at") && err.contains("tiny-square.bin"),
        "{err}"
    );
    std::fs::write(board_dir.join("tiny-square.bin"), b"").unwrap();
    let (code, _, err) = flash("icebreaker");
    assert_eq!(code, 1);
    assert!(err.contains("is empty"), "{err}");
    std::fs::write(board_dir.join("tiny-square.bin"), [0u8; 64]).unwrap();
    let (code, out_text, err) = run(lls()
        .env("LLS_ICEPROG", "/bin/true")
        .args(["flash", "--board", "icebreaker", "--dry-run", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    assert!(
        out_text.starts_with("/bin/true ") && out_text.trim_end().ends_with("tiny-square.bin"),
        "{out_text}"
    );
    let wrong_kind = dir.path().join("x.bit");
    std::fs::write(&wrong_kind, [0u8; 64]).unwrap();
    let (code, _, err) = run(lls()
        .args(["flash", "--board", "icebreaker", "--dry-run", "--bitstream"])
        .arg(&wrong_kind));
    assert_eq!(code, 1);
    assert!(err.contains("takes a .bin bitstream"), "{err}");
}

#[test]
fn conv_blocks_are_costed_trained_in_float_and_refused_elsewhere() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = digits_config(tmp.path(), "conv.toml", |t| {
        t.replace(
            "inputs = 64\n",
            "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 4, pool = 2, lls_pool = 2 }]\n",
        )
    });
    let json = tmp.path().join("costs.json");
    let (code, stdout, stderr) = run(lls()
        .args(["costs", "--config"])
        .arg(&config)
        .arg("--json")
        .arg(&json));
    assert_eq!(code, 0, "{stderr}");
    // 8·8·4·9 forward MACs; LLS 2·C·N + C = 2·10·16 + 10; BP propagates nothing into the
    // first layer's input.
    assert!(
        stdout.contains("| conv 3×3 1→4 on 8×8, N = 16 | 2304 | 330 | 0 | 2304 |"),
        "{stdout}"
    );
    assert!(stdout.contains("| dense 64→4 | 256 |"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    assert_eq!(report["layers"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["layers"][0]["bp"]["learning"], 0);
    let save = tmp.path().join("checkpoint.json");
    // Training takes the blocks in float, under the local rules and bp.
    for rule in ["lls-mxm", "bp"] {
        let (code, stdout, stderr) = run(lls()
            .args([
                "train", "-q", "--arith", "float", "--epochs", "1", "--limit", "50",
            ])
            .args(["--rule", rule, "--config"])
            .arg(&config));
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(&format!("{rule} float: test")), "{stdout}");
    }
    for (args, message) in [
        (
            vec!["--arith", "fixed"],
            "network.conv: the fixed-point model takes dense layers only (network.hidden); \
             train the blocks in float (--arith float), or remove network.conv and \
             network.image",
        ),
        (
            vec!["--arith", "float", "--recipe", "official"],
            "network.conv: --recipe official takes dense layers only",
        ),
        (
            vec!["--arith", "float", "--save", save.to_str().expect("utf-8")],
            "--save/--resume: checkpoints hold the fixed-point model, which takes dense \
             layers only (network.conv)",
        ),
    ] {
        let (code, _, stderr) = run(lls().arg("train").args(&args).arg("--config").arg(&config));
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let out = tmp.path().join("rtl");
    for args in [
        vec!["gen", "--out", out.to_str().expect("utf-8")],
        vec!["bench"],
        vec!["cosim"],
    ] {
        let command = args[0];
        let (code, _, stderr) = run(lls().args(&args).arg("--config").arg(&config));
        assert_eq!(code, 1, "{command}: {stderr}");
        assert!(
            stderr.contains("network.conv: this command takes dense layers only"),
            "{command}: {stderr}"
        );
    }
    assert!(!out.exists() && !save.exists(), "nothing written");
}
