//! The `<top>_board` wrapper: the LLS top with few enough pins for a small package.
//!
//! The generated top exposes the AXI-Stream ports (input pixels + label, output
//! prediction + label echo), `idle`, `frame_error` and a weight/error read-back port
//! (`rb_layer`, `rb_addr`, `rb_data`: 1 + 12 + 16 pins for digits-mlp), 58 pins in all for
//! digits-mlp: more than the UP5K SG48 package's 39 user I/Os. The wrapper keeps the pins
//! that run training on a board ([`BOARD_PINS`]: clock, reset, both stream handshakes,
//! pixels, label in, prediction out, status) and folds every other port into two probe pins:
//!
//! - `probe_sin`: a serial input shifted into a register that drives the other inputs
//!   (`rb_layer`, `rb_addr`);
//! - `probe_xor`: the registered XOR of every bit of the other outputs (`rb_data`, and
//!   `m_axis_tuser`, which echoes a label the host sent itself), each output registered
//!   first as a pin's output register would, so the parity tree is not timed as part of
//!   the design's own output paths.
//!
//! Tying the folded inputs to constants instead would let yosys fold away the read-back
//! address path and output multiplexers, and leaving outputs unconnected would remove the
//! logic behind them; either way the report would describe a smaller circuit than the
//! generated one. The shift register and the XOR keep every folded bit controllable and
//! observable for a few flip-flops and LUTs. 27 pins remain for digits-mlp.

use rtl_gen::verilog::{assign, Expr, Module, Ty};
use rtl_gen::Manifest;

/// Ports of the top that the wrapper passes through to pins.
pub const BOARD_PINS: [&str; 14] = [
    "clk",
    "rst",
    "s_axis_tdata",
    "s_axis_tvalid",
    "s_axis_tready",
    "s_axis_tlast",
    "s_axis_tuser",
    "m_axis_tdata",
    "m_axis_tvalid",
    "m_axis_tready",
    "idle",
    "frame_error",
    PROBE_SIN,
    PROBE_XOR,
];

/// The serial input driving the folded inputs.
pub const PROBE_SIN: &str = "probe_sin";
/// The parity of the folded outputs.
pub const PROBE_XOR: &str = "probe_xor";

/// The wrapper and its pins.
#[derive(Clone, Debug)]
pub struct BoardWrapper {
    pub name: String,
    pub module: Module,
    /// Port bits in port order, as constraint files name them (`s_axis_tdata[3]`).
    pub pins: Vec<String>,
}

impl BoardWrapper {
    pub fn file_name(&self) -> String {
        self.module.file_name()
    }

    pub fn to_verilog(&self) -> String {
        self.module.to_verilog()
    }
}

fn ty(width: u32, signed: bool) -> Ty {
    if signed {
        Ty::s(width)
    } else if width == 1 {
        Ty::bit()
    } else {
        Ty::u(width)
    }
}

fn folded(name: &str) -> bool {
    !BOARD_PINS.contains(&name)
}

/// Builds `<top>_board` around the manifest's top. `header` lines (each `// ...`) go first.
///
/// Panics (a generator bug) when the top has no `clk` input.
pub fn wrapper(manifest: &Manifest, header: Vec<String>) -> BoardWrapper {
    let top = &manifest.top;
    let name = format!("{top}_board");
    // The top as an instantiable port list.
    let mut stub = Module::new(top);
    for p in &manifest.ports {
        if p.direction == "input" {
            stub.input(&p.name, ty(p.width, p.signed));
        } else {
            stub.output_wire(&p.name, ty(p.width, p.signed));
        }
    }

    let folded_in: Vec<_> = manifest
        .ports
        .iter()
        .filter(|p| folded(&p.name) && p.direction == "input")
        .collect();
    let folded_out: Vec<_> = manifest
        .ports
        .iter()
        .filter(|p| folded(&p.name) && p.direction != "input")
        .collect();
    let ins: Vec<&str> = folded_in.iter().rev().map(|p| p.name.as_str()).collect();
    let outs: Vec<&str> = folded_out.iter().map(|p| p.name.as_str()).collect();
    let (ins, outs) = (ins.join(", "), outs.join(", "));
    let mut m = Module::new(&name);
    m.header(header);
    m.doc(&format!(
        "{top} on few enough pins for small packages: {PROBE_SIN} shifts in\n\
         {{{ins}}} (the last bit in lands in bit 0 of the first), {PROBE_XOR}\n\
         is the registered XOR of {outs}. See toolchain/src/board.rs."
    ));
    let mut conns: Vec<(String, Expr)> = Vec::new();
    let mut clk = None;
    for p in manifest.ports.iter().filter(|p| !folded(&p.name)) {
        let t = ty(p.width, p.signed);
        let e = if p.direction == "input" {
            m.input(&p.name, t)
        } else {
            m.output_wire(&p.name, t)
        };
        if p.name == "clk" {
            clk = Some(e.clone());
        }
        conns.push((p.name.clone(), e));
    }
    let clk = clk.unwrap_or_else(|| panic!("board wrapper: {top} has no clk input"));

    if !folded_in.is_empty() {
        let sin = m.input(PROBE_SIN, Ty::bit());
        let width: u32 = folded_in.iter().map(|p| p.width).sum();
        m.section("folded inputs: shifted in serially");
        let shift = m.reg("probe_shift", ty(width, false));
        let next = if width == 1 {
            sin
        } else {
            Expr::concat(vec![shift.clone().slice(width - 2, 0), sin])
        };
        m.always_ff(&clk, vec![assign(&shift, next)]);
        let mut lo = 0;
        for p in &folded_in {
            let bits = if width == 1 {
                shift.clone()
            } else if p.width == 1 {
                shift.clone().bit(lo)
            } else {
                shift.clone().slice(lo + p.width - 1, lo)
            };
            let bits = if p.signed { bits.as_signed() } else { bits };
            conns.push((p.name.clone(), bits));
            lo += p.width;
        }
    }
    if !folded_out.is_empty() {
        let xor_pin = m.output_reg(PROBE_XOR, Ty::bit());
        m.section("folded outputs: registered, then one parity pin keeps every bit live");
        let mut parity: Option<Expr> = None;
        let mut out_regs = Vec::new();
        for p in &folded_out {
            let w = m.wire(&format!("{}_w", p.name), ty(p.width, p.signed));
            conns.push((p.name.clone(), w.clone()));
            let q = m.reg(&format!("{}_q", p.name), ty(p.width, p.signed));
            out_regs.push(assign(&q, w));
            let bit = if p.width == 1 { q } else { q.reduce_xor() };
            parity = Some(match parity {
                None => bit,
                Some(acc) => acc.xor(bit),
            });
        }
        if let Some(parity) = parity {
            out_regs.push(assign(&xor_pin, parity));
        }
        m.always_ff(&clk, out_regs);
    }
    m.instance_of(&stub, &format!("u_{top}"), conns);

    let pins = m
        .ports()
        .iter()
        .flat_map(|p| {
            let w = p.ty.width;
            let n = p.name.clone();
            (0..w).map(move |i| {
                if w == 1 {
                    n.clone()
                } else {
                    format!("{n}[{i}]")
                }
            })
        })
        .collect();
    BoardWrapper {
        name,
        module: m,
        pins,
    }
}
