//! Co-simulation over generated small configs: rule (lls, lls-m, lls-mxm), layer sizes,
//! widths, lanes, basis, rounding (stochastic updates too) and activation vary; each is
//! bit-exact over tens of samples of real digits. Accumulator widths are steered across
//! the 32-bit boundary where Verilator's C++ types change.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, Dataset, DatasetKind};
use golden_model::rng::SplitMix64;
use golden_model::spec::fixed::FixedNet;
use testbenches::{run, CosimOptions};

#[path = "../../rtl-gen/tests/support/random_configs.rs"]
mod random_configs;

use random_configs::Knobs;

fn digits() -> Dataset {
    load(DatasetKind::Digits, &default_data_dir()).expect("digits fixture")
}

fn work_dir(cfg: &Config) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim-configs")
        .join(&cfg.name)
}

fn check(cfg: &Config, samples: usize) {
    let data = digits();
    let (r, _) = run(
        cfg,
        &cfg.to_toml(),
        &data.train,
        &CosimOptions::new(samples, work_dir(cfg)),
    )
    .expect("co-sim runs");
    assert_eq!(r.first_mismatch, None, "{}", cfg.name);
    assert_eq!(r.samples, samples);
    assert_eq!(r.cycle_model_deviations, 0, "{}: cycle model", cfg.name);
}

#[test]
fn accumulators_across_the_32_bit_boundary() {
    // Layer 0 sums 64 products: acc = weight_bits + act_bits + 6.
    for (name, act, weight) in [
        ("acc31", (13, 8), (12, 10)),
        ("acc32", (13, 8), (13, 11)),
        ("acc33", (14, 8), (13, 11)),
    ] {
        let cfg = Knobs {
            act,
            weight,
            ..Knobs::new(name)
        }
        .config();
        let acc = cfg.fixed.weight_bits + cfg.fixed.act_bits + 6;
        assert_eq!(format!("acc{acc}"), name);
        check(&cfg, 20);
    }
}

#[test]
fn random_small_configs_are_bit_exact() {
    // Each rule twice (deterministic, then stochastic update rounding), every other knob
    // drawn: layer sizes, lanes, basis, widths, rounding, activation.
    let mut rng = SplitMix64::new(2024);
    for (k, rule) in ["lls", "lls-m", "lls-mxm", "lls", "lls-m", "lls-mxm"]
        .into_iter()
        .enumerate()
    {
        // The second round of rules updates with stochastic rounding.
        let knobs = Knobs::random(&mut rng, &format!("random{k}"), rule, k >= 3);
        check(&knobs.config(), 25);
    }
}

/// A net trained in the golden model, exported as state images (weights, the LLS-MxM
/// matrix, the stochastic-rounding LFSR states) and loaded by the RTL at power-up, goes on
/// training bit-exact: every image is used, or the first readback would differ.
#[test]
fn training_resumes_from_exported_state() {
    let cfg = Knobs {
        hidden: vec![8],
        lanes: 2,
        rule: "lls-mxm",
        update_rounding: "stochastic",
        ..Knobs::new("resume")
    }
    .config();
    let data = digits();
    let mut net = FixedNet::new(&cfg);
    for s in 100..160 {
        net.train_step(data.train.image(s), data.train.label(s) as usize);
    }
    let fresh = FixedNet::new(&cfg);
    for (k, (a, b)) in net.layers.iter().zip(&fresh.layers).enumerate() {
        assert_ne!(a.weights(), b.weights(), "layer {k}: weights moved");
        assert_ne!(a.lfsr, b.lfsr, "layer {k}: LFSRs stepped");
    }
    assert_ne!(net.layers[0].modulation, fresh.layers[0].modulation);
    let opts = CosimOptions {
        resume_from: Some(net),
        ..CosimOptions::new(15, work_dir(&cfg))
    };
    let (r, _) = run(&cfg, &cfg.to_toml(), &data.train, &opts).expect("co-sim runs");
    assert_eq!(r.first_mismatch, None);
    assert_eq!(r.samples, 15);
}

/// A learning-rate schedule (`learning.lr_halve_at`): each sample carries its halvings to
/// the RTL in `s_axis_tuser`, back to back with stalls, and from a resumed state inside
/// the schedule. The halvings change what is learned, so an RTL that ignored them would
/// differ. The inputs are centred (`data.input_offset`).
#[test]
fn a_learning_rate_schedule_is_bit_exact_in_bursts_and_resumed() {
    let knobs = Knobs {
        lr_halve_at: vec![4, 10, 18],
        input_offset: 5,
        input_shift: 3,
        ..Knobs::new("schedule")
    };
    let cfg = knobs.config();
    let flat = Knobs {
        lr_halve_at: Vec::new(),
        ..knobs
    }
    .config();
    let data = digits();
    let train = |cfg: &Config, n: usize| {
        let mut net = FixedNet::new(cfg);
        for s in 0..n {
            net.train_step(data.train.image(s), data.train.label(s) as usize);
        }
        net
    };
    assert_ne!(
        train(&cfg, 24).layers[0].weights(),
        train(&flat, 24).layers[0].weights(),
        "the schedule changes the weights"
    );
    assert_eq!(FixedNet::new(&cfg).dp.input(&[0, 5, 16]), [-40, 0, 88]);
    let resumed = train(&cfg, 7);
    assert_eq!(resumed.lr_halvings(), 1);
    let opts = CosimOptions {
        burst: 4,
        stall: 0.2,
        resume_from: Some(resumed),
        ..CosimOptions::new(24, work_dir(&cfg))
    };
    let (r, net) = run(&cfg, &cfg.to_toml(), &data.train, &opts).expect("co-sim runs");
    assert_eq!(r.first_mismatch, None);
    assert_eq!(r.samples, 24);
    assert_eq!((net.trained, net.lr_halvings()), (31, 3));
}
