//! golden-model: the reference of LLS training, float and fixed point.
//!
//! The fixed-point model in this crate IS the specification of the hardware.
#![deny(unsafe_code)]

pub mod data;
pub mod error;
