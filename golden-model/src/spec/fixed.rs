//! The bit-exact fixed-point model: the specification the RTL must match.
//!
//! Batch-1 streaming, as the hardware runs: a sample goes in, each layer computes its
//! output with its pre-update weights, updates its own weights at once, and passes the
//! output on. No error crosses a layer boundary (except under `bp`, the baseline).
//!
//! One hidden layer's step (formats in brackets, shifts from [`Config::shifts`]):
//! ```text
//! z_j  = Σ_i W_ji x_i                                   [Q·w+a, exact, acc_bits]
//! h_j  = narrow(act(z_j), act)                          [Q·a]   act(z) = z ≥ 0 ? z : z >> leak (or 0)
//! s_c  = Σ_j B_cj h_j                                   [Q·a+b] add/subtract for the square basis
//! l_c  = s_c >> score_to_logit                          [Q·logit] floor; folds 2^-logit_shift
//! l'   = l | (m ⊙ l) >> mod_frac | (l·M) >> mod_frac    LLS | LLS-M | LLS-MxM
//! e    = softmax_error(l', y)                           [Q·prob]  see `softmax`
//! g_z  = e | (m ⊙ e) >> mod_frac | (M·e) >> mod_frac    (pre-update m, M)
//! g_j  = Σ_c B_cj g_z,c ;  g_j >>= leak if z_j < 0 (0 for ReLU)
//! δ_j  = narrow(g_j >> η, back_to_err)                  [Q·err]  η: the schedule's halvings
//! W_ji = sat_w(W_ji − round_u(δ_j x_i, hidden_update))  round_u = fixed.update_rounding
//! m_c  = sat_m(m_c − round(l_c e_c, mod_update)),  M_cj = sat_m(M_cj − round(l_c e_j, mod_update))
//! ```
//! The classifier: `o_c = Σ W x`, `l_c = o_c >> out_to_logit`, `e = softmax_error(l, y)`,
//! prediction `argmax o` (first maximum), `W_ci −= round_u((e_c >> η) x_i, out_update)`.
//! η = [`FixedNet::lr_halvings`]: the entries of `learning.lr_halve_at` at or below the
//! samples trained since reset; it halves the weights' learning rates by scaling δ, so
//! the lanes keep their constant update shift (the modulation's rate stays).
//! Shifts are arithmetic (floor); `narrow` = round with `fixed.rounding`, then saturate.

use crate::config::{Activation, Config, Rounding, Rule, Shifts};
use crate::cost::MacCount;
use crate::rng::SplitMix64;
use crate::spec::basis::Basis;
use crate::spec::kernels;
use crate::spec::lanes::LaneMap;
use crate::spec::numeric::{lfsr, narrow, shift_round, Lfsr, QFormat};
use crate::spec::rails::{self, Rails};
use crate::spec::softmax::{argmax, exp_table, softmax_error};
use crate::spec::trace::{LayerTrace, StepTrace};

/// The learnable modulation of LLS-M (vector m, C) and LLS-MxM (matrix M, C × C row-major).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modulation {
    None,
    Vector(Vec<i64>),
    Matrix(Vec<i64>),
}

impl Modulation {
    /// The learned values (m, or M row-major), raw Q·mod_frac; `None` under plain LLS.
    pub fn values(&self) -> Option<&[i64]> {
        match self {
            Modulation::None => None,
            Modulation::Vector(v) | Modulation::Matrix(v) => Some(v),
        }
    }

    /// Replaces the learned values with as many new ones (nothing to replace under LLS).
    pub fn set_values(&mut self, values: Vec<i64>) {
        match self {
            Modulation::None => {}
            Modulation::Vector(v) | Modulation::Matrix(v) => {
                assert_eq!(v.len(), values.len(), "modulation: one value per entry");
                *v = values;
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct FixedLayer {
    pub inputs: usize,
    pub outputs: usize,
    /// Input-major: `weights_t[i · outputs + j] = W[j][i]`, raw Q·weight_frac (see
    /// [`crate::spec::kernels`]); [`FixedLayer::weights`] gives the row-major view the RTL uses.
    weights_t: Vec<i32>,
    /// `Some` for hidden layers under a local rule.
    pub basis: Option<Basis>,
    pub modulation: Modulation,
    /// One LFSR per MAC lane; only stepped under stochastic update rounding.
    pub lfsr: Vec<Lfsr>,
}

/// Formats and constants shared by every layer.
#[derive(Clone, Debug)]
pub struct Datapath {
    pub act: QFormat,
    pub weight: QFormat,
    pub err: QFormat,
    pub modulation: QFormat,
    pub shifts: Shifts,
    pub rounding: Rounding,
    pub update_rounding: Rounding,
    pub activation: Activation,
    pub leak_shift: u32,
    pub prob_frac: u32,
    pub input_shift: u32,
    /// `data.input_offset`, the pixel value that maps to input 0.
    pub input_offset: i32,
    pub exp_table: Vec<u32>,
    pub rule: Rule,
    pub classes: usize,
    /// `learning.lr_halve_at`: the samples from which the weights' learning rates halve.
    pub lr_halve_at: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct FixedNet {
    pub dp: Datapath,
    pub layers: Vec<FixedLayer>,
    pub macs: MacCount,
    /// Samples trained since reset: picks the learning-rate halvings in force.
    pub trained: u64,
    /// Saturation counts of the steps since [`FixedNet::count_rails`]; `None`: not counted.
    rails: Option<Box<Rails>>,
}

/// Initial weights as reals: U(−1/√fan_in, 1/√fan_in) (PyTorch's default bound), drawn
/// layer by layer, row-major, from SplitMix64(seed): the convolutional blocks first (fan-in
/// = input channels · k², weights `[out][in][row][column]`), then the dense layers. Both
/// models start from these values rounded to the weight format, so they start identical.
pub fn initial_weights(cfg: &Config) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(cfg.learning.seed);
    let wfmt = QFormat::new(cfg.fixed.weight_bits, cfg.fixed.weight_frac);
    let conv = cfg.conv_layers().unwrap_or_default().into_iter();
    let conv = conv.map(|c| (c.input.channels * c.kernel * c.kernel, c.weights()));
    let dense = cfg.layer_shapes().into_iter();
    let dense = dense.map(|(n_in, n_out)| (n_in, n_in * n_out));
    conv.chain(dense)
        .map(|(fan_in, count)| {
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..count)
                .map(|_| wfmt.to_f32(wfmt.from_f64(rng.uniform(bound))) as f64)
                .collect()
        })
        .collect()
}

/// Initial modulation for LLS-M/MxM: 0.01·N(0, 1) as in the official code, from
/// SplitMix64(seed ^ 0x6d6f64 ^ layer), rounded to the modulation format. `layer` counts
/// the convolutional blocks first, then the dense hidden layers.
pub fn initial_modulation(cfg: &Config, layer: usize) -> Vec<f64> {
    let c = cfg.network.classes;
    let n = match cfg.learning.rule {
        Rule::LlsM => c,
        Rule::LlsMxm => c * c,
        _ => 0,
    };
    let fmt = QFormat::new(cfg.fixed.mod_bits, cfg.fixed.mod_frac);
    let mut rng = SplitMix64::new(cfg.learning.seed ^ 0x6d6f64 ^ layer as u64);
    (0..n)
        .map(|_| fmt.to_f32(fmt.from_f64(0.01 * rng.normal())) as f64)
        .collect()
}

impl Datapath {
    pub fn new(cfg: &Config) -> Datapath {
        let f = &cfg.fixed;
        Datapath {
            act: QFormat::new(f.act_bits, f.act_frac),
            weight: QFormat::new(f.weight_bits, f.weight_frac),
            err: QFormat::new(f.err_bits, f.err_frac),
            modulation: QFormat::new(f.mod_bits, f.mod_frac),
            shifts: cfg.shifts(),
            rounding: f.rounding,
            update_rounding: f.update_rounding,
            activation: cfg.network.activation,
            leak_shift: cfg.network.leak_shift,
            prob_frac: f.prob_frac,
            input_shift: cfg.data.input_shift,
            input_offset: cfg.data.input_offset as i32,
            exp_table: exp_table(f.logit_frac, cfg.exp_table_len()),
            rule: cfg.learning.rule,
            classes: cfg.network.classes,
            lr_halve_at: cfg.learning.lr_halve_at.clone(),
        }
    }

    /// Pixel → input activation (raw Q·act_frac): `(pixel − input_offset) << input_shift`.
    pub fn input(&self, pixels: &[u8]) -> Vec<i32> {
        pixels
            .iter()
            .map(|&p| (p as i32 - self.input_offset) << self.input_shift)
            .collect()
    }

    /// The activation function on an exact sum, before narrowing: f(z) = f'(z)·z.
    pub fn activate(&self, z: i64) -> i64 {
        self.derivative(z, z)
    }

    /// The activation's derivative applied to an error, given the sum's sign. Written as
    /// a select, not a branch: the signs of a layer's sums follow no pattern.
    pub fn derivative(&self, z: i64, g: i64) -> i64 {
        match self.activation {
            Activation::LeakyRelu => g >> if z < 0 { self.leak_shift } else { 0 },
            Activation::Relu => {
                if z < 0 {
                    0
                } else {
                    g
                }
            }
        }
    }
}

impl FixedLayer {
    /// W[j][i]: output j, input i.
    pub fn weight(&self, j: usize, i: usize) -> i32 {
        self.weights_t[i * self.outputs + j]
    }

    /// Row-major copy (`outputs × inputs`): the order of the RTL's readback and images.
    pub fn weights(&self) -> Vec<i32> {
        let mut w = vec![0; self.inputs * self.outputs];
        for (i, column) in self.weights_t.chunks_exact(self.outputs).enumerate() {
            for (j, &v) in column.iter().enumerate() {
                w[j * self.inputs + i] = v;
            }
        }
        w
    }

    /// Replaces the weights from a row-major array (`outputs × inputs`).
    pub fn set_weights(&mut self, row_major: &[i32]) {
        assert_eq!(row_major.len(), self.inputs * self.outputs, "weight count");
        for (j, row) in row_major.chunks_exact(self.inputs).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                self.weights_t[i * self.outputs + j] = v;
            }
        }
    }

    fn forward(&self, x: &[i32], weight_bits: u32) -> Vec<i64> {
        kernels::forward(&self.weights_t, self.outputs, x, weight_bits)
    }
}

impl FixedNet {
    pub fn new(cfg: &Config) -> FixedNet {
        assert!(
            cfg.network.conv.is_empty(),
            "FixedNet takes dense layers only: check train::check_model before building one"
        );
        let dp = Datapath::new(cfg);
        let init = initial_weights(cfg);
        let shapes = cfg.layer_shapes();
        let hidden = shapes.len() - 1;
        let layers = shapes
            .into_iter()
            .zip(init)
            .enumerate()
            .map(|(k, ((n_in, n_out), w))| {
                let local_hidden = k < hidden && cfg.learning.rule.is_local();
                let basis = local_hidden.then(|| {
                    Basis::new(
                        cfg.learning.basis,
                        cfg.network.classes,
                        n_out,
                        cfg.fixed.basis_bits,
                    )
                });
                let m = initial_modulation(cfg, k)
                    .into_iter()
                    .map(|v| dp.modulation.from_f64(v))
                    .collect();
                let modulation = match cfg.learning.rule {
                    Rule::LlsM if local_hidden => Modulation::Vector(m),
                    Rule::LlsMxm if local_hidden => Modulation::Matrix(m),
                    _ => Modulation::None,
                };
                FixedLayer {
                    inputs: n_in,
                    outputs: n_out,
                    weights_t: (0..n_in * n_out)
                        .map(|t| dp.weight.from_f64(w[(t % n_out) * n_in + t / n_out]) as i32)
                        .collect(),
                    basis,
                    modulation,
                    lfsr: (0..cfg.lanes_of(k))
                        .map(|lane| Lfsr::seed_state(cfg.learning.seed, k, lane))
                        .collect(),
                }
            })
            .collect();
        FixedNet {
            dp,
            layers,
            macs: MacCount::default(),
            trained: 0,
            rails: None,
        }
    }

    /// Counts, from the next step on, the values each saturating stage clips to a rail
    /// (see [`crate::spec::rails`]); the results stay the same. Restarts the counts.
    pub fn count_rails(&mut self) {
        self.rails = Some(Box::default());
    }

    /// The rail counts since [`FixedNet::count_rails`], if counting.
    pub fn rails(&self) -> Option<&Rails> {
        self.rails.as_deref()
    }

    /// The learning-rate halvings in force for the next sample (`learning.lr_halve_at`).
    pub fn lr_halvings(&self) -> u32 {
        self.lr_halvings_after(0)
    }

    /// The halvings in force for the sample `samples` steps after the next one.
    pub fn lr_halvings_after(&self, samples: u64) -> u32 {
        crate::config::lr_halvings(&self.dp.lr_halve_at, self.trained + samples)
    }

    /// Inference: the class with the largest classifier sum.
    pub fn predict(&self, pixels: &[u8]) -> usize {
        let mut x = self.dp.input(pixels);
        let last = self.layers.len() - 1;
        for layer in &self.layers[..last] {
            x = layer
                .forward(&x, self.dp.weight.bits)
                .into_iter()
                .map(|z| {
                    narrow(
                        self.dp.activate(z),
                        self.dp.shifts.act,
                        self.dp.rounding,
                        self.dp.act,
                    ) as i32
                })
                .collect();
        }
        argmax(&self.layers[last].forward(&x, self.dp.weight.bits))
    }

    /// One training step on one sample; returns everything the RTL must reproduce.
    pub fn train_step(&mut self, pixels: &[u8], label: usize) -> StepTrace {
        let halvings = self.lr_halvings();
        self.trained += 1;
        let mut x = self.dp.input(pixels);
        let last = self.layers.len() - 1;
        let mut traces = Vec::with_capacity(self.layers.len());
        for k in 0..last {
            let layer = &self.layers[k];
            let sums = layer.forward(&x, self.dp.weight.bits);
            self.macs.forward += (layer.inputs * layer.outputs) as u64;
            let h: Vec<i64> = sums
                .iter()
                .map(|&z| {
                    rails::narrow(
                        self.dp.activate(z),
                        self.dp.shifts.act,
                        self.dp.rounding,
                        self.dp.act,
                        self.rails.as_deref_mut().map(|r| &mut r.activation),
                    )
                })
                .collect();
            traces.push(LayerTrace {
                input: x.iter().map(|&v| v as i64).collect(),
                sums,
                output: h.clone(),
                ..LayerTrace::default()
            });
            x = h.iter().map(|&v| v as i32).collect();
        }
        let out = &self.layers[last];
        let sums = out.forward(&x, self.dp.weight.bits);
        self.macs.forward += (out.inputs * out.outputs) as u64;
        let prediction = argmax(&sums);
        let logits: Vec<i64> = sums
            .iter()
            .map(|&o| o >> self.dp.shifts.out_to_logit)
            .collect();
        let error = softmax_error(&logits, label, &self.dp.exp_table, self.dp.prob_frac);
        self.macs.learning += self.dp.classes as u64;
        traces.push(LayerTrace {
            input: x.iter().map(|&v| v as i64).collect(),
            sums,
            output: Vec::new(),
            logits,
            // The schedule's halvings floor-shift the classifier's δ (and, under bp, all
            // that is propagated from it).
            delta: error.iter().map(|&e| e >> halvings).collect(),
            error,
        });

        if self.dp.rule.is_local() {
            for (k, trace) in traces.iter_mut().enumerate().take(last) {
                self.local_signal(k, trace, label, halvings);
            }
        } else {
            self.backprop_signal(&mut traces);
        }
        for (k, trace) in traces.iter().enumerate() {
            let shift = if k == last {
                self.dp.shifts.out_update
            } else {
                self.dp.shifts.hidden_update
            };
            self.update(k, trace, shift);
        }
        StepTrace {
            label,
            prediction,
            layers: traces,
        }
    }

    /// LLS: the layer's own error through the fixed basis (and modulation).
    fn local_signal(&mut self, k: usize, trace: &mut LayerTrace, label: usize, halvings: u32) {
        let dp = &self.dp;
        let layer = &mut self.layers[k];
        let mut counts = self.rails.as_deref_mut();
        let basis = layer.basis.as_ref().expect("local layers have a basis");
        let c_n = dp.classes;
        let n = layer.outputs;
        let scores = basis.project(&trace.output);
        let base: Vec<i64> = scores
            .iter()
            .map(|&s| s >> dp.shifts.score_to_logit)
            .collect();
        let mod_frac = dp.modulation.frac;
        let logits: Vec<i64> = match &layer.modulation {
            Modulation::None => base.clone(),
            Modulation::Vector(m) => base
                .iter()
                .zip(m)
                .map(|(&l, &mc)| (mc * l) >> mod_frac)
                .collect(),
            Modulation::Matrix(mm) => (0..c_n)
                .map(|j| (0..c_n).map(|c| base[c] * mm[c * c_n + j]).sum::<i64>() >> mod_frac)
                .collect(),
        };
        let error = softmax_error(&logits, label, &dp.exp_table, dp.prob_frac);
        let gz: Vec<i64> = match &mut layer.modulation {
            Modulation::None => error.clone(),
            Modulation::Vector(m) => {
                let gz = error
                    .iter()
                    .zip(m.iter())
                    .map(|(&e, &mc)| (mc * e) >> mod_frac)
                    .collect();
                for c in 0..c_n {
                    let step =
                        shift_round(base[c] * error[c], dp.shifts.mod_update, dp.rounding, 0);
                    m[c] = rails::saturate_counted(
                        m[c] - step,
                        dp.modulation,
                        counts.as_deref_mut().map(|r| &mut r.modulation),
                    );
                }
                gz
            }
            Modulation::Matrix(mm) => {
                let gz = (0..c_n)
                    .map(|c| (0..c_n).map(|j| mm[c * c_n + j] * error[j]).sum::<i64>() >> mod_frac)
                    .collect();
                for c in 0..c_n {
                    for j in 0..c_n {
                        let step =
                            shift_round(base[c] * error[j], dp.shifts.mod_update, dp.rounding, 0);
                        mm[c * c_n + j] = rails::saturate_counted(
                            mm[c * c_n + j] - step,
                            dp.modulation,
                            counts.as_deref_mut().map(|r| &mut r.modulation),
                        );
                    }
                }
                gz
            }
        };
        let mod_macs = match layer.modulation {
            Modulation::None => 0,
            Modulation::Vector(_) => 3 * c_n,
            Modulation::Matrix(_) => 3 * c_n * c_n,
        };
        // Projection, back-projection, softmax, modulation.
        self.macs.learning += (2 * c_n * n + c_n + mod_macs) as u64;
        trace.delta = (basis.back_project(&gz).into_iter().enumerate())
            .map(|(t, g)| {
                rails::narrow(
                    dp.derivative(trace.sums[t], g) >> halvings,
                    dp.shifts.back_to_err,
                    dp.rounding,
                    dp.err,
                    counts.as_deref_mut().map(|r| &mut r.delta),
                )
            })
            .collect();
        trace.logits = logits;
        trace.error = error;
    }

    /// BP baseline: δ_k = narrow(f'(z_k) ⊙ W_{k+1}ᵀ δ_{k+1}), with pre-update weights.
    fn backprop_signal(&mut self, traces: &mut [LayerTrace]) {
        let dp = &self.dp;
        let mut counts = self.rails.as_deref_mut();
        for k in (0..traces.len() - 1).rev() {
            let next = &self.layers[k + 1];
            let next_frac = if k + 1 == traces.len() - 1 {
                dp.prob_frac
            } else {
                dp.err.frac
            };
            let shift = dp.weight.frac + next_frac - dp.err.frac;
            let delta_next = traces[k + 1].delta.clone();
            let n = self.layers[k].outputs;
            traces[k].delta = (0..n)
                .map(|j| {
                    let g: i64 = (0..next.outputs)
                        .map(|c| next.weight(c, j) as i64 * delta_next[c])
                        .sum();
                    rails::narrow(
                        dp.derivative(traces[k].sums[j], g),
                        shift,
                        dp.rounding,
                        dp.err,
                        counts.as_deref_mut().map(|r| &mut r.delta),
                    )
                })
                .collect();
            self.macs.learning += (n * next.outputs) as u64;
        }
    }

    fn update(&mut self, k: usize, trace: &LayerTrace, shift: u32) {
        let dp = &self.dp;
        let layer = &mut self.layers[k];
        let mut counts = self.rails.as_deref_mut().map(|r| &mut r.weight);
        let (n_in, n_out) = (layer.inputs, layer.outputs);
        if dp.update_rounding == Rounding::Stochastic && counts.is_none() {
            update_stochastic(layer, trace, shift, dp.weight);
        } else if dp.update_rounding == Rounding::Stochastic {
            // Row-major order: each lane's LFSR steps once per weight of that lane, in the
            // order the hardware visits them (row j, then the lane's words).
            let lanes = LaneMap::new(layer.lfsr.len());
            for j in 0..n_out {
                let d = trace.delta[j];
                for i in 0..n_in {
                    let random = layer.lfsr[lanes.lane(i)].step() as u64;
                    let step = shift_round(d * trace.input[i], shift, dp.update_rounding, random);
                    let w = &mut layer.weights_t[i * n_out + j];
                    *w = rails::saturate_counted(*w as i64 - step, dp.weight, counts.as_deref_mut())
                        as i32;
                }
            }
        } else {
            let bias = match (dp.update_rounding, shift) {
                (Rounding::HalfUp, s) if s > 0 => 1i64 << (s - 1),
                _ => 0,
            };
            let (min, max) = (dp.weight.min(), dp.weight.max());
            match counts {
                None => kernels::update_columns(
                    &mut layer.weights_t,
                    n_out,
                    &trace.delta,
                    &trace.input,
                    bias,
                    shift,
                    min,
                    max,
                ),
                // Counting rails: column by column, each observed before its update.
                Some(hits) => {
                    let columns = layer.weights_t.chunks_exact_mut(n_out).zip(&trace.input);
                    for (column, &x) in columns.filter(|(_, &x)| x != 0) {
                        hits.observe_update_column(column, &trace.delta, x, bias, shift, dp.weight);
                        kernels::update_column(column, &trace.delta, x, bias, shift, min, max);
                    }
                }
            }
        }
        self.macs.update += (n_in * n_out) as u64;
    }
}

/// The weight update with stochastic rounding, by columns: the same steps, LFSR values and
/// order as the hardware's row-major walk (row j, then each lane's words), computed a
/// column at a time so that zero inputs skip their column. Lane `l`'s LFSR gives weight
/// `(j, word w)` its state `j · words + w` steps on: each row's first state is a jump of
/// `words` steps from the row before, then all rows step together, one word at a time.
fn update_stochastic(layer: &mut FixedLayer, trace: &LayerTrace, shift: u32, weight: QFormat) {
    let (n_in, n_out) = (layer.inputs, layer.outputs);
    let lanes = LaneMap::new(layer.lfsr.len());
    let words = n_in / layer.lfsr.len();
    let jump = lfsr::Jump::new(words);
    let mut rows = vec![0u32; n_out];
    let (min, max) = (weight.min(), weight.max());
    // 32-bit arithmetic where every value the update forms fits it: the same bits.
    let bias_max = (1u64 << shift.min(62)) - 1;
    let delta32 = kernels::narrow_delta(&trace.delta, &trace.input, bias_max, shift, min, max);
    for (l, state) in layer.lfsr.iter_mut().enumerate() {
        rows[0] = state.0;
        for j in 1..n_out {
            rows[j] = jump.apply(rows[j - 1]);
        }
        for w in 0..words {
            let i = lanes.input(l, w);
            let x = trace.input[i];
            let column = &mut layer.weights_t[i * n_out..(i + 1) * n_out];
            match (&delta32, x) {
                (_, 0) => {}
                (Some(d), x) => kernels::update_column_stochastic32(
                    column, d, &rows, x as i32, shift, min as i32, max as i32,
                ),
                (None, x) => kernels::update_column_stochastic(
                    column,
                    &trace.delta,
                    &rows,
                    x,
                    shift,
                    min,
                    max,
                ),
            }
            kernels::step_lfsrs(&mut rows);
        }
        // The last row's state after its words: the lane's state after the sample.
        state.0 = rows[n_out - 1];
    }
}
