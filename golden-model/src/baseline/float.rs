//! The f32 reference: the same equations as [`crate::spec::fixed`] without quantisation, used for
//! accuracy and as the yardstick of the fixed model. It also runs mini-batch SGD
//! (gradients averaged over `learning.batch` samples); batch 1 is what the hardware does.

use crate::config::{Activation, Config, Rule};
use crate::cost::MacCount;
use crate::spec::basis::Basis;
use crate::spec::fixed::{initial_modulation, initial_weights};

#[derive(Clone, Debug)]
pub struct FloatLayer {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f32>,
    pub basis: Option<Vec<f32>>,
    /// LLS-M vector (C) or LLS-MxM matrix (C × C); empty otherwise.
    pub modulation: Vec<f32>,
    grad: Vec<f32>,
    mod_grad: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct FloatNet {
    pub layers: Vec<FloatLayer>,
    pub rule: Rule,
    pub classes: usize,
    leak: f32,
    relu: bool,
    alpha: f32,
    lr_hidden: f32,
    lr_out: f32,
    lr_mod: f32,
    input_scale: f32,
    input_offset: f32,
    batch: usize,
    lr_halve_at: Vec<u64>,
    /// Samples trained since reset (the learning-rate schedule's clock).
    pub trained: u64,
    /// 2^-halvings of the schedule at the batch's last sample.
    lr_scale: f32,
    pending: usize,
    pub macs: MacCount,
}

fn softmax_error(logits: &[f32], label: usize) -> Vec<f32> {
    let max = logits.iter().cloned().fold(f32::MIN, f32::max);
    let e: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter()
        .enumerate()
        .map(|(c, &v)| v / s - if c == label { 1.0 } else { 0.0 })
        .collect()
}

fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn matvec(w: &[f32], x: &[f32]) -> Vec<f32> {
    w.chunks_exact(x.len())
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

impl FloatNet {
    pub fn new(cfg: &Config) -> FloatNet {
        let shapes = cfg.layer_shapes();
        let hidden = shapes.len() - 1;
        let layers = shapes
            .into_iter()
            .zip(initial_weights(cfg))
            .enumerate()
            .map(|(k, ((n_in, n_out), w))| {
                let local = k < hidden && cfg.learning.rule.is_local();
                let basis = local.then(|| {
                    let b = Basis::new(
                        cfg.learning.basis,
                        cfg.network.classes,
                        n_out,
                        cfg.fixed.basis_bits,
                    );
                    b.to_f32()
                });
                let modulation: Vec<f32> = if local {
                    initial_modulation(cfg, k)
                        .into_iter()
                        .map(|v| v as f32)
                        .collect()
                } else {
                    Vec::new()
                };
                FloatLayer {
                    inputs: n_in,
                    outputs: n_out,
                    weights: w.into_iter().map(|v| v as f32).collect(),
                    basis,
                    grad: vec![0.0; n_in * n_out],
                    mod_grad: vec![0.0; modulation.len()],
                    modulation,
                }
            })
            .collect();
        let pow2 = |s: u32| (2.0f32).powi(-(s as i32));
        FloatNet {
            layers,
            rule: cfg.learning.rule,
            classes: cfg.network.classes,
            leak: pow2(cfg.network.leak_shift),
            relu: cfg.network.activation == Activation::Relu,
            alpha: pow2(cfg.learning.logit_shift),
            lr_hidden: pow2(cfg.learning.lr_shift),
            lr_out: pow2(cfg.learning.out_lr_shift),
            lr_mod: pow2(cfg.learning.mod_lr_shift),
            input_scale: (1u64 << cfg.data.input_shift) as f32
                / (1u64 << cfg.fixed.act_frac) as f32,
            input_offset: cfg.data.input_offset as f32,
            batch: cfg.learning.batch,
            lr_halve_at: cfg.learning.lr_halve_at.clone(),
            trained: 0,
            lr_scale: 1.0,
            pending: 0,
            macs: MacCount::default(),
        }
    }

    fn slope(&self, z: f32) -> f32 {
        if z >= 0.0 {
            1.0
        } else if self.relu {
            0.0
        } else {
            self.leak
        }
    }

    pub fn input(&self, pixels: &[u8]) -> Vec<f32> {
        pixels
            .iter()
            .map(|&p| (f32::from(p) - self.input_offset) * self.input_scale)
            .collect()
    }

    pub fn predict(&self, pixels: &[u8]) -> usize {
        let mut x = self.input(pixels);
        let last = self.layers.len() - 1;
        for layer in &self.layers[..last] {
            x = matvec(&layer.weights, &x)
                .into_iter()
                .map(|z| z * self.slope(z))
                .collect();
        }
        argmax(&matvec(&self.layers[last].weights, &x))
    }

    /// Accumulates one sample's gradients; applies them every `batch` samples.
    /// Returns the prediction made before the update.
    pub fn train_sample(&mut self, pixels: &[u8], label: usize) -> usize {
        let last = self.layers.len() - 1;
        let mut inputs = vec![self.input(pixels)];
        let mut sums = Vec::new();
        for layer in &self.layers[..last] {
            let z = matvec(&layer.weights, inputs.last().expect("input"));
            inputs.push(z.iter().map(|&v| v * self.slope(v)).collect());
            sums.push(z);
            self.macs.forward += (layer.inputs * layer.outputs) as u64;
        }
        let out = matvec(&self.layers[last].weights, &inputs[last]);
        self.macs.forward += (self.layers[last].inputs * self.layers[last].outputs) as u64;
        let prediction = argmax(&out);
        let mut deltas: Vec<Vec<f32>> = vec![Vec::new(); self.layers.len()];
        deltas[last] = softmax_error(&out, label);
        self.macs.learning += self.classes as u64;
        let c_n = self.classes;
        if self.rule.is_local() {
            for k in 0..last {
                let h = &inputs[k + 1];
                let layer = &mut self.layers[k];
                let b = layer.basis.as_ref().expect("basis");
                let n = layer.outputs;
                let base: Vec<f32> = (0..c_n)
                    .map(|c| self.alpha * (0..n).map(|t| b[c * n + t] * h[t]).sum::<f32>())
                    .collect();
                let m = &layer.modulation;
                let logits: Vec<f32> = match self.rule {
                    Rule::LlsM => base.iter().zip(m).map(|(l, mc)| l * mc).collect(),
                    Rule::LlsMxm => (0..c_n)
                        .map(|j| (0..c_n).map(|c| base[c] * m[c * c_n + j]).sum())
                        .collect(),
                    _ => base.clone(),
                };
                let e = softmax_error(&logits, label);
                let gz: Vec<f32> = match self.rule {
                    Rule::LlsM => {
                        for c in 0..c_n {
                            layer.mod_grad[c] += base[c] * e[c];
                        }
                        e.iter().zip(m).map(|(ec, mc)| ec * mc).collect()
                    }
                    Rule::LlsMxm => {
                        for (row, &bc) in layer.mod_grad.chunks_exact_mut(c_n).zip(&base) {
                            for (g, &ej) in row.iter_mut().zip(&e) {
                                *g += bc * ej;
                            }
                        }
                        (0..c_n)
                            .map(|c| (0..c_n).map(|j| m[c * c_n + j] * e[j]).sum())
                            .collect()
                    }
                    _ => e,
                };
                deltas[k] = (0..n)
                    .map(|t| {
                        let g: f32 = (0..c_n).map(|c| b[c * n + t] * gz[c]).sum();
                        self.alpha
                            * g
                            * if sums[k][t] >= 0.0 {
                                1.0
                            } else if self.relu {
                                0.0
                            } else {
                                self.leak
                            }
                    })
                    .collect();
                let mod_macs = match self.rule {
                    Rule::LlsM => 3 * c_n,
                    Rule::LlsMxm => 3 * c_n * c_n,
                    _ => 0,
                };
                self.macs.learning += (2 * c_n * n + c_n + mod_macs) as u64;
            }
        } else {
            for k in (0..last).rev() {
                let next = &self.layers[k + 1];
                let n = self.layers[k].outputs;
                deltas[k] = (0..n)
                    .map(|j| {
                        let g: f32 = (0..next.outputs)
                            .map(|c| next.weights[c * next.inputs + j] * deltas[k + 1][c])
                            .sum();
                        g * self.slope(sums[k][j])
                    })
                    .collect();
                self.macs.learning += (n * next.outputs) as u64;
            }
        }
        for (k, layer) in self.layers.iter_mut().enumerate() {
            let x = &inputs[k];
            for (j, row) in layer.grad.chunks_exact_mut(layer.inputs).enumerate() {
                let d = deltas[k][j];
                if d != 0.0 {
                    for (g, &xi) in row.iter_mut().zip(x) {
                        *g += d * xi;
                    }
                }
            }
            self.macs.update += (layer.inputs * layer.outputs) as u64;
        }
        let halvings = crate::config::lr_halvings(&self.lr_halve_at, self.trained);
        self.lr_scale = (0.5f32).powi(halvings as i32);
        self.trained += 1;
        self.pending += 1;
        if self.pending == self.batch {
            self.apply();
        }
        prediction
    }

    /// Applies the accumulated (averaged) gradients; call at the end of an epoch too.
    pub fn apply(&mut self) {
        if self.pending == 0 {
            return;
        }
        let scale = self.lr_scale / self.pending as f32;
        let last = self.layers.len() - 1;
        for (k, layer) in self.layers.iter_mut().enumerate() {
            let lr = if k == last {
                self.lr_out
            } else {
                self.lr_hidden
            } * scale;
            for (w, g) in layer.weights.iter_mut().zip(layer.grad.iter_mut()) {
                *w -= lr * *g;
                *g = 0.0;
            }
            for (m, g) in layer.modulation.iter_mut().zip(layer.mod_grad.iter_mut()) {
                *m -= self.lr_mod / self.pending as f32 * *g;
                *g = 0.0;
            }
        }
        self.pending = 0;
    }
}
