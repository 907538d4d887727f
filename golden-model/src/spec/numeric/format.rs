//! Q-formats: signed two's complement, `bits` total of which `frac` are fractional.

use serde::Serialize;

use super::width;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QFormat {
    pub bits: u32,
    pub frac: u32,
}

impl QFormat {
    pub const fn new(bits: u32, frac: u32) -> QFormat {
        QFormat { bits, frac }
    }
    pub fn min(self) -> i64 {
        width::min_signed(self.bits)
    }
    pub fn max(self) -> i64 {
        width::max_signed(self.bits)
    }
    pub fn to_f32(self, raw: i64) -> f32 {
        (raw as f64 / (1u64 << self.frac) as f64) as f32
    }
    /// Nearest representable value (ties to even), saturated: the rule `fixed` uses for
    /// float → fixed conversion.
    pub fn from_f64(self, x: f64) -> i64 {
        let scaled = (x * (1u64 << self.frac) as f64).round_ties_even();
        scaled.clamp(self.min() as f64, self.max() as f64) as i64
    }
    pub fn contains(self, raw: i64) -> bool {
        (self.min()..=self.max()).contains(&raw)
    }
    /// Two's-complement bits of `raw` in this width, for traces and hex files.
    pub fn to_bits(self, raw: i64) -> u64 {
        (raw as u64) & mask(self.bits)
    }
}

pub fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixed::types::extra::U8;
    use fixed::FixedI16;

    #[test]
    fn from_f64_matches_fixed_crate() {
        let q = QFormat::new(16, 8);
        for x in [
            -200.0,
            -1.3,
            -0.00390625,
            0.001953125,
            0.5,
            1.0 / 3.0,
            127.99,
            300.0,
        ] {
            let want = FixedI16::<U8>::saturating_from_num(x).to_bits() as i64;
            assert_eq!(q.from_f64(x), want, "x = {x}");
        }
    }

    #[test]
    fn bits() {
        let q = QFormat::new(12, 4);
        assert_eq!(q.to_bits(-1), 0xfff);
        assert_eq!(q.to_bits(5), 5);
        assert_eq!(q.min(), -2048);
        assert_eq!(q.to_f32(-24), -1.5);
    }
}
