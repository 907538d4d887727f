//! MAC and memory accounting, counted by the models as they run.
//!
//! Convention (per training sample, batch 1):
//! - `forward`: multiply-accumulates of the layers' forward sums;
//! - `learning`: operations that build the learning signal: the basis projection `B·h` and
//!   back-projection `Bᵀe` of LLS (add/subtract only for the square basis, still counted
//!   one per term), the modulation, the softmax error, and for BP the error propagation
//!   `Wᵀδ` through every layer but the first;
//! - `update`: the weight-gradient products δ·xᵀ (identical for every rule).

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MacCount {
    pub forward: u64,
    pub learning: u64,
    pub update: u64,
}

impl MacCount {
    pub fn total(&self) -> u64 {
        self.forward + self.learning + self.update
    }
    pub fn add(&mut self, other: MacCount) {
        self.forward += other.forward;
        self.learning += other.learning;
        self.update += other.update;
    }
    pub fn per_sample(&self, samples: u64) -> MacCount {
        let s = samples.max(1);
        MacCount {
            forward: self.forward / s,
            learning: self.learning / s,
            update: self.update / s,
        }
    }
}
