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

    /// With a power-of-two lane count an input index's low bits are its lane and the bits
    /// above them its word: the address split the RTL makes. `None` for other counts.
    pub fn lane_bits(self) -> Option<u32> {
        self.lanes
            .is_power_of_two()
            .then(|| self.lanes.trailing_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn power_of_two_lanes_split_an_index_into_bit_fields() {
        for lanes in [1, 2, 4, 8, 16] {
            let map = LaneMap::new(lanes);
            let bits = map.lane_bits().expect("a power of two");
            for i in 0..1000 {
                assert_eq!(map.lane(i), i & ((1 << bits) - 1));
                assert_eq!(map.word(i), i >> bits);
            }
        }
        assert_eq!(LaneMap::new(6).lane_bits(), None);
    }
}
