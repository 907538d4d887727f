//! testbenches: co-simulation that holds the generated RTL to the golden model, bit for
//! bit, every step.
//!
//! A run: [`rtl_gen::generate`] writes the design; [`build`] verilates it with the
//! line-protocol harness (`harness/tb_main.cpp`); [`session::Session`] drives the
//! simulator one sample at a time; [`cosim::run`] trains the golden model
//! ([`golden_model::spec::fixed::FixedNet`]) on the same samples in lock step and compares the
//! prediction, every layer's softmax error and (at the readback cadence) every weight.
//! The first difference stops the run and is reported with sample, layer, signal, index,
//! cycle, got and want.
#![deny(unsafe_code)]

pub mod board;
pub mod build;
pub mod cosim;
pub mod serial;
pub mod session;

pub use cosim::{run, run_with_progress, CosimOptions, CosimReport, Mismatch, Mutation, Signal};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CosimError {
    #[error(transparent)]
    Tool(#[from] toolchain::ToolError),
    #[error(transparent)]
    Gen(#[from] rtl_gen::GenError),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("simulator protocol: {0}")]
    Protocol(String),
    /// A co-simulation option out of range or not applicable; the message names it.
    #[error("{0}")]
    Options(String),
}

pub(crate) fn io_err(path: &std::path::Path, e: std::io::Error) -> CosimError {
    CosimError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
