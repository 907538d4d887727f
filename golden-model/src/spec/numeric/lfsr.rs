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
        self.0 = next(self.0);
        out
    }
}

/// The state after `s`, branch-free (so that loops over many states vectorise).
#[inline]
pub fn next(s: u32) -> u32 {
    (s >> 1) ^ ((s & 1).wrapping_neg() & TAPS)
}

/// `k` steps at once: the LFSR is linear over GF(2), so `k` steps are a 32 × 32 bit
/// matrix; kept as four tables of the images of every byte value, one per byte of the
/// state, so that a jump is four lookups.
#[derive(Clone, Debug)]
pub struct Jump {
    tables: Box<[[u32; 256]; 4]>,
}

impl Jump {
    pub fn new(k: usize) -> Jump {
        // The images of the 32 unit states.
        let mut columns = [0u32; 32];
        for (b, column) in columns.iter_mut().enumerate() {
            let mut s = 1u32 << b;
            for _ in 0..k {
                s = next(s);
            }
            *column = s;
        }
        let mut tables = Box::new([[0u32; 256]; 4]);
        for (t, table) in tables.iter_mut().enumerate() {
            for v in 1..256usize {
                // v's image: that of v without its lowest set bit, and that bit's.
                table[v] = table[v & (v - 1)] ^ columns[8 * t + v.trailing_zeros() as usize];
            }
        }
        Jump { tables }
    }

    /// The state `k` steps after `s`.
    #[inline]
    pub fn apply(&self, s: u32) -> u32 {
        let t = &self.tables;
        t[0][(s & 0xFF) as usize]
            ^ t[1][(s >> 8 & 0xFF) as usize]
            ^ t[2][(s >> 16 & 0xFF) as usize]
            ^ t[3][(s >> 24) as usize]
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
    fn a_jump_equals_as_many_steps() {
        for k in [0, 1, 2, 31, 32, 196, 1000] {
            let jump = Jump::new(k);
            for seed in [1u32, 0xDEAD_BEEF, 0x8000_0000, Lfsr::seed_state(7, 1, 3).0] {
                let mut l = Lfsr(seed);
                for _ in 0..k {
                    l.step();
                }
                assert_eq!(jump.apply(seed), l.0, "k {k} seed {seed:#x}");
            }
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
