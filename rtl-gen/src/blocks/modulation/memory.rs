//! The modulation memory: m[c] or M[c][j] at c·C + j, initialised from
//! [`super::mod_file`]. Its one registered read serves the passes (S0's address while
//! issuing) and readback (`rb_index` otherwise); S1's UPD writes it back
//! ([`super::update`]).

use crate::params::{DesignParams, LayerParams, ModParams};
use crate::verilog::{Expr, Memory, Module, Ty};

use super::issue::Issue;
use super::Ports;

/// The memory, its read register and its read address.
pub(super) struct ModMem {
    pub mem: Memory,
    pub mod_q: Expr,
    pub raddr: Expr,
}

/// The "modulation memory" section; `rb_value` is the read register.
pub(super) fn declare(
    m: &mut Module,
    p: &DesignParams,
    l: &LayerParams,
    mp: &ModParams,
    s0: &Issue,
    ports: &Ports,
) -> ModMem {
    m.section("modulation memory: m[c] or M[c][j] at c*C + j");
    let mem = m.memory(
        "mod_mem",
        Ty::s(mp.bits),
        mp.entries as u32,
        Some(&super::mod_file(l)),
    );
    super::super::place(m, p, &mem, false);
    let mod_q = m.reg("mod_q", Ty::s(mp.bits));
    let raddr = m.wire_assign(
        "mod_raddr",
        Expr::mux(s0.issuing.clone(), s0.addr0.clone(), ports.rb_index.clone()),
    );
    m.assign(&ports.rb_value, mod_q.clone());
    ModMem { mem, mod_q, raddr }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, matrix, modulated};
    use super::super::{fsm, issue};
    use super::*;

    #[test]
    fn the_memory_holds_every_entry_and_reads_back_when_idle() {
        let p = matrix();
        let (l, mp) = modulated(&p);
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let ports = Ports {
            start: m.input("start", Ty::bit()),
            label: m.input("label", Ty::u(2)),
            logits: m.input("logits", Ty::u(8)),
            done: m.output_reg("done", Ty::bit()),
            err: m.output_wire("err", Ty::u(8)),
            grad: m.output_wire("grad", Ty::u(8)),
            rb_index: m.input("rb_index", Ty::u(4)),
            rb_value: m.output_wire("rb_value", Ty::s(mp.bits)),
        };
        let fsm = fsm::declare(&mut m, clk, rst);
        let s0 = issue::declare_issue(&mut m, &fsm, l.classes, mp);
        let mm = declare(&mut m, &p, l, mp, &s0, &ports);
        assert_eq!((mm.mem.depth(), mp.entries), (9, 9));
        assert_eq!(mm.mem.elem_ty(), Ty::s(mp.bits));
        let text = m.to_verilog();
        assert!(
            text.contains(&format!(
                "$readmemh(\"{}\", mod_mem);",
                super::super::mod_file(l)
            )),
            "{text}"
        );
        assert_eq!(
            decl(&text, "mod_raddr").as_deref(),
            Some("wire [3:0] mod_raddr = issuing ? addr0 : rb_index;")
        );
        assert!(text.contains("assign rb_value = mod_q;"), "{text}");
    }
}
