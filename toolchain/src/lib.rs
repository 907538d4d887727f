//! toolchain: one thin typed wrapper per external tool (Verilator, Icarus, yosys, nextpnr,
//! icepack, ecppack). Each tool is located on `PATH` or through an environment override,
//! its version is checked, and a failure keeps the tail of the tool's output.
#![deny(unsafe_code)]

pub mod tool;

pub use tool::{Tool, ToolError};

/// Verilator ≥ 5.006 (`LLS_VERILATOR` overrides the path).
pub fn verilator() -> Result<Tool, ToolError> {
    Tool::locate("verilator", "LLS_VERILATOR", &["--version"], (5, 6))
}

/// Icarus Verilog ≥ 11 (`LLS_IVERILOG`).
pub fn iverilog() -> Result<Tool, ToolError> {
    Tool::locate("iverilog", "LLS_IVERILOG", &["-V"], (11, 0))
}

/// vvp, Icarus' runtime (`LLS_VVP`); versioned with iverilog.
pub fn vvp() -> Result<Tool, ToolError> {
    Tool::locate("vvp", "LLS_VVP", &["-V"], (11, 0))
}

/// yosys ≥ 0.23 (`LLS_YOSYS`).
pub fn yosys() -> Result<Tool, ToolError> {
    Tool::locate("yosys", "LLS_YOSYS", &["-V"], (0, 23))
}
