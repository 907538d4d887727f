//! Verilog AST and printer
