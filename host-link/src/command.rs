//! What the frames carry: the host's requests and the board's answers, each with its kind
//! byte and payload layout (the table in `docs/host-link.md`). An answer's kind is its
//! request's with the top bit set; [`Response::Refused`] answers a request the board
//! cannot carry out. Every multi-byte field is little-endian.

use thiserror::Error;

/// The protocol revision [`Response::Hello`] reports.
pub const PROTOCOL: u8 = 2;
/// The kind bit that marks a response.
pub const RESPONSE: u8 = 0x80;
/// The kind of [`Response::Refused`].
pub const REFUSED: u8 = 0xFF;
/// The most words one read asks for; a board refuses more (`Refusal::BadLength`).
pub const MAX_READ_WORDS: u16 = 256;
/// The longest answer payload: a read of [`MAX_READ_WORDS`] words.
pub const MAX_ANSWER_PAYLOAD: usize = 4 * MAX_READ_WORDS as usize;
/// A write's payload besides its words: the unit and the address.
pub const WRITE_HEADER: usize = 5;

/// The longest request payload a board of `inputs` inputs takes, whose writes must carry
/// up to `write_words` words at once: a sample (its label and pixels), a read's 7 bytes,
/// or a write of `write_words` words (one at least).
pub fn max_request_payload(inputs: usize, write_words: usize) -> usize {
    (inputs + 1).max(WRITE_HEADER + 4 * write_words.max(1))
}

/// The most words one write carries to a board that takes payloads of `max_payload` bytes.
pub fn max_write_words(max_payload: usize) -> usize {
    max_payload.saturating_sub(WRITE_HEADER) / 4
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Hello,
    Train {
        label: u8,
        pixels: Vec<u8>,
    },
    Infer {
        label: u8,
        pixels: Vec<u8>,
    },
    Read {
        unit: u8,
        addr: u32,
        count: u16,
    },
    /// Weights into readback entries `addr ..` of `unit`, one word each (a weight's
    /// two's complement, its low `weight_bits` bits taken).
    Write {
        unit: u8,
        addr: u32,
        words: Vec<u32>,
    },
    Reset,
    Status,
}

/// Why the board refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[repr(u8)]
pub enum Refusal {
    #[error("the board does not know this kind of request")]
    UnknownKind = 1,
    #[error("the payload's length does not fit the request")]
    BadLength = 2,
    #[error("no such unit or address on the board")]
    BadAddress = 3,
    #[error("the design on the board does not learn: send infer")]
    NotLearning = 4,
    #[error("the design on the board learns from every sample: send train")]
    Learns = 5,
}

impl Refusal {
    fn from_code(code: u8) -> Option<Refusal> {
        [
            Refusal::UnknownKind,
            Refusal::BadLength,
            Refusal::BadAddress,
            Refusal::NotLearning,
            Refusal::Learns,
        ]
        .into_iter()
        .find(|r| *r as u8 == code)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Hello(Identity),
    Prediction { class: u8, label: u8, samples: u32 },
    Words(Vec<u32>),
    Written,
    Reset,
    Status(Status),
    Refused { kind: u8, reason: Refusal },
}

/// What a board says it is: [`crate::Host::open`] refuses one whose protocol or config
/// hash is not the host's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub protocol: u8,
    /// The first 8 bytes of the SHA-256 of the config text the design was generated from.
    pub config_hash: [u8; 8],
    pub inputs: u16,
    pub classes: u8,
    pub units: u8,
    pub learns: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub idle: bool,
    pub frame_error: bool,
    pub samples: u32,
    pub crc_errors: u32,
}

/// A payload that does not parse as the kind it came with.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("kind {kind:#04x}: {problem}")]
pub struct Malformed {
    pub kind: u8,
    pub problem: String,
}

/// The requests' kind bytes.
pub mod kind {
    pub const HELLO: u8 = 0x01;
    pub const TRAIN: u8 = 0x02;
    pub const INFER: u8 = 0x03;
    pub const READ: u8 = 0x04;
    pub const RESET: u8 = 0x05;
    pub const STATUS: u8 = 0x06;
    pub const WRITE: u8 = 0x07;
}

impl Request {
    pub fn kind(&self) -> u8 {
        match self {
            Request::Hello => kind::HELLO,
            Request::Train { .. } => kind::TRAIN,
            Request::Infer { .. } => kind::INFER,
            Request::Read { .. } => kind::READ,
            Request::Write { .. } => kind::WRITE,
            Request::Reset => kind::RESET,
            Request::Status => kind::STATUS,
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        match self {
            Request::Hello | Request::Reset | Request::Status => Vec::new(),
            Request::Train { label, pixels } | Request::Infer { label, pixels } => {
                let mut p = vec![*label];
                p.extend(pixels);
                p
            }
            Request::Read { unit, addr, count } => {
                let mut p = vec![*unit];
                p.extend(addr.to_le_bytes());
                p.extend(count.to_le_bytes());
                p
            }
            Request::Write { unit, addr, words } => {
                let mut p = vec![*unit];
                p.extend(addr.to_le_bytes());
                p.extend(words.iter().flat_map(|w| w.to_le_bytes()));
                p
            }
        }
    }

    /// The request a frame of `kind` with `payload` carries; `Err` with the refusal the
    /// board answers otherwise.
    pub fn parse(kind: u8, payload: &[u8]) -> Result<Request, Refusal> {
        let exact = |n: usize| {
            if payload.len() == n {
                Ok(())
            } else {
                Err(Refusal::BadLength)
            }
        };
        match kind {
            kind::HELLO => exact(0).map(|_| Request::Hello),
            kind::RESET => exact(0).map(|_| Request::Reset),
            kind::STATUS => exact(0).map(|_| Request::Status),
            kind::TRAIN | kind::INFER => {
                let (&label, pixels) = payload.split_first().ok_or(Refusal::BadLength)?;
                let pixels = pixels.to_vec();
                Ok(match kind {
                    kind::TRAIN => Request::Train { label, pixels },
                    _ => Request::Infer { label, pixels },
                })
            }
            kind::READ => {
                exact(7)?;
                let count = u16::from_le_bytes([payload[5], payload[6]]);
                if count > MAX_READ_WORDS {
                    return Err(Refusal::BadLength);
                }
                Ok(Request::Read {
                    unit: payload[0],
                    addr: u32::from_le_bytes(payload[1..5].try_into().expect("4 bytes")),
                    count,
                })
            }
            kind::WRITE => {
                let words = &payload.get(WRITE_HEADER..).ok_or(Refusal::BadLength)?;
                if words.is_empty() || words.len() % 4 != 0 {
                    return Err(Refusal::BadLength);
                }
                Ok(Request::Write {
                    unit: payload[0],
                    addr: u32::from_le_bytes(payload[1..5].try_into().expect("4 bytes")),
                    words: words
                        .chunks_exact(4)
                        .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")))
                        .collect(),
                })
            }
            _ => Err(Refusal::UnknownKind),
        }
    }
}

impl Response {
    /// The response's kind: its request's with [`RESPONSE`] set, or [`REFUSED`].
    pub fn kind(&self, request_kind: u8) -> u8 {
        match self {
            Response::Refused { .. } => REFUSED,
            _ => request_kind | RESPONSE,
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        match self {
            Response::Hello(id) => {
                let mut p = vec![id.protocol];
                p.extend(id.config_hash);
                p.extend(id.inputs.to_le_bytes());
                p.extend([id.classes, id.units, u8::from(id.learns)]);
                p
            }
            Response::Prediction {
                class,
                label,
                samples,
            } => {
                let mut p = vec![*class, *label];
                p.extend(samples.to_le_bytes());
                p
            }
            Response::Words(words) => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
            Response::Written | Response::Reset => Vec::new(),
            Response::Status(s) => {
                let mut p = vec![u8::from(s.idle), u8::from(s.frame_error)];
                p.extend(s.samples.to_le_bytes());
                p.extend(s.crc_errors.to_le_bytes());
                p
            }
            Response::Refused { kind, reason } => vec![*kind, *reason as u8],
        }
    }

    /// Whether a frame of `kind` whose payload starts with `first` answers a request of
    /// `request_kind` (its answer, or a refusal of that kind).
    pub fn answers(request_kind: u8, kind: u8, first: Option<u8>) -> bool {
        kind == request_kind | RESPONSE || (kind == REFUSED && first == Some(request_kind))
    }

    /// The response to a request of `request_kind` that a frame of `kind` carries.
    pub fn parse(request_kind: u8, kind: u8, payload: &[u8]) -> Result<Response, Malformed> {
        let bad = |problem: &str| Malformed {
            kind,
            problem: problem.to_string(),
        };
        let exact = |n: usize| {
            if payload.len() == n {
                Ok(())
            } else {
                Err(bad(&format!(
                    "{} payload bytes, expected {n}",
                    payload.len()
                )))
            }
        };
        let u32_at = |i: usize| u32::from_le_bytes(payload[i..i + 4].try_into().expect("4 bytes"));
        if kind == REFUSED {
            exact(2)?;
            let reason = Refusal::from_code(payload[1]).ok_or_else(|| bad("unknown refusal"))?;
            return Ok(Response::Refused {
                kind: payload[0],
                reason,
            });
        }
        if kind != request_kind | RESPONSE {
            return Err(bad(&format!(
                "answers kind {:#04x}, not the request's {request_kind:#04x}",
                kind & !RESPONSE
            )));
        }
        match request_kind {
            kind::HELLO => {
                exact(14)?;
                Ok(Response::Hello(Identity {
                    protocol: payload[0],
                    config_hash: payload[1..9].try_into().expect("8 bytes"),
                    inputs: u16::from_le_bytes([payload[9], payload[10]]),
                    classes: payload[11],
                    units: payload[12],
                    learns: payload[13] != 0,
                }))
            }
            kind::TRAIN | kind::INFER => {
                exact(6)?;
                Ok(Response::Prediction {
                    class: payload[0],
                    label: payload[1],
                    samples: u32_at(2),
                })
            }
            kind::READ => {
                if payload.len() % 4 != 0 {
                    return Err(bad("a word is 4 bytes"));
                }
                Ok(Response::Words(
                    (0..payload.len()).step_by(4).map(u32_at).collect(),
                ))
            }
            kind::WRITE => exact(0).map(|_| Response::Written),
            kind::RESET => exact(0).map(|_| Response::Reset),
            kind::STATUS => {
                exact(10)?;
                Ok(Response::Status(Status {
                    idle: payload[0] != 0,
                    frame_error: payload[1] != 0,
                    samples: u32_at(2),
                    crc_errors: u32_at(6),
                }))
            }
            _ => Err(bad("no such request kind")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_and_response_parses_back() {
        let requests = [
            Request::Hello,
            Request::Train {
                label: 3,
                pixels: vec![0, 255, 17],
            },
            Request::Infer {
                label: 9,
                pixels: vec![1; 64],
            },
            Request::Read {
                unit: 1,
                addr: 0x0001_2345,
                count: MAX_READ_WORDS,
            },
            Request::Write {
                unit: 0,
                addr: 0x80,
                words: vec![0xFFFF_FF80, 0x7F],
            },
            Request::Reset,
            Request::Status,
        ];
        for r in &requests {
            assert_eq!(Request::parse(r.kind(), &r.payload()).as_ref(), Ok(r));
        }
        let answers = [
            (
                kind::HELLO,
                Response::Hello(Identity {
                    protocol: PROTOCOL,
                    config_hash: [1, 2, 3, 4, 5, 6, 7, 8],
                    inputs: 784,
                    classes: 10,
                    units: 2,
                    learns: true,
                }),
            ),
            (
                kind::TRAIN,
                Response::Prediction {
                    class: 7,
                    label: 7,
                    samples: 60_000,
                },
            ),
            (kind::READ, Response::Words(vec![0xFFFF_FFFF, 5])),
            (kind::WRITE, Response::Written),
            (kind::RESET, Response::Reset),
            (
                kind::STATUS,
                Response::Status(Status {
                    idle: true,
                    frame_error: false,
                    samples: 12,
                    crc_errors: 3,
                }),
            ),
            (
                kind::READ,
                Response::Refused {
                    kind: kind::READ,
                    reason: Refusal::BadAddress,
                },
            ),
        ];
        for (req, a) in &answers {
            assert_eq!(
                Response::parse(*req, a.kind(*req), &a.payload()).as_ref(),
                Ok(a)
            );
        }
    }

    #[test]
    fn wrong_lengths_and_kinds_are_refused_or_malformed() {
        assert_eq!(Request::parse(kind::READ, &[0; 6]), Err(Refusal::BadLength));
        let too_many = Request::Read {
            unit: 0,
            addr: 0,
            count: MAX_READ_WORDS + 1,
        };
        assert_eq!(
            Request::parse(kind::READ, &too_many.payload()),
            Err(Refusal::BadLength)
        );
        assert_eq!(Request::parse(kind::TRAIN, &[]), Err(Refusal::BadLength));
        for short in [5, 7, 10] {
            assert_eq!(
                Request::parse(kind::WRITE, &vec![0; short]),
                Err(Refusal::BadLength),
                "a write of {short} bytes carries no whole word"
            );
        }
        assert_eq!(Request::parse(0x42, &[]), Err(Refusal::UnknownKind));
        let e = Response::parse(kind::TRAIN, kind::STATUS | RESPONSE, &[0; 10]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kind 0x86: answers kind 0x06, not the request's 0x02"
        );
        assert!(Response::parse(kind::READ, kind::READ | RESPONSE, &[0; 5]).is_err());
    }
}
