//! The one configuration that the golden model trains with and rtl-gen builds from.
//!
//! A config is TOML (see `configs/*.toml`). Every table rejects unknown keys, and
//! [`Config::validate`] checks everything the hardware depends on (widths, shifts, shapes),
//! so an error names the field and says how to fix it, before anything is trained or emitted.
//!
//! Sizes have upper bounds taken from the largest supported FPGA ([`LARGEST_TARGET`]):
//! the bits the design stores at most [`MAX_STORED_BITS`], the layers at most
//! [`MAX_LAYERS`], the MAC lanes of all layers at most [`MAX_MAC_LANES`], classes at most
//! 256, every format at most 32 bits and the accumulator at most 62. A network beyond
//! them could never be built, and refusing it keeps every size derived from it small (no
//! `u32` depth or width overflows, no allocation of gigabytes).
//!
//! Whether the network takes a data set's images and labels is [`Config::check_dataset`],
//! which every command that loads a data set calls for the one it loads.

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::data::DatasetKind;
use crate::network::{self, ConvConfig, ConvLayer};
use crate::spec::numeric::width;

/// Why a config cannot be used. Each message names the field and the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{path}: cannot read config: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{field}: {problem}; {fix}")]
    Invalid {
        field: String,
        problem: String,
        fix: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// Learning rule of the hidden layers. The classifier layer always learns with its own
/// cross-entropy (LLS rules) or as the last stage of end-to-end backprop (`bp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Bp,
    Lls,
    LlsM,
    LlsMxm,
}

impl Rule {
    pub const ALL: [Rule; 4] = [Rule::Bp, Rule::Lls, Rule::LlsM, Rule::LlsMxm];
    pub fn name(self) -> &'static str {
        match self {
            Rule::Bp => "bp",
            Rule::Lls => "lls",
            Rule::LlsM => "lls-m",
            Rule::LlsMxm => "lls-mxm",
        }
    }
    pub fn is_local(self) -> bool {
        self != Rule::Bp
    }
}

impl std::str::FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown rule `{s}`; expected one of bp, lls, lls-m, lls-mxm"))
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Basis waveform: `sign(sin(f_c t))` (entries −1/0/+1) or the sine itself, quantised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Waveform {
    Square,
    Sine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    LeakyRelu,
}

/// Rounding of a right shift. The Verilog twin of each is in `numeric::policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Drop the shifted-out bits: toward −∞ (`x >>> s`).
    Floor,
    /// Add half an output LSB, then floor: nearest, ties toward +∞ (`(x + 2^(s−1)) >>> s`).
    HalfUp,
    /// Add `s` fresh bits from the layer's LFSR, then floor: unbiased in expectation.
    Stochastic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Ice40Up5k,
    Ecp5_25k,
    Ecp5_85k,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Ice40Up5k, Target::Ecp5_25k, Target::Ecp5_85k];

    pub fn name(self) -> &'static str {
        match self {
            Target::Ice40Up5k => "ice40-up5k",
            Target::Ecp5_25k => "ecp5-25k",
            Target::Ecp5_85k => "ecp5-85k",
        }
    }
    /// The widest multiplier operand one DSP tile takes (SB_MAC16: 16, MULT18X18D: 18).
    pub fn dsp_operand_bits(self) -> u32 {
        match self {
            Target::Ice40Up5k => 16,
            Target::Ecp5_25k | Target::Ecp5_85k => 18,
        }
    }
    pub const fn dsps(self) -> u32 {
        match self {
            Target::Ice40Up5k => 8,
            Target::Ecp5_25k => 28,
            Target::Ecp5_85k => 156,
        }
    }
    /// Block RAM bits (iCE40: 30 × 4 Kib EBR; ECP5: DP16KD × 18 Kib).
    pub const fn bram_bits(self) -> u64 {
        match self {
            Target::Ice40Up5k => 30 * 4096,
            Target::Ecp5_25k => 56 * 18432,
            Target::Ecp5_85k => 208 * 18432,
        }
    }
    /// Look-up tables (iCE40 logic cells, ECP5 LUT4s), as `toolchain::Device` lists them.
    pub const fn luts(self) -> u32 {
        match self {
            Target::Ice40Up5k => 5280,
            Target::Ecp5_25k => 24_288,
            Target::Ecp5_85k => 83_640,
        }
    }
    /// Single-port RAM bits beside the block RAM: the UP5K's four 256 Kib SB_SPRAM256KA.
    pub const fn spram_bits(self) -> u64 {
        match self {
            Target::Ice40Up5k => 4 * 256 * 1024,
            Target::Ecp5_25k | Target::Ecp5_85k => 0,
        }
    }
    /// More RAM bits than the device can hold a design's tables in: block RAM, single-port
    /// RAM, and every LUT counted as 16 bits of distributed RAM (the real share is smaller).
    pub const fn ram_bits_ceiling(self) -> u64 {
        self.bram_bits() + self.spram_bits() + 16 * self.luts() as u64
    }
}

/// The supported target with the most RAM and logic, which sets the size bounds below.
pub const LARGEST_TARGET: Target = Target::Ecp5_85k;

/// Upper bound on [`Config::stored_bits`]: a network whose weights, buffers and tables
/// take more bits than [`Target::ram_bits_ceiling`] of the largest target
/// (5,172,096 bits on the ECP5-85k) cannot be built on any supported FPGA, so
/// [`Config::validate`] refuses it. It also bounds every layer size, memory depth and bus
/// width rtl-gen derives from the network (each fits a `u32` many times over), and what the
/// golden model allocates for them.
pub const MAX_STORED_BITS: u64 = LARGEST_TARGET.ram_bits_ceiling();

/// Fewer LUTs than any learning unit takes (its MAC lanes' adders, softmax with its
/// divider, weight update and readback); the presets' units take several times as many
/// (docs/performance.md lists their utilisation).
pub const MIN_UNIT_LUTS: u32 = 1024;

/// Upper bound on the layers, the classifier included: one learning unit each, and the
/// largest target's 83,640 LUTs hold at most 81 units of [`MIN_UNIT_LUTS`].
pub const MAX_LAYERS: usize = (LARGEST_TARGET.luts() / MIN_UNIT_LUTS) as usize;

/// Upper bound on the MAC lanes of all layers together: each lane takes at least one DSP or
/// one LUT, and the largest target has 83,796 of them (156 DSPs, 83,640 LUTs).
pub const MAX_MAC_LANES: usize = (LARGEST_TARGET.dsps() + LARGEST_TARGET.luts()) as usize;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Preset name, written into every generated file's header.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub data: DataConfig,
    pub network: NetworkConfig,
    pub learning: LearningConfig,
    pub fixed: FixedConfig,
    pub hardware: HardwareConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Default dataset; `lls train --dataset` overrides it.
    pub dataset: DatasetKind,
    /// Input activation = (pixel − input_offset) << input_shift (raw, in the activation
    /// format).
    pub input_shift: u32,
    /// The pixel value that maps to input 0: centring the inputs on about the data's mean
    /// pixel lets batch-1 SGD without normalisation learn as if the data were centred
    /// (0: inputs are the pixels, and the many zero pixels skip their MACs in the golden
    /// model).
    #[serde(default)]
    pub input_offset: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub inputs: usize,
    /// The input image, [channels, rows, columns] (channel-major, as `inputs` arrive):
    /// the convolutional blocks need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<[usize; 3]>,
    /// Widths of the dense hidden (locally trained) layers, in order, after the
    /// convolutional blocks.
    pub hidden: Vec<usize>,
    pub classes: usize,
    pub activation: Activation,
    /// LeakyReLU slope is 2^-leak_shift (the code's 0.01 is close to 2^-7).
    #[serde(default = "default_leak_shift")]
    pub leak_shift: u32,
    /// Convolutional blocks (locally trained), in order, before the dense layers
    /// ([`crate::network`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conv: Vec<ConvConfig>,
}

fn default_leak_shift() -> u32 {
    7
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearningConfig {
    pub rule: Rule,
    pub basis: Waveform,
    /// Learning rate of the hidden layers is 2^-lr_shift.
    pub lr_shift: u32,
    /// Learning rate of the classifier layer is 2^-out_lr_shift.
    pub out_lr_shift: u32,
    /// Learning rate of the LLS-M/MxM modulation is 2^-mod_lr_shift.
    #[serde(default = "default_mod_lr_shift")]
    pub mod_lr_shift: u32,
    /// Class scores are `2^-logit_shift · (B·h)`: this scale replaces the code's L2
    /// normalisation and temperature (see the crate docs).
    pub logit_shift: u32,
    pub epochs: usize,
    pub seed: u64,
    /// Learning-rate schedule: the weights' learning rates halve from the sample of each
    /// entry on (samples trained since reset, ascending; the modulation's rate stays).
    /// Empty: constant rates.
    #[serde(default)]
    pub lr_halve_at: Vec<u64>,
    /// Float model only: mini-batch size (the fixed model and the hardware use 1).
    #[serde(default = "default_batch")]
    pub batch: usize,
}

/// The most entries `learning.lr_halve_at` takes: the halvings travel with each sample in
/// three bits above its label.
pub const MAX_LR_HALVINGS: usize = 7;

/// The learning-rate halvings in force for the step of sample `trained` (counted from 0
/// since reset): the entries of `learning.lr_halve_at` at or below it.
///
/// ```
/// use golden_model::config::lr_halvings;
/// let at = [10, 20];
/// assert_eq!([9, 10, 19, 20, 99].map(|n| lr_halvings(&at, n)), [0, 1, 1, 2, 2]);
/// ```
pub fn lr_halvings(halve_at: &[u64], trained: u64) -> u32 {
    halve_at.iter().filter(|&&at| at <= trained).count() as u32
}

fn default_mod_lr_shift() -> u32 {
    8
}
fn default_batch() -> usize {
    1
}

/// Fixed-point formats. All are signed two's complement: `*_bits` total, `*_frac` fractional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedConfig {
    pub act_bits: u32,
    pub act_frac: u32,
    pub weight_bits: u32,
    pub weight_frac: u32,
    /// Hidden-layer error δ after the basis back-projection.
    pub err_bits: u32,
    pub err_frac: u32,
    /// Resolution of the softmax input; the exp table has 2^(logit_frac+4) entries.
    pub logit_frac: u32,
    /// Probabilities and output errors p − y are Q·prob_frac.
    pub prob_frac: u32,
    /// Sine basis entries: `basis_bits` signed with `basis_bits − 2` fractional bits.
    #[serde(default = "default_basis_bits")]
    pub basis_bits: u32,
    /// LLS-M / LLS-MxM modulation format.
    #[serde(default = "default_mod_bits")]
    pub mod_bits: u32,
    #[serde(default = "default_mod_frac")]
    pub mod_frac: u32,
    /// Widest accumulator the datapath may build; every layer's exact sum must fit.
    pub acc_bits: u32,
    /// Rounding of activations and δ.
    pub rounding: Rounding,
    /// Rounding of weight updates.
    pub update_rounding: Rounding,
}

fn default_basis_bits() -> u32 {
    8
}
fn default_mod_bits() -> u32 {
    16
}
fn default_mod_frac() -> u32 {
    12
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {
    pub target: Target,
    /// Parallel MAC lanes of each hidden layer; must divide their input counts.
    pub lanes: usize,
    /// MAC lanes of the classifier (default: `lanes`). It does ~C/N of a hidden layer's
    /// work, so fewer lanes keep its multipliers as busy as the hidden layer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier_lanes: Option<usize>,
    /// ECP5 only: bank the weights by DP16KD, copy the block RAMs' accesses beside each
    /// bank and register each bank's read twice, the bank multiplexer and the multipliers'
    /// operands and the input buffers' writes, and look up the softmax's exp in two
    /// stages (five more read stages, two more write stages, one more multiply stage).
    /// Every long path is cut, so the design closes at a much faster clock (figures in
    /// docs/performance.md); the extra registers make simulation several times slower and
    /// place and route longer, so it is off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bank_weights: bool,
    /// One pool of multipliers for all learning units instead of a set per unit: a unit
    /// takes the pool for a whole pass (forward or update), the others wait. The
    /// classifier's multipliers otherwise idle most of a sample; shared, they work nearly
    /// every cycle, so the same DSPs carry more lanes and more samples per second
    /// (figures in docs/performance.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub share_multipliers: bool,
    /// Dividers in each softmax-error unit (default 1; must divide `network.classes`):
    /// the C quotients take C / d × (P + 1) cycles instead of C × (P + 1), a unit's
    /// longest wait between its forward and update passes, for d dividers' logic
    /// (about 40 LUTs and 60 flip-flops each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softmax_dividers: Option<usize>,
    /// Clock target for place-and-route, MHz.
    pub freq_mhz: f64,
    /// The host link's UART rate, bits/s (`docs/host-link.md`; default [`DEFAULT_BAUD`]):
    /// the iCEBreaker's FT2232H and the ULX3S's FT231X both take 1 Mbaud, which divides 50
    /// and 125 MHz exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
}

/// [`HardwareConfig::baud`] when the config names none.
pub const DEFAULT_BAUD: u32 = 1_000_000;

/// The UART's bit time may be off the rate by this share (the receiver samples mid-bit and
/// tolerates about 4 % between the two ends).
pub const BAUD_TOLERANCE: f64 = 0.02;

/// Clocks a UART bit lasts at `freq_mhz` and `baud` (the nearest whole number, 0 for a
/// rate of 0), and how far that puts the line's rate off `baud` (a fraction).
pub fn uart_clocks_per_bit(freq_mhz: f64, baud: u32) -> (u32, f64) {
    if baud == 0 {
        return (0, f64::INFINITY);
    }
    let cpb = (freq_mhz * 1e6 / f64::from(baud)).round() as u32;
    let off = (freq_mhz * 1e6 / (f64::from(cpb.max(1)) * f64::from(baud)) - 1.0).abs();
    (cpb, off)
}

/// Whether [`uart_clocks_per_bit`]'s answer makes a working link: at least 4 clocks a
/// bit (the receiver samples mid-bit) within [`BAUD_TOLERANCE`].
pub fn uart_timing_fits(clocks_per_bit: u32, off: f64) -> bool {
    clocks_per_bit >= 4 && off <= BAUD_TOLERANCE
}

impl HardwareConfig {
    /// [`HardwareConfig::softmax_dividers`], or 1.
    pub fn softmax_dividers(&self) -> usize {
        self.softmax_dividers.unwrap_or(1)
    }

    /// The host link's rate: `baud`, or [`DEFAULT_BAUD`].
    pub fn baud(&self) -> u32 {
        self.baud.unwrap_or(DEFAULT_BAUD)
    }

    /// Clocks a UART bit lasts at `freq_mhz`: the nearest whole number.
    pub fn clocks_per_bit(&self) -> u32 {
        uart_clocks_per_bit(self.freq_mhz, self.baud()).0
    }

    /// Whether the clock times the host link's rate: at least 4 clocks a bit, within
    /// [`BAUD_TOLERANCE`]. Checked by `validate` where the config names a rate, and by
    /// whatever builds the host link otherwise (a trainer alone needs no UART).
    pub fn check_baud(&self) -> Result<(), ConfigError> {
        let baud = self.baud();
        let (cpb, off) = uart_clocks_per_bit(self.freq_mhz, baud);
        if !uart_timing_fits(cpb, off) {
            let given = match self.baud {
                Some(_) => String::new(),
                None => " (the default)".to_string(),
            };
            return Err(ConfigError::invalid(
                "hardware.baud",
                format!(
                    "is {baud}{given} at {} MHz: {cpb} clocks a bit, {:.1} % off the rate",
                    self.freq_mhz,
                    100.0 * off
                ),
                "use a rate of at most freq_mhz / 4 MHz that the clock divides within 2 % \
                 (1000000 at 50 or 125 MHz)",
            ));
        }
        Ok(())
    }
}

/// Exponent table bits: Q1.15, so exp(0) = 32768.
pub const EXP_FRAC: u32 = 15;

impl Config {
    pub fn from_toml_str(text: &str, path: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            reason: e.to_string().trim_end().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Config::from_toml_str(&text, &path.display().to_string())
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config serialises")
    }

    /// The convolutional blocks' shapes, in order (none for an MLP).
    pub fn conv_layers(&self) -> Result<Vec<ConvLayer>, ConfigError> {
        let n = &self.network;
        match (n.image, n.conv.is_empty()) {
            (None, true) => Ok(Vec::new()),
            (None, false) => Err(ConfigError::invalid(
                "network.image",
                "is missing, and network.conv needs the input image's shape",
                "add image = [channels, rows, columns] ([1, 28, 28] for MNIST)",
            )),
            (Some(_), true) => Err(ConfigError::invalid(
                "network.image",
                "is set, but there is no network.conv block to take it",
                "remove network.image, or add convolutional blocks",
            )),
            (Some(image), false) => {
                network::conv_layers(network::image_shape(image, n.inputs)?, &n.conv)
            }
        }
    }

    /// Refuses convolutional blocks where `what` (a command or an arithmetic) builds
    /// dense layers only.
    pub fn require_dense(&self, what: &str) -> Result<(), ConfigError> {
        if self.network.conv.is_empty() {
            return Ok(());
        }
        Err(ConfigError::invalid(
            "network.conv",
            format!("{what} takes dense layers only (network.hidden)"),
            "remove network.conv and network.image (`lls costs` and `lls train --arith float` \
             take convolutional blocks)",
        ))
    }

    /// Layer shapes in order: (inputs, outputs); the last is the classifier. The first
    /// dense layer takes the last convolutional block's pooled map.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut shapes = Vec::new();
        let mut fan_in = match self.conv_layers() {
            Ok(conv) if !conv.is_empty() => conv[conv.len() - 1].pooled.len(),
            _ => self.network.inputs,
        };
        for &width in &self.network.hidden {
            shapes.push((fan_in, width));
            fan_in = width;
        }
        shapes.push((fan_in, self.network.classes));
        shapes
    }

    /// The layers the fixed-point model and rtl-gen build ([`Config::layer_shapes`]):
    /// none where the network has convolutional blocks, which only the f32 model trains,
    /// so their accumulator and lane checks do not hold that model back.
    fn fixed_point_layers(&self) -> Vec<(usize, usize)> {
        if self.network.conv.is_empty() {
            self.layer_shapes()
        } else {
            Vec::new()
        }
    }

    /// MAC lanes of layer `k` (the last is the classifier).
    pub fn lanes_of(&self, k: usize) -> usize {
        let h = &self.hardware;
        if k == self.network.hidden.len() {
            h.classifier_lanes.unwrap_or(h.lanes)
        } else {
            h.lanes
        }
    }

    /// Shifts derived from the formats, each computed once here.
    pub fn shifts(&self) -> Shifts {
        let f = &self.fixed;
        let basis_frac = self.basis_frac();
        Shifts {
            act: f.weight_frac,
            score_to_logit: f.act_frac + basis_frac + self.learning.logit_shift - f.logit_frac,
            out_to_logit: f.weight_frac + f.act_frac - f.logit_frac,
            back_to_err: f.prob_frac + basis_frac + self.learning.logit_shift - f.err_frac,
            // Additions first: `validate` checks only that the whole sum is non-negative.
            hidden_update: f.err_frac + f.act_frac + self.learning.lr_shift - f.weight_frac,
            out_update: f.prob_frac + f.act_frac + self.learning.out_lr_shift - f.weight_frac,
            mod_update: f.logit_frac + f.prob_frac + self.learning.mod_lr_shift - f.mod_frac,
        }
    }

    pub fn basis_frac(&self) -> u32 {
        match self.learning.basis {
            Waveform::Square => 0,
            Waveform::Sine => self.fixed.basis_bits - 2,
        }
    }

    pub fn basis_bits(&self) -> u32 {
        match self.learning.basis {
            Waveform::Square => 2,
            Waveform::Sine => self.fixed.basis_bits,
        }
    }

    pub fn exp_table_len(&self) -> usize {
        1 << (self.fixed.logit_frac + 4)
    }

    /// Bits the design stores at the least, layer by layer: the weights (inputs × outputs
    /// of `weight_bits`), the input vector the update reads again (inputs of `act_bits`) and
    /// the softmax's exp table ([`Config::exp_table_len`] entries of `EXP_FRAC + 1` bits)
    /// of each learning unit; and, for a hidden layer under a local rule, its basis ROM
    /// (outputs × classes entries of [`Config::basis_bits`]) and its LLS-M vector (classes)
    /// or LLS-MxM matrix (classes²) of `mod_bits`. Saturates instead of overflowing, so it
    /// takes any sizes; [`Config::validate`] bounds it by [`MAX_STORED_BITS`].
    pub fn stored_bits(&self) -> u128 {
        self.stored_bits_by_layer()
            .into_iter()
            .fold(0, u128::saturating_add)
    }

    fn stored_bits_by_layer(&self) -> Vec<u128> {
        let f = &self.fixed;
        let classes = self.network.classes as u128;
        let local = self.learning.rule.is_local();
        let (basis, modulation) = match self.learning.rule {
            Rule::Bp => (0, 0),
            Rule::Lls => (classes, 0),
            Rule::LlsM => (classes, classes),
            Rule::LlsMxm => (classes, classes.saturating_mul(classes)),
        };
        let exp_table = (self.exp_table_len() as u128).saturating_mul((EXP_FRAC + 1).into());
        self.layer_shapes()
            .into_iter()
            .enumerate()
            .map(|(k, (fan_in, outputs))| {
                let classifier = k == self.network.hidden.len();
                let weights = (fan_in as u128)
                    .saturating_mul(outputs as u128)
                    .saturating_mul(f.weight_bits.into());
                let input = (fan_in as u128).saturating_mul(f.act_bits.into());
                let unit = weights
                    .saturating_add(input)
                    .saturating_add(if classifier || local { exp_table } else { 0 });
                if classifier {
                    return unit;
                }
                let rom = (outputs as u128)
                    .saturating_mul(basis)
                    .saturating_mul(self.basis_bits().into());
                unit.saturating_add(rom)
                    .saturating_add(modulation.saturating_mul(f.mod_bits.into()))
            })
            .collect()
    }

    /// The network's tables must fit the largest target's RAM ([`MAX_STORED_BITS`]).
    fn check_stored_bits(&self) -> Result<(), ConfigError> {
        let by_layer = self.stored_bits_by_layer();
        let total = by_layer.iter().copied().fold(0, u128::saturating_add);
        if total <= u128::from(MAX_STORED_BITS) {
            return Ok(());
        }
        let (k, _) = by_layer
            .iter()
            .enumerate()
            .max_by_key(|&(_, bits)| bits)
            .expect("the classifier is a layer");
        let (fan_in, outputs) = self.layer_shapes()[k];
        Err(ConfigError::invalid(
            "network",
            format!(
                "stores at least {total} bits (weights, inputs and tables), more than the \
                 {MAX_STORED_BITS} bits of RAM of {}, the largest supported FPGA",
                LARGEST_TARGET.name()
            ),
            format!(
                "shrink network.inputs, network.hidden or fixed.weight_bits (layer {k}, \
                 {fan_in} → {outputs}, stores the most)"
            ),
        ))
    }

    /// Every pixel of `kind`, less `data.input_offset` and shifted left by
    /// `data.input_shift`, must fit the activation format.
    fn check_input_shift(&self, kind: DatasetKind) -> Result<(), ConfigError> {
        let (shift, act_bits) = (self.data.input_shift, self.fixed.act_bits);
        let max_pixel = kind.pixel_max();
        let offset = self.data.input_offset;
        if offset > u32::from(max_pixel) {
            return Err(ConfigError::invalid(
                "data.input_offset",
                format!("{offset} is above the largest pixel, {max_pixel}"),
                format!("give a pixel value from 0 to {max_pixel} (about the data's mean)"),
            ));
        }
        // act_bits ≤ 32 is checked first, so the shift of an i64 cannot overflow.
        let fits = |x: i64| {
            shift < act_bits
                && act_bits <= 32
                && (-width::max_signed(act_bits) - 1..=width::max_signed(act_bits))
                    .contains(&(x << shift))
        };
        if offset > 0 && !fits(-i64::from(offset)) {
            return Err(ConfigError::invalid(
                "data.input_offset",
                format!("pixel 0 − {offset} << {shift} does not fit fixed.act_bits = {act_bits}"),
                "lower data.input_offset or data.input_shift, or raise fixed.act_bits",
            ));
        }
        if fits(i64::from(max_pixel) - i64::from(offset)) {
            return Ok(());
        }
        let centred = match offset {
            0 => String::new(),
            _ => format!(" − {offset}"),
        };
        Err(ConfigError::invalid(
            "data.input_shift",
            format!(
                "pixel {max_pixel}{centred} << {shift} does not fit fixed.act_bits = {act_bits}"
            ),
            "lower data.input_shift or raise fixed.act_bits",
        ))
    }

    /// Checks that the network takes the samples of `kind`: one input a pixel, one class a
    /// label (so that no label reaches the model without a class of its own), and the
    /// largest pixel, shifted by `data.input_shift`, fits the activation format.
    ///
    /// Every command that trains, measures or co-simulates on a data set calls it with the
    /// data set it is about to load (`data.dataset`, after any `--dataset`), before loading
    /// it. [`Config::validate`] holds only the input shift to `data.dataset`: a config that
    /// only generates hardware may have any shape.
    pub fn check_dataset(&self, kind: DatasetKind) -> Result<(), ConfigError> {
        let n = &self.network;
        let side = kind.side();
        let pixels = side * side;
        if n.inputs != pixels {
            return Err(ConfigError::invalid(
                "network.inputs",
                format!(
                    "is {}, but {kind} images have {pixels} pixels ({side}×{side})",
                    n.inputs
                ),
                format!(
                    "use a config made for {kind} (`lls presets` lists them), or a data set \
                     (--dataset or data.dataset) whose images have {} pixels",
                    n.inputs
                ),
            ));
        }
        if let Some(image) = n.image {
            if image != [1, side, side] {
                return Err(ConfigError::invalid(
                    "network.image",
                    format!("is {image:?}, but {kind} images are 1 channel of {side}×{side}"),
                    format!("set network.image = [1, {side}, {side}]"),
                ));
            }
        }
        if n.classes != kind.classes() {
            return Err(ConfigError::invalid(
                "network.classes",
                format!(
                    "is {}, but {kind} has {} classes (labels 0 to {})",
                    n.classes,
                    kind.classes(),
                    kind.classes() - 1
                ),
                format!(
                    "set network.classes = {}, one class a label",
                    kind.classes()
                ),
            ));
        }
        self.check_input_shift(kind)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let n = &self.network;
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::invalid(
                "name",
                format!("`{}` is not a plain preset name", self.name),
                "use letters, digits, `-` and `_` only",
            ));
        }
        if n.inputs == 0 {
            return Err(ConfigError::invalid(
                "network.inputs",
                "is 0",
                "set it to the pixel count",
            ));
        }
        if n.classes < 2 || n.classes > 256 {
            return Err(ConfigError::invalid(
                "network.classes",
                format!("is {}", n.classes),
                "use 2 to 256 classes",
            ));
        }
        let conv = self.conv_layers()?;
        let hidden_layers = conv.len() + n.hidden.len();
        if hidden_layers >= MAX_LAYERS {
            let kinds = match conv.len() {
                0 => String::new(),
                blocks => format!(" ({blocks} in network.conv)"),
            };
            return Err(ConfigError::invalid(
                "network.hidden",
                format!(
                    "has {hidden_layers} layers{kinds}, which with the classifier make {} \
                     learning units, more than the {MAX_LAYERS} that {}, the largest \
                     supported FPGA, could hold",
                    hidden_layers + 1,
                    LARGEST_TARGET.name()
                ),
                format!(
                    "use at most {} hidden layers: each unit takes more than {MIN_UNIT_LUTS} \
                     LUTs",
                    MAX_LAYERS - 1
                ),
            ));
        }
        for (k, &w) in n.hidden.iter().enumerate() {
            if w == 0 {
                return Err(ConfigError::invalid(
                    format!("network.hidden[{k}]"),
                    "is 0",
                    "give every hidden layer at least one neuron",
                ));
            }
        }
        if hidden_layers == 0 && self.learning.rule.is_local() {
            return Err(ConfigError::invalid(
                "network.hidden",
                "is empty, so there is no layer for the local rule",
                "add a hidden layer or use rule = \"bp\"",
            ));
        }
        if n.leak_shift > 15 {
            return Err(ConfigError::invalid(
                "network.leak_shift",
                format!("is {}", n.leak_shift),
                "use 0..=15 (slope 2^-leak_shift)",
            ));
        }
        let f = &self.fixed;
        for (field, bits, frac) in [
            ("fixed.act", f.act_bits, f.act_frac),
            ("fixed.weight", f.weight_bits, f.weight_frac),
            ("fixed.err", f.err_bits, f.err_frac),
            ("fixed.mod", f.mod_bits, f.mod_frac),
        ] {
            if !(2..=32).contains(&bits) {
                return Err(ConfigError::invalid(
                    format!("{field}_bits"),
                    format!("is {bits}"),
                    "use 2 to 32 bits",
                ));
            }
            if frac >= bits {
                return Err(ConfigError::invalid(
                    format!("{field}_frac"),
                    format!("is {frac}, not below {field}_bits = {bits}"),
                    format!("lower {field}_frac below {bits}"),
                ));
            }
        }
        if self.learning.basis == Waveform::Sine && !(3..=16).contains(&f.basis_bits) {
            return Err(ConfigError::invalid(
                "fixed.basis_bits",
                format!("is {}", f.basis_bits),
                "use 3 to 16 bits for the sine basis",
            ));
        }
        if !(1..=8).contains(&f.logit_frac) {
            return Err(ConfigError::invalid(
                "fixed.logit_frac",
                format!("is {}", f.logit_frac),
                "use 1 to 8 (the exp table has 2^(logit_frac+4) entries)",
            ));
        }
        if !(4..=16).contains(&f.prob_frac) {
            return Err(ConfigError::invalid(
                "fixed.prob_frac",
                format!("is {}", f.prob_frac),
                "use 4 to 16",
            ));
        }
        if f.rounding == Rounding::Stochastic {
            return Err(ConfigError::invalid(
                "fixed.rounding",
                "is stochastic, which is only defined for weight updates",
                "use \"floor\" or \"half-up\" (stochastic is for fixed.update_rounding)",
            ));
        }
        self.check_input_shift(self.data.dataset)?;
        self.check_stored_bits()?;
        // Learning-rate and logit shifts are bounded first, so the sums below cannot overflow.
        let l = &self.learning;
        for (field, shift) in [
            ("learning.lr_shift", l.lr_shift),
            ("learning.out_lr_shift", l.out_lr_shift),
            ("learning.mod_lr_shift", l.mod_lr_shift),
            ("learning.logit_shift", l.logit_shift),
        ] {
            if shift > 32 {
                return Err(ConfigError::invalid(
                    field,
                    format!("is {shift}"),
                    "use 0..=32",
                ));
            }
        }
        // Shifts must be non-negative: each says which format to change.
        let basis_frac = self.basis_frac();
        let need_nonneg = [
            (
                "fixed.logit_frac",
                f.act_frac + basis_frac + self.learning.logit_shift,
                f.logit_frac,
                "logit_frac must not exceed act_frac + basis fraction + learning.logit_shift",
            ),
            (
                "fixed.logit_frac",
                f.weight_frac + f.act_frac,
                f.logit_frac,
                "logit_frac must not exceed weight_frac + act_frac",
            ),
            (
                "fixed.err_frac",
                f.prob_frac + basis_frac + self.learning.logit_shift,
                f.err_frac,
                "err_frac must not exceed prob_frac + basis fraction + learning.logit_shift",
            ),
            (
                "fixed.weight_frac",
                f.err_frac + f.act_frac + self.learning.lr_shift,
                f.weight_frac,
                "weight_frac must not exceed err_frac + act_frac + learning.lr_shift",
            ),
            (
                "fixed.weight_frac",
                f.prob_frac + f.act_frac + self.learning.out_lr_shift,
                f.weight_frac,
                "weight_frac must not exceed prob_frac + act_frac + learning.out_lr_shift",
            ),
            (
                "fixed.mod_frac",
                f.logit_frac + f.prob_frac + self.learning.mod_lr_shift,
                f.mod_frac,
                "mod_frac must not exceed logit_frac + prob_frac + learning.mod_lr_shift",
            ),
        ];
        for (field, have, need, fix) in need_nonneg {
            if have < need {
                return Err(ConfigError::invalid(
                    field,
                    format!("a shift would be negative ({have} < {need})"),
                    fix,
                ));
            }
        }
        // The model shifts i64 values: every derived right shift must stay below 64.
        let s = self.shifts();
        for (field, shift) in [
            ("learning.logit_shift", s.score_to_logit),
            ("learning.logit_shift", s.back_to_err),
            ("learning.lr_shift", s.hidden_update),
            ("learning.out_lr_shift", s.out_update),
            ("learning.mod_lr_shift", s.mod_update),
        ] {
            if shift > 62 {
                return Err(ConfigError::invalid(
                    field,
                    format!("makes a right shift of {shift} bits"),
                    "lower it (or the fractional bits) so that every shift stays below 63",
                ));
            }
        }
        // Exact accumulators must fit the declared width.
        for (k, (fan_in, _)) in self.fixed_point_layers().into_iter().enumerate() {
            let need = width::acc_bits(width::product_bits(f.weight_bits, f.act_bits), fan_in);
            if need > f.acc_bits {
                return Err(ConfigError::invalid(
                    "fixed.acc_bits",
                    format!(
                        "layer {k} ({fan_in} inputs) needs {need} bits for an exact sum of \
                         {}-bit × {}-bit products but acc_bits = {}",
                        f.weight_bits, f.act_bits, f.acc_bits
                    ),
                    format!("raise fixed.acc_bits to {need} or lower weight_bits/act_bits"),
                ));
            }
        }
        if f.acc_bits > 62 {
            return Err(ConfigError::invalid(
                "fixed.acc_bits",
                format!("is {}", f.acc_bits),
                "use at most 62 bits (the model computes in i64)",
            ));
        }
        let l = &self.learning;
        if l.epochs == 0 {
            return Err(ConfigError::invalid(
                "learning.epochs",
                "is 0",
                "train for at least 1 epoch",
            ));
        }
        if l.batch == 0 {
            return Err(ConfigError::invalid(
                "learning.batch",
                "is 0",
                "use a batch of at least 1",
            ));
        }
        if l.lr_halve_at.len() > MAX_LR_HALVINGS {
            return Err(ConfigError::invalid(
                "learning.lr_halve_at",
                format!("has {} entries", l.lr_halve_at.len()),
                format!(
                    "give at most {MAX_LR_HALVINGS} (a sample carries its halvings in \
                     {} bits beside its label)",
                    MAX_LR_HALVINGS.ilog2() + 1
                ),
            ));
        }
        if let Some(w) = l.lr_halve_at.windows(2).find(|w| w[0] >= w[1]) {
            return Err(ConfigError::invalid(
                "learning.lr_halve_at",
                format!("is not strictly ascending ({} then {})", w[0], w[1]),
                "list the samples at which the rates halve in ascending order, each once",
            ));
        }
        let h = &self.hardware;
        for (field, lanes) in [
            ("hardware.lanes", Some(h.lanes)),
            ("hardware.classifier_lanes", h.classifier_lanes),
        ] {
            if lanes == Some(0) {
                return Err(ConfigError::invalid(
                    field,
                    "is 0",
                    "use at least 1 lane (a divisor of the layer's input count)",
                ));
            }
        }
        let layers = self.network.hidden.len() + 1;
        let mac_lanes = (0..layers)
            .map(|k| self.lanes_of(k))
            .fold(0, usize::saturating_add);
        if mac_lanes > MAX_MAC_LANES {
            return Err(ConfigError::invalid(
                "hardware.lanes",
                format!(
                    "{mac_lanes} MAC lanes in all ({} a hidden layer, {} the classifier), more \
                     than the {MAX_MAC_LANES} DSPs and LUTs of {}, the largest supported FPGA",
                    h.lanes,
                    self.lanes_of(layers - 1),
                    LARGEST_TARGET.name()
                ),
                "use fewer lanes (hardware.lanes, hardware.classifier_lanes) or fewer layers \
                 (network.hidden): each lane takes at least one DSP or LUT",
            ));
        }
        let classifier = self.network.hidden.len();
        for (k, (fan_in, _)) in self.fixed_point_layers().into_iter().enumerate() {
            let lanes = self.lanes_of(k);
            if fan_in % lanes != 0 {
                let (field, fix) = match (k == classifier, h.classifier_lanes) {
                    (true, Some(_)) => (
                        "hardware.classifier_lanes",
                        "choose lanes that divide the classifier's input count",
                    ),
                    (true, None) => (
                        "hardware.lanes",
                        "choose lanes that divide every layer's input count, or set \
                         hardware.classifier_lanes for the classifier",
                    ),
                    (false, _) => (
                        "hardware.lanes",
                        "choose lanes that divide every layer's input count",
                    ),
                };
                return Err(ConfigError::invalid(
                    field,
                    format!("{lanes} lanes do not divide layer {k}'s {fan_in} inputs"),
                    fix,
                ));
            }
        }
        let (dividers, classes) = (h.softmax_dividers(), self.network.classes);
        if dividers == 0 || classes % dividers != 0 {
            return Err(ConfigError::invalid(
                "hardware.softmax_dividers",
                format!("is {dividers}, not a divisor of the {classes} classes"),
                "use a divisor of network.classes (1 takes the least logic, the class \
                 count the fewest cycles)",
            ));
        }
        if h.bank_weights && h.target == Target::Ice40Up5k {
            return Err(ConfigError::invalid(
                "hardware.bank_weights",
                "is true for an iCE40 target, whose weights are not banked",
                "remove it, or choose an ECP5 target",
            ));
        }
        if !(h.freq_mhz > 0.0 && h.freq_mhz < 1000.0) {
            return Err(ConfigError::invalid(
                "hardware.freq_mhz",
                format!("is {}", h.freq_mhz),
                "use a clock target in MHz between 0 and 1000",
            ));
        }
        if h.baud.is_some() {
            h.check_baud()?;
        }
        Ok(())
    }
}

/// Every right shift of the datapath, derived from the formats in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Shifts {
    /// Pre-activation (Q·w+a) → activation (Q·a).
    pub act: u32,
    /// Class score B·h (Q·a+b) → logit (Q·logit_frac), including 2^-logit_shift.
    pub score_to_logit: u32,
    /// Classifier sum (Q·w+a) → logit (Q·logit_frac).
    pub out_to_logit: u32,
    /// Back-projection Bᵀe (Q·prob+b) → δ (Q·err_frac), including 2^-logit_shift.
    pub back_to_err: u32,
    /// δ·x (Q·err+a) → weight step (Q·w), including the learning rate.
    pub hidden_update: u32,
    /// e·x (Q·prob+a) → weight step (Q·w), including the learning rate.
    pub out_update: u32,
    /// logit·e (Q·logit+prob) → modulation step (Q·mod), including the learning rate.
    pub mod_update: u32,
}
