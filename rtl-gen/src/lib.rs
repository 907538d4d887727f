//! rtl-gen: Verilog-2005 for the layer-local learning datapath.
#![deny(unsafe_code)]

pub mod verilog;
