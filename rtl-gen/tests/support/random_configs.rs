//! Small random configs, shared by rtl-gen's manifest test and testbenches' co-simulation
//! (`testbenches/tests/cosim_configs.rs` includes this file by path): rule, layer sizes,
//! widths, lanes, basis, rounding and activation vary around one digits design.

use golden_model::config::Config;
use golden_model::rng::SplitMix64;

/// The knobs the configs sweep; everything else is fixed.
#[derive(Clone)]
pub struct Knobs {
    pub name: String,
    pub hidden: Vec<usize>,
    pub lanes: usize,
    pub rule: &'static str,
    pub basis: &'static str,
    pub act: (u32, u32),
    pub weight: (u32, u32),
    pub rounding: &'static str,
    pub update_rounding: &'static str,
    pub activation: &'static str,
}

impl Knobs {
    pub fn new(name: &str) -> Knobs {
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

    /// Knobs `name` with every knob but `rule` drawn from `rng`: one or two hidden layers
    /// of 4, 8 or 16 units, 1, 2 or 4 lanes, basis, widths, rounding and activation;
    /// `stochastic` updates with stochastic rounding.
    pub fn random(rng: &mut SplitMix64, name: &str, rule: &'static str, stochastic: bool) -> Knobs {
        let depth = 1 + rng.below(2);
        let rounding = pick(rng, &["floor", "half-up"]);
        Knobs {
            hidden: (0..depth).map(|_| 4 << rng.below(3)).collect(),
            lanes: 1 << rng.below(3),
            rule,
            basis: pick(rng, &["square", "sine"]),
            act: (12 + rng.below(5) as u32, 8),
            weight: (12 + rng.below(5) as u32, 10),
            rounding,
            update_rounding: if stochastic { "stochastic" } else { rounding },
            activation: pick(rng, &["relu", "leaky-relu"]),
            ..Knobs::new(name)
        }
    }

    pub fn config(&self) -> Config {
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

/// Draws one knob from `options`.
pub fn pick<T: Copy>(rng: &mut SplitMix64, options: &[T]) -> T {
    options[rng.below(options.len())]
}
