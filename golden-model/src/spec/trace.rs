//! What one training step did, as raw integers, for the bit-exact co-simulation.
//!
//! Weights are not copied into the trace: after `train_step` returns, the net's own weight
//! arrays *are* the post-update state, and co-sim reads them directly (every weight, every
//! step) without the cost of a copy per sample.

use serde::Serialize;

/// One layer's step. Hidden layers fill every field; the classifier's `output` holds its
/// logits' pre-shift sums and `delta` equals `error`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LayerTrace {
    /// Input activations (Q·act_frac).
    pub input: Vec<i64>,
    /// Exact pre-activation sums (Q·weight_frac+act_frac).
    pub sums: Vec<i64>,
    /// Output activations (hidden) in Q·act_frac; empty for the classifier.
    pub output: Vec<i64>,
    /// Logits after scaling and modulation (Q·logit_frac).
    pub logits: Vec<i64>,
    /// Softmax error p − y (Q·prob_frac).
    pub error: Vec<i64>,
    /// Per-neuron error that multiplies the input in the update (Q·err_frac hidden,
    /// Q·prob_frac classifier).
    pub delta: Vec<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StepTrace {
    pub label: usize,
    pub prediction: usize,
    pub layers: Vec<LayerTrace>,
}
