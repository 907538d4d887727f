//! The inner loops of the fixed-point model, compiled for several instruction sets and
//! picked at run time (`multiversion`). Integer arithmetic, so every version gives the same
//! bits; they exist only for speed.
//!
//! Weights are stored input-major (one contiguous column of `outputs` weights per input),
//! so an input that is zero skips its column in both the forward sum and the update: its
//! products are 0, and a rounded 0 step (floor or half-up) leaves the weight unchanged.

use multiversion::multiversion;

/// `z[j] += column[j] · x` for every output j.
#[inline(always)]
pub fn axpy(z: &mut [i64], column: &[i32], x: i64) {
    for (zj, &w) in z.iter_mut().zip(column) {
        *zj += w as i64 * x;
    }
}

/// `column[j] = clamp(column[j] − ((δ[j]·x + bias) >> shift), min, max)`: the weight
/// update with a deterministic rounding bias (0 for floor, 2^(shift−1) for half-up).
#[inline(always)]
pub fn update_column(
    column: &mut [i32],
    delta: &[i64],
    x: i64,
    bias: i64,
    shift: u32,
    min: i64,
    max: i64,
) {
    for (w, &d) in column.iter_mut().zip(delta) {
        let step = (d * x + bias) >> shift;
        *w = (*w as i64 - step).clamp(min, max) as i32;
    }
}

/// [`update_column`] in 32 bits: the caller bounds |δ[j]·x| + bias + |column[j]| below
/// 2^31 (`FixedNet`: 16-bit δ and x, so the products stay under 2^30).
#[inline(always)]
pub fn update_column32(
    column: &mut [i32],
    delta: &[i32],
    x: i32,
    bias: i32,
    shift: u32,
    min: i32,
    max: i32,
) {
    for (w, &d) in column.iter_mut().zip(delta) {
        let step = (d * x + bias) >> shift;
        *w = (*w - step).clamp(min, max);
    }
}

/// `column[j] = clamp(column[j] − ((δ[j]·x + (random[j] mod 2^shift)) >> shift), min,
/// max)`: the weight update with stochastic rounding, output j's random bits from
/// `random[j]` (`numeric::shift_round`).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
pub fn update_column_stochastic(
    column: &mut [i32],
    delta: &[i64],
    random: &[u32],
    x: i64,
    shift: u32,
    min: i64,
    max: i64,
) {
    let mask = (1u64 << shift) - 1;
    for ((w, &d), &r) in column.iter_mut().zip(delta).zip(random) {
        let step = (d * x + (u64::from(r) & mask) as i64) >> shift;
        *w = (*w as i64 - step).clamp(min, max) as i32;
    }
}

/// [`update_column_stochastic`] in 32 bits: the caller bounds |δ[j]·x| + 2^shift + the
/// weights' range below 2^31 ([`narrow_update_fits`]).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
pub fn update_column_stochastic32(
    column: &mut [i32],
    delta: &[i32],
    random: &[u32],
    x: i32,
    shift: u32,
    min: i32,
    max: i32,
) {
    let mask = ((1u64 << shift) - 1) as u32;
    for ((w, &d), &r) in column.iter_mut().zip(delta).zip(random) {
        let step = (d * x + (r & mask) as i32) >> shift;
        *w = (*w - step).clamp(min, max);
    }
}

/// Whether an update of δ by inputs x, with a rounding bias below `bias_max`, into weights
/// within [min, max], forms only values below 2^31 in magnitude (so the 32-bit kernels
/// give the 64-bit ones' bits).
pub fn narrow_update_fits(
    delta: &[i64],
    x: &[i64],
    bias_max: u64,
    shift: u32,
    min: i64,
    max: i64,
) -> bool {
    let d_max = delta.iter().map(|d| d.unsigned_abs()).max().unwrap_or(0);
    let x_max = x.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let bound = d_max
        .saturating_mul(x_max)
        .saturating_add(bias_max)
        .saturating_add(min.unsigned_abs().max(max.unsigned_abs()));
    bound <= i32::MAX as u64 && shift <= 30
}

/// δ in 32 bits where an update of it by inputs x fits them ([`narrow_update_fits`]; the
/// casts are then exact), for the 32-bit kernels; `None` where it does not.
pub fn narrow_delta(
    delta: &[i64],
    x: &[i64],
    bias_max: u64,
    shift: u32,
    min: i64,
    max: i64,
) -> Option<Vec<i32>> {
    narrow_update_fits(delta, x, bias_max, shift, min, max)
        .then(|| delta.iter().map(|&d| d as i32).collect())
}

/// Every LFSR state one step on (`numeric::lfsr::next`).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
pub fn step_lfsrs(states: &mut [u32]) {
    for s in states {
        *s = crate::spec::numeric::lfsr::next(*s);
    }
}

/// The deterministic weight update of every column whose input is not zero
/// ([`update_column`]): in 32 bits where |δ|·|x| + bias + the weights' range stays below
/// 2^31, which holds every value the update forms (16-bit δ and x: twice the lanes).
#[allow(clippy::too_many_arguments)]
pub fn update_columns(
    weights_t: &mut [i32],
    outputs: usize,
    delta: &[i64],
    x: &[i64],
    bias: i64,
    shift: u32,
    min: i64,
    max: i64,
) {
    // One choice a sample, outside the column loop (inside it costs 4 % on mnist-mlp).
    match narrow_delta(delta, x, bias.unsigned_abs(), shift, min, max) {
        // Every value is below 2^31 in magnitude, so the casts are exact.
        Some(d) => update_columns32(
            weights_t,
            outputs,
            &d,
            x,
            bias as i32,
            shift,
            min as i32,
            max as i32,
        ),
        None => update_columns64(weights_t, outputs, delta, x, bias, shift, min, max),
    }
}

/// [`update_column32`] on every column whose input is not zero; one dispatch a layer.
/// Outputs go in tiles of [`TILE`] (δ held in registers) over the non-zero inputs' list,
/// then the outputs left over, column by column.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
#[allow(clippy::too_many_arguments)]
fn update_columns32(
    weights_t: &mut [i32],
    outputs: usize,
    delta: &[i32],
    x: &[i64],
    bias: i32,
    shift: u32,
    min: i32,
    max: i32,
) {
    let inputs = non_zero_inputs(x.iter().map(|&v| v as i32));
    let tiled = outputs - outputs % TILE;
    for j0 in (0..tiled).step_by(TILE) {
        let d: &[i32; TILE] = delta[j0..j0 + TILE].try_into().expect("a whole tile");
        for &(i, xi) in &inputs {
            let at = i as usize * outputs + j0;
            let column: &mut [i32; TILE] = (&mut weights_t[at..at + TILE])
                .try_into()
                .expect("a whole tile");
            update_column32(column, d, xi, bias, shift, min, max);
        }
    }
    if tiled < outputs {
        for &(i, xi) in &inputs {
            let at = i as usize * outputs;
            let column = &mut weights_t[at + tiled..at + outputs];
            update_column32(column, &delta[tiled..], xi, bias, shift, min, max);
        }
    }
}

/// [`update_column`] on every column whose input is not zero; one dispatch a layer.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
#[allow(clippy::too_many_arguments)]
fn update_columns64(
    weights_t: &mut [i32],
    outputs: usize,
    delta: &[i64],
    x: &[i64],
    bias: i64,
    shift: u32,
    min: i64,
    max: i64,
) {
    for (column, &xi) in weights_t.chunks_exact_mut(outputs).zip(x) {
        if xi != 0 {
            update_column(column, delta, xi, bias, shift, min, max);
        }
    }
}

/// `z[j] += column[j] · x` in 32 bits: the caller bounds every partial sum below 2^31.
#[inline(always)]
pub fn axpy32(z: &mut [i32], column: &[i32], x: i32) {
    for (zj, &w) in z.iter_mut().zip(column) {
        *zj += w * x;
    }
}

/// `z[j] += part[j]`, then `part[j] = 0`.
#[inline(always)]
fn flush(z: &mut [i64], part: &mut [i32]) {
    for (zj, p) in z.iter_mut().zip(part) {
        *zj += i64::from(*p);
        *p = 0;
    }
}

/// Exact `W·x` from input-major weights of `weight_bits`, skipping zero inputs. Where
/// `block` columns' products (each below 2^(weight_bits − 1) · max |x|) sum below 2^31,
/// they are summed in 32 bits, a block at a time, then added to the 64-bit sums: twice
/// the lanes of the 64-bit products (MNIST pixels: blocks of 63 columns).
pub fn forward(weights_t: &[i32], outputs: usize, x: &[i32], weight_bits: u32) -> Vec<i64> {
    let mut z = vec![0i64; outputs];
    let x_max = x.iter().map(|v| i64::from(*v).abs()).max().unwrap_or(0);
    let product_max = (1i64 << weight_bits.saturating_sub(1).min(62)).saturating_mul(x_max);
    let block = match product_max {
        0 => 0,
        p => (i64::from(i32::MAX) / p) as usize,
    };
    if block < 2 {
        forward64(&mut z, weights_t, x);
    } else {
        forward_blocked(&mut z, weights_t, x, block);
    }
    z
}

/// `z += W·x` in 64 bits, skipping zero inputs; one dispatch a layer.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn forward64(z: &mut [i64], weights_t: &[i32], x: &[i32]) {
    debug_assert_eq!(weights_t.len(), x.len() * z.len(), "one column an input");
    for (column, &xi) in weights_t.chunks_exact(z.len()).zip(x) {
        if xi != 0 {
            axpy(z, column, i64::from(xi));
        }
    }
}

/// Outputs a tile: 256 partial sums in 32 bits fill half of AVX-512's registers, and a
/// column's tile is one contiguous KiB (on mnist-mlp 256 ran faster than 64 or 128).
const TILE: usize = 256;

/// The non-zero inputs, as (index, value): the only columns a pass touches. Branch-free
/// (every input is written, only the non-zero ones are kept): pixels' zeros fall in no
/// pattern a branch predictor learns.
#[inline(always)]
fn non_zero_inputs(x: impl ExactSizeIterator<Item = i32>) -> Vec<(u32, i32)> {
    let mut inputs = vec![(0u32, 0i32); x.len()];
    let mut kept = 0;
    for (i, v) in x.enumerate() {
        inputs[kept] = (i as u32, v);
        kept += usize::from(v != 0);
    }
    inputs.truncate(kept);
    inputs
}

/// `z += W·x` with the products of `block` non-zero inputs summed in 32 bits at a time:
/// outputs in tiles of [`TILE`] whose partial sums stay in registers across a block, then
/// the outputs left over.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn forward_blocked(z: &mut [i64], weights_t: &[i32], x: &[i32], block: usize) {
    debug_assert_eq!(weights_t.len(), x.len() * z.len(), "one column an input");
    let outputs = z.len();
    let inputs = non_zero_inputs(x.iter().copied());
    let tiled = outputs - outputs % TILE;
    for j0 in (0..tiled).step_by(TILE) {
        for chunk in inputs.chunks(block) {
            let mut part = [0i32; TILE];
            for &(i, xi) in chunk {
                let at = i as usize * outputs + j0;
                axpy32(&mut part, &weights_t[at..at + TILE], xi);
            }
            flush(&mut z[j0..j0 + TILE], &mut part);
        }
    }
    if tiled < outputs {
        let mut part = vec![0i32; outputs - tiled];
        for chunk in inputs.chunks(block) {
            for &(i, xi) in chunk {
                let at = i as usize * outputs;
                axpy32(&mut part, &weights_t[at + tiled..at + outputs], xi);
            }
            flush(&mut z[tiled..], &mut part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Rounding;
    use crate::rng::SplitMix64;
    use crate::spec::numeric::{saturate, shift_round, QFormat};

    /// The plain row-major loops the kernels replace: every product, every weight.
    fn reference_forward(w_row_major: &[i32], outputs: usize, x: &[i32]) -> Vec<i64> {
        (0..outputs)
            .map(|j| {
                (0..x.len())
                    .map(|i| w_row_major[j * x.len() + i] as i64 * x[i] as i64)
                    .sum()
            })
            .collect()
    }

    #[test]
    fn zero_skipping_kernels_match_the_plain_loops() {
        let mut rng = SplitMix64::new(9);
        let fmt = QFormat::new(16, 14);
        // Outputs below a tile, and whole tiles with and without outputs left over.
        for &(inputs, outputs) in &[
            (7usize, 3usize),
            (64, 32),
            (33, 17),
            (40, TILE + 44),
            (9, 2 * TILE),
        ] {
            for rounding in [Rounding::Floor, Rounding::HalfUp] {
                // Inputs with many zeros (like MNIST), weights near saturation sometimes.
                let x: Vec<i32> = (0..inputs)
                    .map(|_| {
                        if rng.below(3) == 0 {
                            0
                        } else {
                            rng.below(65536) as i32 - 32768
                        }
                    })
                    .collect();
                let row_major: Vec<i32> = (0..inputs * outputs)
                    .map(|_| rng.below(65536) as i32 - 32768)
                    .collect();
                let mut cols: Vec<i32> = (0..inputs * outputs)
                    .map(|t| row_major[(t % outputs) * inputs + t / outputs])
                    .collect();
                assert_eq!(
                    forward(&cols, outputs, &x, 16),
                    reference_forward(&row_major, outputs, &x)
                );
                // Pixel-sized inputs: the 32-bit blocks.
                let pixels: Vec<i32> = x.iter().map(|v| v.rem_euclid(256)).collect();
                assert_eq!(
                    forward(&cols, outputs, &pixels, 16),
                    reference_forward(&row_major, outputs, &pixels)
                );
                let delta: Vec<i64> = (0..outputs)
                    .map(|_| rng.below(65536) as i64 - 32768)
                    .collect();
                let shift = 13;
                let bias = if rounding == Rounding::HalfUp {
                    1 << (shift - 1)
                } else {
                    0
                };
                // All columns at once: in 32 bits (16-bit δ and x), and in 64 where δ is
                // four times wider than that allows.
                let x64: Vec<i64> = x.iter().map(|&v| i64::from(v)).collect();
                let (mut narrow, mut wide) = (cols.clone(), cols.clone());
                let wide_delta: Vec<i64> = delta.iter().map(|d| d * 4).collect();
                let (min, max) = (fmt.min(), fmt.max());
                update_columns(&mut narrow, outputs, &delta, &x64, bias, shift, min, max);
                update_columns(&mut wide, outputs, &wide_delta, &x64, bias, shift, min, max);
                let mut wide_want = cols.clone();
                for (column, &xi) in wide_want.chunks_exact_mut(outputs).zip(&x) {
                    if xi != 0 {
                        update_column(column, &wide_delta, xi as i64, bias, shift, min, max);
                    }
                }
                assert_eq!(wide, wide_want);
                for (column, &xi) in cols.chunks_exact_mut(outputs).zip(&x) {
                    if xi != 0 {
                        update_column(column, &delta, xi as i64, bias, shift, fmt.min(), fmt.max());
                    }
                }
                assert_eq!(narrow, cols);
                for j in 0..outputs {
                    for i in 0..inputs {
                        let step = shift_round(delta[j] * x[i] as i64, shift, rounding, 0);
                        let want = saturate(row_major[j * inputs + i] as i64 - step, fmt) as i32;
                        assert_eq!(cols[i * outputs + j], want, "W[{j}][{i}]");
                    }
                }
            }
        }
    }

    /// The 32-bit blocks at their limit: every weight and input at the most negative value
    /// of its format, so each block's sum is the closest to −2^31 the bound allows.
    #[test]
    fn blocked_forward_sums_are_exact_at_the_rails() {
        for (weight_bits, x) in [(18, -255), (18, 255), (16, -32768), (12, 4095)] {
            let inputs = 1000;
            let outputs = 3;
            let w = -(1i32 << (weight_bits - 1));
            let cols = vec![w; inputs * outputs];
            let xs = vec![x; inputs];
            let want = i64::from(w) * i64::from(x) * inputs as i64;
            assert_eq!(
                forward(&cols, outputs, &xs, weight_bits),
                vec![want; outputs],
                "{weight_bits} {x}"
            );
        }
    }

    /// The stochastic update in 32 bits gives the 64-bit kernel's bits wherever
    /// `narrow_update_fits` lets it run, and the check refuses values that could pass 2^31.
    #[test]
    fn the_32_bit_stochastic_update_matches_where_it_fits() {
        let mut rng = SplitMix64::new(5);
        let (outputs, shift) = (37, 13);
        let fmt = QFormat::new(18, 16);
        let (min, max) = (fmt.min(), fmt.max());
        let delta: Vec<i64> = (0..outputs)
            .map(|_| rng.below(65536) as i64 - 32768)
            .collect();
        let random: Vec<u32> = (0..outputs).map(|_| rng.below(1 << 30) as u32).collect();
        let column: Vec<i32> = (0..outputs)
            .map(|_| rng.below(1 << 18) as i32 - (1 << 17))
            .collect();
        for x in [-32768i64, -1, 1, 255, 32767] {
            let bias_max = (1u64 << shift) - 1;
            assert!(narrow_update_fits(&delta, &[x], bias_max, shift, min, max));
            let (mut want, mut got) = (column.clone(), column.clone());
            update_column_stochastic(&mut want, &delta, &random, x, shift, min, max);
            let d32: Vec<i32> = delta.iter().map(|&d| d as i32).collect();
            update_column_stochastic32(
                &mut got, &d32, &random, x as i32, shift, min as i32, max as i32,
            );
            assert_eq!(got, want, "x = {x}");
        }
        let wide: Vec<i64> = delta.iter().map(|d| d * 4).collect();
        assert!(!narrow_update_fits(
            &wide,
            &[32767],
            1 << 12,
            shift,
            min,
            max
        ));
    }

    /// Pixel inputs over more columns than a block holds: full blocks flushed, then the
    /// rest (16-bit weights and pixels: blocks of 257 columns; 18-bit: 64).
    #[test]
    fn blocked_forward_fills_and_flushes_its_blocks() {
        let mut rng = SplitMix64::new(3);
        let (inputs, outputs) = (700, 5);
        let x: Vec<i32> = (0..inputs)
            .map(|_| match rng.below(3) {
                0 => 0,
                _ => rng.below(256) as i32,
            })
            .collect();
        for weight_bits in [16u32, 18] {
            let half = 1i64 << (weight_bits - 1);
            let row_major: Vec<i32> = (0..inputs * outputs)
                .map(|_| (rng.below(2 * half as usize) as i64 - half) as i32)
                .collect();
            let cols: Vec<i32> = (0..inputs * outputs)
                .map(|t| row_major[(t % outputs) * inputs + t / outputs])
                .collect();
            assert_eq!(
                forward(&cols, outputs, &x, weight_bits),
                reference_forward(&row_major, outputs, &x),
                "{weight_bits}-bit weights"
            );
        }
    }

    /// The 32-bit update at the ends of what `narrow_update_fits` admits: no shift, and
    /// the largest shift with its half-up bias, on the extreme δ, x and weights.
    #[test]
    fn the_32_bit_update_matches_at_its_limits() {
        let fmt = QFormat::new(18, 16);
        let (min, max) = (fmt.min(), fmt.max());
        let delta = [32767i64, -32768, 1, -1, 0];
        let column = [max as i32, min as i32, 0, 5, -5];
        for (x, shift) in [(-32768i64, 0u32), (32767, 0), (-32768, 30), (32767, 17)] {
            let bias = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
            assert!(narrow_update_fits(
                &delta,
                &[x],
                bias as u64,
                shift,
                min,
                max
            ));
            let (mut want, mut got) = (column, column);
            update_column(&mut want, &delta, x, bias, shift, min, max);
            let d32 = delta.map(|d| d as i32);
            update_column32(
                &mut got,
                &d32,
                x as i32,
                bias as i32,
                shift,
                min as i32,
                max as i32,
            );
            assert_eq!(got, want, "x = {x}, shift {shift}");
        }
    }
}
