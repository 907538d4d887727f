//! How a unit's MAC lanes share a row's inputs: input i goes to lane i % lanes, as word
//! i / lanes of that lane's part of the row. The model's stochastic-rounding LFSRs, the
//! memory images and the RTL's input buffers, weight memories and readback addresses all
//! follow this one map.

/// The assignment of a row's inputs to `lanes` MAC lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneMap {
    lanes: usize,
}

impl LaneMap {
    pub fn new(lanes: usize) -> LaneMap {
        assert!(lanes > 0, "a unit has at least one lane");
        LaneMap { lanes }
    }

    pub fn lanes(self) -> usize {
        self.lanes
    }

    /// The lane that input `i` goes to.
    pub fn lane(self, i: usize) -> usize {
        i % self.lanes
    }

    /// Input `i`'s word within its lane's part of the row.
    pub fn word(self, i: usize) -> usize {
        i / self.lanes
    }

    /// The input at `word` of `lane` (the inverse of [`LaneMap::lane`] and
    /// [`LaneMap::word`]).
    pub fn input(self, lane: usize, word: usize) -> usize {
        word * self.lanes + lane
    }

    /// Bits of the lane field in an address that packs a lane and a word side by side:
    /// `ceil(log2(lanes))`, 0 for one lane.
    pub fn lane_field_bits(self) -> u32 {
        usize::BITS - (self.lanes - 1).leading_zeros()
    }

    /// Flat index `i` (an input, or a weight's row-major index `row · inputs + input` of a
    /// row whose length the lanes divide) as a packed address: its word in the bits above
    /// [`LaneMap::lane_field_bits`], its lane below. With a power-of-two lane count this
    /// is `i` itself. With other counts the field is padded: lane values `lanes..2^bits`
    /// are holes that hold no weight (the RTL's readback returns some lane's word there).
    /// Either way the RTL slices the fields off an address and never divides.
    pub fn packed(self, i: usize) -> usize {
        (self.word(i) << self.lane_field_bits()) | self.lane(i)
    }

    /// The flat index at packed address `a` ([`LaneMap::packed`] inverted), `None` for a
    /// hole of the padded lane field.
    pub fn unpacked(self, a: usize) -> Option<usize> {
        let bits = self.lane_field_bits();
        let lane = a & ((1 << bits) - 1);
        (lane < self.lanes).then(|| self.input(lane, a >> bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacked_inverts_packed_and_finds_the_holes() {
        for lanes in [1, 3, 4, 98] {
            let map = LaneMap::new(lanes);
            for i in 0..4 * lanes {
                assert_eq!(map.unpacked(map.packed(i)), Some(i), "lanes {lanes}");
            }
            let holes = (0..4 << map.lane_field_bits())
                .filter(|&a| map.unpacked(a).is_none())
                .count();
            assert_eq!(holes, 4 * ((1 << map.lane_field_bits()) - lanes));
        }
    }

    #[test]
    fn lane_and_word_invert_input() {
        for lanes in 1..=12 {
            let map = LaneMap::new(lanes);
            for i in 0..200 {
                assert!(map.lane(i) < lanes);
                assert_eq!(map.input(map.lane(i), map.word(i)), i);
            }
        }
    }

    #[test]
    fn power_of_two_lanes_pack_an_index_as_itself() {
        for lanes in [1, 2, 4, 8, 16] {
            let map = LaneMap::new(lanes);
            assert_eq!(1 << map.lane_field_bits(), lanes);
            for i in 0..1000 {
                assert_eq!(map.packed(i), i);
            }
        }
    }

    #[test]
    fn other_lane_counts_pad_the_lane_field() {
        let map = LaneMap::new(98);
        assert_eq!(map.lane_field_bits(), 7);
        assert_eq!(map.packed(97), 97);
        assert_eq!(map.packed(98), 128);
        assert_eq!(map.packed(98 * 5 + 3), (5 << 7) | 3);
        assert_eq!(LaneMap::new(3).lane_field_bits(), 2);
        assert_eq!(LaneMap::new(5).lane_field_bits(), 3);
    }
}
