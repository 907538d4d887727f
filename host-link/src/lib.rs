//! The framed serial protocol between a host and a board that trains with LLS: frames
//! with a CRC ([`frame`], [`crc`]), the requests and answers they carry ([`command`]), the
//! host's end that retries until each request is answered ([`host`]), and the board's
//! end that carries out each request once ([`device`]). `docs/host-link.md` describes the
//! protocol for those who implement it elsewhere.

pub mod command;
pub mod crc;
pub mod device;
pub mod frame;
pub mod host;

pub use command::{Identity, Refusal, Request, Response, Status};
pub use device::{DeviceLink, Target};
pub use host::{Host, LinkError, LinkStats, Wire};
