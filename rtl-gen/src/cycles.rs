//! The cycle model: cycles the generated design takes per training sample, predicted from
//! the schedule the blocks implement. Co-simulation holds it to exact equality.
//!
//! Lock-step schedule (one sample in flight, no stalls), from the first pixel beat to the
//! cycle all units are idle again:
//! `inputs` beats, then layer 0 runs; every hidden unit starts its successor when its
//! forward pass ends, so the successor's run overlaps the unit's own softmax and update.

use crate::blocks;
use crate::params::DesignParams;

#[derive(Clone, Debug)]
pub struct CycleModel {
    /// Per unit: (cycles from start to forward done, cycles from start to idle).
    units: Vec<(u64, u64)>,
    inputs: u64,
    macs: u64,
    lanes: u64,
}

impl CycleModel {
    pub fn new(p: &DesignParams) -> CycleModel {
        let units = p
            .layers
            .iter()
            .map(|l| {
                let rows = (l.outputs * l.words) as u64;
                // start edge → WAIT (1) → FWD entered (1) → issue rows, +2 to the last S2,
                // whose edge raises the successor's start one cycle later.
                let fwd = 1 + 1 + rows + 2;
                (fwd, blocks::layer::latency(p, l))
            })
            .collect();
        let macs = p
            .layers
            .iter()
            .map(|l| (l.inputs * l.outputs) as u64)
            .sum::<u64>();
        CycleModel {
            units,
            inputs: p.inputs as u64,
            macs: if p.learn { 2 * macs } else { macs },
            lanes: p.layers[0].lanes as u64,
        }
    }

    /// Cycles per sample in lock-step mode.
    pub fn sample_cycles(&self) -> u64 {
        let mut start = self.inputs; // edge at which unit 0 samples `start`
        let mut end = 0;
        for &(fwd, total) in &self.units {
            end = end.max(start + total);
            start += fwd;
        }
        end
    }

    /// MACs per sample (forward + update) ÷ lanes: the bound a fully busy datapath reaches.
    pub fn ideal_cycles(&self) -> u64 {
        self.macs.div_ceil(self.lanes)
    }
}
