//! The blocks of the generated design. Each function builds one Verilog module from
//! [`crate::params`]; the arithmetic helpers here emit the golden model's narrowing
//! policies (`golden_model::spec::numeric::policy`) so both sides share one definition.

pub mod frame_rx;
pub mod host_top;
pub mod layer;
pub mod link;
pub mod modulation;
pub mod narrowing;
pub mod softmax;
#[cfg(test)]
mod testing;
pub mod top;
pub mod uart;
pub mod weights;

use crate::params::DesignParams;
use crate::verilog::{assign, case, if_, ifdef, Expr, Memory, Module, Stmt, Ty};

/// The macro under which a read of the address being written in the same cycle is
/// poisoned ([`ram_port`]). Co-simulation defines it; synthesis never does.
pub const POISON_COLLISIONS: &str = "LLS_POISON_RW_COLLISIONS";

/// A memory's write and registered read, for one clocked block:
/// `if (we) mem[waddr] <= wdata; q <= mem[raddr];`.
///
/// The design never uses a read of the address it writes in the same cycle, so the memory
/// is marked `no_rw_check` and yosys adds no read-first emulation (registers, an address
/// compare and a bypass multiplexer per RAM, in the way of the clock). That claim is checked:
/// under [`POISON_COLLISIONS`] such a read returns the stored word inverted, so any
/// co-simulation that used one stops being bit-exact.
pub fn ram_port(
    m: &mut Module,
    mem: &Memory,
    we: Expr,
    waddr: Expr,
    wdata: Expr,
    q: &Expr,
    raddr: Expr,
) -> Vec<Stmt> {
    m.assume_no_rw_collision(mem);
    let collides = waddr.clone().eq(raddr.clone());
    // The read first, so that the poison (a later non-blocking assignment) wins.
    vec![
        assign(q, mem.read(raddr.clone())),
        if_(
            we,
            vec![
                mem.write(waddr, wdata),
                poison_collision(mem, q, collides, raddr),
            ],
        ),
    ]
}

/// A lookup in a ROM of LUTs in two stages, for one clocked block: each half of the table
/// (a function of one address bit fewer: a LUT level less) into `<prefix>_lo_q` and
/// `<prefix>_hi_q`, the address's top bit into `<prefix>_top_q`; a stage later the top bit
/// picks the half into `q`. `q` then holds `rom[addr]` two edges after `addr`.
pub(crate) fn halved_rom_read(
    m: &mut Module,
    rom: &Memory,
    prefix: &str,
    addr: Expr,
    q: &Expr,
) -> Vec<Stmt> {
    let aw = addr.width();
    let half = |top: i128| {
        Expr::concat(vec![
            Expr::lit(top, Ty::bit()),
            addr.clone().slice(aw - 2, 0),
        ])
    };
    let lo = m.reg(&format!("{prefix}_lo_q"), q.ty());
    let hi = m.reg(&format!("{prefix}_hi_q"), q.ty());
    let top = m.reg(&format!("{prefix}_top_q"), Ty::bit());
    vec![
        assign(&lo, rom.read(half(0))),
        assign(&hi, rom.read(half(1))),
        assign(&top, addr.clone().bit(aw - 1)),
        assign(q, Expr::mux(top, hi, lo)),
    ]
}

/// Under [`POISON_COLLISIONS`]: `if (collides) q <= ~mem[raddr];`, for the write enable's
/// branch after the write, where a simulator rarely gets to the compare; it overrides the
/// read into `q` assigned before it in the same block.
pub(crate) fn poison_collision(mem: &Memory, q: &Expr, collides: Expr, raddr: Expr) -> Stmt {
    ifdef(
        POISON_COLLISIONS,
        vec![if_(collides, vec![assign(q, mem.read(raddr).not())])],
    )
}

/// Names `e` as a wire unless it already is an identifier or literal (sign extension,
/// part selects and signed products need identifiers in Verilog-2005).
pub(crate) fn named(m: &mut Module, name: &str, e: Expr) -> Expr {
    if e.ident_name().is_some() || e.lit_value().is_some() {
        e
    } else {
        m.wire_assign(name, e)
    }
}

/// Sign- or zero-extends to `width` (never truncates).
pub(crate) fn widen(m: &mut Module, name: &str, e: Expr, width: u32) -> Expr {
    assert!(width >= e.width(), "widen of {} bits to {width}", e.width());
    if width == e.width() {
        return e;
    }
    let e = named(m, name, e);
    e.resize(width)
}

/// `a > b` for two same-width, same-signedness identifiers (at least 8 bits), compared
/// by halves: three carry chains half as long side by side, all unsigned (for signed
/// operands the high halves' sign bits inverted, which orders them like signed values):
/// `[hi >, hi <, lo >]`. [`halves_gt`] combines them, possibly a register stage later.
pub(crate) fn compare_by_halves(m: &mut Module, name: &str, a: &Expr, b: &Expr) -> [Expr; 3] {
    let w = a.width();
    assert!(
        w == b.width() && w >= 8 && a.ty().signed == b.ty().signed,
        "{name}: operands {} and {}",
        a.ty(),
        b.ty()
    );
    let signed = a.ty().signed;
    let lo = w / 2;
    let hi = |m: &mut Module, e: &Expr, side: &str| {
        let top = e.clone().bit(w - 1);
        let top = if signed { top.not() } else { top };
        m.wire_assign(
            &format!("{name}_{side}_hi"),
            Expr::concat(vec![top, e.clone().slice(w - 2, lo)]),
        )
    };
    let (a_hi, b_hi) = (hi(m, a, "a"), hi(m, b, "b"));
    let low = |e: &Expr| e.clone().slice(lo - 1, 0);
    [
        m.wire_assign(&format!("{name}_hi_gt"), a_hi.clone().gt(b_hi.clone())),
        m.wire_assign(&format!("{name}_hi_lt"), a_hi.lt(b_hi)),
        m.wire_assign(&format!("{name}_lo_gt"), low(a).gt(low(b))),
    ]
}

/// `a > b` from [`compare_by_halves`]' parts: `hi > || (!(hi <) && lo >)`.
pub(crate) fn halves_gt([hi_gt, hi_lt, lo_gt]: [Expr; 3]) -> Expr {
    hi_gt.lor(hi_lt.lnot().land(lo_gt))
}

/// `a > b` registered, for a compare that may take a stage: operands of 8 bits or more
/// by halves into `<regs>_hi_gt_q`, `<regs>_hi_lt_q`, `<regs>_lo_gt_q` (combined by one
/// LUT behind them), narrower ones into `<name>_q`. Returns `a > b` a stage later and the
/// registers' assignments, for the caller's clocked block.
pub(crate) fn registered_gt(
    m: &mut Module,
    name: &str,
    regs: &str,
    a: &Expr,
    b: &Expr,
) -> (Expr, Vec<Stmt>) {
    if a.width() >= 8 {
        let parts = compare_by_halves(m, name, a, b);
        let q = ["hi_gt", "hi_lt", "lo_gt"].map(|n| m.reg(&format!("{regs}_{n}_q"), Ty::bit()));
        let ff = q.iter().zip(parts).map(|(r, e)| assign(r, e)).collect();
        (halves_gt(q), ff)
    } else {
        let q = m.reg(&format!("{name}_q"), Ty::bit());
        let ff = vec![assign(&q, a.clone().gt(b.clone()))];
        (q, ff)
    }
}

/// Keeps bits that are dropped on purpose visible to the reader and to Verilator, whose
/// `-Wall` would otherwise flag them as unused (`unused_*` is its exempt name pattern).
pub(crate) fn discard(m: &mut Module, name: &str, e: Expr) {
    m.wire_assign(&format!("unused_{name}"), e);
}

/// Splits a bus of `count` packed signed fields of `width` bits (field 0 in the LSBs) into
/// wires `<prefix>0`, `<prefix>1`, ….
pub(crate) fn signed_fields(
    m: &mut Module,
    prefix: &str,
    bus: &Expr,
    count: usize,
    width: u32,
) -> Vec<Expr> {
    (0..count as u32)
        .map(|c| {
            let lo = c * width;
            m.wire_assign(
                &format!("{prefix}{c}"),
                bus.clone().slice(lo + width - 1, lo).as_signed(),
            )
        })
        .collect()
}

/// The value whose bit is set in `one_hot` (bit k picks `values[k]`), as an AND-OR of the
/// values (unsigned; 0 when no bit is set): no index decode in front of it.
pub(crate) fn one_hot_select(one_hot: &Expr, values: Vec<Expr>) -> Expr {
    values
        .into_iter()
        .enumerate()
        .map(|(k, v)| {
            let w = v.width();
            Expr::mux(
                one_hot.clone().bit(k as u32),
                v.as_unsigned(),
                Expr::lit(0, Ty::u(w)),
            )
        })
        .reduce(|a, b| a.or(b))
        .expect("at least one value")
}

/// `name = fields[idx]` as a combinational reg (a `case` on `idx`, field 0 by default):
/// picks one class's value out of a unit's per-class registers.
pub(crate) fn select(m: &mut Module, name: &str, fields: &[Expr], idx: &Expr) -> Expr {
    let r = m.reg(name, fields[0].ty());
    let idx_ty = idx.ty();
    m.always_comb(vec![
        assign(&r, fields[0].clone()),
        case(
            idx.clone(),
            (1..fields.len())
                .map(|c| {
                    (
                        vec![Expr::lit(c as i128, idx_ty)],
                        vec![assign(&r, fields[c].clone())],
                    )
                })
                .collect(),
            vec![],
        ),
    ]);
    r
}

/// `src` delayed by `n` clock edges through registers `<name>`, `<name>2`, …, `<name>n`
/// (one `always` block); `src` itself when `n` is 0.
pub(crate) fn delay(m: &mut Module, clk: &Expr, name: &str, src: Expr, n: u32) -> Expr {
    let mut out = src;
    let mut ff = Vec::new();
    for k in 1..=n {
        let reg_name = if k == 1 {
            name.to_string()
        } else {
            format!("{name}{k}")
        };
        let r = m.reg(&reg_name, out.ty());
        ff.push(assign(&r, out));
        out = r;
    }
    if !ff.is_empty() {
        m.always_ff(clk, ff);
    }
    out
}

/// Sum of same-typed terms as a balanced tree (depth ⌈log2 n⌉ adders, not n − 1); the
/// sum wraps at the terms' width, so any grouping gives the same bits.
pub(crate) fn sum(mut terms: Vec<Expr>) -> Expr {
    assert!(!terms.is_empty(), "sum of no terms");
    if terms.len() == 1 {
        return terms.pop().expect("one term");
    }
    let right = terms.split_off(terms.len().div_ceil(2));
    sum(terms).add(sum(right))
}

/// Keeps a small memory out of block RAM where the target has LUT RAM (see
/// `DesignParams::distributed_rom_max_bits` / `distributed_ram_max_bits`), leaving block
/// RAM to the weights: ROMs become LUT logic, RAMs LUT RAM. A RAM between the two limits
/// is asked for block RAM (yosys would pick LUT RAM for it).
pub(crate) fn place(m: &mut Module, p: &DesignParams, mem: &Memory, rom: bool) {
    let bits = mem.depth() as u64 * mem.elem_ty().width as u64;
    if rom {
        if bits <= p.distributed_rom_max_bits {
            m.set_ram_style(mem, "logic");
        }
    } else if bits <= p.distributed_ram_max_bits {
        m.set_ram_style(mem, "distributed");
    } else if bits <= p.distributed_rom_max_bits {
        m.set_ram_style(mem, "block");
    }
}
