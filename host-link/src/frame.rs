//! Frames: the unit both ends send (layout and CRC in `docs/host-link.md`: sync, kind,
//! seq, length, payload, CRC-16), and the receiver that finds them in a byte stream.
//!
//! The receiver hunts for the sync byte, reads the header, refuses a length above its
//! limit, reads the payload and checks the CRC; after anything wrong it hunts again from
//! the byte after the frame it gave up on. A line idle in the middle of a frame (the
//! sender stopped, or bytes were lost) also ends the frame, so a lost byte cannot make the
//! receiver swallow the next frame as payload.

use crate::crc;

/// The first byte of every frame.
pub const SYNC: u8 = 0x5A;
/// Bytes around the payload: sync, kind, seq, two of length, two of CRC.
pub const OVERHEAD: usize = 7;

/// One frame: what it asks or answers (`kind`), which request it belongs to (`seq`), and
/// its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The frame's bytes on the wire.
    ///
    /// ```
    /// use host_link::frame::Frame;
    /// let bytes = Frame { kind: 0x01, seq: 7, payload: vec![] }.encode();
    /// assert_eq!(bytes[..5], [0x5A, 0x01, 7, 0, 0]);
    /// assert_eq!(bytes.len(), host_link::frame::OVERHEAD);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let len = u16::try_from(self.payload.len()).expect("a payload fits 16 bits of length");
        let mut bytes = Vec::with_capacity(self.payload.len() + OVERHEAD);
        bytes.extend([SYNC, self.kind, self.seq]);
        bytes.extend(len.to_le_bytes());
        bytes.extend(&self.payload);
        let crc = crc::crc16(&bytes[1..]);
        bytes.extend(crc.to_le_bytes());
        bytes
    }
}

/// What the receiver found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    Frame(Frame),
    /// A frame whose CRC did not match.
    BadCrc,
    /// A header announcing more payload than the receiver accepts.
    TooLong(u16),
    /// The line went idle in the middle of a frame.
    Truncated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Hunt,
    Kind,
    Seq,
    LenLo,
    LenHi,
    Payload,
    CrcLo,
    CrcHi,
}

/// Finds frames in a byte stream, a byte at a time.
#[derive(Clone, Debug)]
pub struct Receiver {
    max_payload: usize,
    state: State,
    crc: u16,
    frame: Frame,
    len: usize,
    crc_lo: u8,
}

impl Receiver {
    /// A receiver that refuses payloads longer than `max_payload` bytes.
    pub fn new(max_payload: usize) -> Receiver {
        Receiver {
            max_payload,
            state: State::Hunt,
            crc: crc::INIT,
            frame: Frame {
                kind: 0,
                seq: 0,
                payload: Vec::new(),
            },
            len: 0,
            crc_lo: 0,
        }
    }

    /// Takes the next byte; returns what it completes, if anything.
    pub fn push(&mut self, byte: u8) -> Option<Received> {
        if !matches!(self.state, State::Hunt | State::CrcLo | State::CrcHi) {
            self.crc = crc::update(self.crc, byte);
        }
        match self.state {
            State::Hunt => {
                if byte == SYNC {
                    self.crc = crc::INIT;
                    self.frame.payload.clear();
                    self.state = State::Kind;
                }
            }
            State::Kind => {
                self.frame.kind = byte;
                self.state = State::Seq;
            }
            State::Seq => {
                self.frame.seq = byte;
                self.state = State::LenLo;
            }
            State::LenLo => {
                self.len = usize::from(byte);
                self.state = State::LenHi;
            }
            State::LenHi => {
                self.len |= usize::from(byte) << 8;
                if self.len > self.max_payload {
                    self.state = State::Hunt;
                    return Some(Received::TooLong(self.len as u16));
                }
                self.state = if self.len == 0 {
                    State::CrcLo
                } else {
                    State::Payload
                };
            }
            State::Payload => {
                self.frame.payload.push(byte);
                if self.frame.payload.len() == self.len {
                    self.state = State::CrcLo;
                }
            }
            State::CrcLo => {
                self.crc_lo = byte;
                self.state = State::CrcHi;
            }
            State::CrcHi => {
                self.state = State::Hunt;
                let sent = u16::from_le_bytes([self.crc_lo, byte]);
                return Some(if sent == self.crc {
                    Received::Frame(self.frame.clone())
                } else {
                    Received::BadCrc
                });
            }
        }
        None
    }

    /// The line has been idle longer than a byte takes: a frame in progress is lost.
    pub fn line_idle(&mut self) -> Option<Received> {
        let truncated = self.state != State::Hunt;
        self.state = State::Hunt;
        truncated.then_some(Received::Truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive_all(rx: &mut Receiver, bytes: &[u8]) -> Vec<Received> {
        bytes.iter().filter_map(|&b| rx.push(b)).collect()
    }

    #[test]
    fn frames_come_back_whole_between_noise() {
        let a = Frame {
            kind: 2,
            seq: 1,
            payload: (0..=255).collect(),
        };
        let b = Frame {
            kind: 0x81,
            seq: 2,
            payload: vec![SYNC; 3],
        };
        let mut bytes = vec![0, 1, 2];
        bytes.extend(a.encode());
        bytes.extend([0x13, 0x37]);
        bytes.extend(b.encode());
        let mut rx = Receiver::new(1024);
        assert_eq!(
            receive_all(&mut rx, &bytes),
            [Received::Frame(a), Received::Frame(b)]
        );
    }

    #[test]
    fn a_flipped_bit_a_long_header_and_a_cut_frame_are_reported() {
        let f = Frame {
            kind: 3,
            seq: 9,
            payload: vec![1, 2, 3, 4],
        };
        let mut rx = Receiver::new(4);
        let mut bad = f.encode();
        bad[6] ^= 0x10;
        assert_eq!(receive_all(&mut rx, &bad), [Received::BadCrc]);
        let long = Frame {
            payload: vec![0; 5],
            ..f.clone()
        };
        assert_eq!(
            receive_all(&mut rx, &long.encode()[..5]),
            [Received::TooLong(5)]
        );
        assert_eq!(rx.line_idle(), None, "hunting already");
        assert_eq!(receive_all(&mut rx, &f.encode()[..8]), []);
        assert_eq!(rx.line_idle(), Some(Received::Truncated));
        assert_eq!(
            receive_all(&mut rx, &f.encode()),
            [Received::Frame(f)],
            "the next frame is whole"
        );
    }
}
