//! A UART line (8N1) decoded from its transitions, as a receiver samples it: each bit at
//! its middle.

/// The bytes on a line that changes to `level` at each `(cycle, level)` of `edges` (high
/// before the first), up to cycle `end`, each with the cycle its start bit begins. Panics
/// on a byte whose stop bit is low.
pub fn decode(edges: &[(u32, bool)], clocks_per_bit: u32, end: u32) -> Vec<(u32, u8)> {
    let level_at = |cycle: u32| {
        edges
            .iter()
            .take_while(|(c, _)| *c <= cycle)
            .last()
            .is_none_or(|(_, v)| *v)
    };
    let mut bytes = Vec::new();
    let mut t = 0;
    while t < end {
        if level_at(t) {
            // On to the next falling edge: a start bit.
            t = edges
                .iter()
                .find(|(c, v)| *c > t && !*v)
                .map_or(end, |(c, _)| *c);
            continue;
        }
        let mid = |bit: u32| t + bit * clocks_per_bit + clocks_per_bit / 2;
        let byte = (0..8).fold(0u8, |acc, i| acc | (u8::from(level_at(mid(i + 1))) << i));
        assert!(level_at(mid(9)), "stop bit of byte {}", bytes.len());
        bytes.push((t, byte));
        t = mid(9);
    }
    bytes
}
