//! The `<top>_board` wrapper: the bare trainer with few enough pins for a small package, so
//! that `lls synth` places and times the design alone, its pins wherever nextpnr puts them.
//! A board build (`lls synth --board`) uses [`crate::host_board`] instead: the trainer
//! behind its UART host link, on the board's pins.
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
//!
//! The weight load (`load_we`, `load_data`) is tied low instead: only a host link drives
//! it, so the bare design's figures describe the trainer without it, and a board build
//! (`lls synth --board`) places and reports it with the link.
//!
//! Where the part asks for it (`Device::stream_slices`: the ECP5), both streams also pass
//! through register slices between their pins and the top ([`slice_chain`]); the folded
//! `m_axis_tuser` goes to the parity pin unsliced.

use rtl_gen::verilog::{assign, if_, if_else, Expr, Module, Ty};
use rtl_gen::Manifest;

/// Ports of the top that the wrapper passes through to pins; the others are folded.
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

/// Inputs of the top tied low: the weight load, which only a host link drives.
pub const TIED_LOW: [&str; 2] = ["load_we", "load_data"];

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

/// The wrapper's pin `name`, if the top has that port.
fn find_pin(pins: &[(String, Expr)], name: &str) -> Option<Expr> {
    pins.iter().find(|(p, _)| p == name).map(|(_, e)| e.clone())
}

fn folded(name: &str) -> bool {
    !BOARD_PINS.contains(&name) && !TIED_LOW.contains(&name)
}

/// Builds `<top>_board` around the manifest's top. `header` lines (each `// ...`) go first.
/// `stream_slices` register slices sit between each stream's pins and the top
/// (`sliced_streams`).
///
/// Panics (a generator bug) when the top has no `clk` input.
pub fn wrapper(manifest: &Manifest, header: Vec<String>, stream_slices: usize) -> BoardWrapper {
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
    let mut pins = Vec::new();
    for p in manifest
        .ports
        .iter()
        .filter(|p| BOARD_PINS.contains(&p.name.as_str()))
    {
        let t = ty(p.width, p.signed);
        let e = if p.direction == "input" {
            m.input(&p.name, t)
        } else {
            m.output_wire(&p.name, t)
        };
        pins.push((p.name.clone(), e));
    }
    let clk =
        find_pin(&pins, "clk").unwrap_or_else(|| panic!("board wrapper: {top} has no clk input"));
    let mut conns: Vec<(String, Expr)> = match (stream_slices, find_pin(&pins, "rst")) {
        (0, _) | (_, None) => pins.clone(),
        (n, Some(rst)) => sliced_streams(&mut m, &clk, &rst, manifest, &pins, n),
    };

    for p in manifest
        .ports
        .iter()
        .filter(|p| TIED_LOW.contains(&p.name.as_str()))
    {
        conns.push((p.name.clone(), Expr::lit(0, ty(p.width, p.signed))));
    }
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

/// The streams' data bundles, first port in the high bits.
const S_AXIS_DATA: [&str; 3] = ["s_axis_tdata", "s_axis_tlast", "s_axis_tuser"];
const M_AXIS_DATA: [&str; 1] = ["m_axis_tdata"];

/// The top's connections with `n` register slices on each stream between its pins and
/// the top; the other pins pass straight through.
///
/// A pin's route to logic deep in a large die takes most of a fast clock's period (ECP5
/// at 125 MHz: 4–8 ns). Placed beside the pins' logic, a handshake LUT that reads both
/// a pin and the top's state stretches the top's own state-to-state path across the die.
/// The slices make every pin a flip-flop's input or output, and give the placer a
/// register each way for every step across the die. They add `n` cycles of latency per
/// stream and never cost throughput (a full skid buffer each).
fn sliced_streams(
    m: &mut Module,
    clk: &Expr,
    rst: &Expr,
    manifest: &Manifest,
    pins: &[(String, Expr)],
    n: usize,
) -> Vec<(String, Expr)> {
    let pin = |name: &str| find_pin(pins, name);
    let port_ty = |name: &str| {
        let p = manifest.ports.iter().find(|p| p.name == name);
        p.map(|p| ty(p.width, p.signed))
    };
    let bundle = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| pin(n).is_some())
            .map(|n| n.to_string())
            .collect()
    };
    let mut conns: Vec<(String, Expr)> = pins
        .iter()
        .filter(|(p, _)| !p.starts_with("s_axis_") && !p.starts_with("m_axis_"))
        .cloned()
        .collect();

    // In: pins → slices → top.
    m.section("input stream: register slices between the pins and the top");
    let s_names = bundle(&S_AXIS_DATA);
    let s_data = Expr::concat(s_names.iter().map(|n| pin(n).expect("pin")).collect());
    let s_ready_top = m.wire("s_axis_tready_top", Ty::bit());
    let (up_ready, valid, data) = slice_chain(
        m,
        clk,
        rst,
        "s_slice",
        n,
        pin("s_axis_tvalid").expect("s_axis_tvalid pin"),
        s_data,
        s_ready_top.clone(),
    );
    m.assign(&pin("s_axis_tready").expect("s_axis_tready pin"), up_ready);
    conns.push(("s_axis_tvalid".into(), valid));
    conns.push(("s_axis_tready".into(), s_ready_top));
    conns.extend(split_bundle(&s_names, &data, port_ty));

    // Out: top → slices → pins.
    m.section("output stream: register slices between the top and the pins");
    let m_names = bundle(&M_AXIS_DATA);
    let m_valid_top = m.wire("m_axis_tvalid_top", Ty::bit());
    let m_data_top: Vec<Expr> = m_names
        .iter()
        .map(|n| m.wire(&format!("{n}_top"), port_ty(n).expect("port")))
        .collect();
    let (up_ready, valid, data) = slice_chain(
        m,
        clk,
        rst,
        "m_slice",
        n,
        m_valid_top.clone(),
        Expr::concat(m_data_top.iter().map(|e| e.clone().as_unsigned()).collect()),
        pin("m_axis_tready").expect("m_axis_tready pin"),
    );
    m.assign(&pin("m_axis_tvalid").expect("m_axis_tvalid pin"), valid);
    for ((name, top_wire), (_, part)) in m_names
        .iter()
        .zip(&m_data_top)
        .zip(split_bundle(&m_names, &data, port_ty))
    {
        m.assign(&pin(name).expect("pin"), part);
        conns.push((name.clone(), top_wire.clone()));
    }
    conns.push(("m_axis_tvalid".into(), m_valid_top));
    conns.push(("m_axis_tready".into(), up_ready));
    conns
}

/// The ports of a bundle `concat(names)` back out of `data`, typed as the ports.
fn split_bundle(
    names: &[String],
    data: &Expr,
    port_ty: impl Fn(&str) -> Option<Ty>,
) -> Vec<(String, Expr)> {
    let mut hi = data.width();
    names
        .iter()
        .map(|n| {
            let t = port_ty(n).expect("port");
            let lo = hi - t.width;
            let bits = if data.width() == 1 {
                data.clone()
            } else if t.width == 1 {
                data.clone().bit(lo)
            } else {
                data.clone().slice(hi - 1, lo)
            };
            hi = lo;
            (n.clone(), if t.signed { bits.as_signed() } else { bits })
        })
        .collect()
}

/// `n` register slices in a row (`register_slice`); returns (ready upstream, valid and
/// data downstream).
#[allow(clippy::too_many_arguments)]
pub fn slice_chain(
    m: &mut Module,
    clk: &Expr,
    rst: &Expr,
    name: &str,
    n: usize,
    mut valid: Expr,
    mut data: Expr,
    down_ready: Expr,
) -> (Expr, Expr, Expr) {
    // Built from the pins inwards; each slice's ready comes from the one after it.
    let readies: Vec<Expr> = (0..n)
        .map(|k| m.wire(&format!("{name}{k}_ready"), Ty::bit()))
        .collect();
    for k in 0..n {
        let next_ready = readies.get(k + 1).cloned().unwrap_or(down_ready.clone());
        let (ready, v, d) =
            register_slice(m, clk, rst, &format!("{name}{k}"), valid, data, next_ready);
        m.assign(&readies[k], ready);
        valid = v;
        data = d;
    }
    (readies[0].clone(), valid, data)
}

/// An AXI-Stream register slice (a full skid buffer): ready upstream, valid and data
/// downstream are all flip-flops. While the downstream stalls, the one word already
/// accepted waits in the skid register, so throughput stays one word a cycle.
fn register_slice(
    m: &mut Module,
    clk: &Expr,
    rst: &Expr,
    name: &str,
    up_valid: Expr,
    up_data: Expr,
    down_ready: Expr,
) -> (Expr, Expr, Expr) {
    let word = up_data.ty();
    let valid = m.reg(&format!("{name}_valid"), Ty::bit());
    let data = m.reg(&format!("{name}_data"), word);
    let skid_valid = m.reg(&format!("{name}_skid_valid"), Ty::bit());
    let skid_data = m.reg(&format!("{name}_skid_data"), word);
    // The output register empties (or is empty) this cycle: it takes the skid word
    // first, else the upstream's.
    let advance = down_ready.lor(valid.clone().lnot());
    m.always_ff(
        clk,
        vec![if_else(
            rst.clone(),
            vec![
                assign(&valid, Expr::lit(0, Ty::bit())),
                assign(&skid_valid, Expr::lit(0, Ty::bit())),
            ],
            vec![if_else(
                advance,
                vec![if_else(
                    skid_valid.clone(),
                    vec![
                        assign(&valid, Expr::lit(1, Ty::bit())),
                        assign(&data, skid_data.clone()),
                        assign(&skid_valid, Expr::lit(0, Ty::bit())),
                    ],
                    vec![
                        assign(&valid, up_valid.clone()),
                        assign(&data, up_data.clone()),
                    ],
                )],
                vec![if_(
                    up_valid.land(skid_valid.clone().lnot()),
                    vec![
                        assign(&skid_valid, Expr::lit(1, Ty::bit())),
                        assign(&skid_data, up_data),
                    ],
                )],
            )],
        )],
    );
    (skid_valid.lnot(), valid, data)
}
