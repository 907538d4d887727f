//! Co-simulation over generated small configs: layer sizes, widths, lanes, basis and
//! rounding vary; each is bit-exact over tens of samples of real digits. Accumulator
//! widths are steered across the 32-bit boundary where Verilator's C++ types change.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{load, DatasetKind};
use golden_model::rng::SplitMix64;
use testbenches::{run, CosimOptions};

// One argument per swept knob reads best at the call sites.
#[allow(clippy::too_many_arguments)]
fn config(
    name: &str,
    hidden: &[usize],
    lanes: usize,
    basis: &str,
    act: (u32, u32),
    weight: (u32, u32),
    rounding: &str,
    activation: &str,
) -> Config {
    let hidden: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
    let text = format!(
        r#"name = "{name}"
[data]
dataset = "digits"
input_shift = 4
[network]
inputs = 64
hidden = [{}]
classes = 10
activation = "{activation}"
leak_shift = 2
[learning]
rule = "lls"
basis = "{basis}"
lr_shift = 5
out_lr_shift = 6
logit_shift = 1
epochs = 1
seed = 3
[fixed]
act_bits = {}
act_frac = {}
weight_bits = {}
weight_frac = {}
err_bits = 14
err_frac = 10
logit_frac = 3
prob_frac = 12
acc_bits = 48
rounding = "{rounding}"
update_rounding = "{rounding}"
[hardware]
target = "ecp5-85k"
lanes = {lanes}
freq_mhz = 100.0
"#,
        hidden.join(", "),
        act.0,
        act.1,
        weight.0,
        weight.1
    );
    Config::from_toml_str(&text, name).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
}

fn check(cfg: &Config, samples: usize) {
    let dir = std::env::var_os("LLS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    let data = load(DatasetKind::Digits, &dir).expect("digits fixture");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim-configs")
        .join(&cfg.name);
    let (r, _) = run(
        cfg,
        &cfg.to_toml(),
        &data.train,
        &CosimOptions::new(samples, work),
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
        let cfg = config(
            name,
            &[16],
            4,
            "square",
            act,
            weight,
            "half-up",
            "leaky-relu",
        );
        let acc = cfg.fixed.weight_bits + cfg.fixed.act_bits + 6;
        assert_eq!(format!("acc{acc}"), name);
        check(&cfg, 20);
    }
}

#[test]
fn random_small_configs_are_bit_exact() {
    let mut rng = SplitMix64::new(2024);
    for k in 0..4 {
        let depth = 1 + rng.below(2);
        let hidden: Vec<usize> = (0..depth).map(|_| 4 << rng.below(3)).collect();
        let lanes = 1 << rng.below(3);
        let basis = if rng.below(2) == 0 { "square" } else { "sine" };
        let rounding = if rng.below(2) == 0 {
            "floor"
        } else {
            "half-up"
        };
        let activation = if rng.below(2) == 0 {
            "relu"
        } else {
            "leaky-relu"
        };
        let act = (12 + rng.below(5) as u32, 8);
        let weight = (12 + rng.below(5) as u32, 10);
        let cfg = config(
            &format!("random{k}"),
            &hidden,
            lanes,
            basis,
            act,
            weight,
            rounding,
            activation,
        );
        check(&cfg, 25);
    }
}
