//! Small random configs, shared by rtl-gen's manifest test and testbenches' co-simulation
//! (`testbenches/tests/cosim_configs.rs`, `cosim_rails.rs` and the `campaign` example
//! include this file by path): rule, layer sizes, widths, lanes, basis, rounding and
//! activation vary around one digits design; [`Knobs::campaign`] also draws learning rates,
//! input scale, error and modulation widths (to drive every saturating stage to its rails)
//! and the hardware options.

#![allow(dead_code)] // each including test uses its own share of the knobs

use golden_model::config::Config;
use golden_model::rng::SplitMix64;

/// The knobs the configs sweep; everything else is fixed.
#[derive(Clone, Debug)]
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
    pub leak_shift: u32,
    /// `data.input_shift`: pixel 0..16 → `pixel << input_shift` (Q·act_frac).
    pub input_shift: u32,
    /// `data.input_offset`: the pixel that maps to input 0.
    pub input_offset: u32,
    /// `learning.lr_shift`, `out_lr_shift`, `mod_lr_shift`.
    pub lr_shifts: (u32, u32, u32),
    pub logit_shift: u32,
    /// `fixed.err_bits`, `err_frac`.
    pub err: (u32, u32),
    /// `fixed.mod_bits`, `mod_frac`.
    pub modulation: (u32, u32),
    pub bank_weights: bool,
    pub share_multipliers: bool,
    pub classifier_lanes: Option<usize>,
    /// `hardware.softmax_dividers` (a divisor of the 10 classes).
    pub softmax_dividers: usize,
    /// `learning.lr_halve_at`.
    pub lr_halve_at: Vec<u64>,
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
            leak_shift: 2,
            input_shift: 4,
            input_offset: 0,
            lr_shifts: (5, 6, 4),
            logit_shift: 1,
            err: (14, 10),
            modulation: (16, 12),
            bank_weights: false,
            share_multipliers: false,
            classifier_lanes: None,
            softmax_dividers: 1,
            lr_halve_at: Vec::new(),
        }
    }

    /// Knobs `name` with every knob drawn from `rng`, for the random-config campaign: rule,
    /// one to three hidden layers of 4 to 16 units, lanes, classifier lanes, basis, widths,
    /// rounding (stochastic updates too), activation, banked weights (ECP5), the shared
    /// multiplier pool, a learning-rate schedule and centred inputs; learning rates up to
    /// 1, wide inputs and narrow error and modulation formats, so that activations, deltas,
    /// weights and modulation saturate. Redraws until the config is valid.
    pub fn campaign(rng: &mut SplitMix64, name: &str) -> Knobs {
        loop {
            let depth = 1 + rng.below(3);
            let hidden: Vec<usize> = (0..depth).map(|_| pick(rng, &[4, 8, 12, 16])).collect();
            let lanes = pick(rng, &[1, 2, 4]);
            let last = *hidden.last().expect("a hidden layer");
            // Over a last hidden layer of 12 the classifier's lanes are 1, 3 or 6: counts
            // that are not powers of two.
            let classifier_lanes = match rng.below(3) {
                0 => Some(pick(rng, &[1, 2, 4]))
                    .map(|l| if last == 12 { l * 3 / 2 } else { l })
                    .filter(|l| last % l == 0),
                _ => None,
            };
            let rounding = pick(rng, &["floor", "half-up"]);
            // Three draws in four are narrow and fast-learning: they drive the stages to
            // their rails; the rest keep the widths and rates of a working design.
            let hot = rng.below(4) != 0;
            let act_bits = 9 + rng.below(if hot { 3 } else { 8 }) as u32;
            let weight_bits = 6 + rng.below(if hot { 3 } else { 11 }) as u32;
            let err_bits = 4 + rng.below(if hot { 3 } else { 11 }) as u32;
            let mod_bits = 4 + rng.below(if hot { 3 } else { 13 }) as u32;
            let lr = if hot { 2 } else { 7 };
            // Hot formats keep two integer bits (error: one), so a few steps reach a rail.
            let frac = |rng: &mut SplitMix64, bits: u32, int: u32, base: u32, spread: usize| {
                if hot {
                    bits - int
                } else {
                    (bits - int).min(base + rng.below(spread) as u32)
                }
            };
            let weight = (weight_bits, frac(rng, weight_bits, 2, 4, 8));
            let err = (err_bits, frac(rng, err_bits, 1, 4, 7));
            let modulation = (mod_bits, frac(rng, mod_bits, 2, 4, 9));
            let knobs = Knobs {
                name: name.to_string(),
                hidden,
                lanes,
                rule: pick(rng, &["lls", "lls-m", "lls-mxm"]),
                basis: pick(rng, &["square", "sine"]),
                act: (act_bits, 8.min(act_bits - 2)),
                weight,
                rounding,
                update_rounding: pick(rng, &[rounding, "stochastic"]),
                activation: pick(rng, &["relu", "leaky-relu", "leaky-relu"]),
                leak_shift: rng.below(if hot { 2 } else { 4 }) as u32,
                input_shift: if hot {
                    4.min(act_bits - 6)
                } else {
                    2 + rng.below(3) as u32
                },
                lr_shifts: (
                    rng.below(lr) as u32,
                    rng.below(lr) as u32,
                    rng.below(lr) as u32,
                ),
                logit_shift: rng.below(if hot { 1 } else { 3 }) as u32,
                err,
                modulation,
                bank_weights: rng.below(4) == 0,
                share_multipliers: rng.below(3) == 0,
                classifier_lanes,
                softmax_dividers: 1,
                lr_halve_at: schedule(rng, 40),
                input_offset: pick(rng, &[0, 0, 4, 8]),
            };
            if knobs.try_config().is_ok() {
                return knobs;
            }
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
            lr_halve_at: schedule(rng, 20),
            ..Knobs::new(name)
        }
    }

    pub fn config(&self) -> Config {
        self.try_config().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The config, or why it is not valid (the message holds the TOML).
    pub fn try_config(&self) -> Result<Config, String> {
        let hidden: Vec<String> = self.hidden.iter().map(|h| h.to_string()).collect();
        let text = format!(
            r#"name = "{name}"
[data]
dataset = "digits"
input_shift = {input_shift}
input_offset = {input_offset}
[network]
inputs = 64
hidden = [{hidden}]
classes = 10
activation = "{activation}"
leak_shift = {leak_shift}
[learning]
rule = "{rule}"
basis = "{basis}"
lr_shift = {lr_shift}
out_lr_shift = {out_lr_shift}
mod_lr_shift = {mod_lr_shift}
logit_shift = {logit_shift}
epochs = 1
seed = 3
lr_halve_at = [{lr_halve_at}]
[fixed]
act_bits = {act_bits}
act_frac = {act_frac}
weight_bits = {weight_bits}
weight_frac = {weight_frac}
err_bits = {err_bits}
err_frac = {err_frac}
mod_bits = {mod_bits}
mod_frac = {mod_frac}
logit_frac = 3
prob_frac = 12
acc_bits = 48
rounding = "{rounding}"
update_rounding = "{update_rounding}"
[hardware]
target = "ecp5-85k"
lanes = {lanes}
bank_weights = {bank_weights}
share_multipliers = {share_multipliers}
softmax_dividers = {softmax_dividers}
freq_mhz = 100.0
{classifier_lanes}"#,
            name = self.name,
            hidden = hidden.join(", "),
            lr_halve_at = self
                .lr_halve_at
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
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
            leak_shift = self.leak_shift,
            input_shift = self.input_shift,
            input_offset = self.input_offset,
            lr_shift = self.lr_shifts.0,
            out_lr_shift = self.lr_shifts.1,
            mod_lr_shift = self.lr_shifts.2,
            logit_shift = self.logit_shift,
            err_bits = self.err.0,
            err_frac = self.err.1,
            mod_bits = self.modulation.0,
            mod_frac = self.modulation.1,
            bank_weights = self.bank_weights,
            share_multipliers = self.share_multipliers,
            softmax_dividers = self.softmax_dividers,
            classifier_lanes = self
                .classifier_lanes
                .map_or(String::new(), |l| format!("classifier_lanes = {l}\n")),
        );
        Config::from_toml_str(&text, &self.name).map_err(|e| format!("{}: {e}\n{text}", self.name))
    }
}

/// Draws one knob from `options`.
pub fn pick<T: Copy>(rng: &mut SplitMix64, options: &[T]) -> T {
    options[rng.below(options.len())]
}

/// A learning-rate schedule for a run of a few tens of samples: none in half the draws,
/// else one to three halvings, ascending, within the first `samples`.
fn schedule(rng: &mut SplitMix64, samples: u64) -> Vec<u64> {
    if rng.below(2) == 0 {
        return Vec::new();
    }
    let mut at: Vec<u64> = (0..1 + rng.below(3))
        .map(|_| rng.below(samples as usize) as u64)
        .collect();
    at.sort_unstable();
    at.dedup();
    at
}
