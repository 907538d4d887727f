//! `ChipFigures`: how much of the device's multiplier throughput a placed design turns into
//! training samples, next to the golden model on one CPU core.
//!
//! With `M` multipliers on the device, Fmax `f`, `W` DSP multiply-accumulates per training
//! sample (forward and update passes, the manifest's `macs_per_sample`) and `C` cycles per
//! sample streaming (the cycle model's steady-state period, samples back to back:
//! `rtl_gen::cycles::CycleModel::steady_cycles`):
//!
//! - `samples_per_second = f / C`, the rate at the achieved Fmax;
//! - `limit_samples_per_second = M · f / W`, every multiplier of the chip busy every cycle;
//! - `fraction_of_limit = samples_per_second / limit_samples_per_second = W / (C · M)`, which
//!   Fmax cancels out of: it measures the schedule and the lane count, not the clock.
//!
//! The lock-step count (one sample in flight) and its rate sit beside them.

use serde::Serialize;

/// A design's cycles per training sample, from the cycle model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleCycles {
    /// Samples back to back: the steady-state period.
    pub streaming: u64,
    /// One sample in flight.
    pub lock_step: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChipFigures {
    /// DSP tiles the placed design uses (nextpnr: `ICESTORM_DSP`, `MULT18X18D`).
    pub multipliers_used: u64,
    /// DSP tiles on the device: 8 `SB_MAC16` on the UP5K, 28 / 156 `MULT18X18D` on the
    /// ECP5-25k / -85k.
    pub multipliers_available: u64,
    /// DSP multiply-accumulates per training sample, forward and update passes.
    pub macs_per_sample: u64,
    /// Streaming cycles per sample (the steady-state period) that `samples_per_second`
    /// divides by.
    pub streaming_cycles_per_sample: u64,
    /// Cycles per sample with one sample in flight.
    pub lock_step_cycles_per_sample: u64,
    /// Training samples/s at Fmax, streaming: `Fmax / streaming_cycles_per_sample`.
    pub samples_per_second: f64,
    /// Training samples/s at Fmax, one sample in flight.
    pub lock_step_samples_per_second: f64,
    /// Multiplier-bound limit: `multipliers_available × Fmax / macs_per_sample`.
    pub limit_samples_per_second: f64,
    /// `samples_per_second / limit_samples_per_second`.
    pub fraction_of_limit: f64,
    /// The golden model's training samples/s (fixed point, batch 1, one core) measured in
    /// the same run; `None` where that run did not measure it (`golden_note` says why).
    pub golden_samples_per_second: Option<f64>,
    /// `samples_per_second / golden_samples_per_second`: above 1 the chip out-trains the core.
    pub fraction_of_golden: Option<f64>,
    /// How the golden figure was measured, or why it is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden_note: Option<String>,
}

impl ChipFigures {
    /// The figures of a design placed at `fmax_mhz`; no golden figure yet
    /// ([`ChipFigures::with_golden`]).
    pub fn new(
        multipliers_used: u64,
        multipliers_available: u64,
        fmax_mhz: f64,
        cycles: SampleCycles,
        macs_per_sample: u64,
    ) -> ChipFigures {
        let samples_per_second = Self::throughput(fmax_mhz, cycles.streaming);
        let limit_samples_per_second =
            Self::limit(multipliers_available, fmax_mhz, macs_per_sample);
        ChipFigures {
            multipliers_used,
            multipliers_available,
            macs_per_sample,
            streaming_cycles_per_sample: cycles.streaming,
            lock_step_cycles_per_sample: cycles.lock_step,
            samples_per_second: samples_per_second.round(),
            lock_step_samples_per_second: Self::throughput(fmax_mhz, cycles.lock_step).round(),
            limit_samples_per_second: limit_samples_per_second.round(),
            fraction_of_limit: round4(ratio(samples_per_second, limit_samples_per_second)),
            golden_samples_per_second: None,
            fraction_of_golden: None,
            golden_note: None,
        }
    }

    /// `samples/s = Fmax[MHz] · 10⁶ / cycles per sample`; 0 for a zero cycle count.
    ///
    /// ```
    /// assert_eq!(toolchain::ChipFigures::throughput(50.0, 1000), 50_000.0);
    /// ```
    pub fn throughput(fmax_mhz: f64, cycles_per_sample: u64) -> f64 {
        ratio(fmax_mhz * 1e6, cycles_per_sample as f64)
    }

    /// `samples/s = multipliers · Fmax[MHz] · 10⁶ / MACs per sample`: every multiplier busy
    /// every cycle; 0 for a zero MAC count.
    ///
    /// ```
    /// assert_eq!(toolchain::ChipFigures::limit(8, 50.0, 4_000), 100_000.0);
    /// ```
    pub fn limit(multipliers: u64, fmax_mhz: f64, macs_per_sample: u64) -> f64 {
        ratio(multipliers as f64 * fmax_mhz * 1e6, macs_per_sample as f64)
    }

    /// Adds the golden model's samples/s on one core, measured in the same run, and how.
    pub fn with_golden(self, samples_per_second: f64, note: impl Into<String>) -> ChipFigures {
        ChipFigures {
            golden_samples_per_second: Some(samples_per_second.round()),
            fraction_of_golden: Some(round4(ratio(self.samples_per_second, samples_per_second))),
            golden_note: Some(note.into()),
            ..self
        }
    }

    /// Records why there is no golden figure.
    pub fn without_golden(self, note: impl Into<String>) -> ChipFigures {
        ChipFigures {
            golden_samples_per_second: None,
            fraction_of_golden: None,
            golden_note: Some(note.into()),
            ..self
        }
    }

    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let golden = match self.golden_samples_per_second {
            Some(g) => format!(
                "; golden model {g:.0} samples/s on one core ({:.2}×)",
                self.fraction_of_golden.unwrap_or(0.0)
            ),
            None => String::new(),
        };
        format!(
            "{}/{} multipliers, {:.0} samples/s at Fmax streaming ({} cycles; lock step {:.0} \
             samples/s, {} cycles) = {:.1} % of the multiplier-bound {:.0} samples/s ({} \
             MACs/sample){golden}",
            self.multipliers_used,
            self.multipliers_available,
            self.samples_per_second,
            self.streaming_cycles_per_sample,
            self.lock_step_samples_per_second,
            self.lock_step_cycles_per_sample,
            100.0 * self.fraction_of_limit,
            self.limit_samples_per_second,
            self.macs_per_sample
        )
    }
}

/// `a / b`, 0 where `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGITS: SampleCycles = SampleCycles {
        streaming: 1_233,
        lock_step: 1_428,
    };

    fn same(cycles: u64) -> SampleCycles {
        SampleCycles {
            streaming: cycles,
            lock_step: cycles,
        }
    }

    #[test]
    fn figures_of_the_digits_preset_on_the_up5k() {
        // 5 of 8 SB_MAC16, 4,736 DSP MACs, 1,233 streaming and 1,428 lock-step cycles per
        // sample at 52.15 MHz.
        let c = ChipFigures::new(5, 8, 52.15, DIGITS, 4_736);
        assert_eq!(c.samples_per_second, (52.15e6_f64 / 1_233.0).round());
        assert_eq!(c.samples_per_second, 42_295.0);
        assert_eq!(c.lock_step_samples_per_second, 36_520.0);
        assert_eq!(
            c.limit_samples_per_second,
            (8.0 * 52.15e6_f64 / 4_736.0).round()
        );
        assert_eq!(c.limit_samples_per_second, 88_091.0);
        // Fmax cancels: MACs / (cycles × multipliers).
        assert_eq!(c.fraction_of_limit, round4(4_736.0 / (1_233.0 * 8.0)));
        assert_eq!(c.fraction_of_limit, 0.4801);
        assert_eq!(c.golden_samples_per_second, None);
    }

    #[test]
    fn the_fraction_of_the_limit_does_not_depend_on_fmax() {
        let cycles = SampleCycles {
            streaming: 4_317,
            lock_step: 5_100,
        };
        let slow = ChipFigures::new(102, 156, 50.0, cycles, 406_528);
        let fast = ChipFigures::new(102, 156, 125.0, cycles, 406_528);
        assert_eq!(slow.fraction_of_limit, fast.fraction_of_limit);
        assert_eq!(fast.samples_per_second, 28_955.0);
        assert_eq!(
            fast.fraction_of_limit,
            round4(406_528.0 / (4_317.0 * 156.0))
        );
    }

    #[test]
    fn every_multiplier_busy_every_cycle_is_the_limit() {
        // 8 multipliers, 800 MACs in 100 cycles: nothing idles.
        let c = ChipFigures::new(8, 8, 100.0, same(100), 800);
        assert_eq!(c.samples_per_second, c.limit_samples_per_second);
        assert_eq!(c.fraction_of_limit, 1.0);
    }

    #[test]
    fn zero_counts_give_zero_not_infinity() {
        let c = ChipFigures::new(0, 8, 50.0, same(0), 0);
        assert_eq!(c.samples_per_second, 0.0);
        assert_eq!(c.limit_samples_per_second, 0.0);
        assert_eq!(c.fraction_of_limit, 0.0);
        assert_eq!(ChipFigures::throughput(50.0, 0), 0.0);
        assert_eq!(ChipFigures::limit(8, 50.0, 0), 0.0);
    }

    #[test]
    fn the_golden_figure_sits_beside_the_chip_figures() {
        let c = ChipFigures::new(2, 8, 50.0, same(2_500), 4_736).with_golden(40_000.0, "measured");
        assert_eq!(c.samples_per_second, 20_000.0);
        assert_eq!(c.golden_samples_per_second, Some(40_000.0));
        assert_eq!(c.fraction_of_golden, Some(0.5));
        assert!(c
            .summary()
            .contains("golden model 40000 samples/s on one core (0.50×)"));
        let json = serde_json::to_value(&c).expect("serialises");
        for key in [
            "multipliers_used",
            "multipliers_available",
            "samples_per_second",
            "streaming_cycles_per_sample",
            "lock_step_cycles_per_sample",
            "lock_step_samples_per_second",
            "limit_samples_per_second",
            "fraction_of_limit",
            "golden_samples_per_second",
            "fraction_of_golden",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        let none = c.without_golden("not measured: no data");
        assert_eq!(none.golden_samples_per_second, None);
        assert_eq!(none.fraction_of_golden, None);
        assert_eq!(none.golden_note.as_deref(), Some("not measured: no data"));
    }
}
