//! Every design the generator emits is lint-clean and synthesisable:
//!
//! * `verilator --lint-only -Wall` prints nothing at all (no warning is waived), for the
//!   presets and the small test configs, learning and inference designs;
//! * `yosys synth; check -assert` succeeds with no warning and no inferred latch.
//!
//! Full generic yosys synthesis maps every memory to flip-flops, which takes tens of
//! seconds for the small configs, about 80 s for digits-mlp and more than 15 minutes (and
//! 11 GB) for mnist-mlp's 3.2 Mbit of weights. So the small configs get the full `synth`,
//! and the presets the coarse-grain part (`synth -run :fine`: elaboration, `proc` with its
//! latch check, FSM and memory inference with memories kept as `$mem`, word-level
//! optimisation); the target flows (toolchain) map them to block RAM and DSPs.
//!
//! A missing tool fails the test with the toolchain's message (how to install it); these
//! checks are never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use golden_model::config::Config;
use rtl_gen::{generate, Design};

fn config_path(name: &str) -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    if name.starts_with("tiny-") {
        format!("{dir}/tests/configs/{name}.toml")
    } else {
        format!("{dir}/../configs/{name}.toml")
    }
}

/// A scratch folder for one check, removed when the check passes (kept for inspection when
/// it fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("lls-rtl-gen-lint-{}-{what}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Generates `config` and writes it into a fresh scratch folder.
fn emit(config: &str, learn: bool, tool: &str) -> (Design, Scratch) {
    let path = config_path(config);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let cfg = Config::from_toml_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let design =
        generate(&cfg, &text, learn).unwrap_or_else(|e| panic!("{path} (learn = {learn}): {e}"));
    let mode = if learn { "learn" } else { "inference" };
    let scratch = Scratch::new(&format!("{config}-{mode}-{tool}"));
    design.write(&scratch.0).unwrap_or_else(|e| panic!("{e}"));
    (design, scratch)
}

fn verilog_files(design: &Design) -> Vec<String> {
    design
        .files
        .keys()
        .filter(|n| n.ends_with(".v"))
        .cloned()
        .collect()
}

fn run(mut command: Command, dir: &Path) -> (bool, String) {
    let shown = format!("{command:?}");
    let out = command
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn verilator(config: &str, learn: bool) {
    let tool = toolchain::verilator().unwrap_or_else(|e| panic!("{e}"));
    let (design, scratch) = emit(config, learn, "verilator");
    let mut command = tool.command();
    command.args(["--lint-only", "-Wall", "--top-module", &design.top]);
    command.args(verilog_files(&design));
    let (ok, output) = run(command, &scratch.0);
    assert!(
        ok && output.is_empty(),
        "verilator lint of {config} (learn = {learn}) in {}: {}\n{output}",
        scratch.0.display(),
        if ok {
            "exit 0 but not silent"
        } else {
            "failed"
        }
    );
}

fn yosys(config: &str, learn: bool) {
    yosys_run(config, learn, "")
}

fn yosys_coarse(config: &str, learn: bool) {
    yosys_run(config, learn, " -run :fine")
}

fn yosys_run(config: &str, learn: bool, synth_options: &str) {
    let tool = toolchain::yosys().unwrap_or_else(|e| panic!("{e}"));
    let (design, scratch) = emit(config, learn, "yosys");
    let script = format!(
        "read_verilog {}; synth -top {}{synth_options}; check -assert",
        verilog_files(&design).join(" "),
        design.top
    );
    let mut command = tool.command();
    command.args(["-q", "-l", "yosys.log", "-p", &script]);
    let started = Instant::now();
    let (ok, output) = run(command, &scratch.0);
    let seconds = started.elapsed().as_secs_f64();
    let log = std::fs::read_to_string(scratch.0.join("yosys.log")).unwrap_or_default();
    let at = scratch.0.display();
    assert!(
        ok,
        "yosys synth of {config} (learn = {learn}) in {at} failed:\n{output}"
    );
    assert!(
        output.is_empty(),
        "yosys synth of {config} (learn = {learn}) in {at} printed:\n{output}"
    );
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("Latch inferred")
                || l.contains("$dlatch")
                || l.contains("$_DLATCH")
                || l.contains("Warning")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "yosys synth of {config} (learn = {learn}) in {at}:\n{}",
        bad.join("\n")
    );
    assert!(
        log.contains("Found and reported 0 problems."),
        "yosys check did not run ({at})"
    );
    eprintln!("yosys synth of {config} (learn = {learn}): {seconds:.1} s");
}

macro_rules! lint_tests {
    ($($(#[$attr:meta])* $test:ident: $check:ident($config:literal, $learn:literal);)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                $check($config, $learn);
            }
        )*
    };
}

lint_tests! {
    verilator_digits_learn: verilator("digits-mlp", true);
    verilator_mnist_learn: verilator("mnist-mlp", true);
    verilator_tiny_square_learn: verilator("tiny-square", true);
    verilator_tiny_sine_learn: verilator("tiny-sine", true);
    verilator_tiny_deep_learn: verilator("tiny-deep", true);
    yosys_digits_learn: yosys_coarse("digits-mlp", true);
    yosys_mnist_learn: yosys_coarse("mnist-mlp", true);
    yosys_digits_inference: yosys_coarse("digits-mlp", false);
    yosys_tiny_square_learn: yosys("tiny-square", true);
    yosys_tiny_sine_learn: yosys("tiny-sine", true);
    yosys_tiny_deep_learn: yosys("tiny-deep", true);
    verilator_tiny_m_learn: verilator("tiny-m", true);
    verilator_tiny_mxm_learn: verilator("tiny-mxm", true);
    yosys_tiny_m_learn: yosys("tiny-m", true);
    yosys_tiny_mxm_learn: yosys("tiny-mxm", true);

    verilator_digits_inference: verilator("digits-mlp", false);
    verilator_mnist_inference: verilator("mnist-mlp", false);
    verilator_tiny_square_inference: verilator("tiny-square", false);
    verilator_tiny_sine_inference: verilator("tiny-sine", false);
    verilator_tiny_deep_inference: verilator("tiny-deep", false);
    yosys_tiny_square_inference: yosys("tiny-square", false);
    yosys_tiny_sine_inference: yosys("tiny-sine", false);
    yosys_tiny_deep_inference: yosys("tiny-deep", false);
    verilator_tiny_mxm_inference: verilator("tiny-mxm", false);
    verilator_tiny_banked_learn: verilator("tiny-banked", true);
    verilator_tiny_banked_inference: verilator("tiny-banked", false);
    yosys_tiny_banked_learn: yosys_coarse("tiny-banked", true);
    verilator_tiny_shared_learn: verilator("tiny-shared", true);
    verilator_tiny_shared_inference: verilator("tiny-shared", false);
    yosys_tiny_shared_learn: yosys("tiny-shared", true);
    yosys_tiny_shared_inference: yosys("tiny-shared", false);
}
