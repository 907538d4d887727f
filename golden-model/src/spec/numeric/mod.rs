//! Fixed-point numerics: formats, bit growth and the narrowing policies.
//!
//! Values travel as raw two's-complement integers (`i64`) next to a [`QFormat`], because the
//! formats come from the config at run time. Every narrowing goes through [`policy`], whose
//! operations are checked against the `fixed` crate on the preset formats (see the tests).

pub mod format;
pub mod lfsr;
pub mod policy;
pub mod width;

pub use format::QFormat;
pub use lfsr::Lfsr;
pub use policy::{narrow, saturate, shift_round};
