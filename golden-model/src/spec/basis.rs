//! The fixed periodic basis, generated as the official code does and then kept as a table.
//!
//! `B[c, t] = sin(f_c · t)` with `f_c = linspace(50, 512, C)` in f32 (radians per index,
//! no 2π/N scaling) and t = 0…N−1; the square wave is `sign(B)` with entries −1/0/+1.
//! Column 0 is all zeros. The sign pattern depends on the exact f32 value of `f_c · t`
//! (arguments reach ~1e6 rad), so the table is computed once here from the f32 product,
//! and the same [`Basis`] object is what rtl-gen writes into the basis ROM: the RTL never
//! recomputes it.

use crate::config::Waveform;
use multiversion::multiversion;

/// `torch.linspace(start, end, steps)` in f32, as its scalar CPU path computes it:
/// the first half counts up from `start`, the second half down from `end`.
pub fn linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            if i < half {
                start + step * i as f32
            } else {
                end - step * (steps - 1 - i) as f32
            }
        })
        .collect()
}

/// A C × N basis as raw integers: ±1/0 for square, round(sin · 2^frac) for sine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basis {
    pub classes: usize,
    pub len: usize,
    /// Bits per entry in the ROM (2 for square).
    pub bits: u32,
    pub frac: u32,
    /// Row-major `classes × len`.
    pub entries: Vec<i64>,
}

impl Basis {
    pub fn new(waveform: Waveform, classes: usize, len: usize, sine_bits: u32) -> Basis {
        let freqs = linspace_f32(50.0, 512.0, classes);
        let (bits, frac) = match waveform {
            Waveform::Square => (2, 0),
            Waveform::Sine => (sine_bits, sine_bits - 2),
        };
        let mut entries = Vec::with_capacity(classes * len);
        for &f in &freqs {
            for t in 0..len {
                // The product is rounded to f32 first, exactly as torch's `frequencies * t`.
                let arg = f * t as f32;
                let s = (arg as f64).sin();
                entries.push(match waveform {
                    Waveform::Square => {
                        if s > 0.0 {
                            1
                        } else if s < 0.0 {
                            -1
                        } else {
                            0
                        }
                    }
                    Waveform::Sine => (s * (1u64 << frac) as f64).round_ties_even() as i64,
                });
            }
        }
        Basis {
            classes,
            len,
            bits,
            frac,
            entries,
        }
    }

    pub fn get(&self, class: usize, t: usize) -> i64 {
        self.entries[class * self.len + t]
    }

    /// The class scores `s_c = Σ_t B[c][t]·h[t]`, a row at a time.
    pub fn project(&self, h: &[i64]) -> Vec<i64> {
        project_rows(&self.entries, self.len, h)
    }

    /// `g[t] = Σ_c B[c][t]·e[c]` for every t, a row at a time.
    pub fn back_project(&self, e: &[i64]) -> Vec<i64> {
        let mut g = vec![0i64; self.len];
        back_project_rows(&mut g, &self.entries, e);
        g
    }

    /// Column t (one entry per class): what the ROM returns at address t.
    pub fn column(&self, t: usize) -> impl Iterator<Item = i64> + '_ {
        (0..self.classes).map(move |c| self.get(c, t))
    }

    pub fn to_f32(&self) -> Vec<f32> {
        let scale = (1u64 << self.frac) as f32;
        self.entries.iter().map(|&e| e as f32 / scale).collect()
    }
}

/// [`Basis::project`]'s loop, compiled for the vector units at hand.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn project_rows(entries: &[i64], len: usize, h: &[i64]) -> Vec<i64> {
    entries
        .chunks_exact(len)
        .map(|row| row.iter().zip(h).map(|(&b, &v)| b * v).sum())
        .collect()
}

/// [`Basis::back_project`]'s loop, compiled for the vector units at hand.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512dq+avx512vl",
    "x86_64+avx2+fma",
    "aarch64+neon"
))]
fn back_project_rows(g: &mut [i64], entries: &[i64], e: &[i64]) {
    for (row, &ec) in entries.chunks_exact(g.len()).zip(e) {
        for (gt, &b) in g.iter_mut().zip(row) {
            *gt += b * ec;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First 32 columns of the C = 10 square basis, from the official code (lls-paper.md §1.2).
    const PUBLISHED: [&str; 10] = [
        "0-----------++++++++++++--------",
        "0+++----++++----++++----++++----",
        "0+--++-++--+--++-++--+--++-++--+",
        "0+-+-+-+-+-+-+-++-+-+-+-+-+-+-++",
        "0-+--+-++-++-+--+-++-++-+--+-++-",
        "0--+++--+++--+++---++---++---+++",
        "0----------------------+++++++++",
        "0+++---++++---+++----+++----+++-",
        "0+--+--+--++-++-++-++--+--+--+--",
        "0+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+",
    ];

    #[test]
    fn square_basis_matches_published_columns() {
        let b = Basis::new(Waveform::Square, 10, 32, 8);
        for (c, row) in PUBLISHED.iter().enumerate() {
            let got: String = (0..32)
                .map(|t| match b.get(c, t) {
                    1 => '+',
                    -1 => '-',
                    _ => '0',
                })
                .collect();
            assert_eq!(&got, row, "class {c}");
        }
    }

    #[test]
    fn linspace_matches_published_f32_values() {
        let f = linspace_f32(50.0, 512.0, 10);
        assert_eq!(f[1], 101.333_33_f32);
        assert_eq!(f[5], 306.666_7_f32);
        assert_eq!(f[9], 512.0);
    }

    #[test]
    fn gram_diagonal_is_n_minus_one() {
        let n = 512;
        let b = Basis::new(Waveform::Square, 10, n, 8);
        for c in 0..10 {
            let energy: i64 = (0..n).map(|t| b.get(c, t) * b.get(c, t)).sum();
            assert_eq!(energy, n as i64 - 1);
        }
        let max_off = (0..10)
            .flat_map(|a| (0..10).filter(move |&c| c != a).map(move |c| (a, c)))
            .map(|(a, c)| (0..n).map(|t| b.get(a, t) * b.get(c, t)).sum::<i64>().abs())
            .max()
            .unwrap();
        assert_eq!(
            max_off, 23,
            "lls-paper.md §1.2: max |off-diagonal| = 23 at N = 512"
        );
    }

    #[test]
    fn sine_entries_fit_their_bits() {
        let b = Basis::new(Waveform::Sine, 10, 64, 8);
        assert!(b.entries.iter().all(|&e| (-64..=64).contains(&e)));
        assert_eq!(b.get(3, 0), 0);
    }

    #[test]
    fn projections_by_rows_equal_the_entry_sums() {
        let b = Basis::new(Waveform::Sine, 10, 37, 8);
        let h: Vec<i64> = (0..37).map(|t| t * 91 % 53 - 26).collect();
        let e: Vec<i64> = (0..10).map(|c| c * 7 - 30).collect();
        let scores: Vec<i64> = (0..10)
            .map(|c| (0..37).map(|t| b.get(c, t) * h[t]).sum())
            .collect();
        let back: Vec<i64> = (0..37)
            .map(|t| (0..10).map(|c| b.get(c, t) * e[c]).sum())
            .collect();
        assert_eq!(b.project(&h), scores);
        assert_eq!(b.back_project(&e), back);
    }
}
