//! The synthesis flow against the real tools (yosys, nextpnr-ice40, icepack), on a tiny
//! config derived from configs/digits-mlp.toml (16 → 8 → 4, one or four MAC lanes), so
//! that each run takes seconds. A missing tool fails the test with the locator's message.

use std::path::{Path, PathBuf};

use golden_model::config::Config;
use toolchain::flow::{self, BoardOptions, FlowOptions};
use toolchain::{Device, FlowError};

/// `configs/digits-mlp.toml` shrunk to 16 inputs, 8 hidden, 4 classes and `lanes` lanes,
/// written into `dir`. Config validation checks shapes only, so the digits dataset's 64
/// inputs do not matter for generation.
fn tiny_config(dir: &Path, lanes: usize) -> (Config, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut text = std::fs::read_to_string(root.join("configs/digits-mlp.toml")).unwrap();
    for (from, to) in [
        ("name = \"digits-mlp\"", format!("name = \"tiny-l{lanes}\"")),
        ("inputs = 64", "inputs = 16".to_string()),
        ("hidden = [32]", "hidden = [8]".to_string()),
        ("classes = 10", "classes = 4".to_string()),
        // `lanes` DSPs in each unit.
        (
            "lanes = 4\nclassifier_lanes = 1",
            format!("lanes = {lanes}"),
        ),
    ] {
        assert!(
            text.contains(from),
            "configs/digits-mlp.toml no longer has `{from}`"
        );
        text = text.replace(from, &to);
    }
    let path = dir.join(format!("tiny-l{lanes}.toml"));
    std::fs::write(&path, &text).unwrap();
    (Config::load(&path).unwrap(), text)
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("lls-flow-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn options(out: PathBuf, board: Option<(&str, &str)>) -> FlowOptions {
    FlowOptions {
        device: Device::from_name("ice40-up5k").unwrap(),
        board: board.map(|(name, text)| BoardOptions {
            name: name.to_string(),
            config_toml: text.to_string(),
            baud: 1_000_000,
        }),
        freq_mhz: 50.0,
        out_root: out,
        pack: true,
        seeds: vec![FlowOptions::DEFAULT_SEED],
    }
}

#[test]
fn tiny_design_with_its_host_link_synthesises_places_routes_and_packs_on_icebreaker() {
    let tmp = scratch();
    let (cfg, text) = tiny_config(tmp.path(), 1);
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    let opts = FlowOptions {
        seeds: vec![2],
        ..options(tmp.path().join("build"), Some(("icebreaker", &text)))
    };
    let report = flow::run(&design, &opts).unwrap_or_else(|e| panic!("{e}"));

    let dir = opts.build_dir("tiny-l1");
    assert!(dir.ends_with("tiny-l1/icebreaker"), "{}", dir.display());
    for a in &report.artifacts {
        assert!(dir.join(a).exists(), "missing artifact {a}");
    }
    assert!(std::fs::metadata(dir.join("tiny-l1.bin")).unwrap().len() > 100_000);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["target"], "ice40-up5k");
    assert_eq!(json["board"], "icebreaker");
    assert_eq!(json["top"], "tiny_l1_top_icebreaker");
    assert_eq!(json["io_pins"], 3);
    // The PLL's 12 MHz × 33 / 8 = 49.5 MHz, the clock nextpnr timed; 50 clocks a bit.
    assert_eq!(json["link"]["pll_mhz"], 49.5);
    assert_eq!(json["freq_target_mhz"], 49.5);
    assert_eq!(json["link"]["clocks_per_bit"], 50);
    assert_eq!(json["seed"], 2);
    assert_eq!(json["luts"].as_u64(), Some(report.luts));

    assert!(
        report.luts > 0 && report.luts <= report.luts_available,
        "{}",
        report.summary()
    );
    assert!(report.dsps > 0 && report.dsps <= report.dsps_available);
    assert!(report.brams <= report.brams_available);
    assert!(report.ffs > 0);
    assert!(report.fmax_mhz > 0.0);
    assert_eq!(report.timing_met, report.fmax_mhz >= 49.5);
    assert_eq!(
        report.chip.streaming_cycles_per_sample,
        design.manifest.steady_cycles_per_sample
    );
    assert_eq!(
        report.chip.lock_step_cycles_per_sample,
        design.manifest.cycles_per_sample
    );
    // The chip-level figures, flattened into report.json under the names.
    let chip = &report.chip;
    assert_eq!(chip.multipliers_used, report.dsps);
    assert_eq!(chip.multipliers_available, 8);
    assert_eq!(chip.macs_per_sample, design.manifest.macs_per_sample);
    assert!(chip.samples_per_second > 0.0);
    assert!(chip.fraction_of_limit > 0.0 && chip.fraction_of_limit <= 1.0);
    assert_eq!(json["multipliers_used"].as_u64(), Some(report.dsps));
    assert_eq!(json["multipliers_available"].as_u64(), Some(8));
    assert_eq!(
        json["samples_per_second"].as_f64(),
        Some(chip.samples_per_second)
    );
    assert_eq!(
        json["limit_samples_per_second"].as_f64(),
        Some(chip.limit_samples_per_second)
    );
    assert_eq!(
        json["fraction_of_limit"].as_f64(),
        Some(chip.fraction_of_limit)
    );
    assert!(json["golden_samples_per_second"].is_null());
    let path = report
        .critical_path
        .as_ref()
        .expect("a clock-to-clock critical path");
    assert!(path.delay_ns > 0.0 && !path.signals.is_empty());
    // 1/Fmax is the critical path's delay (to nextpnr's rounding).
    assert!(
        (1000.0 / path.delay_ns - report.fmax_mhz).abs() < 0.5,
        "{path:?} vs {}",
        report.fmax_mhz
    );
}

#[test]
fn too_big_design_names_the_resource_and_both_counts() {
    let tmp = scratch();
    // One shared multiplier per lane and unit: 8 lanes × 2 units = 16 DSP tiles.
    let (cfg, text) = tiny_config(tmp.path(), 8);
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    let opts = options(tmp.path().join("build"), None);
    let err = flow::run(&design, &opts).expect_err("8 lanes need more than the UP5K's 8 DSPs");
    let FlowError::DoesNotFit {
        device, overflows, ..
    } = &err
    else {
        panic!("expected DoesNotFit, got {err}");
    };
    assert_eq!(device, "ice40-up5k");
    let dsp = overflows
        .iter()
        .find(|o| o.resource == "ICESTORM_DSP")
        .unwrap_or_else(|| panic!("no DSP overflow in {err}"));
    assert!(dsp.needed > 8 && dsp.available == 8);
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "ICESTORM_DSP (SB_MAC16 DSP tiles) needs {}, available 8",
            dsp.needed
        )),
        "{message}"
    );
    // The failed stage removed its partial outputs and kept its log.
    let dir = opts.build_dir("tiny-l8");
    assert!(dir.join("pnr.log").is_file());
    assert!(!dir.join("pnr.asc").exists() && !dir.join("report.json").exists());
}

#[test]
fn latch_is_a_typed_error() {
    let tmp = scratch();
    let rtl = tmp.path();
    std::fs::write(
        rtl.join("latchy.v"),
        "module latchy(input en, input d, output reg q);\n  always @* if (en) q = d;\nendmodule\n",
    )
    .unwrap();
    let yosys = toolchain::yosys().unwrap_or_else(|e| panic!("{e}"));
    let err = toolchain::yosys::run(
        &yosys,
        toolchain::Family::Ice40,
        &toolchain::yosys::SynthPaths {
            rtl_dir: rtl,
            files: &["latchy.v".to_string()],
            top: "latchy",
            vendor_cells: false,
            script: &rtl.join("synth.ys"),
            log: &rtl.join("synth.log"),
            stat_json: &rtl.join("synth.stat.json"),
            netlist: &rtl.join("synth.json"),
        },
    )
    .expect_err("a latch");
    match err {
        FlowError::Latches { signals, .. } => assert_eq!(signals, ["latchy.q"]),
        other => panic!("expected Latches, got {other}"),
    }
}

#[test]
fn design_needing_more_pins_than_the_package_is_refused_before_synthesis() {
    let tmp = scratch();
    let (cfg, text) = tiny_config(tmp.path(), 1);
    let mut design = rtl_gen::generate(&cfg, &text, true).unwrap();
    let tdata = design
        .manifest
        .ports
        .iter_mut()
        .find(|p| p.name == "s_axis_tdata")
        .unwrap();
    tdata.width = 32;
    let err = flow::run(&design, &options(tmp.path().join("build"), None)).unwrap_err();
    assert!(
        matches!(
            err,
            FlowError::TooManyPins {
                needed: 47,
                available: 39,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn seed_sweep_keeps_the_fastest_placement_and_reports_every_seed() {
    let tmp = scratch();
    let (cfg, text) = tiny_config(tmp.path(), 1);
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    let opts = FlowOptions {
        seeds: vec![3, 1, 2],
        pack: false,
        ..options(tmp.path().join("build"), None)
    };
    let report = flow::run(&design, &opts).unwrap_or_else(|e| panic!("{e}"));
    let sweep = report
        .seed_sweep
        .as_ref()
        .expect("a sweep reports every seed");
    assert_eq!(sweep.iter().map(|r| r.seed).collect::<Vec<_>>(), [3, 1, 2]);
    let fastest = sweep.iter().map(|r| r.fmax_mhz).fold(f64::MIN, f64::max);
    assert_eq!(report.fmax_mhz, fastest);
    let kept = sweep.iter().find(|r| r.fmax_mhz == fastest).unwrap();
    assert_eq!(report.seed, kept.seed, "the earliest of the fastest seeds");
    assert_eq!(report.critical_path, kept.critical_path);
    for r in sweep {
        assert_eq!(r.timing_met, r.fmax_mhz >= 50.0);
        assert!(r.pnr_seconds > 0.0);
    }

    // The kept seed's files are the flow's pnr.*; every seed's stay beside them.
    let dir = opts.build_dir("tiny-l1");
    for a in &report.artifacts {
        assert!(dir.join(a).exists(), "missing artifact {a}");
    }
    for name in ["asc", "report.json", "log"] {
        let kept_file = dir.join(format!("pnr.seed{}.{name}", report.seed));
        assert_eq!(
            std::fs::read(dir.join(format!("pnr.{name}"))).unwrap(),
            std::fs::read(&kept_file).unwrap(),
            "pnr.{name} is not {}",
            kept_file.display()
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["seed"], report.seed);
    assert_eq!(json["seed_sweep"].as_array().map(Vec::len), Some(3));
    assert!(
        report
            .summary()
            .contains(&format!("seed {}, the fastest of 3: ", report.seed)),
        "{}",
        report.summary()
    );

    // One seed: no sweep in the report.
    let single = flow::run(
        &design,
        &FlowOptions {
            seeds: vec![1],
            ..opts.clone()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(single.seed_sweep.is_none());
    assert_eq!(
        Some(single.fmax_mhz),
        sweep.iter().find(|r| r.seed == 1).map(|r| r.fmax_mhz),
        "the same seed places the same netlist alike"
    );
}

#[test]
fn seed_lists_are_checked_before_any_work() {
    let tmp = scratch();
    let (cfg, text) = tiny_config(tmp.path(), 1);
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    for (seeds, message) in [
        (vec![], "--seed: give at least one nextpnr seed"),
        (
            vec![1, 2, 1],
            "--seed: seed 1 is given twice: list each seed once",
        ),
    ] {
        let opts = FlowOptions {
            seeds,
            ..options(tmp.path().join("build"), None)
        };
        let err = flow::run(&design, &opts).unwrap_err();
        assert_eq!(err.to_string(), message);
        assert!(!opts.build_dir("tiny-l1").exists());
    }
}
