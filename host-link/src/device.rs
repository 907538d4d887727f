//! The board's end, the behaviour a board must have: frames that fail their CRC are
//! dropped and counted; a request whose kind and sequence number are the last one
//! answered gets the same answer again without being carried out (its answer was lost,
//! and the host asks again); anything else is carried out once and answered. A read and a
//! status change nothing, so a repeated one is carried out again: the answer reports the
//! board as it is then.

use crate::command::{kind, Request, Response};
use crate::frame::{Frame, Received, Receiver};

/// What carries out the requests: the trainer on the board, or a model of it.
pub trait Target {
    fn execute(&mut self, request: Request) -> Response;
}

/// The board's end of the link.
#[derive(Clone, Debug)]
pub struct DeviceLink {
    receiver: Receiver,
    /// The last request carried out (its kind and sequence number) and its answer's bytes.
    last: Option<(u8, u8, Vec<u8>)>,
    /// Frames dropped for their CRC, length or a cut.
    pub crc_errors: u32,
    /// Requests answered again from memory.
    pub replays: u32,
}

impl DeviceLink {
    pub fn new(max_payload: usize) -> DeviceLink {
        DeviceLink {
            receiver: Receiver::new(max_payload),
            last: None,
            crc_errors: 0,
            replays: 0,
        }
    }

    /// Takes a byte from the host; returns the bytes to send back, if it completes a
    /// request.
    pub fn receive(&mut self, byte: u8, target: &mut impl Target) -> Option<Vec<u8>> {
        match self.receiver.push(byte)? {
            Received::Frame(f) => Some(self.answer(f, target)),
            Received::BadCrc | Received::TooLong(_) | Received::Truncated => {
                self.crc_errors += 1;
                None
            }
        }
    }

    /// The line from the host went idle.
    pub fn line_idle(&mut self) {
        if self.receiver.line_idle().is_some() {
            self.crc_errors += 1;
        }
    }

    fn answer(&mut self, f: Frame, target: &mut impl Target) -> Vec<u8> {
        let changes_nothing = matches!(f.kind, kind::READ | kind::STATUS);
        if let Some((kind, seq, bytes)) = &self.last {
            if (*kind, *seq) == (f.kind, f.seq) && !changes_nothing {
                self.replays += 1;
                return bytes.clone();
            }
        }
        let response = match Request::parse(f.kind, &f.payload) {
            Ok(request) => target.execute(request),
            Err(reason) => Response::Refused {
                kind: f.kind,
                reason,
            },
        };
        let bytes = Frame {
            kind: response.kind(f.kind),
            seq: f.seq,
            payload: response.payload(),
        }
        .encode();
        self.last = Some((f.kind, f.seq, bytes.clone()));
        bytes
    }
}
