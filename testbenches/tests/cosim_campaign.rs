//! A handful of the random-config campaign's draws (`testbenches/examples/campaign.rs`,
//! [`Knobs::campaign`]) in the regular suite, with stalls and a reset, and the shapes the
//! campaign has found that no other test covers.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, Dataset, DatasetKind};
use golden_model::rng::SplitMix64;
use testbenches::{run, CosimOptions};

#[path = "../../rtl-gen/tests/support/random_configs.rs"]
mod random_configs;

use random_configs::Knobs;

fn digits() -> Dataset {
    load(DatasetKind::Digits, &default_data_dir()).expect("digits fixture")
}

fn check(cfg: &Config, samples: usize, tweak: impl Fn(&mut CosimOptions)) {
    let data = digits();
    let mut opts = CosimOptions::new(
        samples,
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("cosim-campaign")
            .join(&cfg.name),
    );
    tweak(&mut opts);
    let (r, _) = run(cfg, &cfg.to_toml(), &data.train, &opts).expect("co-sim runs");
    if let Some(m) = &r.first_mismatch {
        panic!("{}: {m}\n{}", cfg.name, cfg.to_toml());
    }
    assert_eq!(r.samples, samples);
}

/// Three campaign draws: one plain, one with stalled streams, one reset mid-sample; each
/// with its own number of softmax dividers (one round of ten, ten rounds of one, two of
/// five). The shared multiplier pool has a test of its own below.
#[test]
fn campaign_draws_are_bit_exact_with_stalls_and_a_reset() {
    for (seed, stall, reset_at, dividers) in [
        (11, 0.0, None, 10),
        (12, 0.2, None, 1),
        (14, 0.0, Some(9), 5),
    ] {
        let knobs = Knobs {
            share_multipliers: false,
            softmax_dividers: dividers,
            ..Knobs::campaign(&mut SplitMix64::new(seed), &format!("campaign-draw{seed}"))
        };
        check(&knobs.config(), 30, |o| {
            o.stall = stall;
            o.reset_at = reset_at;
        });
    }
}

/// LLS-MxM, one hidden layer of 4 (ReLU), 4 lanes, banked, stochastic updates: the
/// classifier's rows are one word, so its first item reads the word the hidden unit's
/// last (registered) write lands in; it defers that item a cycle
/// (`rtl_gen::blocks::layer::defers_first_issue`). Read in the same cycle, the poisoned
/// read made the softmax error differ at sample 4.
#[test]
fn banked_classifier_of_one_word_a_row_reads_its_input_after_the_last_write() {
    let text = r#"name = "campaign-banked-mxm"
[data]
dataset = "digits"
input_shift = 2
[network]
inputs = 64
hidden = [4]
classes = 10
activation = "relu"
leak_shift = 1
[learning]
rule = "lls-mxm"
basis = "square"
lr_shift = 0
out_lr_shift = 1
mod_lr_shift = 2
logit_shift = 0
epochs = 1
seed = 3
[fixed]
act_bits = 11
act_frac = 8
weight_bits = 6
weight_frac = 4
err_bits = 8
err_frac = 5
logit_frac = 3
prob_frac = 12
mod_bits = 7
mod_frac = 5
acc_bits = 48
rounding = "floor"
update_rounding = "stochastic"
[hardware]
target = "ecp5-85k"
lanes = 4
bank_weights = true
freq_mhz = 100.0
"#;
    let cfg = Config::from_toml_str(text, "campaign-banked-mxm").expect("valid");
    check(&cfg, 50, |_| {});
}

/// The campaign's draw of seed 13: LLS-M, hidden [8, 4], 2 lanes, 4 classifier lanes
/// over the classifier's 4 inputs (one word a row), a reset at sample 9.
#[test]
fn campaign_draw13_classifier_of_one_word_a_row() {
    let knobs = Knobs {
        share_multipliers: false,
        ..Knobs::campaign(&mut SplitMix64::new(13), "campaign-draw13")
    };
    check(&knobs.config(), 30, |o| o.reset_at = Some(9));
}

/// The shared multiplier pool with a unit whose products are narrower than the pool's:
/// the pool's top bits are the product's sign extension, discarded by name, so that
/// `verilator -Wall` accepts the design.
#[test]
fn shared_pool_with_unequal_product_widths_is_bit_exact() {
    let knobs = Knobs {
        hidden: vec![4],
        lanes: 1,
        act: (10, 7),
        weight: (7, 5),
        share_multipliers: true,
        ..Knobs::new("campaign-shared-pool")
    };
    check(&knobs.config(), 5, |_| {});
}
