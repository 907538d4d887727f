//! Softmax cross-entropy error in fixed point, through a defined exp table.
//!
//! For logits `l` (Q·logit_frac) and label y:
//! ```text
//! d_c  = max(l) − l_c                      (≥ 0)
//! E_c  = EXP[min(d_c, len−1)]              EXP[k] = round(2^15 · exp(−k / 2^logit_frac)), u16
//! S    = Σ E_c                             (≥ 2^15: the maximum contributes EXP[0])
//! p_c  = ⌊E_c · 2^prob_frac / S⌋           (unsigned restoring division in the RTL)
//! e_c  = p_c − [c = y] · 2^prob_frac       (Q·prob_frac, the error p − y)
//! ```
//! The table is data: rtl-gen writes this same vector into the exp ROM.

use crate::config::EXP_FRAC;

/// The exp table: `len` entries of `round(2^15 · exp(−k / 2^logit_frac))`.
pub fn exp_table(logit_frac: u32, len: usize) -> Vec<u32> {
    let step = 1.0 / (1u64 << logit_frac) as f64;
    (0..len)
        .map(|k| ((1u64 << EXP_FRAC) as f64 * (-(k as f64) * step).exp()).round() as u32)
        .collect()
}

/// Index of the first maximum (the hardware scans classes in order and keeps a strict `>`).
pub fn argmax(values: &[i64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Fixed-point softmax error `p − onehot(label)`, Q·prob_frac.
pub fn softmax_error(logits: &[i64], label: usize, table: &[u32], prob_frac: u32) -> Vec<i64> {
    let max = logits[argmax(logits)];
    let last = (table.len() - 1) as i64;
    let e: Vec<u64> = logits
        .iter()
        .map(|&l| table[(max - l).min(last) as usize] as u64)
        .collect();
    let sum: u64 = e.iter().sum();
    e.iter()
        .enumerate()
        .map(|(c, &ec)| {
            let p = ((ec << prob_frac) / sum) as i64;
            if c == label {
                p - (1i64 << prob_frac)
            } else {
                p
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ends() {
        let t = exp_table(4, 256);
        assert_eq!(t[0], 32768);
        assert_eq!(t[16], (32768.0 * (-1.0f64).exp()).round() as u32);
        assert_eq!(t[255], 0);
        assert!(t.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn uniform_logits_give_uniform_probabilities() {
        let t = exp_table(4, 256);
        let e = softmax_error(&[5, 5, 5, 5], 2, &t, 14);
        assert_eq!(e, vec![4096, 4096, 4096 - 16384, 4096]);
    }

    #[test]
    fn confident_correct_class_has_small_error() {
        let t = exp_table(4, 256);
        let e = softmax_error(&[1000, 0, 0], 0, &t, 14);
        assert_eq!(e, vec![0, 0, 0]);
        let e = softmax_error(&[0, 1000, 0], 0, &t, 14);
        assert_eq!(e, vec![-16384, 16384, 0]);
    }

    #[test]
    fn tracks_float_softmax() {
        let t = exp_table(4, 256);
        let logits = [3i64, -20, 17, 0, 8];
        let e = softmax_error(&logits, 1, &t, 14);
        let z: Vec<f64> = logits.iter().map(|&l| l as f64 / 16.0).collect();
        let m = z.iter().cloned().fold(f64::MIN, f64::max);
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        for (c, &ec) in e.iter().enumerate() {
            let want = (z[c] - m).exp() / s - if c == 1 { 1.0 } else { 0.0 };
            assert!((ec as f64 / 16384.0 - want).abs() < 1e-3, "class {c}");
        }
    }
}
