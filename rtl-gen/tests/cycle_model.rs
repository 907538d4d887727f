//! The cycle model's streaming schedule against its lock step and the unit timings it is
//! built from, over the presets, the test configs and random configs. (Co-simulation holds
//! both schedules to the RTL: every lock-step sample and every stall-free burst.)

use golden_model::config::Config;
use golden_model::rng::SplitMix64;
use rtl_gen::blocks::layer::pass_timing;
use rtl_gen::cycles::{CycleModel, STEADY_SAMPLES};
use rtl_gen::params::DesignParams;

#[path = "support/random_configs.rs"]
mod random_configs;

use random_configs::Knobs;

fn configs() -> Vec<Config> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut configs = Vec::new();
    for dir in ["../configs", "tests/configs"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("config folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                configs.push(Config::from_toml_str(&text, "config").expect("valid"));
            }
        }
    }
    let mut rng = SplitMix64::new(31);
    configs.extend((0..60).map(|k| Knobs::campaign(&mut rng, &format!("c{k}")).config()));
    configs
}

/// The steady state holds: past [`STEADY_SAMPLES`] predictions, any [`STEADY_SAMPLES`]
/// consecutive gaps (the last, a tail, aside) add up to that many steady periods, without
/// and with learning; where the gaps differ at all, the configs below show it.
#[test]
fn the_steady_period_is_constant_once_reached() {
    let mut patterned = 0;
    for cfg in configs() {
        for learn in [true, false] {
            let p = DesignParams::new(&cfg, learn).expect("generates");
            let model = CycleModel::new(&p);
            let steady = model.steady_cycles();
            let gaps = model.prediction_gaps(4 * STEADY_SAMPLES);
            let steady_gaps = &gaps[STEADY_SAMPLES - 1..gaps.len() - 1];
            for window in steady_gaps.windows(STEADY_SAMPLES) {
                assert_eq!(
                    window.iter().sum::<u64>(),
                    steady * STEADY_SAMPLES as u64,
                    "{} (learn {learn}): gaps {gaps:?}",
                    cfg.name
                );
            }
            patterned += usize::from(steady_gaps.iter().any(|&g| g != steady));
        }
    }
    // Shared pools in inference alternate two gaps (e.g. 576, 840): the mean covers them.
    assert!(
        patterned > 0,
        "the random configs include an alternating schedule"
    );
}

/// Streaming never takes longer than lock step, nor less than the busiest unit's passes.
#[test]
fn streaming_lies_between_the_busiest_unit_and_lock_step() {
    for cfg in configs() {
        let p = DesignParams::new(&cfg, true).expect("generates");
        let model = CycleModel::new(&p);
        let steady = model.steady_cycles();
        assert!(steady <= model.sample_cycles(), "{}", cfg.name);
        let busiest = p
            .layers
            .iter()
            .map(|l| pass_timing(&p, l).rows * 2)
            .max()
            .unwrap_or(0);
        assert!(steady >= busiest, "{}: {steady} < {busiest}", cfg.name);
    }
}

/// Units with multipliers of their own overlap completely: the slowest unit sets the pace,
/// from one sample's idle edge to taking the next (one edge later).
#[test]
fn own_multipliers_stream_at_the_slowest_unit() {
    let mnist = Config::from_toml_str(include_str!("../../configs/mnist-mlp.toml"), "mnist")
        .expect("valid");
    let p = DesignParams::new(&mnist, true).expect("generates");
    let busy: Vec<u64> = p
        .layers
        .iter()
        .map(|l| {
            let t = pass_timing(&p, l);
            t.fwd_request + t.after_fwd + t.upd_end.expect("learning")
        })
        .collect();
    let model = CycleModel::new(&p);
    assert_eq!(model.steady_cycles(), busy.iter().max().unwrap() + 1);
    assert_eq!(
        (model.steady_cycles(), model.sample_cycles()),
        (4_183, 4_966)
    );
}
