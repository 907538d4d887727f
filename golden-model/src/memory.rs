//! Memory a training step needs, per rule and arithmetic, from the config's shapes.
//!
//! Counted (bits, rounded up to bytes at the end):
//! - `weights`: every layer's weights (convolutional blocks' kernels included);
//! - `basis`: the basis ROMs (C × N entries per hidden layer, LLS only) and the exp table;
//! - `modulation`: m or M (LLS-M / LLS-MxM);
//! - `activations`: what must be held until the update: under LLS each layer keeps only its
//!   own input and one sign bit per output (a block's output: its whole map, before the
//!   max-pool; the layers run independently); under BP every
//!   layer's input and pre-activation sign must be kept until the error comes back;
//! - `errors`: LLS keeps C scores/errors per layer (δ is produced one neuron at a time);
//!   BP keeps the whole δ vector of the layer above while computing the next.

use serde::Serialize;

use crate::config::{Config, Rule};
use crate::cost::config_shapes;
use crate::train::Arith;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryBytes {
    pub weights: u64,
    pub basis: u64,
    pub modulation: u64,
    pub activations: u64,
    pub errors: u64,
    pub total: u64,
}

pub fn memory_bytes(cfg: &Config, arith: Arith) -> MemoryBytes {
    let f = &cfg.fixed;
    let (w_bits, a_bits, e_bits, m_bits, basis_bits, exp_bits) = match arith {
        Arith::Fixed => (
            f.weight_bits as u64,
            f.act_bits as u64,
            f.err_bits.max(f.prob_frac + 2) as u64,
            f.mod_bits as u64,
            cfg.basis_bits() as u64,
            16u64,
        ),
        Arith::Float => (32, 32, 32, 32, 32, 0),
    };
    let layers = config_shapes(cfg).expect("memory_bytes takes a validated config");
    let hidden = &layers[..layers.len() - 1];
    let c = cfg.network.classes as u64;
    let rule = cfg.learning.rule;
    let weights: u64 = layers.iter().map(|l| l.weights() * w_bits).sum();
    let inputs: u64 = layers.iter().map(|l| l.input_len() * a_bits).sum();
    let signs: u64 = hidden.iter().map(|l| l.output_len()).sum();
    let exp_table = if arith == Arith::Fixed {
        cfg.exp_table_len() as u64 * exp_bits
    } else {
        0
    };
    let (basis, modulation, errors) = if rule.is_local() {
        let basis: u64 = hidden
            .iter()
            .map(|l| c * l.lls_len() as u64 * basis_bits)
            .sum();
        let per_layer = match rule {
            Rule::LlsM => c,
            Rule::LlsMxm => c * c,
            _ => 0,
        };
        (
            basis + exp_table,
            per_layer * hidden.len() as u64 * m_bits,
            c * layers.len() as u64 * e_bits,
        )
    } else {
        let widest = layers.iter().map(|l| l.output_len()).max().unwrap_or(0);
        (exp_table, 0, 2 * widest * e_bits)
    };
    let bytes = |bits: u64| bits.div_ceil(8);
    let m = MemoryBytes {
        weights: bytes(weights),
        basis: bytes(basis),
        modulation: bytes(modulation),
        activations: bytes(inputs + signs),
        errors: bytes(errors),
        total: 0,
    };
    MemoryBytes {
        total: m.weights + m.basis + m.modulation + m.activations + m.errors,
        ..m
    }
}
