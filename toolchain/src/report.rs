//! `SynthReport`: what one synthesis + place-and-route run found, as JSON.
//!
//! Logic is counted the way each family's placer does: iCE40 logic cells (`ICESTORM_LC`:
//! one LUT4, its carry and its flip-flop) and ECP5 LUT4s (`TRELLIS_COMB`). Throughput and
//! the multiplier-bound limit are [`ChipFigures`] (flattened into the same JSON object):
//! `samples_per_second = fmax_mhz · 10⁶ / streaming_cycles_per_sample`, the cycle count
//! coming from the generator's cycle model (manifest.json), so it is the rate at the
//! achieved Fmax, not at the target.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::chip::ChipFigures;
use crate::nextpnr::{CriticalPath, Usage};
use crate::outreg::Absorbed;

/// Wall-clock seconds per stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageSeconds {
    pub synth: f64,
    pub pnr: f64,
    pub pack: f64,
}

/// One seed's place and route in a seed sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeedResult {
    pub seed: u32,
    pub fmax_mhz: f64,
    pub timing_met: bool,
    pub pnr_seconds: f64,
    pub critical_path: Option<CriticalPath>,
}

/// A board top's clock and host link.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardLink {
    pub oscillator_mhz: f64,
    /// The design clock the PLL makes (nextpnr's target).
    pub pll_mhz: f64,
    pub baud: u32,
    pub clocks_per_bit: u32,
}

/// The bare design's figures beside a board build's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BareFigures {
    pub top: String,
    pub luts: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub brams: u64,
    pub fmax_mhz: f64,
    pub freq_target_mhz: f64,
}

impl BareFigures {
    pub fn of(r: &SynthReport) -> BareFigures {
        BareFigures {
            top: r.top.clone(),
            luts: r.luts,
            ffs: r.ffs,
            dsps: r.dsps,
            brams: r.brams,
            fmax_mhz: r.fmax_mhz,
            freq_target_mhz: r.freq_target_mhz,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SynthReport {
    /// Config name (`digits-mlp`).
    pub preset: String,
    /// The synthesised module (`digits_mlp_top_board`).
    pub top: String,
    /// `ice40-up5k`, `ecp5-25k`, `ecp5-85k`.
    pub target: String,
    /// Lattice part and package.
    pub part: String,
    /// The board built for (its PLL, host link and pins); `None`: the bare trainer, its
    /// pins placed by nextpnr.
    pub board: Option<String>,
    /// A board's clock and host link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<BoardLink>,
    /// A board build's bare design, placed in the same run (`lls synth --board`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bare: Option<BareFigures>,
    pub luts: u64,
    pub luts_available: u64,
    pub ffs: u64,
    pub dsps: u64,
    pub dsps_available: u64,
    pub brams: u64,
    pub brams_available: u64,
    pub io_pins: u64,
    pub io_pins_available: u64,
    pub fmax_mhz: f64,
    pub freq_target_mhz: f64,
    /// nextpnr's placement seed of the placement kept (`lls synth --seed`; with several,
    /// the fastest).
    pub seed: u32,
    /// A seed sweep (`lls synth --seed 1,2,3`): every seed's place and route, in the order
    /// given; absent for one seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_sweep: Option<Vec<SeedResult>>,
    /// `fmax_mhz >= freq_target_mhz`.
    pub timing_met: bool,
    /// Multipliers used and available, samples/s at Fmax, the multiplier-bound limit and
    /// the golden model's samples/s beside them.
    #[serde(flatten)]
    pub chip: ChipFigures,
    /// Whole flow, wall clock.
    pub seconds: f64,
    pub stage_seconds: StageSeconds,
    pub critical_path: Option<CriticalPath>,
    /// ECP5: block-RAM read ports and multiplier products whose following register moved
    /// into the block (`synth.outreg.json`, what nextpnr placed); `None` on iCE40, whose
    /// block RAMs and multipliers are not given output registers.
    pub absorbed_output_registers: Option<Absorbed>,
    /// yosys cell counts by primitive.
    pub cells: BTreeMap<String, u64>,
    /// nextpnr utilisation by BEL type (used and available).
    pub utilisation: BTreeMap<String, Usage>,
    /// Tool name → resolved path and version.
    pub tools: BTreeMap<String, String>,
    /// Stage outputs, relative to the build folder.
    pub artifacts: Vec<String>,
    /// yosys warnings (deduplicated).
    pub warnings: Vec<String>,
}

impl SynthReport {
    /// One line for the terminal.
    pub fn summary(&self) -> String {
        let timing = if self.timing_met {
            format!("met {:.0} MHz", self.freq_target_mhz)
        } else {
            format!(
                "MISSED {:.0} MHz by {:.1}%",
                self.freq_target_mhz,
                100.0 * (1.0 - self.fmax_mhz / self.freq_target_mhz)
            )
        };
        let seed = match &self.seed_sweep {
            Some(sweep) => format!(
                "seed {}, the fastest of {}",
                self.seed,
                sweep
                    .iter()
                    .map(|r| format!("{}: {:.2}", r.seed, r.fmax_mhz))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("seed {}", self.seed),
        };
        format!(
            "{} on {}: {}/{} {}, {}/{} DSP, {}/{} BRAM, {} FF, Fmax {:.2} MHz ({timing}, {seed}), {:.1} s; {}",
            self.preset,
            self.target,
            self.luts,
            self.luts_available,
            if self.target.starts_with("ice40") { "LC" } else { "LUT" },
            self.dsps,
            self.dsps_available,
            self.brams,
            self.brams_available,
            self.ffs,
            self.fmax_mhz,
            self.seconds,
            self.chip.summary()
        )
    }
}
