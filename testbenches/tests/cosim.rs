//! Co-simulation on real data: the RTL trains bit-exactly like the golden model.
//! Every test compares predictions, softmax errors and every weight (at its cadence), and
//! holds the cycle count to the cycle model wherever the streams do not stall.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, Dataset, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use testbenches::build::{Compiler, Simulator, CLANG_PROFILE};
use testbenches::{run, CosimOptions, CosimReport, Mismatch, Mutation, Signal};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn preset(name: &str) -> (Config, String) {
    let path = workspace().join("configs").join(name);
    let text = std::fs::read_to_string(&path).expect("preset exists");
    (
        Config::from_toml_str(&text, name).expect("preset is valid"),
        text,
    )
}

/// The digits preset with `key = value` lines replaced (each key must appear once).
fn digits_variant(name: &str, changes: &[(&str, &str)]) -> (Config, String) {
    let (_, mut text) = preset("digits-mlp.toml");
    for &(key, value) in changes.iter().chain(&[("name", name)]) {
        let prefix = format!("{key} =");
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    format!("{key} = \"{value}\"")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert!(
            text.lines().filter(|l| l.starts_with(&prefix)).count() == 1,
            "{key}"
        );
        text = lines.join("\n") + "\n";
    }
    let cfg = Config::from_toml_str(&text, name).expect("variant is valid");
    (cfg, text)
}

fn dataset(kind: DatasetKind) -> Dataset {
    load(kind, &default_data_dir())
        .unwrap_or_else(|e| panic!("{e} (the test command runs scripts/fetch-data first)"))
}

/// The defaults (lock step on Verilator, no stalls, every weight after every sample) for
/// `samples` samples, built in the scratch folder `name`; tests override what they vary.
fn options(samples: usize, name: &str) -> CosimOptions {
    let work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join(name);
    CosimOptions::new(samples, work_dir)
}

/// Co-simulates the digits training stream under `opts`.
fn run_digits_train(cfg: &Config, text: &str, opts: &CosimOptions) -> (CosimReport, FixedNet) {
    let data = dataset(DatasetKind::Digits);
    run(cfg, text, &data.train, opts).expect("co-sim runs")
}

/// Co-simulates the digits training stream with `flip`'s expected value changed, checks
/// that the first mismatch reported is that very value, its signal named `signal_name`,
/// and returns the report and the mismatch.
fn assert_flip_is_caught(
    cfg: &Config,
    text: &str,
    flip: Mutation,
    signal_name: &str,
    opts: CosimOptions,
) -> (CosimReport, Mismatch) {
    let opts = CosimOptions {
        mutate: Some(flip),
        ..opts
    };
    let (r, _) = run_digits_train(cfg, text, &opts);
    let m = r
        .first_mismatch
        .clone()
        .expect("the flipped bit must be reported");
    assert_eq!(
        (m.sample, m.layer, m.signal.as_str(), m.index),
        (flip.sample, flip.layer, signal_name, flip.index)
    );
    (r, m)
}

/// Bit-exact over `samples` samples; without stalls, every sample (lock step) or every
/// burst and each gap between its predictions (streaming) on the cycle model's count.
fn assert_exact(r: &CosimReport, samples: usize) {
    assert_eq!(r.first_mismatch, None, "RTL differs from the golden model");
    assert_eq!(r.mismatches, 0);
    assert_eq!(r.samples, samples);
    if r.stall == 0.0 {
        assert_eq!(
            r.cycle_model_deviations, 0,
            "cycle model: {} vs {}",
            r.cycles_per_sample, r.predicted_cycles_per_sample
        );
        if r.burst == 0 {
            assert_eq!(r.cycles_per_sample, r.predicted_cycles_per_sample as f64);
        }
    }
}

#[test]
fn digits_full_pass_is_bit_exact_every_weight_every_step() {
    let (cfg, text) = preset("digits-mlp.toml");
    let data = dataset(DatasetKind::Digits);
    let n = data.train.len();
    let (r, net) = run(&cfg, &text, &data.train, &options(n, "digits-full")).expect("co-sim runs");
    assert_exact(&r, n);
    assert_eq!(
        r.weight_checks,
        2 * n,
        "every layer's weights after every sample"
    );
    // predictions + 2×10 errors + 2368 weights per sample
    assert_eq!(r.values_compared, (n * (1 + 20 + 64 * 32 + 32 * 10)) as u64);
    // The RTL learned: it predicts the training stream better than chance by far.
    assert!(
        r.rtl_train_accuracy > 0.5,
        "train-stream accuracy {}",
        r.rtl_train_accuracy
    );
    let test_acc = (0..data.test.len())
        .filter(|&i| net.predict(data.test.image(i)) == data.test.label(i) as usize)
        .count() as f64
        / data.test.len() as f64;
    eprintln!(
        "digits: one pass on the RTL: train-stream {:.4}, test {test_acc:.4}",
        r.rtl_train_accuracy
    );
    assert!(
        test_acc > 0.8,
        "test accuracy of the co-simulated weights {test_acc}"
    );
}

#[test]
fn mnist_slice_is_bit_exact() {
    let (cfg, text) = preset("mnist-mlp.toml");
    let data = dataset(DatasetKind::Mnist);
    let opts = CosimOptions {
        weights_every: 100,
        ..options(300, "mnist-slice")
    };
    let (r, _) = run(&cfg, &text, &data.train, &opts).expect("co-sim runs");
    assert_exact(&r, 300);
    assert_eq!(r.weight_checks, 2 * 3);
}

/// Lane counts that are not powers of two (784 = 28 × 28; a classifier of 3 lanes over 12
/// inputs): the input buffers place the stream's elements by counting its writes, and
/// weight readback addresses pad the lane field (`LaneMap::packed`). Banked, 28 lanes sum
/// their products in a tree of three registered levels. Stalls and a reset in the
/// middle of a sample restart the counters where the stream restarts; lock step holds the
/// cycle model. Then seven unbanked lanes.
#[test]
fn lanes_that_are_not_a_power_of_two_train_bit_exactly() {
    let (_, text) = preset("mnist-mlp.toml");
    let data = dataset(DatasetKind::Mnist);
    let text = text
        .replace("\nhidden = [256]\n", "\nhidden = [12]\n")
        .replace("\nlanes = 98\n", "\nlanes = 28\n")
        .replace("\nclassifier_lanes = 4\n", "\nclassifier_lanes = 3\n");
    let cfg = Config::from_toml_str(&text, "mnist-lanes28").expect("valid");
    let p = rtl_gen::params::DesignParams::new(&cfg, true).expect("valid");
    let lanes: Vec<_> = p.layers.iter().map(|l| (l.lanes, l.lane_bits())).collect();
    assert_eq!(lanes, [(28, 5), (3, 2)]);
    assert_eq!(p.layers[0].mac_sum_stages, 3);
    let stalled = CosimOptions {
        stall: 0.2,
        stall_seed: 3,
        reset_at: Some(4),
        weights_every: 3,
        ..options(12, "mnist-lanes28-stalled")
    };
    let (r, _) = run(&cfg, &text, &data.train, &stalled).expect("co-sim runs");
    assert_exact(&r, 12);
    let (r, _) = run(&cfg, &text, &data.train, &options(6, "mnist-lanes28")).expect("co-sim runs");
    assert_exact(&r, 6);

    let text = text
        .replace("\nlanes = 28\n", "\nlanes = 7\n")
        .replace("\nbank_weights = true\n", "\n");
    let cfg = Config::from_toml_str(&text, "mnist-lanes7").expect("valid");
    let (r, _) = run(&cfg, &text, &data.train, &options(6, "mnist-lanes7")).expect("co-sim runs");
    assert_exact(&r, 6);
}

#[test]
fn stalls_and_a_mid_stream_reset_lose_and_double_nothing() {
    let (cfg, text) = preset("digits-mlp.toml");
    let opts = CosimOptions {
        stall: 0.3,
        stall_seed: 7,
        reset_at: Some(5),
        ..options(60, "digits-stall")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 60);
    assert!(
        r.cycles_per_sample > r.predicted_cycles_per_sample as f64,
        "stalls must cost cycles"
    );
}

#[test]
fn icarus_agrees_on_the_same_vectors() {
    let (cfg, text) = preset("digits-mlp.toml");
    let opts = CosimOptions {
        simulator: Simulator::Iverilog,
        ..options(12, "digits-iverilog")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 12);
}

#[test]
fn a_flipped_expected_bit_is_caught() {
    let (cfg, text) = preset("digits-mlp.toml");
    let flip = Mutation {
        sample: 3,
        layer: 1,
        signal: Signal::Weight,
        index: 17,
    };
    let (r, m) = assert_flip_is_caught(&cfg, &text, flip, "weight", options(10, "digits-mutate"));
    assert_eq!(r.samples, 4, "the run stops at the first mismatch");
    assert!(m
        .to_string()
        .starts_with("MISMATCH sample=3 layer=1 signal=weight index=17 cycle="));
}

#[test]
fn inference_design_predicts_like_the_model_and_keeps_its_weights() {
    let (cfg, text) = preset("digits-mlp.toml");
    let data = dataset(DatasetKind::Digits);
    let opts = CosimOptions {
        learn: false,
        weights_every: 40,
        ..options(data.test.len(), "digits-inference")
    };
    let (r, _) = run(&cfg, &text, &data.test, &opts).expect("co-sim runs");
    assert_exact(&r, data.test.len());
}

#[test]
fn modulated_rules_train_bit_exactly_on_digits() {
    let data = dataset(DatasetKind::Digits);
    for rule in ["lls-m", "lls-mxm"] {
        let (cfg, text) = digits_variant(&format!("digits-{rule}"), &[("rule", rule)]);
        // Both rules in one scratch folder: the second build must not link the first
        // design's harness object (its top has another name).
        let opts = CosimOptions {
            weights_every: 10,
            ..options(150, "digits-modulated")
        };
        let (r, net) = run(&cfg, &text, &data.train, &opts).expect("co-sim runs");
        assert_exact(&r, 150);
        // The modulation learned, so comparing it was not comparing constants.
        let before = FixedNet::new(&cfg);
        let (now, start) = (
            net.layers[0].modulation.values().expect("modulated"),
            before.layers[0].modulation.values().expect("modulated"),
        );
        let changed = now.iter().zip(start).filter(|(a, b)| a != b).count();
        assert!(
            changed * 2 > now.len(),
            "{rule}: {changed} of {} moved",
            now.len()
        );
    }
}

#[test]
fn stochastic_rounding_survives_stalls_and_a_reset() {
    // The LFSRs are learned state like the weights: a reset leaves them running.
    let (cfg, text) = digits_variant(
        "digits-stochastic",
        &[("rule", "lls-m"), ("update_rounding", "stochastic")],
    );
    let opts = CosimOptions {
        stall: 0.3,
        stall_seed: 11,
        reset_at: Some(4),
        ..options(40, "digits-stochastic")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 40);
}

/// Weights banked by block RAM (`hardware.bank_weights`, ECP5): the hidden layer's eight
/// banks (their accesses copied per bank, the bank multiplexer's registered first step) and
/// the classifier's two (no multiplexer stage, so its readback pads to the hidden unit's
/// latency, and its update multiply waits for the longer weight read), under stalls and a
/// reset. LLS-M and stochastic rounding put the modulation and the LFSR states in the
/// readback, which follows the banks' extra stages. The classifier, whose passes take a
/// sixth of the hidden unit's cycles, holds its datapath while idle
/// (`LayerParams::hold_when_idle`). Then eight banked lanes, whose sum of products takes
/// two stages.
#[test]
fn banked_weights_train_bit_exactly() {
    let (_, text) = digits_variant(
        "digits-banked",
        &[
            ("target", "ecp5-25k"),
            ("rule", "lls-m"),
            ("update_rounding", "stochastic"),
        ],
    );
    let text = text
        .replace(
            "\nlanes = 4\nclassifier_lanes = 1\n",
            "\nlanes = 1\nbank_weights = true\n",
        )
        .replace("\nhidden = [32]\n", "\nhidden = [128]\n");
    let cfg = Config::from_toml_str(&text, "digits-banked").expect("valid");
    let p = rtl_gen::params::DesignParams::new(&cfg, true).expect("valid");
    let banks = |l: &rtl_gen::params::LayerParams| (l.weight_banks(), l.bank_mux_stages());
    assert_eq!((banks(&p.layers[0]), banks(&p.layers[1])), ((8, 1), (2, 0)));
    let holds = |p: &rtl_gen::params::DesignParams| {
        p.layers
            .iter()
            .map(|l| l.hold_when_idle)
            .collect::<Vec<_>>()
    };
    assert_eq!(holds(&p), [false, true]);
    let opts = CosimOptions {
        stall: 0.2,
        stall_seed: 5,
        reset_at: Some(7),
        weights_every: 5,
        ..options(30, "digits-banked")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 30);

    // Eight banked lanes sum their products in two stages (groups of four, then the
    // groups): lock step holds the longer forward pass to the cycle model.
    let text = text.replace("\nlanes = 1\n", "\nlanes = 8\n");
    let cfg = Config::from_toml_str(&text, "digits-banked-8").expect("valid");
    let p = rtl_gen::params::DesignParams::new(&cfg, true).expect("valid");
    assert_eq!(p.layers[0].mac_sum_stages, 2);
    assert_eq!(holds(&p), [false, true]);
    let opts = CosimOptions {
        weights_every: 10,
        ..options(20, "digits-banked-8")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 20);
}

/// Shared multipliers (`hardware.share_multipliers`): two hidden units and the classifier
/// take turns on one pool of two multipliers (the classifier uses one). Lock step holds the
/// arbiter's grants to the cycle model; streaming back to back, under stalls and a reset,
/// makes the units contend for the pool across samples. Stochastic rounding puts an LFSR
/// per lane in the readback.
#[test]
fn shared_multipliers_train_bit_exactly() {
    let (_, text) = digits_variant("digits-shared", &[("update_rounding", "stochastic")]);
    let text = text
        .replace("\nhidden = [32]\n", "\nhidden = [32, 16]\n")
        .replace("\nlanes = 4\n", "\nlanes = 2\nshare_multipliers = true\n");
    let cfg = Config::from_toml_str(&text, "digits-shared").expect("valid");
    let p = rtl_gen::params::DesignParams::new(&cfg, true).expect("valid");
    assert_eq!((p.layers.len(), p.mul_pool), (3, Some(2)));
    assert_eq!(
        p.layers.iter().map(|l| l.lanes).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    let (r, _) = run_digits_train(&cfg, &text, &options(12, "digits-shared"));
    assert_exact(&r, 12);
    let opts = CosimOptions {
        burst: 10,
        stall: 0.1,
        stall_seed: 3,
        weights_every: 10,
        ..options(40, "digits-shared-stream")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 40);
    // Stall-free bursts long enough to reach the steady state: the measured period is
    // the cycle model's.
    let opts = CosimOptions {
        burst: 2 * rtl_gen::cycles::STEADY_SAMPLES + 1,
        weights_every: 17,
        ..options(34, "digits-shared-stream")
    };
    let (r, _) = run_digits_train(&cfg, &text, &opts);
    assert_exact(&r, 34);
    assert_eq!(
        r.steady_cycles_per_sample,
        Some(r.predicted_steady_cycles_per_sample)
    );
}

/// The state read back besides the weights: the LLS-MxM matrix, and the stochastic-rounding
/// LFSR states (16-bit pieces: piece 1 is bits 31:16 of lane 0's).
#[test]
fn a_flipped_modulation_or_lfsr_state_bit_is_caught() {
    let cases = [
        (
            "digits-mxm-mutate",
            ("rule", "lls-mxm"),
            Mutation {
                sample: 2,
                layer: 0,
                signal: Signal::Modulation,
                index: 42,
            },
            "modulation",
            6,
        ),
        (
            "digits-lfsr-mutate",
            ("update_rounding", "stochastic"),
            Mutation {
                sample: 1,
                layer: 1,
                signal: Signal::LfsrState,
                index: 1,
            },
            "lfsr_state",
            4,
        ),
    ];
    for (name, knob, flip, signal_name, samples) in cases {
        let (cfg, text) = digits_variant(name, &[knob]);
        assert_flip_is_caught(&cfg, &text, flip, signal_name, options(samples, name));
    }
}

/// Three segments side by side chain into the one-simulator run: every segment bit-exact,
/// the same cycles and final weights, and each inner boundary's full state check (the
/// proof that the next segment's power-up state is the RTL's) really compares: a weight
/// flipped at the first boundary, where an unsegmented run checks nothing, is caught.
#[test]
fn segments_side_by_side_chain_into_one_run() {
    let (cfg, text) = preset("digits-mlp.toml");
    let whole = CosimOptions {
        weights_every: 0,
        ..options(90, "digits-unsegmented")
    };
    let (one, one_net) = run_digits_train(&cfg, &text, &whole);
    assert_exact(&one, 90);
    let split = CosimOptions {
        segments: 3,
        weights_every: 0,
        ..options(90, "digits-segments")
    };
    let (three, three_net) = run_digits_train(&cfg, &text, &split);
    assert_exact(&three, 90);
    assert_eq!(three.segments, 3);
    assert_eq!(three.cycles, one.cycles);
    let layers = cfg.network.hidden.len() + 1;
    assert_eq!(one.weight_checks, layers);
    assert_eq!(
        three.weight_checks,
        3 * layers,
        "a full check at every segment end"
    );
    assert_eq!(three.rtl_train_accuracy, one.rtl_train_accuracy);
    for (a, b) in one_net.layers.iter().zip(&three_net.layers) {
        assert_eq!(a.weights(), b.weights());
    }
    for k in 0..3 {
        assert!(split.work_dir.join(format!("segment{k}/rtl")).is_dir());
    }

    let flipped = CosimOptions {
        mutate: Some(Mutation {
            sample: 29,
            layer: 0,
            signal: Signal::Weight,
            index: 7,
        }),
        ..split.clone()
    };
    let (r, _) = run_digits_train(&cfg, &text, &flipped);
    let m = r.first_mismatch.expect("the boundary check compares");
    assert_eq!(
        (m.sample, m.layer, m.signal.as_str(), m.index),
        (29, 0, "weight", 7)
    );

    let data = dataset(DatasetKind::Digits);
    let too_many = CosimOptions {
        segments: 91,
        ..split
    };
    let err = run(&cfg, &text, &data.train, &too_many).expect_err("91 segments of 90 samples");
    assert!(err.to_string().contains("--segments 91"), "{err}");
}

/// A profile-guided build trains its instrumented simulator on the first segment's first
/// samples and builds the run's simulator with that profile, which changes nothing the
/// run checks: both segments bit-exact (every weight at each segment end) and on the
/// cycle model, with g++ (`.gcda` profiles) and with clang++ (`.profraw` merged by
/// llvm-profdata), which `scripts/install-deps.sh` installs. The segments share that one
/// simulator, each reading the images in its own folder.
#[test]
fn profile_guided_builds_stay_bit_exact() {
    let (cfg, text) = preset("digits-mlp.toml");
    for (compiler, name, profile_file) in [
        (Compiler::Gcc, "g++", ".gcda"),
        (Compiler::Clang, "clang++", CLANG_PROFILE),
    ] {
        let opts = CosimOptions {
            weights_every: 0,
            segments: 2,
            pgo: true,
            compiler,
            ..options(40, &format!("digits-pgo-{name}"))
        };
        // A folder left by an earlier run may hold a build of segment 1's own.
        let _ = std::fs::remove_dir_all(&opts.work_dir);
        let (r, _) = run_digits_train(&cfg, &text, &opts);
        assert_exact(&r, 40);
        assert!(r.pgo);
        let built_by = r.sim_compiler.as_deref().expect("a Verilator build");
        assert!(built_by.starts_with(name), "{built_by} is not {name}");
        let second = opts.work_dir.join("segment1");
        assert!(
            !second.join("rtl/obj_dir").exists() && !second.join("pgo").exists(),
            "segment 1 built a simulator of its own"
        );
        // The one build lives in segment 0: its profile and its makefile.
        let seg = opts.work_dir.join("segment0");
        let profile = std::path::absolute(seg.join("pgo")).expect("absolute");
        let written: Vec<PathBuf> = std::fs::read_dir(&profile)
            .expect("the profile run wrote its profile")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(profile_file))
            .collect();
        assert!(
            !written.is_empty(),
            "no {profile_file} in {}",
            profile.display()
        );
        // The simulator that ran was built from that profile (Verilator's makefile
        // holds the C++ flags; clang reads the merged file, g++ the folder).
        let makefile = std::fs::read_dir(seg.join("rtl/obj_dir"))
            .expect("built")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "mk")
                    && !p.to_string_lossy().contains("_classes")
            })
            .expect("Verilator's makefile");
        let text = std::fs::read_to_string(&makefile).expect("readable");
        let used = match compiler {
            Compiler::Clang => profile.join(CLANG_PROFILE),
            _ => profile.clone(),
        };
        assert!(
            text.contains(&format!("-fprofile-use={} ", used.display())),
            "{} lacks -fprofile-use={}",
            makefile.display(),
            used.display()
        );
    }

    let data = dataset(DatasetKind::Digits);
    let icarus = CosimOptions {
        simulator: Simulator::Iverilog,
        pgo: true,
        ..options(40, "digits-pgo-icarus")
    };
    let err = run(&cfg, &text, &data.train, &icarus).expect_err("Icarus has no PGO build");
    assert!(err.to_string().contains("--pgo"), "{err}");
}
