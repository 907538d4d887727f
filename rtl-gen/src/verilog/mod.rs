//! Typed Verilog-2005 AST, builder and pretty-printer.
//!
//! Generator code builds a [`Module`] from typed [`Expr`]s and [`Stmt`]s and
//! never formats Verilog itself; the [`Pretty`] printer is the only code that writes
//! Verilog text. The builder rejects (by panicking: these are generator
//! bugs) anything that would not be lint-clean under
//! `verilator --lint-only -Wall`: operand width or signedness mismatches,
//! wrong index widths, assignments of the wrong width, wires assigned
//! procedurally, multiple drivers, latches in `always @*`, duplicate or
//! illegal names. What it cannot see is whether every signal is both driven
//! and used; [`Module::mark_unused`] covers bits dropped on purpose.
//!
//! Output is deterministic: the same calls give byte-identical text.
//!
//! ```
//! use rtl_gen::verilog::{assign, if_else, Expr, Module, Ty};
//!
//! let mut m = Module::new("counter");
//! let clk = m.input("clk", Ty::bit());
//! let rst = m.input("rst", Ty::bit());
//! let count = m.output_reg("count", Ty::u(8));
//! m.always_ff(
//!     &clk,
//!     vec![if_else(
//!         rst,
//!         vec![assign(&count, Expr::lit(0, Ty::u(8)))],
//!         vec![assign(&count, count.clone().add(Expr::lit(1, Ty::u(8))))],
//!     )],
//! );
//! assert!(m.to_verilog().contains("count <= count + 8'd1;"));
//! ```

mod ast;
mod header;
mod names;
mod pretty;

pub use ast::{
    assign, assign_bit, assign_index, assign_slice, case, comment, if_, if_else, ifdef,
    index_width, BinaryOp, Expr, ExprKind, LValue, Memory, Module, ParamValue, Port, PortDir,
    ShiftOp, Stmt, Ty, UnaryOp,
};
pub use header::header_lines;
pub use names::{
    check_identifier, is_keyword, MAX_IDENTIFIER_LEN, SYSTEMVERILOG_KEYWORDS, VERILOG_2005_KEYWORDS,
};
pub use pretty::{lit_text, AssignStyle, Formatter, Pretty};
