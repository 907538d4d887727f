//! The cycle model: cycles the generated design takes per training sample, predicted from
//! the schedule the blocks implement. Co-simulation holds it to exact equality.
//!
//! Lock-step schedule (one sample in flight, no stalls), from the first pixel beat to the
//! cycle all units are idle again: `inputs` beats, then layer 0 runs; every hidden unit
//! starts its successor when its forward pass ends, so the successor's run overlaps the
//! unit's own softmax and update. Each unit asks for a forward pass and, when learning, an
//! update pass ([`blocks::layer::PassTiming`]). With multipliers of its own a unit begins a
//! pass at the edge it asks; with the shared pool (`hardware.share_multipliers`) it waits
//! for the arbiter in `blocks::top`: a grant the cycle after the request at the earliest,
//! none while another unit's pass still holds the pool, and a later unit first on a tie.

mod burst;

use crate::blocks;
use crate::blocks::layer::PassTiming;
use crate::params::DesignParams;

/// Predictions after which a burst is in its steady state, and the number of gaps the
/// steady period is averaged over ([`steady_period`]): a shared pool can settle into a
/// repeating pattern of 2 or 4 different gaps, which 8 spans whole.
pub const STEADY_SAMPLES: usize = 8;

/// The steady period from the gaps between a burst's predictions: the mean of gaps
/// `STEADY_SAMPLES - 1 ..= 2 * STEADY_SAMPLES - 2`, past the start and before the last
/// gap (the last sample of a burst meets no competition for the pool), rounded up. None
/// when the burst has fewer than `2 * STEADY_SAMPLES + 1` samples. The cycle model and the
/// co-simulation's measurement both read it here.
pub fn steady_period(gaps: &[u64]) -> Option<u64> {
    if gaps.len() < 2 * STEADY_SAMPLES {
        return None;
    }
    let window = &gaps[STEADY_SAMPLES - 1..2 * STEADY_SAMPLES - 1];
    Some(window.iter().sum::<u64>().div_ceil(STEADY_SAMPLES as u64))
}

#[derive(Clone, Debug)]
pub struct CycleModel {
    /// Per unit, in chain order (the classifier last).
    units: Vec<PassTiming>,
    shared: bool,
    inputs: u64,
    ideal: u64,
    macs: u64,
    lanes: u64,
}

impl CycleModel {
    pub fn new(p: &DesignParams) -> CycleModel {
        let units = p
            .layers
            .iter()
            .map(|l| blocks::layer::pass_timing(p, l))
            .collect();
        let passes = if p.learn { 2 } else { 1 };
        let unit_cycles = p
            .layers
            .iter()
            .map(|l| (passes * l.inputs * l.outputs).div_ceil(l.lanes) as u64);
        // Own multipliers: each unit runs both passes on its own lanes, so the busiest
        // unit bounds the cycles per sample from below. A shared pool runs every unit's
        // passes one after another.
        let (ideal, lanes) = match p.mul_pool {
            Some(pool) => (unit_cycles.sum(), pool as u64),
            None => (
                unit_cycles.max().unwrap_or(0),
                p.layers.iter().map(|l| l.lanes as u64).sum(),
            ),
        };
        CycleModel {
            units,
            shared: p.mul_pool.is_some(),
            inputs: p.inputs as u64,
            ideal,
            macs: p
                .layers
                .iter()
                .map(|l| (passes * l.inputs * l.outputs) as u64)
                .sum(),
            lanes,
        }
    }

    /// Cycles per sample in lock-step mode: a burst of one sample, the units' requests
    /// granted in edge order.
    pub fn sample_cycles(&self) -> u64 {
        self.burst_cycles(1)
    }

    /// Cycles of a burst of `samples` samples streamed back to back without stalls, from
    /// the first beat until every unit is idle again (`lls cosim --burst`).
    pub fn burst_cycles(&self, samples: usize) -> u64 {
        self.burst_schedule(samples).end
    }

    /// Cycles between consecutive predictions of a burst of `samples` samples (as the
    /// classifier begins each sample's forward pass a fixed number of cycles before its
    /// prediction).
    pub fn prediction_gaps(&self, samples: usize) -> Vec<u64> {
        let begins = self.burst_schedule(samples).classifier_begins;
        begins.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// The steady-state period of a stream of samples: cycles per sample once every
    /// unit's next input waits for it ([`steady_period`]). What a streaming chip trains at.
    pub fn steady_cycles(&self) -> u64 {
        steady_period(&self.prediction_gaps(2 * STEADY_SAMPLES + 1))
            .expect("a burst of 2 * STEADY_SAMPLES + 1 samples has the gaps")
    }

    /// The ideal: own multipliers, the busiest unit's MACs per sample (forward + update) ÷
    /// its lanes; a shared pool, every unit's passes back to back. The cycles a datapath
    /// whose multipliers never idle would need.
    pub fn ideal_cycles(&self) -> u64 {
        self.ideal
    }

    /// Forward (and, when learning, update) MACs per sample over all units.
    pub fn macs_per_sample(&self) -> u64 {
        self.macs
    }

    /// Multipliers: every unit's lanes, or the shared pool's.
    pub fn total_lanes(&self) -> u64 {
        self.lanes
    }
}

/// Share of the multipliers' cycles doing useful MACs when a sample takes
/// `cycles_per_sample`: the sustained MAC rate as a fraction of lanes × clock.
pub fn mac_utilization(macs_per_sample: u64, lanes: u64, cycles_per_sample: f64) -> f64 {
    macs_per_sample as f64 / (cycles_per_sample * lanes as f64).max(1.0)
}
