//! The LFSR that drives stochastic rounding, defined bit for bit.
//!
//! 32-bit Galois LFSR, polynomial x^32 + x^22 + x^2 + x + 1 (taps mask `0x8020_0003`),
//! shifting right: `next = (s >> 1) ^ (if s & 1 { 0x8020_0003 } else { 0 })`.
//! Verilog twin: `s <= {1'b0, s[31:1]} ^ (s[0] ? 32'h80200003 : 32'h0)`.
//! Each weight update consumes the low bits of the state *before* stepping.
//! Lane `l` of a layer with seed `s` starts at `seed_state(s, layer, l)`.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lfsr(pub u32);

pub const TAPS: u32 = 0x8020_0003;

impl Lfsr {
    /// A non-zero start state for one lane of one layer.
    pub fn seed_state(seed: u64, layer: usize, lane: usize) -> Lfsr {
        let mix = (seed ^ ((layer as u64) << 40) ^ ((lane as u64) << 20))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let s = (mix >> 32) as u32;
        Lfsr(if s == 0 { 1 } else { s })
    }

    pub fn step(&mut self) -> u32 {
        let out = self.0;
        self.0 = (self.0 >> 1) ^ if self.0 & 1 == 1 { TAPS } else { 0 };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_zero_and_deterministic() {
        let mut a = Lfsr::seed_state(1, 0, 0);
        let mut b = a;
        for _ in 0..10_000 {
            assert_ne!(a.0, 0);
            assert_eq!(a.step(), b.step());
        }
    }

    #[test]
    fn known_sequence() {
        let mut l = Lfsr(1);
        assert_eq!(l.step(), 1);
        assert_eq!(l.0, TAPS);
        l.step();
        assert_eq!(l.0, (TAPS >> 1) ^ TAPS);
    }
}
