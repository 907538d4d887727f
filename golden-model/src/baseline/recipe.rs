//! The **official** LLS training recipe in f32: what `mapolinario94/LLS-DNN` does
//! (`docs`: `shared/lls-paper.md` §2–§4), for comparing this project with figures measured
//! with the official PyTorch code.
//!
//! [`crate::baseline::float`] mirrors the hardware's fixed-point equations (no BatchNorm, a
//! `2^-logit_shift` scale instead of L2 normalisation, SGD with a power-of-two rate,
//! batch 1). This module is the other float path, and differs in all of those:
//!
//! * **Hidden block** = `Linear → BatchNorm1d (train mode) → LeakyReLU(0.01)`.
//! * **Local loss** (LLS rules) on the block output `a`: adaptive average pool (the identity
//!   for a linear layer), L2 normalisation per sample `â = a / max(‖a‖, 1e-12)`,
//!   `z = â·Bᵀ` with the fixed C × N basis [`Basis`] (square: `sign(sin(f_c t))`, sine:
//!   `sin(f_c t)`), then LLS-M `z' = m ⊙ z` or LLS-MxM `z' = z·M`, and cross-entropy on
//!   `z' / T` with `T = 0.5`. Each layer's input is detached and each layer steps its own
//!   optimiser right after its forward pass, so layer l+1 sees layer l's output computed
//!   with the weights from *before* layer l's update of this batch.
//! * **Classifier** `Linear(hidden → C)`, trained by its own cross-entropy on its own
//!   logits, input detached, own optimiser.
//! * **BP** (`rule = bp`): the same MLP trained end to end by backprop; the official code
//!   uses one AdamW-SF over all parameters. Every parameter group of AdamW-SF shares one
//!   step counter and one learning rate, so one optimiser per layer, all stepped once per
//!   batch, is exactly the same thing, and that is how it is done here.
//! * **Optimiser**: AdamW-ScheduleFree ([`ScheduleFree`]), one per layer (covering W, b,
//!   γ, β and m / M), with the hyper-parameters below.
//! * **Init**: PyTorch defaults: weights and biases `U(±1/√fan_in)` (Kaiming-uniform with
//!   a = √5), BN γ = 1, β = 0, running mean 0, running variance 1; m and M `0.01·N(0, 1)`.
//! * **Data**: batch 128 from a fresh shuffle every epoch, last partial batch kept (PyTorch
//!   `drop_last = False`; a trailing batch of one sample is skipped since BatchNorm cannot
//!   train on it). Train transform: random crop with zero padding, then
//!   `ToTensor` (`pixel / pixel_max`) and `Normalize(mean, std)`; test: normalisation only.
//!   See [`Augment::for_dataset`] for the per-dataset values.
//! * **Evaluation** after every epoch: the schedule-free *x* sequence (the optimisers'
//!   `eval()`), then [`RECAL_BATCHES`] training batches (new shuffle, augmented) forward in
//!   train mode without learning, which re-estimates the BN running statistics (momentum
//!   0.1, unbiased variance), then the test set in eval mode. The code reports the best
//!   test accuracy over epochs; [`OfficialReport`] keeps both the best and the last.
//!
//! All randomness (init, shuffles, crops, flips) comes from [`SplitMix64`], seeded from
//! `learning.seed`, so a run is a function of the config. Of the config, this recipe uses
//! the layer shapes, `learning.rule`, `learning.basis`, `network.classes`,
//! `learning.seed` and `learning.epochs`; every other learning setting (shifts, batch,
//! `network.activation`, `leak_shift`) belongs to the hardware recipe and is ignored here:
//! the recipe's own hyper-parameters are the constants of this module.

use std::str::FromStr;
use std::time::Instant;

use ndarray::{Array, Array1, Array2, ArrayView2, Axis, Dimension, Ix1, Ix2, Zip};

use crate::config::{Config, Rule, Waveform};
use crate::data::{Dataset, Split};
use crate::rng::SplitMix64;
use crate::spec::basis::Basis;
use crate::train::{Arith, EpochStats, MacsPerSample, TrainReport};

/// AdamW-SF base learning rate (`--lr 5e-3` in `script.sh`).
pub const LR: f64 = 5e-3;
/// AdamW-SF β1: the interpolation `y = (1 − β1)·z + β1·x` (not a momentum buffer).
pub const BETA1: f64 = 0.9;
/// AdamW-SF β2: decay of the second-moment estimate.
pub const BETA2: f64 = 0.999;
/// AdamW-SF ε, added to `√v` outside the root.
pub const ADAM_EPS: f64 = 1e-8;
/// Decoupled weight decay (0 in every official run).
pub const WEIGHT_DECAY: f64 = 0.0;
/// Linear warm-up steps (0: none).
pub const WARMUP_STEPS: u64 = 0;
/// Polynomial weighting power `r` of the average (0: none).
pub const R: f64 = 0.0;
/// The average's weights are `lr_max^WEIGHT_LR_POWER`.
pub const WEIGHT_LR_POWER: f64 = 2.0;
/// Mini-batch size (train; the test batch size does not change eval-mode results).
pub const BATCH: usize = 128;
/// Softmax temperature of the local loss (`--temperature` default).
pub const TEMPERATURE: f32 = 0.5;
/// LeakyReLU negative slope (PyTorch default).
pub const LEAK: f32 = 0.01;
/// BatchNorm1d ε.
pub const BN_EPS: f32 = 1e-5;
/// BatchNorm1d running-statistics momentum.
pub const BN_MOMENTUM: f32 = 0.1;
/// `F.normalize` ε: `â = a / max(‖a‖₂, NORM_EPS)`.
pub const NORM_EPS: f32 = 1e-12;
/// Training batches run forward in train mode before each test, to re-estimate BN statistics.
pub const RECAL_BATCHES: usize = 50;
/// Standard deviation of the LLS-M / LLS-MxM modulation init.
pub const MOD_INIT_STD: f64 = 0.01;
/// Bits of the sine basis entries taken from [`Basis`]: 24 fractional bits, i.e. the f32
/// `sin` of the official code to within its own rounding.
pub const SINE_BITS: u32 = 26;
/// Random-crop zero padding for 28×28 images (MNIST, Fashion-MNIST), as the code.
pub const CROP_PAD_28: usize = 4;
/// Random-crop zero padding for the 8×8 digits: none. The code has no digits loader; a
/// shift of even one pixel is 1/8 of a digit (MNIST's 4 pixels are 1/7 of an image, and
/// already cost an MLP several points, see [`train_official_with`]), and
/// with 1 pixel the 1437-sample set trains to 3–5 points less after 20 epochs.
pub const CROP_PAD_8: usize = 0;

/// Samples per eval-mode forward pass (any size gives the same result).
const EVAL_BATCH: usize = 1000;
const INIT_SEED: u64 = 0x6f66_6669_6369_616c; // "official"
const DATA_SEED: u64 = 0x6461_7461_6175_6721; // "dataaug!"

/// Which training recipe `lls train` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipe {
    /// The hardware's equations ([`crate::baseline::float`] / [`crate::spec::fixed`]).
    Hardware,
    /// The official PyTorch recipe (this module), f32 only.
    Official,
}

impl Recipe {
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Hardware => "hardware",
            Recipe::Official => "official",
        }
    }
}

impl FromStr for Recipe {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hardware" => Ok(Recipe::Hardware),
            "official" => Ok(Recipe::Official),
            _ => Err(format!(
                "unknown recipe `{s}`; expected hardware or official"
            )),
        }
    }
}

impl std::fmt::Display for Recipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------------------
// AdamW-ScheduleFree
// ---------------------------------------------------------------------------------------

/// AdamW-ScheduleFree (Defazio et al. 2024), as `AdamWScheduleFree` of
/// facebookresearch/schedule_free, copied into the official code as
/// `utils/adamwschedulefree.py`: one parameter group.
///
/// The parameters the model computes with in train mode are `y`; the optimiser keeps `z`
/// and the second moment `v` (no first moment). Step k (0-based), with gradient g at y:
/// ```text
/// lr_k  = lr · sched_k · √(1 − β2^(k+1))          (sched = 1 without warm-up)
/// lr_max = max(lr_max, lr_k)
/// w_k   = (k+1)^r · lr_max^weight_lr_power;  W += w_k;  c = w_k / W
/// v     = β2·v + (1 − β2)·g²
/// ĝ     = g / (√v + ε)  (+ decay·y)
/// y     = lerp(y, z, c) + lr_k·(β1(1 − c) − 1)·ĝ
/// z     = z − lr_k·ĝ
/// ```
/// which is, without keeping x: `z ← z − lr_k ĝ; x ← (1 − c)x + c z; y = (1 − β1)z + β1 x`.
/// Eval mode uses `x = lerp(y, z, 1 − 1/β1)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleFree {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub warmup_steps: u64,
    pub r: f64,
    pub weight_lr_power: f64,
    k: u64,
    weight_sum: f64,
    lr_max: f64,
}

/// The scalars of one AdamW-SF step, shared by every tensor of the group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SfStep {
    /// `lr_k` (z step size).
    pub lr: f32,
    /// `c_{k+1}`: weight of the new z in the average x.
    pub ckp1: f32,
    /// `lr_k·(β1(1 − c) − 1)`: coefficient of ĝ in the y update.
    pub y_coef: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    decay: f32,
}

/// `torch.lerp(a, b, w)` in f32, with its two-sided formula.
fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w.abs() < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}

impl SfStep {
    /// Updates one scalar parameter: y (in place, the value the model uses), z and v.
    #[inline]
    pub fn update(&self, y: &mut f32, z: &mut f32, v: &mut f32, g: f32) {
        *v = *v * self.beta2 + self.one_minus_beta2 * g * g;
        let mut gn = g / (v.sqrt() + self.eps);
        if self.decay != 0.0 {
            gn += self.decay * *y;
        }
        *y = lerp(*y, *z, self.ckp1) + self.y_coef * gn;
        *z -= self.lr * gn;
    }
}

impl ScheduleFree {
    /// The official settings: [`LR`], [`BETA1`], [`BETA2`], [`ADAM_EPS`], [`WEIGHT_DECAY`],
    /// [`WARMUP_STEPS`], [`R`], [`WEIGHT_LR_POWER`].
    pub fn official() -> Self {
        Self::new(LR)
    }

    /// The official settings with another base learning rate.
    pub fn new(lr: f64) -> Self {
        ScheduleFree {
            lr,
            beta1: BETA1,
            beta2: BETA2,
            eps: ADAM_EPS,
            weight_decay: WEIGHT_DECAY,
            warmup_steps: WARMUP_STEPS,
            r: R,
            weight_lr_power: WEIGHT_LR_POWER,
            k: 0,
            weight_sum: 0.0,
            lr_max: -1.0,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.k
    }

    /// Advances the step counter and returns this step's scalars (computed in f64, as the
    /// Python code does, then applied to f32 tensors).
    pub fn begin_step(&mut self) -> SfStep {
        let k = self.k;
        let sched = if k < self.warmup_steps {
            (k + 1) as f64 / self.warmup_steps as f64
        } else {
            1.0
        };
        let bias_correction2 = 1.0 - self.beta2.powf((k + 1) as f64);
        let lr = self.lr * sched * bias_correction2.sqrt();
        self.lr_max = self.lr_max.max(lr);
        let weight = ((k + 1) as f64).powf(self.r) * self.lr_max.powf(self.weight_lr_power);
        self.weight_sum += weight;
        let ckp1 = if self.weight_sum > 0.0 {
            weight / self.weight_sum
        } else {
            0.0
        };
        self.k += 1;
        SfStep {
            lr: lr as f32,
            ckp1: ckp1 as f32,
            y_coef: (lr * (self.beta1 * (1.0 - ckp1) - 1.0)) as f32,
            beta2: self.beta2 as f32,
            one_minus_beta2: (1.0 - self.beta2) as f32,
            eps: self.eps as f32,
            decay: self.weight_decay as f32,
        }
    }

    /// The eval-mode weight of a train-mode value y with state z: `x = lerp(y, z, 1 − 1/β1)`.
    pub fn x_of(&self, y: f32, z: f32) -> f32 {
        lerp(y, z, (1.0 - 1.0 / self.beta1) as f32)
    }
}

/// One parameter tensor under AdamW-SF: `y` is what the model computes with in train mode.
#[derive(Clone, Debug, PartialEq)]
pub struct SfTensor<D: Dimension> {
    pub y: Array<f32, D>,
    pub z: Array<f32, D>,
    pub v: Array<f32, D>,
    /// Gradient of the last batch (overwritten, not accumulated).
    pub grad: Array<f32, D>,
}

impl<D: Dimension> SfTensor<D> {
    pub fn new(init: Array<f32, D>) -> Self {
        SfTensor {
            z: init.clone(),
            v: Array::zeros(init.raw_dim()),
            grad: Array::zeros(init.raw_dim()),
            y: init,
        }
    }

    pub fn step(&mut self, s: &SfStep) {
        Zip::from(&mut self.y)
            .and(&mut self.z)
            .and(&mut self.v)
            .and(&self.grad)
            .for_each(|y, z, v, &g| s.update(y, z, v, g));
    }

    /// The eval-mode (x-sequence) value.
    pub fn x(&self, opt: &ScheduleFree) -> Array<f32, D> {
        let mut x = self.y.clone();
        Zip::from(&mut x)
            .and(&self.z)
            .for_each(|x, &z| *x = opt.x_of(*x, z));
        x
    }
}

// ---------------------------------------------------------------------------------------
// Data: the official transforms
// ---------------------------------------------------------------------------------------

/// The official train/test transforms for one data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Augment {
    pub width: usize,
    pub height: usize,
    /// Random-crop zero padding (0: no crop).
    pub pad: usize,
    /// Random horizontal flip with p = 0.5 (Fashion-MNIST only).
    pub hflip: bool,
    /// `ToTensor` divides by this (255; 16 for digits).
    pub pixel_max: f32,
    pub mean: f32,
    pub std: f32,
}

impl Augment {
    /// `utils/dataloader.py`:
    /// * MNIST: `RandomCrop(28, padding=4)`, `Normalize(0.5, 0.5)`;
    /// * Fashion-MNIST: `RandomCrop(28, padding=4)`, `RandomHorizontalFlip`,
    ///   `Normalize(0.286, 0.353)`;
    /// * digits (not in the code): `pixel/16`, `Normalize(0.5, 0.5)`, crop padding
    ///   [`CROP_PAD_8`] (none).
    pub fn for_dataset(data: &Dataset) -> Augment {
        let pad = if data.width >= 28 {
            CROP_PAD_28
        } else {
            CROP_PAD_8
        };
        let (hflip, mean, std) = if data.name == "fashion-mnist" {
            (true, 0.286, 0.353)
        } else {
            (false, 0.5, 0.5)
        };
        Augment {
            width: data.width,
            height: data.height,
            pad,
            hflip,
            pixel_max: data.pixel_max as f32,
            mean,
            std,
        }
    }

    fn value(&self, p: u8) -> f32 {
        (p as f32 / self.pixel_max - self.mean) / self.std
    }

    /// Test transform into `out` (one image).
    pub fn normalise(&self, pixels: &[u8], out: &mut [f32]) {
        for (o, &p) in out.iter_mut().zip(pixels) {
            *o = self.value(p);
        }
    }

    /// Train transform into `out`: crop offsets i (rows) then j (columns) uniform in
    /// `0..=2·pad` over the zero-padded image, then the flip, then normalisation.
    pub fn augment(&self, pixels: &[u8], rng: &mut SplitMix64, out: &mut [f32]) {
        let (w, h, pad) = (self.width, self.height, self.pad);
        let i = rng.below(2 * pad + 1);
        let j = rng.below(2 * pad + 1);
        let flip = self.hflip && rng.next_f64() < 0.5;
        let zero = self.value(0);
        for r in 0..h {
            let src_r = (r + i).checked_sub(pad).filter(|&v| v < h);
            for c in 0..w {
                let cc = if flip { w - 1 - c } else { c };
                let src_c = (cc + j).checked_sub(pad).filter(|&v| v < w);
                out[r * w + c] = match (src_r, src_c) {
                    (Some(sr), Some(sc)) => self.value(pixels[sr * w + sc]),
                    _ => zero,
                };
            }
        }
    }

    /// The samples `idx` of `split` as a batch (rows): augmented when `rng` is given,
    /// otherwise only normalised.
    pub fn batch(
        &self,
        split: &Split,
        idx: &[usize],
        mut rng: Option<&mut SplitMix64>,
    ) -> Array2<f32> {
        let mut x = Array2::zeros((idx.len(), split.pixels));
        for (mut row, &i) in x.rows_mut().into_iter().zip(idx) {
            let out = row.as_slice_mut().expect("standard layout");
            match rng.as_deref_mut() {
                Some(r) => self.augment(split.image(i), r, out),
                None => self.normalise(split.image(i), out),
            }
        }
        x
    }
}

// ---------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------

/// One `Linear → BatchNorm1d → LeakyReLU` block, with its local loss (LLS rules) and its
/// own optimiser.
#[derive(Clone, Debug)]
pub struct HiddenLayer {
    /// outputs × inputs, as `nn.Linear.weight`.
    pub w: SfTensor<Ix2>,
    pub b: SfTensor<Ix1>,
    pub gamma: SfTensor<Ix1>,
    pub beta: SfTensor<Ix1>,
    /// LLS-M: 1 × C (`m`); LLS-MxM: C × C (`M`); None otherwise.
    pub modulation: Option<SfTensor<Ix2>>,
    pub running_mean: Array1<f32>,
    pub running_var: Array1<f32>,
    /// C × N basis (LLS rules).
    pub basis: Option<Array2<f32>>,
    pub opt: ScheduleFree,
}

/// The classifier `Linear(hidden → C)`.
#[derive(Clone, Debug)]
pub struct OutputLayer {
    pub w: SfTensor<Ix2>,
    pub b: SfTensor<Ix1>,
    pub opt: ScheduleFree,
}

/// Eval-mode (x-sequence) weights of one hidden layer.
#[derive(Clone, Debug)]
struct EvalHidden {
    w: Array2<f32>,
    b: Array1<f32>,
    gamma: Array1<f32>,
    beta: Array1<f32>,
}

#[derive(Clone, Debug)]
struct EvalWeights {
    hidden: Vec<EvalHidden>,
    out_w: Array2<f32>,
    out_b: Array1<f32>,
}

/// The MLP of the official recipe.
#[derive(Clone, Debug)]
pub struct OfficialNet {
    pub hidden: Vec<HiddenLayer>,
    pub out: OutputLayer,
    pub rule: Rule,
    pub classes: usize,
    /// Cached x-sequence weights while in eval mode.
    eval: Option<EvalWeights>,
}

/// What a train-mode BN forward keeps for the backward pass.
struct BnCache {
    x_hat: Array2<f32>,
    inv_std: Array1<f32>,
    /// Post-BN, pre-activation.
    h: Array2<f32>,
}

fn linear(x: &ArrayView2<f32>, w: &Array2<f32>, b: &Array1<f32>) -> Array2<f32> {
    let mut out = x.dot(&w.t());
    out += b;
    out
}

/// Train-mode BatchNorm1d: batch statistics (biased variance) normalise; the running
/// statistics move by [`BN_MOMENTUM`] toward the batch mean and unbiased variance.
fn bn_train(
    pre: &Array2<f32>,
    gamma: &Array1<f32>,
    beta: &Array1<f32>,
    running_mean: &mut Array1<f32>,
    running_var: &mut Array1<f32>,
) -> BnCache {
    let s = pre.nrows() as f32;
    let mean = pre.sum_axis(Axis(0)) / s;
    let centred = pre - &mean;
    let var = centred.mapv(|v| v * v).sum_axis(Axis(0)) / s;
    let inv_std = var.mapv(|v| 1.0 / (v + BN_EPS).sqrt());
    let x_hat = centred * &inv_std;
    let h = &x_hat * gamma + beta;
    let unbias = s / (s - 1.0);
    Zip::from(running_mean)
        .and(&mean)
        .for_each(|r, &m| *r = (1.0 - BN_MOMENTUM) * *r + BN_MOMENTUM * m);
    Zip::from(running_var)
        .and(&var)
        .for_each(|r, &v| *r = (1.0 - BN_MOMENTUM) * *r + BN_MOMENTUM * v * unbias);
    BnCache { x_hat, inv_std, h }
}

/// Eval-mode BatchNorm1d with the running statistics.
fn bn_eval(
    pre: Array2<f32>,
    gamma: &Array1<f32>,
    beta: &Array1<f32>,
    running_mean: &Array1<f32>,
    running_var: &Array1<f32>,
) -> Array2<f32> {
    let scale: Array1<f32> = Zip::from(gamma)
        .and(running_var)
        .map_collect(|&g, &v| g / (v + BN_EPS).sqrt());
    let mut h = pre - running_mean;
    h *= &scale;
    h += beta;
    h
}

/// Gradients through train-mode BN: returns dL/dpre and fills dγ, dβ.
fn bn_backward(
    g: &Array2<f32>,
    cache: &BnCache,
    gamma: &Array1<f32>,
    dgamma: &mut Array1<f32>,
    dbeta: &mut Array1<f32>,
) -> Array2<f32> {
    let s = g.nrows() as f32;
    let sum_g = g.sum_axis(Axis(0));
    let sum_gx = (g * &cache.x_hat).sum_axis(Axis(0));
    let coef: Array1<f32> = Zip::from(gamma)
        .and(&cache.inv_std)
        .map_collect(|&ga, &is| ga * is / s);
    let mut d = g * s;
    d -= &sum_g;
    d -= &(&cache.x_hat * &sum_gx);
    d *= &coef;
    dgamma.assign(&sum_gx);
    dbeta.assign(&sum_g);
    d
}

fn leaky(h: &Array2<f32>) -> Array2<f32> {
    h.mapv(|v| if v > 0.0 { v } else { v * LEAK })
}

/// `g ⊙ LeakyReLU'(h)` (PyTorch: slope 1 where h > 0, else the leak).
fn leaky_backward(g: &mut Array2<f32>, h: &Array2<f32>) {
    Zip::from(g).and(h).for_each(|g, &h| {
        if h <= 0.0 {
            *g *= LEAK;
        }
    });
}

/// Row-wise softmax of `logits · scale`.
fn softmax_rows(logits: &Array2<f32>, scale: f32) -> Array2<f32> {
    let mut p = logits * scale;
    for mut row in p.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    p
}

/// `(softmax(logits·scale) − onehot(labels)) · factor`: the cross-entropy gradient.
fn ce_grad(logits: &Array2<f32>, labels: &[usize], scale: f32, factor: f32) -> Array2<f32> {
    let mut p = softmax_rows(logits, scale);
    for (mut row, &y) in p.rows_mut().into_iter().zip(labels) {
        row[y] -= 1.0;
        row *= factor;
    }
    p
}

fn argmax_row(row: ndarray::ArrayView1<f32>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

fn count_correct(logits: &Array2<f32>, labels: &[usize]) -> usize {
    logits
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, &y)| argmax_row(row.view()) == y)
        .count()
}

fn uniform_matrix(rng: &mut SplitMix64, rows: usize, cols: usize, bound: f64) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.uniform(bound) as f32)
}

fn uniform_vector(rng: &mut SplitMix64, n: usize, bound: f64) -> Array1<f32> {
    Array1::from_shape_fn(n, |_| rng.uniform(bound) as f32)
}

impl HiddenLayer {
    fn train_forward(&mut self, x: &ArrayView2<f32>) -> (Array2<f32>, BnCache) {
        let pre = linear(x, &self.w.y, &self.b.y);
        let cache = bn_train(
            &pre,
            &self.gamma.y,
            &self.beta.y,
            &mut self.running_mean,
            &mut self.running_var,
        );
        (leaky(&cache.h), cache)
    }

    /// Gradients of W, b (from dL/dpre and the layer input).
    fn linear_grads(&mut self, dpre: &Array2<f32>, x: &ArrayView2<f32>) {
        self.w.grad = dpre.t().dot(x);
        self.b.grad = dpre.sum_axis(Axis(0));
    }

    /// The local LLS loss on the block output `a` and its gradients, all the way down to W.
    fn local_grads(
        &mut self,
        x: &ArrayView2<f32>,
        a: &Array2<f32>,
        cache: &BnCache,
        labels: &[usize],
        rule: Rule,
    ) {
        let basis = self.basis.as_ref().expect("LLS layers have a basis");
        let s = a.nrows();
        let norms: Array1<f32> = a
            .rows()
            .into_iter()
            .map(|r| r.dot(&r).sqrt().max(NORM_EPS))
            .collect();
        let a_hat = a / &norms.view().insert_axis(Axis(1));
        let z = a_hat.dot(&basis.t());
        let zp = match (&self.modulation, rule) {
            (Some(m), Rule::LlsM) => &z * &m.y.row(0),
            (Some(m), Rule::LlsMxm) => z.dot(&m.y),
            _ => z.clone(),
        };
        let dzp = ce_grad(
            &zp,
            labels,
            1.0 / TEMPERATURE,
            1.0 / (TEMPERATURE * s as f32),
        );
        let gz = match (&mut self.modulation, rule) {
            (Some(m), Rule::LlsM) => {
                let dm = (&z * &dzp).sum_axis(Axis(0));
                m.grad.row_mut(0).assign(&dm);
                &dzp * &m.y.row(0)
            }
            (Some(m), Rule::LlsMxm) => {
                m.grad = z.t().dot(&dzp);
                dzp.dot(&m.y.t())
            }
            _ => dzp,
        };
        let g_hat = gz.dot(basis);
        // Jacobian of x / max(‖x‖, ε): (g − x̂ (x̂·g)) / ‖x‖ (g / ε where the clamp is on).
        let mut g = g_hat;
        for ((mut gr, ar), &n) in g.rows_mut().into_iter().zip(a_hat.rows()).zip(&norms) {
            if n > NORM_EPS {
                let d = ar.dot(&gr);
                Zip::from(&mut gr)
                    .and(&ar)
                    .for_each(|g, &a| *g = (*g - a * d) / n);
            } else {
                gr /= n;
            }
        }
        leaky_backward(&mut g, &cache.h);
        let dpre = bn_backward(
            &g,
            cache,
            &self.gamma.y,
            &mut self.gamma.grad,
            &mut self.beta.grad,
        );
        self.linear_grads(&dpre, x);
    }

    fn step(&mut self) {
        let s = self.opt.begin_step();
        self.w.step(&s);
        self.b.step(&s);
        self.gamma.step(&s);
        self.beta.step(&s);
        if let Some(m) = &mut self.modulation {
            m.step(&s);
        }
    }

    fn eval_weights(&self) -> EvalHidden {
        EvalHidden {
            w: self.w.x(&self.opt),
            b: self.b.x(&self.opt),
            gamma: self.gamma.x(&self.opt),
            beta: self.beta.x(&self.opt),
        }
    }
}

impl OutputLayer {
    fn grads(&mut self, x: &ArrayView2<f32>, dlogits: &Array2<f32>) {
        self.w.grad = dlogits.t().dot(x);
        self.b.grad = dlogits.sum_axis(Axis(0));
    }

    fn step(&mut self) {
        let s = self.opt.begin_step();
        self.w.step(&s);
        self.b.step(&s);
    }
}

impl OfficialNet {
    /// PyTorch-default init from `learning.seed`: per hidden layer W then b, then m / M,
    /// then the classifier's W and b.
    pub fn new(cfg: &Config) -> OfficialNet {
        let rule = cfg.learning.rule;
        let classes = cfg.network.classes;
        let shapes = cfg.layer_shapes();
        let (last, hidden_shapes) = shapes.split_last().expect("at least the classifier");
        let mut rng = SplitMix64::new(cfg.learning.seed ^ INIT_SEED);
        let hidden = hidden_shapes
            .iter()
            .map(|&(n_in, n_out)| {
                let bound = 1.0 / (n_in as f64).sqrt();
                let w = uniform_matrix(&mut rng, n_out, n_in, bound);
                let b = uniform_vector(&mut rng, n_out, bound);
                let modulation = match rule {
                    Rule::LlsM => Some((1, classes)),
                    Rule::LlsMxm => Some((classes, classes)),
                    _ => None,
                }
                .map(|shape| {
                    SfTensor::new(Array2::from_shape_fn(shape, |_| {
                        (MOD_INIT_STD * rng.normal()) as f32
                    }))
                });
                let basis = rule
                    .is_local()
                    .then(|| basis_matrix(cfg.learning.basis, classes, n_out));
                HiddenLayer {
                    w: SfTensor::new(w),
                    b: SfTensor::new(b),
                    gamma: SfTensor::new(Array1::ones(n_out)),
                    beta: SfTensor::new(Array1::zeros(n_out)),
                    modulation,
                    running_mean: Array1::zeros(n_out),
                    running_var: Array1::ones(n_out),
                    basis,
                    opt: ScheduleFree::official(),
                }
            })
            .collect();
        let (n_in, n_out) = *last;
        let bound = 1.0 / (n_in as f64).sqrt();
        let out = OutputLayer {
            w: SfTensor::new(uniform_matrix(&mut rng, n_out, n_in, bound)),
            b: SfTensor::new(uniform_vector(&mut rng, n_out, bound)),
            opt: ScheduleFree::official(),
        };
        OfficialNet {
            hidden,
            out,
            rule,
            classes,
            eval: None,
        }
    }

    /// Back to train mode (the optimisers' `train()`): drops the cached x weights.
    pub fn train_mode(&mut self) {
        self.eval = None;
    }

    /// Eval mode (the optimisers' `eval()`): the model computes with the x sequence.
    pub fn eval_mode(&mut self) {
        if self.eval.is_none() {
            self.eval = Some(self.eval_weights());
        }
    }

    pub fn is_eval_mode(&self) -> bool {
        self.eval.is_some()
    }

    fn eval_weights(&self) -> EvalWeights {
        EvalWeights {
            hidden: self.hidden.iter().map(HiddenLayer::eval_weights).collect(),
            out_w: self.out.w.x(&self.out.opt),
            out_b: self.out.b.x(&self.out.opt),
        }
    }

    /// One training batch (rows of `x`, already transformed). Every layer steps its
    /// optimiser once. Returns how many of the classifier's predictions (made before its
    /// update, as the code's train accuracy) were right.
    pub fn train_batch(&mut self, x: &Array2<f32>, labels: &[usize]) -> usize {
        assert_eq!(x.nrows(), labels.len());
        assert!(
            x.nrows() >= 2,
            "BatchNorm needs at least 2 samples in train mode"
        );
        self.train_mode();
        let s = labels.len() as f32;
        if self.rule.is_local() {
            let mut input = x.clone();
            for layer in &mut self.hidden {
                let (a, cache) = layer.train_forward(&input.view());
                layer.local_grads(&input.view(), &a, &cache, labels, self.rule);
                layer.step();
                input = a;
            }
            let logits = linear(&input.view(), &self.out.w.y, &self.out.b.y);
            let correct = count_correct(&logits, labels);
            let dlogits = ce_grad(&logits, labels, 1.0, 1.0 / s);
            self.out.grads(&input.view(), &dlogits);
            self.out.step();
            correct
        } else {
            let mut inputs = vec![x.clone()];
            let mut caches = Vec::with_capacity(self.hidden.len());
            for layer in &mut self.hidden {
                let (a, cache) = layer.train_forward(&inputs.last().expect("input").view());
                inputs.push(a);
                caches.push(cache);
            }
            let top = inputs.last().expect("hidden output");
            let logits = linear(&top.view(), &self.out.w.y, &self.out.b.y);
            let correct = count_correct(&logits, labels);
            let dlogits = ce_grad(&logits, labels, 1.0, 1.0 / s);
            self.out.grads(&top.view(), &dlogits);
            let mut g = dlogits.dot(&self.out.w.y);
            for (k, layer) in self.hidden.iter_mut().enumerate().rev() {
                leaky_backward(&mut g, &caches[k].h);
                let dpre = bn_backward(
                    &g,
                    &caches[k],
                    &layer.gamma.y,
                    &mut layer.gamma.grad,
                    &mut layer.beta.grad,
                );
                layer.linear_grads(&dpre, &inputs[k].view());
                if k > 0 {
                    g = dpre.dot(&layer.w.y);
                }
            }
            for layer in &mut self.hidden {
                layer.step();
            }
            self.out.step();
            correct
        }
    }

    /// One batch forward in train mode with the eval (x) weights and no learning: only the
    /// BN running statistics move. Switches to eval mode first.
    pub fn recalibrate(&mut self, x: &Array2<f32>) {
        assert!(
            x.nrows() >= 2,
            "BatchNorm needs at least 2 samples in train mode"
        );
        self.eval_mode();
        let ew = self.eval.as_ref().expect("eval mode");
        let mut input = x.clone();
        for (layer, e) in self.hidden.iter_mut().zip(&ew.hidden) {
            let pre = linear(&input.view(), &e.w, &e.b);
            let cache = bn_train(
                &pre,
                &e.gamma,
                &e.beta,
                &mut layer.running_mean,
                &mut layer.running_var,
            );
            input = leaky(&cache.h);
        }
    }

    /// Eval-mode logits (x weights, BN running statistics), batch rows. In train mode the
    /// x weights are computed for this call.
    pub fn logits_eval(&self, x: &Array2<f32>) -> Array2<f32> {
        let owned;
        let ew = match &self.eval {
            Some(e) => e,
            None => {
                owned = self.eval_weights();
                &owned
            }
        };
        let mut input = x.clone();
        for (layer, e) in self.hidden.iter().zip(&ew.hidden) {
            let pre = linear(&input.view(), &e.w, &e.b);
            let h = bn_eval(
                pre,
                &e.gamma,
                &e.beta,
                &layer.running_mean,
                &layer.running_var,
            );
            input = leaky(&h);
        }
        linear(&input.view(), &ew.out_w, &ew.out_b)
    }

    /// Eval-mode accuracy on a split (test transform: normalisation only).
    pub fn evaluate(&self, split: &Split, aug: &Augment) -> f64 {
        let idx: Vec<usize> = (0..split.len()).collect();
        let mut correct = 0;
        for chunk in idx.chunks(EVAL_BATCH) {
            let x = aug.batch(split, chunk, None);
            let labels: Vec<usize> = chunk.iter().map(|&i| split.label(i) as usize).collect();
            correct += count_correct(&self.logits_eval(&x), &labels);
        }
        correct as f64 / split.len().max(1) as f64
    }

    /// Every train-mode (y) parameter, flattened in a fixed order (for comparisons).
    pub fn parameters(&self) -> Vec<f32> {
        let mut p = Vec::new();
        for l in &self.hidden {
            p.extend(l.w.y.iter());
            p.extend(l.b.y.iter());
            p.extend(l.gamma.y.iter());
            p.extend(l.beta.y.iter());
            if let Some(m) = &l.modulation {
                p.extend(m.y.iter());
            }
        }
        p.extend(self.out.w.y.iter());
        p.extend(self.out.b.y.iter());
        p
    }
}

/// The C × N basis in f32: square `{−1, 0, 1}`, or sine with [`SINE_BITS`].
pub fn basis_matrix(waveform: Waveform, classes: usize, len: usize) -> Array2<f32> {
    let b = Basis::new(waveform, classes, len, SINE_BITS);
    Array2::from_shape_vec((classes, len), b.to_f32()).expect("C × N entries")
}

// ---------------------------------------------------------------------------------------
// The training loop
// ---------------------------------------------------------------------------------------

/// The [`TrainReport`] of a run (`test_accuracy` = the last epoch's) and the best epoch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OfficialReport {
    #[serde(flatten)]
    pub report: TrainReport,
    /// Best test accuracy over epochs (what the official code reports).
    pub best_test_accuracy: f64,
    /// 1-based epoch of the best test accuracy (the first, on ties).
    pub best_epoch: usize,
}

/// MACs per training sample under the conventions of [`crate::cost`]: forward and update
/// `Σ in·out`; learning = the classifier's softmax error plus, per LLS layer, projection and
/// back-projection `2·C·N`, the softmax error `C` and the modulation; for BP, the error
/// propagation through every layer but the first. BN, L2 normalisation and the optimiser
/// are not counted.
fn macs_per_sample(cfg: &Config) -> MacsPerSample {
    let shapes = cfg.layer_shapes();
    let c = cfg.network.classes;
    let fwd: usize = shapes.iter().map(|&(i, o)| i * o).sum();
    let hidden = &shapes[..shapes.len() - 1];
    let learning: usize = c + if cfg.learning.rule.is_local() {
        let m = match cfg.learning.rule {
            Rule::LlsM => 3 * c,
            Rule::LlsMxm => 3 * c * c,
            _ => 0,
        };
        hidden
            .iter()
            .map(|&(_, n)| 2 * c * n + c + m)
            .sum::<usize>()
    } else {
        shapes.windows(2).map(|w| w[0].1 * w[1].1).sum::<usize>()
    };
    MacsPerSample {
        forward: fwd as u64,
        learning: learning as u64,
        update: fwd as u64,
    }
}

/// Trains with the official recipe for `cfg.learning.epochs` epochs, testing after each;
/// `progress` is called after every batch with (samples done, samples total).
pub fn train_official(
    cfg: &Config,
    data: &Dataset,
    progress: impl FnMut(usize, usize),
) -> (OfficialNet, OfficialReport) {
    train_official_with(cfg, data, &Augment::for_dataset(data), progress)
}

/// [`train_official`] with another train transform, e.g. without the random crop
/// (`Augment { pad: 0, ..Augment::for_dataset(data) }`).
///
/// On MNIST (MLP 784→256→10, seed 1), the code's `RandomCrop(28, padding=4)` leaves the
/// MLP 0.5–1.0 pp below the official code's anchor figures after 10 epochs and 2.7–2.9 pp
/// below after 1 epoch (shifts of up to 4 pixels are hard on a network with no translation
/// invariance); without the crop every anchor is matched within 0.3 pp (seeds 1–3), so the
/// anchors most likely come from runs without it. The ignored test
/// `mnist_matches_official_anchors` in `tests/recipe.rs` reproduces both.
pub fn train_official_with(
    cfg: &Config,
    data: &Dataset,
    aug: &Augment,
    mut progress: impl FnMut(usize, usize),
) -> (OfficialNet, OfficialReport) {
    let mut net = OfficialNet::new(cfg);
    let mut rng = SplitMix64::new(cfg.learning.seed ^ DATA_SEED);
    let n = data.train.len();
    let mut order: Vec<usize> = (0..n).collect();
    let total = n * cfg.learning.epochs;
    let start = Instant::now();
    let mut train_seconds = 0.0;
    let mut history = Vec::new();
    let mut trained = 0usize;
    for epoch in 0..cfg.learning.epochs {
        let t0 = Instant::now();
        net.train_mode();
        rng.shuffle(&mut order);
        let mut correct = 0;
        let mut seen = 0;
        let mut done = 0;
        for chunk in order.chunks(BATCH) {
            if chunk.len() >= 2 {
                let x = aug.batch(&data.train, chunk, Some(&mut rng));
                let labels: Vec<usize> = chunk
                    .iter()
                    .map(|&i| data.train.label(i) as usize)
                    .collect();
                correct += net.train_batch(&x, &labels);
                seen += chunk.len();
            }
            done += chunk.len();
            progress(epoch * n + done, total);
        }
        trained += seen;
        train_seconds += t0.elapsed().as_secs_f64();
        // Evaluation: x weights, BN statistics re-estimated on a fresh pass of the loader.
        net.eval_mode();
        let mut recal: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut recal);
        for chunk in recal.chunks(BATCH).take(RECAL_BATCHES) {
            if chunk.len() >= 2 {
                let x = aug.batch(&data.train, chunk, Some(&mut rng));
                net.recalibrate(&x);
            }
        }
        let test_accuracy = net.evaluate(&data.test, aug);
        net.train_mode();
        history.push(EpochStats {
            epoch: epoch + 1,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            test_accuracy,
        });
    }
    let (best_epoch, best) = history.iter().fold((0, f64::NEG_INFINITY), |(be, b), h| {
        if h.test_accuracy > b {
            (h.epoch, h.test_accuracy)
        } else {
            (be, b)
        }
    });
    let report = TrainReport::assemble(
        cfg,
        data,
        Arith::Float,
        macs_per_sample(cfg),
        start.elapsed().as_secs_f64(),
        trained as f64 / train_seconds.max(1e-9),
        history,
    );
    (
        net,
        OfficialReport {
            report,
            best_test_accuracy: best.max(0.0),
            best_epoch,
        },
    )
}
