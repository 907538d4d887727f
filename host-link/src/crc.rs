//! CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final
//! XOR): a byte at a time, most significant bit first, as the board's receiver computes it
//! with eight shift-and-XOR steps in one cycle.

/// The register before the first byte.
pub const INIT: u16 = 0xFFFF;
/// The generator polynomial (x^16 + x^12 + x^5 + 1, its top bit implied).
pub const POLY: u16 = 0x1021;

/// `crc` after `byte`.
pub fn update(crc: u16, byte: u8) -> u16 {
    let mut crc = crc ^ (u16::from(byte) << 8);
    for _ in 0..8 {
        crc = if crc & 0x8000 != 0 {
            (crc << 1) ^ POLY
        } else {
            crc << 1
        };
    }
    crc
}

/// The CRC of `bytes` from [`INIT`].
///
/// ```
/// // The catalogue check value of CRC-16/CCITT-FALSE.
/// assert_eq!(host_link::crc::crc16(b"123456789"), 0x29B1);
/// ```
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(INIT, |crc, &b| update(crc, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_bit_error_changes_the_crc() {
        let frame: Vec<u8> = (0..200u8).collect();
        let good = crc16(&frame);
        for byte in 0..frame.len() {
            for bit in 0..8 {
                let mut bad = frame.clone();
                bad[byte] ^= 1 << bit;
                assert_ne!(crc16(&bad), good, "byte {byte} bit {bit}");
            }
        }
    }
}
