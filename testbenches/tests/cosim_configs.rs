//! Co-simulation over generated small configs: rule (lls, lls-m, lls-mxm), layer sizes,
//! widths, lanes, basis, rounding (stochastic updates too) and activation vary; each is
//! bit-exact over tens of samples of real digits. Accumulator widths are steered across
//! the 32-bit boundary where Verilator's C++ types change.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{load, Dataset, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use golden_model::rng::SplitMix64;
use testbenches::{run, CosimOptions};

/// The knobs the configs sweep; everything else is fixed.
#[derive(Clone)]
struct Knobs {
    name: String,
    hidden: Vec<usize>,
    lanes: usize,
    rule: &'static str,
    basis: &'static str,
    act: (u32, u32),
    weight: (u32, u32),
    rounding: &'static str,
    update_rounding: &'static str,
    activation: &'static str,
}

impl Knobs {
    fn new(name: &str) -> Knobs {
        Knobs {
            name: name.to_string(),
            hidden: vec![16],
            lanes: 4,
            rule: "lls",
            basis: "square",
            act: (13, 8),
            weight: (13, 11),
            rounding: "half-up",
            update_rounding: "half-up",
            activation: "leaky-relu",
        }
    }

    fn config(&self) -> Config {
        let hidden: Vec<String> = self.hidden.iter().map(|h| h.to_string()).collect();
        let text = format!(
            r#"name = "{name}"
[data]
dataset = "digits"
input_shift = 4
[network]
inputs = 64
hidden = [{hidden}]
classes = 10
activation = "{activation}"
leak_shift = 2
[learning]
rule = "{rule}"
basis = "{basis}"
lr_shift = 5
out_lr_shift = 6
mod_lr_shift = 4
logit_shift = 1
epochs = 1
seed = 3
[fixed]
act_bits = {act_bits}
act_frac = {act_frac}
weight_bits = {weight_bits}
weight_frac = {weight_frac}
err_bits = 14
err_frac = 10
logit_frac = 3
prob_frac = 12
acc_bits = 48
rounding = "{rounding}"
update_rounding = "{update_rounding}"
[hardware]
target = "ecp5-85k"
lanes = {lanes}
freq_mhz = 100.0
"#,
            name = self.name,
            hidden = hidden.join(", "),
            activation = self.activation,
            rule = self.rule,
            basis = self.basis,
            act_bits = self.act.0,
            act_frac = self.act.1,
            weight_bits = self.weight.0,
            weight_frac = self.weight.1,
            rounding = self.rounding,
            update_rounding = self.update_rounding,
            lanes = self.lanes,
        );
        Config::from_toml_str(&text, &self.name)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", self.name))
    }
}

fn digits() -> Dataset {
    let dir = std::env::var_os("LLS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data"));
    load(DatasetKind::Digits, &dir).expect("digits fixture")
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

/// Draws one knob from `options`.
fn pick<T: Copy>(rng: &mut SplitMix64, options: &[T]) -> T {
    options[rng.below(options.len())]
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
        let depth = 1 + rng.below(2);
        let rounding = pick(&mut rng, &["floor", "half-up"]);
        let knobs = Knobs {
            hidden: (0..depth).map(|_| 4 << rng.below(3)).collect(),
            lanes: 1 << rng.below(3),
            rule,
            basis: pick(&mut rng, &["square", "sine"]),
            act: (12 + rng.below(5) as u32, 8),
            weight: (12 + rng.below(5) as u32, 10),
            rounding,
            // The second round of rules updates with stochastic rounding.
            update_rounding: if k >= 3 { "stochastic" } else { rounding },
            activation: pick(&mut rng, &["relu", "leaky-relu"]),
            ..Knobs::new(&format!("random{k}"))
        };
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
