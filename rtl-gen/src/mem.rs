//! Memory images (`$readmemh` hex) written from the golden model's own tables, so ROM and
//! RAM contents have one source: the model that the co-simulation checks against.

use golden_model::basis::Basis;
use golden_model::numeric::format::mask;
use golden_model::softmax::exp_table;

use crate::params::{DesignParams, LayerParams};

fn hex_line(value: i64, bits: u32) -> String {
    let digits = bits.div_ceil(4) as usize;
    format!("{:0digits$x}", (value as u64) & mask(bits))
}

fn image(values: impl Iterator<Item = (i64, u32)>) -> String {
    let mut out = String::new();
    for (v, bits) in values {
        out.push_str(&hex_line(v, bits));
        out.push('\n');
    }
    out
}

/// Initial weights of one lane: word `j·words + w` holds `W[j][w·lanes + lane]`.
pub fn weight_lane_image(layer: &LayerParams, weights: &[i32], lane: usize) -> String {
    image((0..layer.outputs).flat_map(|j| {
        (0..layer.words).map(move |w| {
            (
                weights[j * layer.inputs + w * layer.lanes + lane] as i64,
                layer.weight_bits,
            )
        })
    }))
}

/// Basis ROM: address t holds column t, class 0 in the least significant bits.
pub fn basis_image(layer: &LayerParams, basis: &Basis) -> String {
    let bits = layer.basis_bits;
    let mut out = String::new();
    for t in 0..basis.len {
        let mut word: u128 = 0;
        for c in (0..basis.classes).rev() {
            word = (word << bits) | ((basis.get(c, t) as u64) & mask(bits)) as u128;
        }
        let digits = (bits as usize * basis.classes).div_ceil(4);
        out.push_str(&format!("{word:0digits$x}\n"));
    }
    out
}

pub fn exp_image(p: &DesignParams) -> String {
    image(
        exp_table(p.logit_frac, 1 << p.exp_index_bits)
            .into_iter()
            .map(|v| (v as i64, p.exp_bits)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_twos_complement() {
        assert_eq!(hex_line(-1, 16), "ffff");
        assert_eq!(hex_line(5, 18), "00005");
        assert_eq!(hex_line(-2, 2), "2");
    }
}
