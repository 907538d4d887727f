//! Convolutional LLS blocks in f32 (`network.conv`, shapes in [`crate::network`]): the
//! block's forward, the average pool its LLS loss reads, the spread of that loss's gradient
//! back over the pooling windows, and the weight gradient. [`super::float::FloatNet`] runs
//! them before its dense layers.
//!
//! Maps are channel-major (`[channel][row][column]`), weights `[out][in][row][column]`.

use crate::network::{ConvLayer, MapShape};

/// PyTorch's adaptive pooling windows of a side `len` pooled to `out`: window i covers
/// `[floor(i·len/out), ceil((i+1)·len/out))` (they overlap where `out` does not divide
/// `len`).
pub fn adaptive_windows(len: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|i| ((i * len) / out, ((i + 1) * len).div_ceil(out)))
        .collect()
}

#[derive(Clone, Debug)]
pub struct FloatConv {
    pub shape: ConvLayer,
    pub weights: Vec<f32>,
    grad: Vec<f32>,
    row_windows: Vec<(usize, usize)>,
    col_windows: Vec<(usize, usize)>,
}

impl FloatConv {
    pub fn new(shape: ConvLayer, weights: Vec<f32>) -> FloatConv {
        assert_eq!(weights.len(), shape.weights(), "one weight per tap");
        FloatConv {
            grad: vec![0.0; weights.len()],
            row_windows: adaptive_windows(shape.output.rows, shape.lls_pool),
            col_windows: adaptive_windows(shape.output.cols, shape.lls_pool),
            shape,
            weights,
        }
    }

    /// Multiply-accumulates of [`FloatConv::forward`] as the cost model counts them
    /// (every tap at every output position, padding included).
    pub fn macs(&self) -> u64 {
        let out = self.shape.output;
        (out.rows * out.cols * self.shape.weights()) as u64
    }

    /// The sums z = W ⋆ x: stride 1, zero padding k/2.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (input, output, k) = (self.shape.input, self.shape.output, self.shape.kernel);
        let mut z = vec![0.0f32; output.len()];
        let taps = self.weights.chunks_exact(k * k);
        for (t, w) in taps.enumerate() {
            let (co, ci) = (t / input.channels, t % input.channels);
            let plane = &x[ci * input.rows * input.cols..][..input.rows * input.cols];
            let out = &mut z[co * output.rows * output.cols..][..output.rows * output.cols];
            for (u, row) in w.chunks_exact(k).enumerate() {
                for (v, &wt) in row.iter().enumerate() {
                    for_each_shift(input, k, u, v, |r_out, r_in, cols_out, cols_in| {
                        let dst = &mut out[r_out * output.cols..][cols_out.clone()];
                        let src = &plane[r_in * input.cols..][cols_in];
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d += wt * s;
                        }
                    });
                }
            }
        }
        z
    }

    /// The N latents the LLS loss projects: each channel of `h` average-pooled to a×a,
    /// flattened t = c·a² + i·a + j.
    pub fn pool_latents(&self, h: &[f32]) -> Vec<f32> {
        let out = self.shape.output;
        let mut latents = Vec::with_capacity(self.shape.lls_len());
        for plane in h.chunks_exact(out.rows * out.cols) {
            for &(r0, r1) in &self.row_windows {
                for &(c0, c1) in &self.col_windows {
                    let sum: f32 = (r0..r1)
                        .map(|r| {
                            plane[r * out.cols + c0..r * out.cols + c1]
                                .iter()
                                .sum::<f32>()
                        })
                        .sum();
                    latents.push(sum / ((r1 - r0) * (c1 - c0)) as f32);
                }
            }
        }
        latents
    }

    /// The gradient of the latents spread back over the map: each latent's share divided
    /// by its window's size (overlapping windows add), the average pool's derivative.
    pub fn spread(&self, g: &[f32]) -> Vec<f32> {
        let out = self.shape.output;
        let mut map = vec![0.0f32; out.len()];
        let a2 = self.shape.lls_pool * self.shape.lls_pool;
        for (plane, gc) in map
            .chunks_exact_mut(out.rows * out.cols)
            .zip(g.chunks_exact(a2))
        {
            let mut t = 0;
            for &(r0, r1) in &self.row_windows {
                for &(c0, c1) in &self.col_windows {
                    let share = gc[t] / ((r1 - r0) * (c1 - c0)) as f32;
                    for r in r0..r1 {
                        for v in &mut plane[r * out.cols + c0..r * out.cols + c1] {
                            *v += share;
                        }
                    }
                    t += 1;
                }
            }
        }
        map
    }

    /// Adds the weight gradient of δ (over the block's output) for input x: the
    /// correlation of δ with the padded input, tap by tap.
    pub fn accumulate(&mut self, x: &[f32], delta: &[f32]) {
        let (input, output, k) = (self.shape.input, self.shape.output, self.shape.kernel);
        let taps = self.grad.chunks_exact_mut(k * k);
        for (t, g) in taps.enumerate() {
            let (co, ci) = (t / input.channels, t % input.channels);
            let plane = &x[ci * input.rows * input.cols..][..input.rows * input.cols];
            let d = &delta[co * output.rows * output.cols..][..output.rows * output.cols];
            for (u, row) in g.chunks_exact_mut(k).enumerate() {
                for (v, gt) in row.iter_mut().enumerate() {
                    for_each_shift(input, k, u, v, |r_out, r_in, cols_out, cols_in| {
                        let dst = &d[r_out * output.cols..][cols_out];
                        let src = &plane[r_in * input.cols..][cols_in];
                        *gt += dst.iter().zip(src).map(|(a, b)| a * b).sum::<f32>();
                    });
                }
            }
        }
    }

    /// The gradient with respect to the block's input of a gradient δ over its sums: the
    /// convolution's transpose (bp only).
    pub fn input_gradient(&self, delta: &[f32]) -> Vec<f32> {
        let (input, output, k) = (self.shape.input, self.shape.output, self.shape.kernel);
        let mut g = vec![0.0f32; input.len()];
        let taps = self.weights.chunks_exact(k * k);
        for (t, w) in taps.enumerate() {
            let (co, ci) = (t / input.channels, t % input.channels);
            let d = &delta[co * output.rows * output.cols..][..output.rows * output.cols];
            let plane = &mut g[ci * input.rows * input.cols..][..input.rows * input.cols];
            for (u, row) in w.chunks_exact(k).enumerate() {
                for (v, &wt) in row.iter().enumerate() {
                    for_each_shift(input, k, u, v, |r_out, r_in, cols_out, cols_in| {
                        let src = &d[r_out * output.cols..][cols_out];
                        let dst = &mut plane[r_in * input.cols..][cols_in];
                        for (x, &dv) in dst.iter_mut().zip(src) {
                            *x += wt * dv;
                        }
                    });
                }
            }
        }
        g
    }

    /// The weight gradient accumulated since the last [`FloatConv::apply`].
    pub fn grad(&self) -> &[f32] {
        &self.grad
    }

    /// W −= lr · (accumulated gradient), and the accumulator cleared.
    pub fn apply(&mut self, lr: f32) {
        for (w, g) in self.weights.iter_mut().zip(self.grad.iter_mut()) {
            *w -= lr * *g;
            *g = 0.0;
        }
    }
}

/// For tap (u, v) of a k×k kernel with padding k/2 on a map of `shape` (stride 1, so the
/// output has the input's size): each output row that the tap reaches inside the input,
/// with its input row, and the output and input column ranges.
fn for_each_shift(
    shape: MapShape,
    k: usize,
    u: usize,
    v: usize,
    mut f: impl FnMut(usize, usize, std::ops::Range<usize>, std::ops::Range<usize>),
) {
    let pad = k / 2;
    // Output position p reads input p + offset − pad.
    let span = |len: usize, offset: usize| {
        let lo = pad.saturating_sub(offset);
        let hi = (len + pad).saturating_sub(offset).min(len);
        (lo, hi)
    };
    let (r_lo, r_hi) = span(shape.rows, u);
    let (c_lo, c_hi) = span(shape.cols, v);
    if c_lo >= c_hi {
        return;
    }
    for r in r_lo..r_hi {
        let c_in = c_lo + v - pad;
        f(r, r + u - pad, c_lo..c_hi, c_in..c_in + (c_hi - c_lo));
    }
}

/// A p×p max-pool of stride p over each channel of `h` (the block's output).
pub fn max_pool(h: &[f32], shape: MapShape, p: usize) -> Vec<f32> {
    max_pool_sources(h, shape, p)
        .into_iter()
        .map(|i| h[i])
        .collect()
}

/// Where each value of [`max_pool`] comes from: the index in `h` of its window's largest
/// value (the first, row by row, of equal ones). Under bp the gradient goes back there.
pub fn max_pool_sources(h: &[f32], shape: MapShape, p: usize) -> Vec<usize> {
    let (rows, cols) = (shape.rows / p, shape.cols / p);
    let plane_len = shape.rows * shape.cols;
    let mut sources = Vec::with_capacity(shape.channels * rows * cols);
    for ch in 0..shape.channels {
        for r in 0..rows {
            for c in 0..cols {
                let mut best = ch * plane_len + r * p * shape.cols + c * p;
                for dr in 0..p {
                    for dc in 0..p {
                        let i = ch * plane_len + (r * p + dr) * shape.cols + c * p + dc;
                        if h[i] > h[best] {
                            best = i;
                        }
                    }
                }
                sources.push(best);
            }
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn map(channels: usize, rows: usize, cols: usize) -> MapShape {
        MapShape {
            channels,
            rows,
            cols,
        }
    }

    fn layer(input: MapShape, channels: usize, kernel: usize, lls_pool: usize) -> ConvLayer {
        let output = MapShape { channels, ..input };
        ConvLayer {
            input,
            output,
            pooled: output,
            kernel,
            pool: 1,
            lls_pool,
        }
    }

    fn random(n: usize, rng: &mut SplitMix64) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(1.0) as f32).collect()
    }

    /// The convolution written out plainly: every output, every tap, bounds checked.
    fn reference_forward(l: &ConvLayer, w: &[f32], x: &[f32]) -> Vec<f32> {
        let (i, o, k) = (l.input, l.output, l.kernel as isize);
        let pad = k / 2;
        let mut z = vec![0.0f32; o.len()];
        for co in 0..o.channels {
            for r in 0..o.rows as isize {
                for c in 0..o.cols as isize {
                    let mut s = 0.0f32;
                    for ci in 0..i.channels {
                        for u in 0..k {
                            for v in 0..k {
                                let (rr, cc) = (r + u - pad, c + v - pad);
                                if rr < 0
                                    || cc < 0
                                    || rr >= i.rows as isize
                                    || cc >= i.cols as isize
                                {
                                    continue;
                                }
                                let wi = ((co * i.channels + ci) * l.kernel + u as usize)
                                    * l.kernel
                                    + v as usize;
                                s += w[wi] * x[(ci * i.rows + rr as usize) * i.cols + cc as usize];
                            }
                        }
                    }
                    z[(co * o.rows + r as usize) * o.cols + c as usize] = s;
                }
            }
        }
        z
    }

    #[test]
    fn forward_matches_the_plain_convolution() {
        let mut rng = SplitMix64::new(4);
        for (input, channels, kernel) in [
            (map(2, 5, 7), 3, 3),
            (map(1, 4, 4), 2, 5),
            (map(3, 6, 3), 2, 1),
        ] {
            let l = layer(input, channels, kernel, 1);
            let conv = FloatConv::new(l, random(l.weights(), &mut rng));
            let x = random(input.len(), &mut rng);
            let (got, want) = (conv.forward(&x), reference_forward(&l, &conv.weights, &x));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
        }
    }

    /// The weight gradient is the derivative of Σ δ·z: checked against finite differences
    /// of the forward, tap by tap.
    #[test]
    fn weight_gradient_is_the_forward_derivative() {
        let mut rng = SplitMix64::new(8);
        let input = map(2, 5, 6);
        let l = layer(input, 3, 3, 2);
        let mut conv = FloatConv::new(l, random(l.weights(), &mut rng));
        let x = random(input.len(), &mut rng);
        let delta = random(l.output.len(), &mut rng);
        conv.accumulate(&x, &delta);
        let objective = |c: &FloatConv| -> f64 {
            c.forward(&x)
                .iter()
                .zip(&delta)
                .map(|(&z, &d)| f64::from(z) * f64::from(d))
                .sum()
        };
        for t in 0..l.weights() {
            let mut probe = conv.clone();
            probe.weights[t] += 1.0;
            let numeric = objective(&probe) - objective(&conv);
            assert!(
                (numeric - f64::from(conv.grad[t])).abs() < 1e-3,
                "tap {t}: {numeric} vs {}",
                conv.grad[t]
            );
        }
    }

    /// The input gradient is the forward's transpose: ⟨W ⋆ x, δ⟩ = ⟨x, input_gradient(δ)⟩.
    #[test]
    fn input_gradient_is_the_forward_transpose() {
        let mut rng = SplitMix64::new(6);
        for (input, channels, kernel) in [(map(2, 5, 7), 3, 3), (map(3, 4, 3), 2, 5)] {
            let l = layer(input, channels, kernel, 1);
            let conv = FloatConv::new(l, random(l.weights(), &mut rng));
            let x = random(input.len(), &mut rng);
            let delta = random(l.output.len(), &mut rng);
            let lhs: f32 = conv
                .forward(&x)
                .iter()
                .zip(&delta)
                .map(|(a, b)| a * b)
                .sum();
            let rhs: f32 = x
                .iter()
                .zip(&conv.input_gradient(&delta))
                .map(|(a, b)| a * b)
                .sum();
            assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
        }
    }

    /// PyTorch's windows (lls-paper.md §2: 7 pooled to 2 uses rows 0–3 and 3–6), and the
    /// spread as the pool's transpose: ⟨pool(h), g⟩ = ⟨h, spread(g)⟩.
    #[test]
    fn pooling_windows_and_their_spread() {
        assert_eq!(adaptive_windows(7, 2), [(0, 4), (3, 7)]);
        assert_eq!(
            adaptive_windows(28, 4),
            [(0, 7), (7, 14), (14, 21), (21, 28)]
        );
        assert_eq!(adaptive_windows(2, 3), [(0, 1), (0, 2), (1, 2)]);
        let mut rng = SplitMix64::new(2);
        for (rows, cols, a) in [(7, 7, 2), (8, 6, 4), (5, 5, 1)] {
            let input = MapShape {
                channels: 3,
                rows,
                cols,
            };
            let l = layer(input, 3, 3, a);
            let conv = FloatConv::new(l, vec![0.0; l.weights()]);
            let h = random(l.output.len(), &mut rng);
            let g = random(l.lls_len(), &mut rng);
            let pooled = conv.pool_latents(&h);
            assert_eq!(pooled.len(), l.lls_len());
            let lhs: f32 = pooled.iter().zip(&g).map(|(a, b)| a * b).sum();
            let rhs: f32 = h.iter().zip(&conv.spread(&g)).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4,
                "{rows}×{cols} to {a}: {lhs} vs {rhs}"
            );
        }
    }

    #[test]
    fn max_pool_keeps_each_windows_largest() {
        let shape = map(1, 2, 4);
        let h = [1.0, -2.0, 0.5, 3.0, -1.0, 4.0, 2.0, -5.0];
        assert_eq!(max_pool(&h, shape, 2), [4.0, 3.0]);
        assert_eq!(max_pool_sources(&h, shape, 2), [5, 3]);
        assert_eq!(max_pool(&h, shape, 1), h);
    }
}
