//! Rail counts: how many values each saturating stage clipped to its lower and to its upper
//! bound, for tests that must prove a run drove every saturation into both rails.
//!
//! A value counts when the stage's exact result lies *outside* its format, so the bound
//! itself is what comes out: the RTL's `saturate` emits its `MIN` / `MAX` constant only
//! then (a value that merely equals a bound passes through as it is), and a co-simulation
//! can catch a wrong bound only on such a value.
//!
//! The saturating stages ([`Stage`]): the hidden activation `h`, the hidden delta `δ`, the
//! weight update and the LLS-M/MxM modulation update. The softmax error has no rail: `p − y`
//! lies in `[−2^prob_frac, 2^prob_frac]` by construction.
//!
//! Counting is off by default and changes no result: [`crate::spec::fixed::FixedNet::count_rails`]
//! turns it on; the step then also classifies each narrowed value (and, for the weight
//! update, computes each step a second time beside the update kernel).

use serde::Serialize;

use crate::config::Rounding;
use crate::spec::numeric::{self, saturate, shift_round, QFormat};

/// Values clipped to each bound of one stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RailHits {
    /// Exact values below the format's minimum, output as the minimum.
    pub min: u64,
    /// Exact values above the format's maximum, output as the maximum.
    pub max: u64,
}

impl RailHits {
    /// Counts `x` if it lies outside `fmt`.
    pub fn observe(&mut self, x: i64, fmt: QFormat) {
        self.min += u64::from(x < fmt.min());
        self.max += u64::from(x > fmt.max());
    }

    /// Both rails hit at least once.
    pub fn both(&self) -> bool {
        self.min > 0 && self.max > 0
    }

    /// The twin of [`crate::spec::kernels::update_column`]: counts the new weights
    /// `w − ((d·x + bias) >> shift)` of one input's column that leave `fmt`.
    pub fn observe_update_column(
        &mut self,
        column: &[i32],
        delta: &[i64],
        x: i64,
        bias: i64,
        shift: u32,
        fmt: QFormat,
    ) {
        for (&w, &d) in column.iter().zip(delta) {
            self.observe(w as i64 - ((d * x + bias) >> shift), fmt);
        }
    }
}

/// The saturating stages of a training step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Activation,
    Delta,
    Weight,
    Modulation,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Activation,
        Stage::Delta,
        Stage::Weight,
        Stage::Modulation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Activation => "activation",
            Stage::Delta => "delta",
            Stage::Weight => "weight",
            Stage::Modulation => "modulation",
        }
    }
}

/// Rail hits of every saturating stage, summed over layers and steps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rails {
    /// Hidden activations `h` (act format).
    pub activation: RailHits,
    /// Hidden deltas `δ` (err format), local rules and `bp`.
    pub delta: RailHits,
    /// Updated weights, every layer (weight format).
    pub weight: RailHits,
    /// Updated LLS-M / LLS-MxM modulation entries (mod format).
    pub modulation: RailHits,
}

impl Rails {
    pub fn stage(&self, stage: Stage) -> RailHits {
        match stage {
            Stage::Activation => self.activation,
            Stage::Delta => self.delta,
            Stage::Weight => self.weight,
            Stage::Modulation => self.modulation,
        }
    }

    pub fn stage_mut(&mut self, stage: Stage) -> &mut RailHits {
        match stage {
            Stage::Activation => &mut self.activation,
            Stage::Delta => &mut self.delta,
            Stage::Weight => &mut self.weight,
            Stage::Modulation => &mut self.modulation,
        }
    }

    /// Adds another run's counts.
    pub fn add(&mut self, other: &Rails) {
        for stage in Stage::ALL {
            let (a, b) = (self.stage_mut(stage), other.stage(stage));
            a.min += b.min;
            a.max += b.max;
        }
    }

    /// The stages whose rails were not both hit.
    pub fn missing(&self, stages: &[Stage]) -> Vec<&'static str> {
        stages
            .iter()
            .filter(|s| !self.stage(**s).both())
            .map(|s| s.name())
            .collect()
    }
}

/// [`crate::spec::numeric::narrow`], counting into `hits` when it is given (the rounded
/// value, before the saturation, is what a rail clips).
pub fn narrow(
    x: i64,
    shift: u32,
    rounding: Rounding,
    fmt: QFormat,
    hits: Option<&mut RailHits>,
) -> i64 {
    if let Some(h) = hits {
        h.observe(shift_round(x, shift, rounding, 0), fmt);
    }
    numeric::narrow(x, shift, rounding, fmt)
}

/// [`crate::spec::numeric::saturate`], counting into `hits` when it is given.
pub fn saturate_counted(x: i64, fmt: QFormat, hits: Option<&mut RailHits>) -> i64 {
    if let Some(h) = hits {
        h.observe(x, fmt);
    }
    saturate(x, fmt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use crate::spec::kernels::update_column;

    #[test]
    fn only_values_beyond_a_bound_count() {
        let fmt = QFormat::new(4, 0);
        let mut hits = RailHits::default();
        for x in [-9, -8, -7, 0, 7, 8, 9, 100] {
            saturate_counted(x, fmt, Some(&mut hits));
        }
        assert_eq!(hits, RailHits { min: 1, max: 3 });
        assert!(hits.both());
    }

    #[test]
    fn counted_narrowing_is_the_spec_narrowing() {
        let fmt = QFormat::new(6, 2);
        let mut hits = RailHits::default();
        for x in -3000..3000 {
            for rounding in [Rounding::Floor, Rounding::HalfUp] {
                assert_eq!(
                    narrow(x, 3, rounding, fmt, Some(&mut hits)),
                    crate::spec::numeric::narrow(x, 3, rounding, fmt)
                );
            }
        }
        assert!(hits.both());
    }

    /// The counting twin clips exactly where the update kernel does.
    #[test]
    fn the_update_twin_counts_what_the_kernel_clips() {
        let fmt = QFormat::new(8, 6);
        let mut rng = SplitMix64::new(7);
        for _ in 0..200 {
            let column: Vec<i32> = (0..16).map(|_| rng.below(256) as i32 - 128).collect();
            let delta: Vec<i64> = (0..16).map(|_| rng.below(4096) as i64 - 2048).collect();
            let x = rng.below(512) as i64 - 256;
            let mut hits = RailHits::default();
            hits.observe_update_column(&column, &delta, x, 4, 3, fmt);
            let mut updated = column.clone();
            update_column(&mut updated, &delta, x, 4, 3, fmt.min(), fmt.max());
            let mut want = RailHits::default();
            for ((&w, &d), &new) in column.iter().zip(&delta).zip(&updated) {
                let exact = w as i64 - ((d * x + 4) >> 3);
                if exact != new as i64 {
                    want.observe(exact, fmt);
                }
            }
            assert_eq!(hits, want);
        }
    }
}
