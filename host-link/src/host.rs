//! The host's end: each request gets a new sequence number and is sent until its answer
//! comes back whole. A frame lost or damaged either way (the request, or the answer) costs
//! a retry; the board answers a repeated sequence number from its memory without acting
//! again ([`crate::device::DeviceLink`]), so no sample is trained twice or skipped.

use thiserror::Error;

use crate::command::{Identity, Malformed, Request, Response};
use crate::frame::{Frame, Received, Receiver};

/// The byte link to a board: a serial port, or a simulation of the board's pins.
pub trait Wire {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sends `bytes` in order.
    fn send(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;

    /// The next byte from the board, or `None` once the line has been idle for the
    /// wire's answer timeout.
    fn recv(&mut self) -> Result<Option<u8>, Self::Error>;
}

/// What the link has cost so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Requests answered.
    pub requests: u64,
    /// Damaged frames seen by the host (bad CRC, too long, cut off) and answers that never
    /// came (the request or the answer lost).
    pub link_errors: u64,
    /// Requests sent again.
    pub retries: u64,
    /// Bytes sent and received, frames and noise alike.
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

#[derive(Debug, Error)]
pub enum LinkError<E: std::error::Error + 'static> {
    #[error("the wire failed: {0}")]
    Wire(#[source] E),
    #[error(
        "no answer to request {seq} after {attempts} attempts; check that the board is \
         powered, programmed with this design and connected to this port"
    )]
    NoAnswer { seq: u8, attempts: u32 },
    #[error("the board's answer does not parse: {0}")]
    Malformed(#[from] Malformed),
    #[error("the board answered {request} with {answer}")]
    Unexpected {
        request: &'static str,
        answer: String,
    },
}

/// The host's end of a link over `W`.
pub struct Host<W: Wire> {
    wire: W,
    receiver: Receiver,
    seq: u8,
    attempts: u32,
    stats: LinkStats,
}

impl<W: Wire> Host<W> {
    /// Opens a session: a host that sends each request at most `attempts` times and
    /// accepts answers of up to `max_payload` bytes says hello first, so that the board's
    /// memory of its last answer holds no request of an earlier session; the board's
    /// identity.
    pub fn open(
        wire: W,
        attempts: u32,
        max_payload: usize,
    ) -> Result<(Host<W>, Identity), LinkError<W::Error>> {
        let mut host = Host {
            wire,
            receiver: Receiver::new(max_payload),
            seq: 0,
            attempts: attempts.max(1),
            stats: LinkStats::default(),
        };
        match host.call(&Request::Hello)? {
            Response::Hello(identity) => Ok((host, identity)),
            other => Err(LinkError::Unexpected {
                request: "hello",
                answer: format!("{other:?}"),
            }),
        }
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    pub fn wire_mut(&mut self) -> &mut W {
        &mut self.wire
    }

    /// Sends `request` until its answer arrives whole; the answer.
    pub fn call(&mut self, request: &Request) -> Result<Response, LinkError<W::Error>> {
        self.seq = self.seq.wrapping_add(1);
        let kind = request.kind();
        let bytes = Frame {
            kind,
            seq: self.seq,
            payload: request.payload(),
        }
        .encode();
        for attempt in 0..self.attempts {
            if attempt > 0 {
                self.stats.retries += 1;
            }
            self.wire.send(&bytes).map_err(LinkError::Wire)?;
            self.stats.bytes_sent += bytes.len() as u64;
            if let Some(frame) = self.answer()? {
                self.stats.requests += 1;
                return Ok(Response::parse(kind, frame.kind, &frame.payload)?);
            }
            self.stats.link_errors += 1;
        }
        Err(LinkError::NoAnswer {
            seq: self.seq,
            attempts: self.attempts,
        })
    }

    /// The answer to the current request, or `None` when it is damaged or does not come.
    /// Stale answers (an earlier request's, sent again) are skipped.
    fn answer(&mut self) -> Result<Option<Frame>, LinkError<W::Error>> {
        loop {
            let Some(byte) = self.wire.recv().map_err(LinkError::Wire)? else {
                self.receiver.line_idle();
                return Ok(None);
            };
            self.stats.bytes_received += 1;
            match self.receiver.push(byte) {
                Some(Received::Frame(f)) if f.seq == self.seq => return Ok(Some(f)),
                Some(Received::Frame(_)) | None => {}
                Some(Received::BadCrc | Received::TooLong(_) | Received::Truncated) => {
                    // Wait out the rest of the damaged answer before asking again.
                    while self.wire.recv().map_err(LinkError::Wire)?.is_some() {
                        self.stats.bytes_received += 1;
                    }
                    self.receiver.line_idle();
                    return Ok(None);
                }
            }
        }
    }
}
