//! The narrowing policies: the only place where values lose bits.
//!
//! | policy | model | Verilog twin (`rtl-gen`'s `blocks::narrowing`, `x` of `w` bits) |
//! | --- | --- | --- |
//! | `Floor` | `x >> s` | `x[w-1:s]` |
//! | `HalfUp` | `(x + 2^(s−1)) >> s` | `x_rnd = x + (1 << (s-1))` in `w+1` bits, then `x_rnd[w:s]` |
//! | `Stochastic` | `(x + (r & (2^s − 1))) >> s` | `x_rnd = x + {0, lfsrN[s-1:0]}` in `w+1` bits, then `x_rnd[w:s]` |
//! | saturate | clamp to `[min, max]` of the format | the bits above the kept sign equal the sign, or `MIN` / `MAX` |
//!
//! The shift is applied to the exact (wide) value; the rounding add is done in that wide
//! width, which callers size with one extra bit (`numeric::width`).

use crate::config::Rounding;

use super::QFormat;

/// Arithmetic right shift with rounding. `random` is only read by `Stochastic`.
pub fn shift_round(x: i64, shift: u32, rounding: Rounding, random: u64) -> i64 {
    if shift == 0 {
        return x;
    }
    let bias = match rounding {
        Rounding::Floor => 0,
        Rounding::HalfUp => 1i64 << (shift - 1),
        Rounding::Stochastic => (random & ((1u64 << shift) - 1)) as i64,
    };
    (x + bias) >> shift
}

/// Clamp to the format's range.
pub fn saturate(x: i64, fmt: QFormat) -> i64 {
    x.clamp(fmt.min(), fmt.max())
}

/// Shift with rounding, then saturate: the standard narrowing of the datapath.
pub fn narrow(x: i64, shift: u32, rounding: Rounding, fmt: QFormat) -> i64 {
    saturate(shift_round(x, shift, rounding, 0), fmt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixed::types::extra::{U4, U8};
    use fixed::{FixedI16, FixedI32, FixedI8};

    /// Plain-integer reference: floor division by 2^s, written without shifts.
    fn floor_div(x: i64, s: u32) -> i64 {
        x.div_euclid(1i64 << s)
    }

    #[test]
    fn floor_matches_div_euclid_exhaustive_16bit() {
        for x in i16::MIN..=i16::MAX {
            for s in 0..10 {
                assert_eq!(
                    shift_round(x as i64, s, Rounding::Floor, 0),
                    floor_div(x as i64, s)
                );
            }
        }
    }

    #[test]
    fn half_up_matches_reference_exhaustive_16bit() {
        for x in i16::MIN..=i16::MAX {
            for s in 1..10 {
                let x = x as i64;
                let q = floor_div(x, s);
                let rem = x - q * (1 << s);
                let want = if 2 * rem >= (1 << s) { q + 1 } else { q };
                assert_eq!(shift_round(x, s, Rounding::HalfUp, 0), want, "x={x} s={s}");
            }
        }
    }

    #[test]
    fn stochastic_is_floor_plus_carry() {
        for x in -300i64..300 {
            for r in 0..16u64 {
                let got = shift_round(x, 4, Rounding::Stochastic, r | 0xff0);
                let carry = i64::from((x.rem_euclid(16) as u64 + r) >= 16);
                assert_eq!(got, floor_div(x, 4) + carry);
            }
        }
    }

    #[test]
    fn narrow_of_all_8x8_products_matches_fixed_crate() {
        // I4F4 × I4F4 → exact I8F8 product; narrow back to I4F4 by floor + saturate,
        // which is what `fixed` does for saturating_mul (floor, then clamp).
        let fmt = QFormat::new(8, 4);
        for a in i8::MIN..=i8::MAX {
            for b in i8::MIN..=i8::MAX {
                let (fa, fb) = (FixedI8::<U4>::from_bits(a), FixedI8::<U4>::from_bits(b));
                let want = fa.saturating_mul(fb).to_bits() as i64;
                let got = narrow(a as i64 * b as i64, 4, Rounding::Floor, fmt);
                assert_eq!(got, want, "{a} * {b}");
            }
        }
    }

    #[test]
    fn narrow_matches_fixed_crate_on_q8_8() {
        // Wide Q.16 sums narrowed to Q8.8 (16 bit) = fixed's saturating_to_num after floor.
        let fmt = QFormat::new(16, 8);
        for x in (-(1i64 << 26)..(1i64 << 26)).step_by(9973) {
            let wide = FixedI32::<fixed::types::extra::U16>::from_bits(x as i32);
            let want = FixedI16::<U8>::saturating_from_num(wide).to_bits() as i64;
            assert_eq!(narrow(x, 8, Rounding::Floor, fmt), want, "x={x}");
        }
    }

    #[test]
    fn saturation_bounds() {
        let f = QFormat::new(8, 0);
        assert_eq!(saturate(1000, f), 127);
        assert_eq!(saturate(-1000, f), -128);
        assert_eq!(saturate(-128, f), -128);
    }
}
