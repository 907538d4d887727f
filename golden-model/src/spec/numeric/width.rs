//! Bit growth, computed in one place for the model (to check no sum overflows) and for
//! rtl-gen (to declare registers).

/// ⌈log2 n⌉ for n ≥ 1 (0 for n = 1).
pub fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// Signed a-bit × signed b-bit → exact product width.
pub fn product_bits(a: u32, b: u32) -> u32 {
    a + b
}

/// Exact sum of `fan_in` signed terms of `term_bits` each.
pub fn acc_bits(term_bits: u32, fan_in: usize) -> u32 {
    term_bits + ceil_log2(fan_in)
}

pub fn max_signed(bits: u32) -> i64 {
    (1i64 << (bits - 1)) - 1
}

pub fn min_signed(bits: u32) -> i64 {
    -(1i64 << (bits - 1))
}

/// Bits of a signed value known to lie in `lo..=hi`.
pub fn signed_bits_for(lo: i64, hi: i64) -> u32 {
    (2..=63)
        .find(|&b| lo >= min_signed(b) && hi <= max_signed(b))
        .unwrap_or(64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(784), 10);
        assert_eq!(ceil_log2(1024), 10);
        assert_eq!(acc_bits(product_bits(16, 16), 784), 42);
        assert_eq!(signed_bits_for(-16384, 16384), 16);
        assert_eq!(signed_bits_for(-1, 1), 2);
    }

    #[test]
    fn acc_bits_is_tight() {
        // The most negative product summed fan_in times needs exactly acc_bits.
        for (a, b, n) in [(8u32, 8u32, 3usize), (4, 4, 16), (16, 16, 784)] {
            let worst = min_signed(a) * min_signed(b) * n as i64;
            let bits = acc_bits(product_bits(a, b), n);
            assert!(worst <= max_signed(bits), "{a}x{b}x{n}");
        }
    }
}
