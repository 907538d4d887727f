//! The f32 reference: the same equations as [`crate::spec::fixed`] without quantisation, used for
//! accuracy and as the yardstick of the fixed model. It also runs mini-batch SGD
//! (gradients averaged over `learning.batch` samples); batch 1 is what the hardware does.
//! Convolutional blocks ([`super::conv`]) come before the dense layers, each trained by its
//! own local loss on its average-pooled output (or, under bp, by the classifier's error
//! propagated back through the dense layers and the blocks).

use crate::baseline::conv::{max_pool, max_pool_sources, FloatConv};
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

/// A convolutional block and its local loss.
#[derive(Clone, Debug)]
pub struct FloatConvBlock {
    pub conv: FloatConv,
    /// C × N, N = the block's pooled latents.
    pub basis: Vec<f32>,
    /// LLS-M vector (C) or LLS-MxM matrix (C × C); empty otherwise.
    pub modulation: Vec<f32>,
    mod_grad: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct FloatNet {
    /// Convolutional blocks, before the dense layers.
    pub conv: Vec<FloatConvBlock>,
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
        let local = cfg.learning.rule.is_local();
        let blocks = cfg.conv_layers().expect("a validated config's blocks");
        let mut weights = initial_weights(cfg);
        let dense_weights = weights.split_off(blocks.len());
        let basis = |n: usize| {
            Basis::new(
                cfg.learning.basis,
                cfg.network.classes,
                n,
                cfg.fixed.basis_bits,
            )
            .to_f32()
        };
        let modulation = |k: usize| -> Vec<f32> {
            initial_modulation(cfg, k)
                .into_iter()
                .map(|v| v as f32)
                .collect()
        };
        let conv = blocks
            .into_iter()
            .zip(weights)
            .enumerate()
            .map(|(k, (shape, w))| {
                let modulation = modulation(k);
                FloatConvBlock {
                    basis: basis(shape.lls_len()),
                    conv: FloatConv::new(shape, w.into_iter().map(|v| v as f32).collect()),
                    mod_grad: vec![0.0; modulation.len()],
                    modulation,
                }
            })
            .collect::<Vec<_>>();
        let first_dense = conv.len();
        let layers = shapes
            .into_iter()
            .zip(dense_weights)
            .enumerate()
            .map(|(k, ((n_in, n_out), w))| {
                let local = k < hidden && local;
                let modulation = if local {
                    modulation(first_dense + k)
                } else {
                    Vec::new()
                };
                FloatLayer {
                    inputs: n_in,
                    outputs: n_out,
                    weights: w.into_iter().map(|v| v as f32).collect(),
                    basis: local.then(|| basis(n_out)),
                    grad: vec![0.0; n_in * n_out],
                    mod_grad: vec![0.0; modulation.len()],
                    modulation,
                }
            })
            .collect();
        let pow2 = |s: u32| (2.0f32).powi(-(s as i32));
        FloatNet {
            conv,
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
        slope(z, self.relu, self.leak)
    }

    pub fn input(&self, pixels: &[u8]) -> Vec<f32> {
        pixels
            .iter()
            .map(|&p| (f32::from(p) - self.input_offset) * self.input_scale)
            .collect()
    }

    pub fn predict(&self, pixels: &[u8]) -> usize {
        let mut x = self.input(pixels);
        for block in &self.conv {
            let h: Vec<f32> = block
                .conv
                .forward(&x)
                .into_iter()
                .map(|z| z * self.slope(z))
                .collect();
            x = max_pool(&h, block.conv.shape.output, block.conv.shape.pool);
        }
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
        let x = self.input(pixels);
        let (x, blocks) = self.train_conv(x, label);
        let last = self.layers.len() - 1;
        let mut inputs = vec![x];
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
        if self.rule.is_local() {
            let (relu, leak) = (self.relu, self.leak);
            for k in 0..last {
                let loss = LocalLoss {
                    rule: self.rule,
                    alpha: self.alpha,
                    classes: self.classes,
                };
                let layer = &mut self.layers[k];
                let basis = layer.basis.as_ref().expect("basis");
                let g = loss.gradient(
                    basis,
                    &layer.modulation,
                    &mut layer.mod_grad,
                    &inputs[k + 1],
                    label,
                );
                deltas[k] = g
                    .iter()
                    .zip(&sums[k])
                    .map(|(&g, &z)| g * slope(z, relu, leak))
                    .collect();
                self.macs.learning += loss.macs(layer.outputs);
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
            if !blocks.is_empty() {
                let first = &self.layers[0];
                let g: Vec<f32> = (0..first.inputs)
                    .map(|i| {
                        (0..first.outputs)
                            .map(|j| first.weights[j * first.inputs + i] * deltas[0][j])
                            .sum()
                    })
                    .collect();
                self.macs.learning += (first.inputs * first.outputs) as u64;
                self.backprop_conv(blocks, g);
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

    /// The convolutional blocks' step on input x: each block's forward, then its max-pool,
    /// which the next block (or the first dense layer) takes; returns that last pooled map.
    /// Under a local rule each block also learns from its local loss on its average-pooled
    /// output; under bp it keeps what [`FloatNet::backprop_conv`] needs.
    fn train_conv(&mut self, mut x: Vec<f32>, label: usize) -> (Vec<f32>, Vec<BlockTrace>) {
        let loss = LocalLoss {
            rule: self.rule,
            alpha: self.alpha,
            classes: self.classes,
        };
        let (relu, leak) = (self.relu, self.leak);
        let mut traces = Vec::new();
        for block in &mut self.conv {
            let z = block.conv.forward(&x);
            let h: Vec<f32> = z.iter().map(|&v| v * slope(v, relu, leak)).collect();
            self.macs.forward += block.conv.macs();
            self.macs.update += block.conv.macs();
            let shape = block.conv.shape;
            let sources = max_pool_sources(&h, shape.output, shape.pool);
            let pooled = sources.iter().map(|&i| h[i]).collect();
            if self.rule.is_local() {
                let latents = block.conv.pool_latents(&h);
                let g = loss.gradient(
                    &block.basis,
                    &block.modulation,
                    &mut block.mod_grad,
                    &latents,
                    label,
                );
                let delta: Vec<f32> = (block.conv.spread(&g).into_iter().zip(&z))
                    .map(|(d, &z)| d * slope(z, relu, leak))
                    .collect();
                block.conv.accumulate(&x, &delta);
                self.macs.learning += loss.macs(latents.len());
            } else {
                traces.push(BlockTrace {
                    input: std::mem::take(&mut x),
                    sums: z,
                    sources,
                });
            }
            x = pooled;
        }
        (x, traces)
    }

    /// bp into the convolutional blocks: `g`, the loss's gradient with respect to the last
    /// block's pooled map, goes back through each max-pool (to its window's largest value),
    /// the activation and the convolution, pre-update weights throughout.
    fn backprop_conv(&mut self, traces: Vec<BlockTrace>, mut g: Vec<f32>) {
        let (relu, leak) = (self.relu, self.leak);
        for (b, trace) in traces.into_iter().enumerate().rev() {
            let block = &mut self.conv[b];
            let mut g_map = vec![0.0f32; trace.sums.len()];
            for (&src, &gv) in trace.sources.iter().zip(&g) {
                g_map[src] += gv;
            }
            let delta: Vec<f32> = (g_map.into_iter().zip(&trace.sums))
                .map(|(d, &z)| d * slope(z, relu, leak))
                .collect();
            block.conv.accumulate(&trace.input, &delta);
            if b > 0 {
                g = block.conv.input_gradient(&delta);
                self.macs.learning += block.conv.macs();
            }
        }
    }

    /// Applies the accumulated (averaged) gradients; call at the end of an epoch too.
    pub fn apply(&mut self) {
        if self.pending == 0 {
            return;
        }
        let scale = self.lr_scale / self.pending as f32;
        let lr_mod = self.lr_mod / self.pending as f32;
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
            apply_modulation(&mut layer.modulation, &mut layer.mod_grad, lr_mod);
        }
        for block in &mut self.conv {
            block.conv.apply(self.lr_hidden * scale);
            apply_modulation(&mut block.modulation, &mut block.mod_grad, lr_mod);
        }
        self.pending = 0;
    }
}

/// What bp needs of a block's forward: its input, its sums, its max-pool's sources.
struct BlockTrace {
    input: Vec<f32>,
    sums: Vec<f32>,
    sources: Vec<usize>,
}

/// The activation's slope at z.
fn slope(z: f32, relu: bool, leak: f32) -> f32 {
    if z >= 0.0 {
        1.0
    } else if relu {
        0.0
    } else {
        leak
    }
}

/// m −= lr · (accumulated gradient), and the accumulator cleared.
fn apply_modulation(modulation: &mut [f32], grad: &mut [f32], lr: f32) {
    for (m, g) in modulation.iter_mut().zip(grad.iter_mut()) {
        *m -= lr * *g;
        *g = 0.0;
    }
}

/// A hidden layer's local loss: the softmax cross-entropy of the (modulated) logits
/// α·B·latents.
#[derive(Clone, Copy)]
struct LocalLoss {
    rule: Rule,
    alpha: f32,
    classes: usize,
}

impl LocalLoss {
    /// The loss's gradient with respect to the N latents, α·Bᵀ·g_z (g_z: the softmax error
    /// through the pre-update modulation); adds the modulation's gradient to `mod_grad`.
    fn gradient(
        self,
        b: &[f32],
        m: &[f32],
        mod_grad: &mut [f32],
        latents: &[f32],
        label: usize,
    ) -> Vec<f32> {
        let (c_n, n) = (self.classes, latents.len());
        let base: Vec<f32> = b
            .chunks_exact(n)
            .map(|row| self.alpha * row.iter().zip(latents).map(|(b, h)| b * h).sum::<f32>())
            .collect();
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
                    mod_grad[c] += base[c] * e[c];
                }
                e.iter().zip(m).map(|(ec, mc)| ec * mc).collect()
            }
            Rule::LlsMxm => {
                for (row, &bc) in mod_grad.chunks_exact_mut(c_n).zip(&base) {
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
        (0..n)
            .map(|t| self.alpha * (0..c_n).map(|c| b[c * n + t] * gz[c]).sum::<f32>())
            .collect()
    }

    /// Projection, back-projection, softmax error and modulation, for N latents.
    fn macs(self, n: usize) -> u64 {
        let c_n = self.classes;
        let modulation = match self.rule {
            Rule::LlsM => 3 * c_n,
            Rule::LlsMxm => 3 * c_n * c_n,
            _ => 0,
        };
        (2 * c_n * n + c_n + modulation) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// digits-mlp (8×8 images) with one convolutional block of 3 channels, LLS pool 2.
    fn conv_config(rule: &str) -> Config {
        let base = include_str!("../../../configs/digits-mlp.toml");
        let text = base
            .replace(
                "inputs = 64\n",
                "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 3, pool = 2, lls_pool = 2 }]\n",
            )
            .replace("rule = \"lls\"", &format!("rule = \"{rule}\"\nbatch = 1000"));
        Config::from_toml_str(&text, "conv.toml").expect("valid")
    }

    /// The classifier's loss, −log softmax(o)_label, through every block and dense layer.
    fn network_loss(net: &FloatNet, pixels: &[u8], label: usize) -> f64 {
        let mut x = net.input(pixels);
        for block in &net.conv {
            let h: Vec<f32> = (block.conv.forward(&x).into_iter())
                .map(|z| z * net.slope(z))
                .collect();
            x = max_pool(&h, block.conv.shape.output, block.conv.shape.pool);
        }
        let last = net.layers.len() - 1;
        for layer in &net.layers[..last] {
            x = (matvec(&layer.weights, &x).into_iter())
                .map(|z| z * net.slope(z))
                .collect();
        }
        let o: Vec<f64> = (matvec(&net.layers[last].weights, &x).into_iter())
            .map(f64::from)
            .collect();
        let max = o.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = o.iter().map(|l| (l - max).exp()).sum();
        -(o[label] - max - sum.ln())
    }

    /// Under bp every weight's gradient, the blocks' included (through two max-pools and a
    /// convolution's transpose), is the derivative of the classifier's loss.
    #[test]
    fn bp_gradients_are_the_network_loss_derivative() {
        let base = include_str!("../../../configs/digits-mlp.toml");
        let text = base
            .replace(
                "inputs = 64\n",
                "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 2, pool = 2, lls_pool = 2 }, \
                 { channels = 3, pool = 2, lls_pool = 1 }]\n",
            )
            .replace("rule = \"lls\"", "rule = \"bp\"\nbatch = 1000");
        let cfg = Config::from_toml_str(&text, "conv-bp.toml").expect("valid");
        let mut net = FloatNet::new(&cfg);
        let pixels: Vec<u8> = (0..64u32).map(|i| ((i * 29 + 5) % 17) as u8).collect();
        let label = 7;
        let before = net.clone();
        net.train_sample(&pixels, label);
        let eps = 1e-3f32;
        let check = |what: &str, g: f32, up: FloatNet, down: FloatNet| {
            let numeric = (network_loss(&up, &pixels, label) - network_loss(&down, &pixels, label))
                / f64::from(2.0 * eps);
            assert!(
                (numeric - f64::from(g)).abs() <= 1e-3 + 0.02 * numeric.abs(),
                "{what}: {numeric} vs {g}"
            );
        };
        for b in 0..2 {
            let grad = net.conv[b].conv.grad().to_vec();
            assert!(grad.iter().any(|&g| g != 0.0), "block {b}: no gradient");
            for (t, &g) in grad.iter().enumerate() {
                let (mut up, mut down) = (before.clone(), before.clone());
                up.conv[b].conv.weights[t] += eps;
                down.conv[b].conv.weights[t] -= eps;
                check(&format!("block {b} tap {t}"), g, up, down);
            }
        }
        for t in (0..net.layers[0].grad.len()).step_by(7) {
            let (mut up, mut down) = (before.clone(), before.clone());
            up.layers[0].weights[t] += eps;
            down.layers[0].weights[t] -= eps;
            check(
                &format!("dense weight {t}"),
                net.layers[0].grad[t],
                up,
                down,
            );
        }
    }

    /// The block's local loss, −log softmax(α·B·pool(f(W ⋆ x)))_label, in f64 from the
    /// f32 pieces.
    fn block_loss(net: &FloatNet, x: &[f32], label: usize) -> f64 {
        let block = &net.conv[0];
        let h: Vec<f32> = (block.conv.forward(x).into_iter())
            .map(|z| z * net.slope(z))
            .collect();
        let latents = block.conv.pool_latents(&h);
        let n = latents.len();
        let base: Vec<f64> = (block.basis.chunks_exact(n))
            .map(|row| {
                f64::from(net.alpha)
                    * row
                        .iter()
                        .zip(&latents)
                        .map(|(&b, &l)| f64::from(b * l))
                        .sum::<f64>()
            })
            .collect();
        let logits: Vec<f64> = match net.rule {
            Rule::LlsM => base
                .iter()
                .zip(&block.modulation)
                .map(|(l, &m)| l * f64::from(m))
                .collect(),
            _ => base,
        };
        let max = logits.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
        -(logits[label] - max - sum.ln())
    }

    /// The weight gradient a training step accumulates is the derivative of the block's
    /// local loss (the spread over the pooling windows, the activation's slope and the
    /// correlation with the input together), checked by central differences.
    #[test]
    fn a_blocks_gradient_is_its_local_loss_derivative() {
        for rule in ["lls", "lls-m"] {
            let cfg = conv_config(rule);
            let mut net = FloatNet::new(&cfg);
            let pixels: Vec<u8> = (0..64u32).map(|i| ((i * 37 + 11) % 17) as u8).collect();
            let label = 3;
            let x = net.input(&pixels);
            let before = net.clone();
            net.train_sample(&pixels, label);
            let grad = net.conv[0].conv.grad().to_vec();
            assert!(grad.iter().any(|&g| g != 0.0), "{rule}: no gradient");
            let eps = 1e-3f32;
            for (t, &g) in grad.iter().enumerate() {
                let (mut up, mut down) = (before.clone(), before.clone());
                up.conv[0].conv.weights[t] += eps;
                down.conv[0].conv.weights[t] -= eps;
                let numeric = (block_loss(&up, &x, label) - block_loss(&down, &x, label))
                    / f64::from(2.0 * eps);
                assert!(
                    (numeric - f64::from(g)).abs() <= 1e-3 + 0.02 * numeric.abs(),
                    "{rule}, tap {t}: {numeric} vs {g}"
                );
            }
        }
    }
}
