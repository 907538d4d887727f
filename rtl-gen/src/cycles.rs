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
    busiest: u64,
    macs: u64,
    lanes: u64,
}

impl CycleModel {
    pub fn new(p: &DesignParams) -> CycleModel {
        let units = p
            .layers
            .iter()
            .map(|l| {
                // start edge → WAIT (1) → FWD entered (1) → issue rows → the last row's done
                // stage, whose edge raises the successor's start one cycle later.
                let fwd = blocks::layer::forward_latency(p, l);
                (fwd, blocks::layer::latency(p, l))
            })
            .collect();
        // Each unit runs its forward pass and then its update on its own `lanes` MACs, so
        // the busiest unit bounds the cycles per sample from below.
        let passes = if p.learn { 2 } else { 1 };
        let busiest = p
            .layers
            .iter()
            .map(|l| (passes * l.inputs * l.outputs).div_ceil(l.lanes) as u64)
            .max()
            .unwrap_or(0);
        CycleModel {
            units,
            inputs: p.inputs as u64,
            busiest,
            macs: p
                .layers
                .iter()
                .map(|l| (passes * l.inputs * l.outputs) as u64)
                .sum(),
            lanes: p.layers.iter().map(|l| l.lanes as u64).sum(),
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

    /// The ideal: the busiest unit's MACs per sample (forward + update) ÷ its lanes, the
    /// cycles a datapath whose multipliers never idle would need.
    pub fn ideal_cycles(&self) -> u64 {
        self.busiest
    }

    /// Forward (and, when learning, update) MACs per sample over all units.
    pub fn macs_per_sample(&self) -> u64 {
        self.macs
    }

    /// MAC lanes (multipliers) over all units.
    pub fn total_lanes(&self) -> u64 {
        self.lanes
    }
}

/// Share of the multipliers' cycles doing useful MACs when a sample takes
/// `cycles_per_sample`: the sustained MAC rate as a fraction of lanes × clock.
pub fn mac_utilization(macs_per_sample: u64, lanes: u64, cycles_per_sample: f64) -> f64 {
    macs_per_sample as f64 / (cycles_per_sample * lanes as f64).max(1.0)
}
