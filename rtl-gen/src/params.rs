//! Every width and constant of the generated datapath, derived once from the config with
//! the golden model's bit-growth rules (`golden_model::spec::numeric::width`).

use golden_model::config::{
    Activation, Config, Rounding, Rule, Shifts, Target, Waveform, EXP_FRAC,
};
use golden_model::spec::lanes::LaneMap;
use golden_model::spec::numeric::width::{acc_bits, ceil_log2, product_bits};
use golden_model::spec::numeric::Lfsr;
use serde::Serialize;

use crate::GenError;

/// Readback is a pipeline: the address and the memories' read (1), the memories' data
/// register behind the block-RAM multiplexer (2), the unit's selected entry (3), the unit
/// select (4). Every stage is a register, so the wide weight-memory multiplexers never
/// sit in a path with the selects that follow them. Banked weights and wide lane selects
/// add their stages ([`LayerParams::readback_stages`], `DesignParams::rb_latency`).
pub const READBACK_LATENCY: u32 = 4;

/// A stochastic-rounding LFSR state (32 bits) reads back in pieces of this many bits,
/// low piece first: readback data is at least this wide in such a design.
pub const LFSR_READBACK_BITS: u32 = 16;

/// Readback entries per LFSR state.
pub const LFSR_READBACK_PIECES: usize = (32 / LFSR_READBACK_BITS) as usize;

/// Width of an address that counts `n` items (at least 1 bit).
pub fn addr_bits(n: usize) -> u32 {
    ceil_log2(n).max(1)
}

/// Words of one weight bank for a lane of `depth` words (see [`LayerParams::bank_words`]):
/// with `hardware.bank_weights` (ECP5), one DP16KD (1,024 × 18 or 512 × 36), so that the
/// block RAMs' 5.8 ns clock-to-out does not feed a multiplexer over the whole lane.
fn bank_words(banked: bool, weight_bits: u32, depth: usize) -> usize {
    match (banked, weight_bits <= 18) {
        (false, _) => depth,
        (true, true) => depth.min(1024),
        (true, false) => depth.min(512),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerParams {
    pub index: usize,
    pub name: String,
    pub classifier: bool,
    pub inputs: usize,
    pub outputs: usize,
    pub lanes: usize,
    /// Weight words per output row (inputs / lanes).
    pub words: usize,
    /// Words of one weight bank. A lane deeper than one block RAM is split into banks of
    /// this many words ([`LayerParams::weight_banks`]); equal to the lane's depth where the
    /// target does not bank.
    pub bank_words: usize,
    /// Register stages in front of each lane's multiplier (its operands registered once
    /// more): 1 with `hardware.bank_weights` (ECP5, whose MULT18X18D yosys maps without
    /// its own input registers, so a fabric register sits beside it) and with
    /// `hardware.share_multipliers` (the register after the pool's operand multiplexer),
    /// else 0.
    pub mul_stages: u32,
    /// Register stages on a learning hidden unit's basis ROM address: 1 with
    /// `hardware.bank_weights`, whose ECP5 clock the address multiplexer in front of the
    /// ROM (in LUTs) would otherwise set, else 0. Each one lengthens the update's δ path
    /// by a stage; the forward pass's projection reads at the same stage as before.
    pub basis_addr_stages: u32,
    /// Register stages that sum the lanes' products before the accumulate (`mac_q`), each
    /// one stage more on the forward pass: with several lanes a tree that adds
    /// [`Self::lane_sum_group`] terms at a time into registers, level by level
    /// ([`Self::lane_sum_levels`]; on the ECP5 1 for up to 4 lanes, 2 for 5–16, 4 for 98;
    /// on the iCE40 2 for 3–4 lanes). With `hardware.bank_weights` a single lane has one
    /// too, so that the accumulate's carry chains start at a flip-flop beside them instead
    /// of at a MULT18X18D's output across the die. Else 0.
    pub mac_sum_stages: u32,
    /// Terms one adder of that tree adds ([`Self::lane_sum_group`] of the target).
    pub lane_sum_group: usize,
    /// The multiplier's first operand: the weight in the forward pass, δ in the update.
    pub mul_a_bits: u32,
    pub act_bits: u32,
    pub weight_bits: u32,
    /// Exact forward sum width.
    pub acc_bits: u32,
    /// Class score width (hidden) — exact sum of C-way basis products.
    pub score_bits: u32,
    pub logit_bits: u32,
    /// Right shift from sum/score to logit.
    pub logit_shift: u32,
    /// Softmax error width: prob_frac + 2.
    pub err_bits: u32,
    /// Width of the δ that multiplies inputs in the update.
    pub delta_bits: u32,
    /// Back-projection sum width (hidden).
    pub back_bits: u32,
    pub back_shift: u32,
    pub update_shift: u32,
    pub act_shift: u32,
    pub basis_bits: u32,
    pub square: bool,
    pub leaky: bool,
    pub leak_shift: u32,
    pub classes: usize,
    pub label_bits: u32,
    /// Bits of the learning-rate halvings a sample carries above its label (0: no
    /// schedule); see [`DesignParams::halving_bits`].
    pub halving_bits: u32,
    pub rb_addr_bits: u32,
    /// Readback entries: weights, then the C softmax errors, the modulation, and each
    /// LFSR state in [`LFSR_READBACK_PIECES`] pieces.
    pub rb_entries: usize,
    /// LLS-M / LLS-MxM on a hidden layer of a learning design.
    pub modulation: Option<ModParams>,
    /// Stochastic update rounding: each lane's LFSR power-up state
    /// (`golden_model::spec::numeric::Lfsr::seed_state`); empty otherwise.
    pub lfsr_seeds: Vec<u32>,
    /// The unit's datapath registers (products, sums, accumulator, update step, stage
    /// chains) load only while it is active: with `hardware.bank_weights`, on a unit whose
    /// passes take at most half the slowest unit's cycles, so that it idles most of each
    /// sample (a one-lane classifier beside eight hidden lanes works ~10 % of them). The
    /// netlist gains clock enables, which the ECP5 flow keeps in the DP16KD and MULT18X18D
    /// output registers (`toolchain::outreg`); the simulator skips the held registers,
    /// 1.05× on such a design. Exact: a unit goes idle only after its last write leaves
    /// the pipeline.
    pub hold_when_idle: bool,
}

impl LayerParams {
    /// Width of the label a unit takes and passes on: the class, and above it the
    /// sample's learning-rate halvings ([`DesignParams::halving_bits`]).
    pub fn tag_bits(&self) -> u32 {
        self.label_bits + self.halving_bits
    }

    /// Weight words of one lane (a row's words, every row): also the cycles one pass issues.
    pub fn lane_words(&self) -> usize {
        self.words * self.outputs
    }

    /// Which lane each of a row's inputs goes to (the golden model's one definition).
    pub fn lane_map(&self) -> LaneMap {
        LaneMap::new(self.lanes)
    }

    /// The bits of a lane in an input or weight-readback address, the bits above them
    /// being the word (`LaneMap::packed`: padded where the lane count is not a power of
    /// two).
    pub fn lane_bits(&self) -> u32 {
        self.lane_map().lane_field_bits()
    }

    /// Readback entries of the weights: every lane's words at their packed addresses
    /// (`LaneMap::packed` of the row-major index), holes included.
    pub fn rb_weight_entries(&self) -> usize {
        weight_readback_entries(self.inputs, self.outputs, self.lanes)
    }

    /// The readback entry of the first softmax error (after the weights).
    pub fn rb_first_error(&self) -> usize {
        self.rb_weight_entries()
    }

    /// The readback entry of the first modulation value (after the weights and the C
    /// softmax errors).
    pub fn rb_first_modulation(&self) -> usize {
        self.rb_first_error() + self.classes
    }

    /// The readback entry of the first LFSR piece (the last entries of the unit).
    pub fn rb_first_lfsr(&self) -> usize {
        self.rb_entries - self.lfsr_seeds.len() * LFSR_READBACK_PIECES
    }
}

/// The learnable modulation between a hidden layer's logits and its softmax (LLS-M: a
/// vector m, LLS-MxM: a C × C matrix M), computed serially on one multiplier.
#[derive(Clone, Debug, Serialize)]
pub struct ModParams {
    pub matrix: bool,
    /// Stored values: C (vector) or C² (matrix, row-major `M[c][j]`).
    pub entries: usize,
    /// Terms per output: 1 (vector) or C (matrix).
    pub terms: usize,
    pub bits: u32,
    pub frac: u32,
    /// Right shift from `base_logit · error` to a modulation step.
    pub update_shift: u32,
    /// Modulated logits `(m ⊙ l | l·M) >> frac` fed to the softmax.
    pub logit_bits: u32,
    /// `(m ⊙ e | M·e) >> frac`, the error the basis projects back.
    pub grad_bits: u32,
    /// Multiplier operands: A ∈ {base logit, error}, B ∈ {modulation, error}.
    pub mul_a_bits: u32,
    pub mul_b_bits: u32,
    /// Accumulator of both serial sums (exact).
    pub acc_bits: u32,
}

/// Readback entries of a layer's weights: each lane's `inputs / lanes × outputs` words at
/// their packed addresses (`LaneMap::packed`), the holes of a padded lane field included.
fn weight_readback_entries(inputs: usize, outputs: usize, lanes: usize) -> usize {
    (inputs / lanes * outputs) << LaneMap::new(lanes).lane_field_bits()
}

impl LayerParams {
    /// Weight banks per lane.
    pub fn weight_banks(&self) -> usize {
        (self.outputs * self.words).div_ceil(self.bank_words)
    }

    /// Register stages banked weights add to a write: the address, write enable and data
    /// registered once centrally, then again in a copy beside each bank (a net from one
    /// register to every block RAM of the lane would cross the die). 0 when unbanked.
    pub fn bank_stages(&self) -> u32 {
        if self.weight_banks() > 1 {
            2
        } else {
            0
        }
    }

    /// Terms one registered adder of the lanes' sum adds on `target`
    /// ([`Self::mac_sum_stages`]): two on the iCE40, whose carry chains (0.3 ns a bit) leave
    /// room for one addition a cycle at 50 MHz; four on the ECP5, whose chains are fast but
    /// whose routes from the multipliers are long.
    pub fn lane_sum_group(target: Target) -> usize {
        match target {
            Target::Ice40Up5k => 2,
            Target::Ecp5_25k | Target::Ecp5_85k => 4,
        }
    }

    /// Registered levels of a tree that adds `lanes` products `group` at a time down to
    /// one sum (at least 1).
    pub fn lane_sum_levels(lanes: usize, group: usize) -> u32 {
        let mut levels = 1;
        let mut terms = lanes;
        while terms > group {
            terms = terms.div_ceil(group);
            levels += 1;
        }
        levels
    }

    /// Banks one step of the bank multiplexer selects from (`weights::bank_tree`).
    pub const BANK_MUX_WAYS: usize = 4;

    /// Register stages of the bank multiplexer: its first step registered where more
    /// steps follow (more than [`Self::BANK_MUX_WAYS`] banks), so that neither half spans
    /// the die and a multiplexer. 0 when unbanked.
    pub fn bank_mux_stages(&self) -> u32 {
        u32::from(self.weight_banks() > Self::BANK_MUX_WAYS)
    }

    /// Register stages banked weights add to a read: the write's two (the read address
    /// takes the same path), each bank's read registered twice beside it, and the
    /// multiplexer's. 0 when unbanked.
    pub fn bank_read_stages(&self) -> u32 {
        match self.bank_stages() {
            0 => 0,
            writes => writes + 2 + self.bank_mux_stages(),
        }
    }

    /// Lanes one step of the readback's lane select picks from: an 8:1 multiplexer is one
    /// LUT level and two wide-mux levels on the ECP5, small enough to sit in front of a
    /// register across the die.
    pub const READBACK_LANE_WAYS: usize = 8;

    /// Registered steps of the readback's lane select before its last one (in readback
    /// stage 3): 0 up to [`Self::READBACK_LANE_WAYS`] lanes, so that a wide unit's select
    /// (98 lanes: 98 → 13 → 2 → 1) never puts a many-level multiplexer in one path.
    pub fn readback_lane_stages(&self) -> u32 {
        let mut steps = 0;
        let mut items = self.lanes;
        while items > Self::READBACK_LANE_WAYS {
            items = items.div_ceil(Self::READBACK_LANE_WAYS);
            steps += 1;
        }
        steps
    }

    /// Register stages the unit's readback adds to [`READBACK_LATENCY`]: its banks' read
    /// stages and its lane select's.
    pub fn readback_stages(&self) -> u32 {
        self.bank_read_stages() + self.readback_lane_stages()
    }

    /// Clock edges from a weight read address to the data register the multiplier reads
    /// (`w_r`): the block RAM's own register and the data register, plus the banks'.
    pub fn weight_read_stages(&self) -> u32 {
        2 + self.bank_read_stages()
    }

    /// Width of the logits the softmax unit sees (modulated ones under LLS-M/MxM).
    pub fn softmax_logit_bits(&self) -> u32 {
        self.modulation
            .as_ref()
            .map_or(self.logit_bits, |m| m.logit_bits)
    }

    /// Width of the error the basis projects back (the softmax error, or its modulation).
    pub fn back_error_bits(&self) -> u32 {
        self.modulation
            .as_ref()
            .map_or(self.err_bits, |m| m.grad_bits)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DesignParams {
    pub name: String,
    pub layers: Vec<LayerParams>,
    pub classes: usize,
    pub inputs: usize,
    pub pixel_bits: u32,
    pub input_shift: u32,
    /// `data.input_offset`: the pixel value that maps to input 0.
    pub input_offset: u32,
    pub label_bits: u32,
    /// The learning-rate schedule (`learning.lr_halve_at`) in hardware: the host gives
    /// each sample its halvings η above the label in `s_axis_tuser`
    /// ([`DesignParams::sample_tag`]); they travel with the label from unit to unit, and
    /// each unit floor-shifts its δ by η (the golden model's `FixedNet::lr_halvings`).
    /// 0 without a schedule, and in an inference design.
    pub halving_bits: u32,
    pub prob_frac: u32,
    pub logit_frac: u32,
    pub exp_index_bits: u32,
    pub exp_bits: u32,
    /// Register stages of the softmax's exp lookup (a ROM in LUTs on the ECP5): 1, or 2
    /// with `hardware.bank_weights`, whose clock the one-stage lookup would limit (each
    /// half of the table read a stage, the half picked the next:
    /// `blocks::halved_rom_read`).
    pub exp_lookup_stages: u32,
    /// Dividers in each softmax-error unit (`hardware.softmax_dividers`, a divisor of the
    /// classes): divider j takes classes j, j + d, j + 2d, …, one round of P + 1 quotient
    /// steps each.
    pub softmax_dividers: usize,
    /// Register stages of an input buffer's write (address, data and each lane's decoded
    /// enable): 1 with `hardware.bank_weights`, whose ECP5 clock the upstream handshake
    /// (at the stream pins, across the die from the buffers) would otherwise limit, else 0.
    /// A sample's last write still lands before the unit's first read of it.
    pub input_write_stages: u32,
    /// A unit's issue stage ends a row and a pass on flip-flops rather than on compares
    /// of its counters (`hardware.bank_weights`, where nextpnr placed those compares a
    /// die's width from the counters they enable): `word_last0` is a register kept equal
    /// to `word0 == words - 1`, and the counters return to 0 on `issue_last`. Units whose
    /// rows are one word keep the compares.
    pub issue_flags_registered: bool,
    /// A unit's FSM keeps `state != S_IDLE` as its own flip-flop, `active`
    /// (`hardware.bank_weights`): a sample's `start`, combinational from the input stream,
    /// then meets one flag on its way to the bank and label enables rather than a decode of
    /// the state, a long path from the stream's register slice on the ECP5.
    pub idle_flag_registered: bool,
    pub sum_bits: u32,
    pub rb_data_bits: u32,
    pub rb_addr_bits: u32,
    pub rb_layer_bits: u32,
    /// Clock edges from presenting `rb_layer`/`rb_addr` to their entry on `rb_data`:
    /// [`READBACK_LATENCY`], plus the slowest unit's [`LayerParams::readback_stages`]
    /// (every unit delays its entry to the same latency).
    pub rb_latency: u32,
    /// The datapath's rounding (`fixed.rounding`): activations, δ, the modulation steps.
    pub rounding: Rounding,
    /// The weight update's (`fixed.update_rounding`): `rounding`, or stochastic with one
    /// LFSR per lane (`LayerParams::lfsr_seeds`).
    pub update_rounding: Rounding,
    /// ROMs of at most this many bits are kept out of block RAM (`ram_style = "logic"`):
    /// ECP5 has LUTs to spare and its block RAMs go to the weights; iCE40 none (0).
    pub distributed_rom_max_bits: u64,
    /// Written memories of at most this many bits go to LUT RAM (`ram_style =
    /// "distributed"`), larger ones to block RAM (`"block"`): ECP5 16 kbit, and 1 kbit with
    /// `hardware.bank_weights` (a LUT-RAM buffer's write enables fan out to a cell per 16
    /// words and its read is a multiplexer over them, so a 256- or 512-word input buffer
    /// reads faster from a DP16KD). iCE40 has no LUT RAM (0: yosys places every memory
    /// itself).
    pub distributed_ram_max_bits: u64,
    /// `hardware.share_multipliers`: the lanes of the one multiplier pool all units take
    /// turns on (the most any unit has; unit k uses the first `lanes` of them). `None`:
    /// every unit has its own.
    pub mul_pool: Option<usize>,
    /// The top's input beat kept a net of its own (`(* keep *)`) on the ECP5, whose stream
    /// arrives through register slices spread over the die: merged into a slice's logic,
    /// the beat would cross the die and back between layer 0's `full` and its bank
    /// registers. On the iCE40 the stream comes from its pins and the merged cell places
    /// better.
    pub keep_input_beat: bool,
    pub learn: bool,
    pub shifts: Shifts,
}

impl DesignParams {
    /// Bits of the weight load's data (`load_data`): the widest unit's weights.
    pub fn load_bits(&self) -> u32 {
        self.layers.iter().map(|l| l.weight_bits).max().unwrap_or(1)
    }

    pub fn new(cfg: &Config, learn: bool) -> Result<DesignParams, GenError> {
        let unsupported = |field: &str, what: &str, fix: &str| GenError::Unsupported {
            field: field.to_string(),
            what: what.to_string(),
            fix: fix.to_string(),
        };
        if !cfg.network.conv.is_empty() {
            return Err(unsupported(
                "network.conv",
                "rtl-gen builds dense layers only (network.hidden)",
                "remove network.conv and network.image",
            ));
        }
        if cfg.learning.rule == Rule::Bp {
            return Err(unsupported(
                "learning.rule",
                "bp needs the backward pass through the network that LLS hardware avoids",
                "use rule = \"lls\", \"lls-m\" or \"lls-mxm\" for rtl-gen (bp is a golden-model baseline)",
            ));
        }
        let f = &cfg.fixed;
        // `Config::validate` already keeps stochastic rounding to the weight update.
        if f.update_rounding != Rounding::Stochastic && f.rounding != f.update_rounding {
            return Err(unsupported(
                "fixed.update_rounding",
                "rtl-gen builds one deterministic rounding policy for the whole datapath",
                "set fixed.update_rounding equal to fixed.rounding, or to \"stochastic\"",
            ));
        }
        let target = cfg.hardware.target;
        let banked = cfg.hardware.bank_weights;
        let shared = cfg.hardware.share_multipliers;
        let lane_sum_group = LayerParams::lane_sum_group(target);
        for (field, bits) in [
            ("fixed.weight_bits", f.weight_bits),
            ("fixed.act_bits", f.act_bits),
        ] {
            if bits > target.dsp_operand_bits() {
                return Err(GenError::Unsupported {
                    field: field.to_string(),
                    what: format!(
                        "{bits}-bit operands exceed the {}-bit multipliers of {}",
                        target.dsp_operand_bits(),
                        target.name()
                    ),
                    fix: format!("use at most {} bits", target.dsp_operand_bits()),
                });
            }
        }
        let shifts = cfg.shifts();
        let classes = cfg.network.classes;
        let label_bits = addr_bits(classes);
        let halving_bits = if learn && !cfg.learning.lr_halve_at.is_empty() {
            ceil_log2(cfg.learning.lr_halve_at.len() + 1)
        } else {
            0
        };
        if label_bits + halving_bits > 8 {
            return Err(unsupported(
                "learning.lr_halve_at",
                &format!(
                    "a sample's label ({label_bits} bits) and its halvings ({halving_bits} \
                     bits) exceed the host link's label byte"
                ),
                "give fewer halvings, or none (an empty lr_halve_at), for this many classes",
            ));
        }
        let err_bits = f.prob_frac + 2;
        let square = cfg.learning.basis == Waveform::Square;
        let basis_bits = cfg.basis_bits();
        let shapes = cfg.layer_shapes();
        let last = shapes.len() - 1;
        let mut layers = Vec::new();
        for (k, &(n_in, n_out)) in shapes.iter().enumerate() {
            let classifier = k == last;
            let lanes = cfg.lanes_of(k);
            // The exact forward sum; at least as wide as the shared multiplier's product
            // (a δ wider than the weights widens it).
            let delta_bits = if classifier { err_bits } else { f.err_bits };
            let acc = acc_bits(product_bits(f.weight_bits, f.act_bits), n_in)
                .max(product_bits(f.weight_bits.max(delta_bits), f.act_bits));
            // A square basis entry multiplies by ±1: the term needs one bit more than h.
            let score_term = if square {
                f.act_bits + 1
            } else {
                f.act_bits + basis_bits
            };
            let score_bits = acc_bits(score_term, n_out);
            let (logit_bits, logit_shift) = if classifier {
                (acc - shifts.out_to_logit, shifts.out_to_logit)
            } else {
                (score_bits - shifts.score_to_logit, shifts.score_to_logit)
            };
            let logit_bits = logit_bits.max(2);
            let modulation = (learn && !classifier)
                .then(|| mod_params(cfg, logit_bits, err_bits))
                .flatten();
            let back_err = modulation.as_ref().map_or(err_bits, |m| m.grad_bits);
            let back_term = if square {
                back_err + 1
            } else {
                back_err + basis_bits
            };
            let lfsr_seeds = if learn && f.update_rounding == Rounding::Stochastic {
                (0..lanes)
                    .map(|lane| Lfsr::seed_state(cfg.learning.seed, k, lane).0)
                    .collect()
            } else {
                Vec::new()
            };
            // Readback: the weights (at their packed addresses), then (when learning) the C
            // softmax errors, the modulation and the LFSR states.
            let rb_entries = weight_readback_entries(n_in, n_out, lanes)
                + if learn { classes } else { 0 }
                + modulation.as_ref().map_or(0, |m| m.entries)
                + lfsr_seeds.len() * LFSR_READBACK_PIECES;
            layers.push(LayerParams {
                index: k,
                name: if classifier {
                    "classifier".to_string()
                } else {
                    format!("layer{k}")
                },
                classifier,
                inputs: n_in,
                outputs: n_out,
                lanes,
                words: n_in / lanes,
                bank_words: bank_words(banked, f.weight_bits, n_out * (n_in / lanes)),
                mul_stages: u32::from(banked || shared),
                basis_addr_stages: u32::from(banked && learn && !classifier),
                mac_sum_stages: match (lanes, banked) {
                    (1, false) => 0,
                    (l, _) => LayerParams::lane_sum_levels(l, lane_sum_group),
                },
                lane_sum_group,
                mul_a_bits: if learn {
                    f.weight_bits.max(delta_bits)
                } else {
                    f.weight_bits
                },
                act_bits: f.act_bits,
                weight_bits: f.weight_bits,
                acc_bits: acc,
                score_bits,
                logit_bits,
                logit_shift,
                err_bits,
                delta_bits,
                back_bits: acc_bits(back_term, classes),
                back_shift: shifts.back_to_err,
                update_shift: if classifier {
                    shifts.out_update
                } else {
                    shifts.hidden_update
                },
                act_shift: shifts.act,
                basis_bits,
                square,
                leaky: cfg.network.activation == Activation::LeakyRelu,
                leak_shift: cfg.network.leak_shift,
                classes,
                label_bits,
                halving_bits,
                rb_addr_bits: addr_bits(rb_entries),
                rb_entries,
                modulation,
                lfsr_seeds,
                hold_when_idle: false,
            });
        }
        if banked {
            let slowest = layers
                .iter()
                .map(LayerParams::lane_words)
                .max()
                .unwrap_or(0);
            for l in &mut layers {
                l.hold_when_idle = 2 * l.lane_words() <= slowest;
            }
        }
        let rb_addr_bits = layers.iter().map(|l| l.rb_addr_bits).max().unwrap_or(1);
        let mod_bits = layers
            .iter()
            .filter_map(|l| l.modulation.as_ref().map(|m| m.bits))
            .max()
            .unwrap_or(0);
        let lfsr_bits = if layers.iter().any(|l| !l.lfsr_seeds.is_empty()) {
            LFSR_READBACK_BITS
        } else {
            0
        };
        let rb_data_bits = f.weight_bits.max(err_bits).max(mod_bits).max(lfsr_bits);
        Ok(DesignParams {
            name: cfg.name.clone(),
            classes,
            inputs: cfg.network.inputs,
            pixel_bits: 8,
            input_shift: cfg.data.input_shift,
            input_offset: cfg.data.input_offset,
            label_bits,
            halving_bits,
            prob_frac: f.prob_frac,
            logit_frac: f.logit_frac,
            exp_index_bits: f.logit_frac + 4,
            exp_bits: EXP_FRAC + 1,
            exp_lookup_stages: if banked { 2 } else { 1 },
            softmax_dividers: cfg.hardware.softmax_dividers(),
            input_write_stages: u32::from(banked),
            issue_flags_registered: banked,
            idle_flag_registered: banked,
            sum_bits: EXP_FRAC + 1 + ceil_log2(classes),
            rb_data_bits,
            rb_addr_bits,
            rb_layer_bits: addr_bits(layers.len()),
            rb_latency: READBACK_LATENCY
                + layers
                    .iter()
                    .map(LayerParams::readback_stages)
                    .max()
                    .unwrap_or(0),
            rounding: f.rounding,
            update_rounding: f.update_rounding,
            distributed_rom_max_bits: match target {
                Target::Ice40Up5k => 0,
                Target::Ecp5_25k | Target::Ecp5_85k => 16 * 1024,
            },
            distributed_ram_max_bits: match target {
                Target::Ice40Up5k => 0,
                Target::Ecp5_25k | Target::Ecp5_85k if banked => 1024,
                Target::Ecp5_25k | Target::Ecp5_85k => 16 * 1024,
            },
            mul_pool: shared.then(|| layers.iter().map(|l| l.lanes).max().unwrap_or(1)),
            keep_input_beat: target != Target::Ice40Up5k,
            learn,
            layers,
            shifts,
        })
    }

    /// Width of a sample's tag (`s_axis_tuser`): its label, and above it its halvings.
    pub fn tag_bits(&self) -> u32 {
        self.label_bits + self.halving_bits
    }

    /// The tag a sample enters with: `label`, and `halvings` (the golden model's
    /// `FixedNet::lr_halvings` before the sample) above it when the design has a schedule.
    pub fn sample_tag(&self, label: usize, halvings: u32) -> u64 {
        if self.halving_bits == 0 {
            label as u64
        } else {
            (u64::from(halvings) << self.label_bits) | label as u64
        }
    }

    /// The shared pool's operand widths (A: weight or δ, X: activation): the widest any
    /// unit sends, so that each unit's operands sign-extend into them exactly.
    pub fn mul_pool_operand_bits(&self) -> (u32, u32) {
        let a = self.layers.iter().map(|l| l.mul_a_bits).max().unwrap_or(1);
        let x = self.layers.iter().map(|l| l.act_bits).max().unwrap_or(1);
        (a, x)
    }
}

/// The modulation unit's widths, exact for every product and sum the model forms
/// (`golden_model::spec::fixed::FixedNet::local_signal`); `None` under plain LLS.
fn mod_params(cfg: &Config, logit_bits: u32, err_bits: u32) -> Option<ModParams> {
    let matrix = match cfg.learning.rule {
        Rule::LlsM => false,
        Rule::LlsMxm => true,
        Rule::Lls | Rule::Bp => return None,
    };
    let c = cfg.network.classes;
    let terms = if matrix { c } else { 1 };
    let (bits, frac) = (cfg.fixed.mod_bits, cfg.fixed.mod_frac);
    // A sum shifted right by `frac` keeps at least 2 bits (sign and one more).
    let logit_acc = acc_bits(product_bits(logit_bits, bits), terms).max(frac + 2);
    let grad_acc = acc_bits(product_bits(err_bits, bits), terms).max(frac + 2);
    Some(ModParams {
        matrix,
        entries: c * terms,
        terms,
        bits,
        frac,
        update_shift: cfg.shifts().mod_update,
        logit_bits: logit_acc - frac,
        grad_bits: grad_acc - frac,
        mul_a_bits: logit_bits.max(err_bits),
        mul_b_bits: bits.max(err_bits),
        acc_bits: logit_acc.max(grad_acc),
    })
}
