//! Builds one unit from a small config for the builders' unit tests, and reads back the
//! declarations of its Verilog.

use std::collections::BTreeMap;

use golden_model::config::Config;

use crate::params::{DesignParams, LayerParams};

/// The knobs the builders branch on, over an `inputs` → `hidden` → 3 net.
#[derive(Clone)]
pub(super) struct Knobs {
    pub learn: bool,
    pub inputs: usize,
    pub hidden: usize,
    pub lanes: usize,
    pub target: &'static str,
    pub bank_weights: bool,
    pub share_multipliers: bool,
    pub rule: &'static str,
    pub basis: &'static str,
    pub activation: &'static str,
    pub update_rounding: &'static str,
}

impl Default for Knobs {
    fn default() -> Knobs {
        Knobs {
            learn: true,
            inputs: 16,
            hidden: 8,
            lanes: 2,
            target: "ice40-up5k",
            bank_weights: false,
            share_multipliers: false,
            rule: "lls",
            basis: "square",
            activation: "leaky-relu",
            update_rounding: "half-up",
        }
    }
}

impl Knobs {
    pub(super) fn design(&self) -> DesignParams {
        let text = format!(
            r#"name = "unit"
[data]
dataset = "digits"
input_shift = 4
[network]
inputs = {inputs}
hidden = [{hidden}]
classes = 3
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
act_bits = 12
act_frac = 8
weight_bits = 14
weight_frac = 11
err_bits = 14
err_frac = 10
logit_frac = 3
prob_frac = 12
acc_bits = 40
rounding = "half-up"
update_rounding = "{update_rounding}"
[hardware]
target = "{target}"
lanes = {lanes}
bank_weights = {bank_weights}
share_multipliers = {share_multipliers}
freq_mhz = 50.0
"#,
            inputs = self.inputs,
            hidden = self.hidden,
            activation = self.activation,
            rule = self.rule,
            basis = self.basis,
            update_rounding = self.update_rounding,
            target = self.target,
            lanes = self.lanes,
            bank_weights = self.bank_weights,
            share_multipliers = self.share_multipliers,
        );
        let cfg = Config::from_toml_str(&text, "unit.toml").unwrap_or_else(|e| panic!("{e}"));
        DesignParams::new(&cfg, self.learn).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Layer `k`'s parameters (0: the hidden unit, 1: the classifier).
    /// Weights banked by block RAM: 64 → 40 on 2 lanes is 1,280 words a lane, two banks.
    pub(super) fn banked() -> Knobs {
        Knobs {
            inputs: 64,
            hidden: 40,
            target: "ecp5-85k",
            bank_weights: true,
            ..Knobs::default()
        }
    }

    pub(super) fn layer(&self, k: usize) -> LayerParams {
        self.design().layers[k].clone()
    }

    /// The hidden unit (`k` = 0) or the classifier (`k` = 1), as Verilog declarations.
    pub(super) fn unit(&self, k: usize) -> Decls {
        let p = self.design();
        let text = super::module(&p, &p.layers[k], &[]).to_verilog();
        Decls::parse(&text)
    }
}

/// A declared signal: its kind (`reg`, `wire`, `input`, `output`, `localparam`), its
/// width and, for a memory, its depth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Decl {
    pub kind: String,
    pub width: u32,
    pub depth: Option<u32>,
}

/// The declarations of a module's Verilog, by name, and its text.
pub(super) struct Decls {
    pub by_name: BTreeMap<String, Decl>,
    pub text: String,
}

impl Decls {
    fn parse(text: &str) -> Decls {
        let mut by_name = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim().trim_end_matches([';', ',']);
            let mut tokens = line.split_whitespace().peekable();
            let Some(&first) = tokens.peek() else {
                continue;
            };
            if !["reg", "wire", "input", "output", "localparam"].contains(&first) {
                continue;
            }
            let mut kind = first.to_string();
            let mut width = 1;
            let mut name = None;
            let mut depth = None;
            for t in tokens {
                match t {
                    "reg" | "wire" | "signed" | "input" | "output" | "localparam" => {
                        if kind == "input" || kind == "output" || kind == "localparam" {
                            continue;
                        }
                        kind = t.to_string();
                    }
                    _ if t.starts_with('[') && name.is_none() => width = range_len(t),
                    _ if t.starts_with('[') => depth = Some(range_len(t)),
                    _ if name.is_none() => name = Some(t.to_string()),
                    _ => break,
                }
            }
            if let Some(name) = name {
                by_name.insert(name, Decl { kind, width, depth });
            }
        }
        Decls {
            by_name,
            text: text.to_string(),
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&Decl> {
        self.by_name.get(name)
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The width of `name`, which must be declared.
    pub(super) fn width(&self, name: &str) -> u32 {
        self.get(name)
            .unwrap_or_else(|| panic!("{name} is not declared"))
            .width
    }

    /// The names that start with `prefix` followed by a number.
    pub(super) fn numbered(&self, prefix: &str) -> usize {
        self.by_name
            .keys()
            .filter(|n| {
                n.strip_prefix(prefix).is_some_and(|rest| {
                    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())
                })
            })
            .count()
    }
}

/// `[hi:lo]` → hi − lo + 1 (`[0:N]` → N + 1).
fn range_len(t: &str) -> u32 {
    let inner = t.trim_start_matches('[').trim_end_matches(']');
    let (a, b) = inner.split_once(':').unwrap_or_else(|| panic!("range {t}"));
    let (a, b): (i64, i64) = (a.parse().expect("bound"), b.parse().expect("bound"));
    (a - b).unsigned_abs() as u32 + 1
}
