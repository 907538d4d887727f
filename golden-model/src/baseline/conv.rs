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
        let mut z = vec![0.0f32; self.shape.output.len()];
        for_each_tap_row(self.shape, |tap, out, inp, len| {
            let wt = self.weights[tap];
            for (d, &s) in z[out..out + len].iter_mut().zip(&x[inp..inp + len]) {
                *d += wt * s;
            }
        });
        z
    }

    /// The N latents the LLS loss projects: each channel of `h` average-pooled to a×a,
    /// flattened t = c·a² + i·a + j.
    pub fn pool_latents(&self, h: &[f32]) -> Vec<f32> {
        let cols = self.shape.output.cols;
        let mut latents = Vec::with_capacity(self.shape.lls_len());
        self.for_each_window(|_, area, first, rows, len| {
            let sum: f32 = (0..rows)
                .map(|r| h[first + r * cols..][..len].iter().sum::<f32>())
                .sum();
            latents.push(sum / area);
        });
        latents
    }

    /// The gradient of the latents spread back over the map: each latent's share divided
    /// by its window's size (overlapping windows add), the average pool's derivative.
    pub fn spread(&self, g: &[f32]) -> Vec<f32> {
        let cols = self.shape.output.cols;
        let mut map = vec![0.0f32; self.shape.output.len()];
        self.for_each_window(|t, area, first, rows, len| {
            let share = g[t] / area;
            for r in 0..rows {
                for v in &mut map[first + r * cols..][..len] {
                    *v += share;
                }
            }
        });
        map
    }

    /// Every window of the LLS loss's average pool, latent by latent (t = c·a² + i·a + j):
    /// `f(t, area, first, rows, len)`, the window being `rows` row segments of `len` values
    /// of the output map, the first at offset `first`, one map row apart.
    fn for_each_window(&self, mut f: impl FnMut(usize, f32, usize, usize, usize)) {
        let out = self.shape.output;
        let mut t = 0;
        for ch in 0..out.channels {
            for &(r0, r1) in &self.row_windows {
                for &(c0, c1) in &self.col_windows {
                    let area = ((r1 - r0) * (c1 - c0)) as f32;
                    f(
                        t,
                        area,
                        (ch * out.rows + r0) * out.cols + c0,
                        r1 - r0,
                        c1 - c0,
                    );
                    t += 1;
                }
            }
        }
    }

    /// Adds the weight gradient of δ (over the block's output) for input x: the
    /// correlation of δ with the padded input, tap by tap.
    pub fn accumulate(&mut self, x: &[f32], delta: &[f32]) {
        let grad = &mut self.grad;
        for_each_tap_row(self.shape, |tap, out, inp, len| {
            let d = &delta[out..out + len];
            grad[tap] += d
                .iter()
                .zip(&x[inp..inp + len])
                .map(|(a, b)| a * b)
                .sum::<f32>();
        });
    }

    /// The gradient with respect to the block's input of a gradient δ over its sums: the
    /// convolution's transpose (bp only).
    pub fn input_gradient(&self, delta: &[f32]) -> Vec<f32> {
        let mut g = vec![0.0f32; self.shape.input.len()];
        for_each_tap_row(self.shape, |tap, out, inp, len| {
            let wt = self.weights[tap];
            for (x, &dv) in g[inp..inp + len].iter_mut().zip(&delta[out..out + len]) {
                *x += wt * dv;
            }
        });
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

/// Every tap of the block, in weight order (`[out][in][row][column]`), with each output
/// row it reaches inside the input: `f(tap, out, inp, len)`, the output map's values
/// `out..out + len` taking the input map's `inp..inp + len` through weight `tap` (stride
/// 1, zero padding k/2, so output position p reads input p + offset − k/2).
fn for_each_tap_row(shape: ConvLayer, mut f: impl FnMut(usize, usize, usize, usize)) {
    let (input, output, k) = (shape.input, shape.output, shape.kernel);
    let pad = k / 2;
    let span = |len: usize, offset: usize| {
        let lo = pad.saturating_sub(offset);
        let hi = (len + pad).saturating_sub(offset).min(len);
        (lo, hi)
    };
    let mut tap = 0;
    for co in 0..output.channels {
        for ci in 0..input.channels {
            for u in 0..k {
                for v in 0..k {
                    let (r_lo, r_hi) = span(input.rows, u);
                    let (c_lo, c_hi) = span(input.cols, v);
                    if c_lo < c_hi {
                        for r in r_lo..r_hi {
                            let out = (co * output.rows + r) * output.cols + c_lo;
                            let inp = (ci * input.rows + r + u - pad) * input.cols + c_lo + v - pad;
                            f(tap, out, inp, c_hi - c_lo);
                        }
                    }
                    tap += 1;
                }
            }
        }
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
