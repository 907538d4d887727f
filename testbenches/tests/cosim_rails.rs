//! Co-simulation that drives every saturating stage into both rails: narrow formats and
//! learning rates up to 1 clip the hidden activation `h`, the hidden delta `δ`, the updated
//! weights and the LLS-M/MxM modulation to their minimum and to their maximum within tens
//! of samples, and the RTL stays bit-exact. The golden model counts the clipped values
//! ([`golden_model::spec::rails`]) on the same samples, and each test asserts that every
//! stage it names hit both rails, so a wrong saturation bound in the RTL cannot pass
//! unnoticed (`scripts/mutation-check.sh` moves each bound and expects these tests to fail).
//! The softmax error has no rail: it lies in `[−2^prob_frac, 2^prob_frac]` by construction.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, Split};
use golden_model::data::{Dataset, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::rails::{Rails, Stage};
use testbenches::{run, CosimOptions};

#[path = "../../rtl-gen/tests/support/random_configs.rs"]
mod random_configs;

use random_configs::Knobs;

fn digits() -> Dataset {
    load(DatasetKind::Digits, &default_data_dir()).expect("digits fixture")
}

/// The golden model's rail counts over the first `samples` training samples.
fn rails(cfg: &Config, data: &Split, samples: usize) -> Rails {
    let mut net = FixedNet::new(cfg);
    net.count_rails();
    for s in 0..samples {
        net.train_step(data.image(s), data.label(s) as usize);
    }
    *net.rails().expect("counting")
}

/// Asserts that `samples` samples clip every stage of `stages` to both rails, then that
/// the RTL trains on them bit-exactly under `opts` (every weight every sample).
fn check(knobs: &Knobs, samples: usize, stages: &[Stage], tweak: impl Fn(&mut CosimOptions)) {
    let cfg = knobs.config();
    let data = digits();
    let counts = rails(&cfg, &data.train, samples);
    assert!(
        counts.missing(stages).is_empty(),
        "{}: rails not hit by {:?}: {counts:?}",
        cfg.name,
        counts.missing(stages)
    );
    let mut opts = CosimOptions::new(
        samples,
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("cosim-rails")
            .join(&cfg.name),
    );
    tweak(&mut opts);
    let (r, _) = run(&cfg, &cfg.to_toml(), &data.train, &opts).expect("co-sim runs");
    if let Some(m) = &r.first_mismatch {
        panic!("{}: {m}", cfg.name);
    }
    assert_eq!(r.samples, samples);
}

/// LLS-MxM with half-up rounding: all four stages clip both ways.
#[test]
fn lls_mxm_drives_every_stage_to_both_rails() {
    let knobs = Knobs {
        hidden: vec![8],
        lanes: 4,
        rule: "lls-mxm",
        act: (9, 7),
        weight: (7, 5),
        leak_shift: 0,
        input_shift: 3,
        lr_shifts: (0, 0, 2),
        logit_shift: 0,
        err: (7, 6),
        modulation: (8, 6),
        ..Knobs::new("rails-mxm")
    };
    check(&knobs, 24, &Stage::ALL, |_| {});
}

/// LLS-M over two layers, sine basis, floor rounding and stochastic updates, with stalls
/// and a reset in the middle of a sample.
#[test]
fn lls_m_stochastic_drives_every_stage_to_both_rails_with_stalls_and_a_reset() {
    let knobs = Knobs {
        hidden: vec![8, 4],
        lanes: 2,
        rule: "lls-m",
        basis: "sine",
        act: (10, 8),
        weight: (6, 4),
        rounding: "floor",
        update_rounding: "stochastic",
        leak_shift: 1,
        input_shift: 4,
        lr_shifts: (0, 0, 0),
        logit_shift: 0,
        err: (8, 7),
        modulation: (5, 3),
        ..Knobs::new("rails-m")
    };
    check(&knobs, 30, &Stage::ALL, |o| {
        o.stall = 0.2;
        o.reset_at = Some(7);
    });
}

/// Plain LLS, one hidden lane and two classifier lanes, floor rounding.
#[test]
fn lls_drives_activation_delta_and_weights_to_both_rails() {
    let knobs = Knobs {
        hidden: vec![4],
        lanes: 1,
        act: (9, 7),
        weight: (7, 5),
        rounding: "floor",
        update_rounding: "floor",
        leak_shift: 0,
        input_shift: 3,
        lr_shifts: (0, 1, 2),
        logit_shift: 0,
        err: (5, 4),
        classifier_lanes: Some(2),
        ..Knobs::new("rails-lls")
    };
    check(
        &knobs,
        16,
        &[Stage::Activation, Stage::Delta, Stage::Weight],
        |_| {},
    );
}
