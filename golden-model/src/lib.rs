//! golden-model: the reference of LLS training, float and fixed point.
//!
//! **The fixed-point model in this crate is the specification of the hardware.** Every
//! rounding, saturation, shift and table the RTL uses is defined here once:
//! - [`numeric`]: formats, bit growth, the narrowing policies and the LFSR;
//! - [`basis`]: the periodic basis table (the ROM contents);
//! - [`softmax`]: the exp table and the fixed-point softmax error;
//! - [`fixed`]: one training step of the whole net, batch 1, bit exact;
//! - [`float`]: the same equations in f32 (accuracy reference, mini-batch capable);
//! - [`trace`]: raw bits of a step, for co-simulation.
//!
//! See `docs/fixed-point-spec.md` for why each choice was made.
#![deny(unsafe_code)]

pub mod basis;
pub mod checkpoint;
pub mod config;
pub mod cost;
pub mod data;
pub mod error;
pub mod fixed;
pub mod float;
pub mod kernels;
pub mod memory;
pub mod numeric;
pub mod recipe;
pub mod rng;
pub mod softmax;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;
pub mod trace;
pub mod train;

pub use config::{Config, ConfigError};
