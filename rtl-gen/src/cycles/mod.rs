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

/// Samples whose burst reaches the steady state by its last prediction
/// ([`CycleModel::steady_cycles`]).
pub const STEADY_SAMPLES: usize = 8;

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

    /// Cycles per sample in lock-step mode: the units' requests granted in edge order.
    pub fn sample_cycles(&self) -> u64 {
        let n = self.units.len();
        // Per unit, its pending request: (edge, is the update).
        let mut request: Vec<Option<(u64, bool)>> = vec![None; n];
        request[0] = Some((self.inputs + self.units[0].fwd_request, false));
        let mut free = 0; // the first edge a shared pass may begin at
        let mut end = 0;
        loop {
            // The earliest begin; on a tie the later unit (the arbiter's priority).
            let begin_of = |r: u64| if self.shared { (r + 1).max(free) } else { r };
            let Some((k, begin, update)) = request
                .iter()
                .enumerate()
                .filter_map(|(k, r)| r.map(|(edge, upd)| (k, begin_of(edge), upd)))
                .min_by_key(|&(k, begin, _)| (begin, std::cmp::Reverse(k)))
            else {
                return end;
            };
            let t = &self.units[k];
            request[k] = None;
            let operand_stage = if update {
                let upd_end = t.upd_end.expect("an update is asked only when learning");
                end = end.max(begin + upd_end);
                t.upd_operand_stage.unwrap_or(0)
            } else {
                match t.upd_end {
                    Some(_) => request[k] = Some((begin + t.after_fwd, true)),
                    None => end = end.max(begin + t.after_fwd),
                }
                // A hidden unit's forward end starts the next unit.
                if let Some(next) = self.units.get(k + 1) {
                    request[k + 1] = Some((begin + t.fwd_end + next.fwd_request, false));
                }
                t.fwd_operand_stage
            };
            // The pass holds the pool until its last item has passed the operand stage
            // (`pool_hold`, registered: one stage later); the arbiter's grant then begins
            // the next pass at the following edge.
            free = begin + t.rows + operand_stage + 2;
        }
    }

    /// Cycles of a burst of `samples` samples streamed back to back without stalls, from
    /// the first beat until every unit is idle again (`lls cosim --burst`).
    pub fn burst_cycles(&self, samples: usize) -> u64 {
        self.burst_schedule(samples).end
    }

    /// The steady-state period of a stream of samples: the cycles between two
    /// predictions once every unit's next input waits for it (the gap between the last
    /// two of [`STEADY_SAMPLES`]). What a streaming chip trains at.
    pub fn steady_cycles(&self) -> u64 {
        match self
            .burst_schedule(STEADY_SAMPLES)
            .classifier_begins
            .as_slice()
        {
            [.., a, b] => b - a,
            _ => self.sample_cycles(),
        }
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
