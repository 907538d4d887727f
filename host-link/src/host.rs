//! The host's end: each request gets a new sequence number and is sent until its answer
//! comes back whole. A frame lost or damaged either way (the request, or the answer) costs
//! a retry; the board answers a repeated request from its memory without acting again
//! ([`crate::device::DeviceLink`]), so while the link delivers within the attempts no
//! sample is trained twice or skipped. After [`LinkError::NoAnswer`] the last request may
//! or may not have been carried out: `status` tells how many samples the board trained.

use thiserror::Error;

use crate::command::{Identity, Malformed, Request, Response, MAX_ANSWER_PAYLOAD, PROTOCOL};
use crate::frame::{Frame, Received, Receiver, OVERHEAD};

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
    /// Attempts that got no whole answer: a damaged frame (bad CRC, too long, cut off),
    /// no answer within the timeout, or a line that would not fall quiet.
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
    #[error(
        "the board runs another design: its config hash is {board}, this config's is \
         {expected} (protocol {protocol}); program the board with this config's bitstream \
         or pass the config it was built from"
    )]
    WrongDesign {
        board: String,
        expected: String,
        protocol: u8,
    },
    #[error(
        "the board speaks protocol {board}, this host {host}: rebuild its bitstream with this \
         version of lls (`lls synth --board ...`) and program it (`lls flash`)"
    )]
    WrongProtocol { board: u8, host: u8 },
}

/// The host's end of a link over `W`.
pub struct Host<W: Wire> {
    wire: W,
    receiver: Receiver,
    seq: u8,
    attempts: u32,
    stats: LinkStats,
}

/// Bytes one attempt reads at most before it gives up on a line that never falls quiet:
/// two of the longest answers.
const ATTEMPT_BYTES: u64 = 2 * (MAX_ANSWER_PAYLOAD + OVERHEAD) as u64;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<W: Wire> Host<W> {
    /// Opens a session with a board that should run the design of `config_hash` (the
    /// first 8 bytes of its config's SHA-256): drops whatever the line still holds, says
    /// hello (so that the board's memory of its last answer holds no request of an
    /// earlier session), and checks the board's protocol and hash. Each request is sent
    /// at most `attempts` times.
    pub fn open(
        wire: W,
        attempts: u32,
        config_hash: [u8; 8],
    ) -> Result<(Host<W>, Identity), LinkError<W::Error>> {
        let mut host = Host {
            wire,
            receiver: Receiver::new(MAX_ANSWER_PAYLOAD),
            seq: 0,
            attempts: attempts.max(1),
            stats: LinkStats::default(),
        };
        host.drain()?;
        let identity = match host.call(&Request::Hello)? {
            Response::Hello(identity) => identity,
            other => {
                return Err(LinkError::Unexpected {
                    request: "hello",
                    answer: format!("{other:?}"),
                })
            }
        };
        if identity.protocol != PROTOCOL {
            return Err(LinkError::WrongProtocol {
                board: identity.protocol,
                host: PROTOCOL,
            });
        }
        if identity.config_hash != config_hash {
            return Err(LinkError::WrongDesign {
                board: hex(&identity.config_hash),
                expected: hex(&config_hash),
                protocol: identity.protocol,
            });
        }
        Ok((host, identity))
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    pub fn wire_mut(&mut self) -> &mut W {
        &mut self.wire
    }

    /// Ends the session; the wire.
    pub fn into_wire(self) -> W {
        self.wire
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
            if let Some(frame) = self.answer(kind)? {
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

    /// The answer to the current request (of `kind`), or `None` when it is damaged, does
    /// not come, or the line does not fall quiet. Whole frames that answer something else
    /// (an earlier request's answer sent again) are skipped.
    fn answer(&mut self, kind: u8) -> Result<Option<Frame>, LinkError<W::Error>> {
        for _ in 0..ATTEMPT_BYTES {
            let Some(byte) = self.wire.recv().map_err(LinkError::Wire)? else {
                self.receiver.line_idle();
                return Ok(None);
            };
            self.stats.bytes_received += 1;
            match self.receiver.push(byte) {
                Some(Received::Frame(f))
                    if f.seq == self.seq
                        && Response::answers(kind, f.kind, f.payload.first().copied()) =>
                {
                    return Ok(Some(f))
                }
                Some(Received::Frame(_)) | None => {}
                Some(Received::BadCrc | Received::TooLong(_) | Received::Truncated) => {
                    // Wait out the rest of the damaged answer before asking again.
                    self.drain()?;
                    return Ok(None);
                }
            }
        }
        self.receiver.line_idle();
        Ok(None)
    }

    /// Reads until the line falls quiet, or for [`ATTEMPT_BYTES`] bytes.
    fn drain(&mut self) -> Result<(), LinkError<W::Error>> {
        for _ in 0..ATTEMPT_BYTES {
            if self.wire.recv().map_err(LinkError::Wire)?.is_none() {
                break;
            }
            self.stats.bytes_received += 1;
        }
        self.receiver.line_idle();
        Ok(())
    }
}
