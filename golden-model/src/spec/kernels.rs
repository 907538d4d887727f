//! The inner loops of the fixed-point model, compiled for several instruction sets and
//! picked at run time (`multiversion`). Integer arithmetic, so every version gives the same
//! bits; they exist only for speed.
//!
//! Weights are stored input-major (one contiguous column of `outputs` weights per input),
//! so an input that is zero skips its column in both the forward sum and the update: its
//! products are 0, and a rounded 0 step (floor or half-up) leaves the weight unchanged.

use multiversion::multiversion;

/// `z[j] += column[j] · x` for every output j.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
pub fn axpy(z: &mut [i64], column: &[i32], x: i64) {
    for (zj, &w) in z.iter_mut().zip(column) {
        *zj += w as i64 * x;
    }
}

/// `column[j] = clamp(column[j] − ((δ[j]·x + bias) >> shift), min, max)`: the weight
/// update with a deterministic rounding bias (0 for floor, 2^(shift−1) for half-up).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
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

/// Exact `W·x` from input-major weights, skipping zero inputs.
pub fn forward(weights_t: &[i32], outputs: usize, x: &[i32]) -> Vec<i64> {
    let mut z = vec![0i64; outputs];
    for (column, &xi) in weights_t.chunks_exact(outputs).zip(x) {
        if xi != 0 {
            axpy(&mut z, column, xi as i64);
        }
    }
    z
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
        for &(inputs, outputs) in &[(7usize, 3usize), (64, 32), (33, 17)] {
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
                    forward(&cols, outputs, &x),
                    reference_forward(&row_major, outputs, &x)
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
                for (column, &xi) in cols.chunks_exact_mut(outputs).zip(&x) {
                    if xi != 0 {
                        update_column(column, &delta, xi as i64, bias, shift, fmt.min(), fmt.max());
                    }
                }
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
}
