//! The exp lookup and sum: `E_c = EXP[min(max − l_c, len − 1)]`, one class a cycle,
//! written to `exp_mem` and summed into `exp_sum`.
//!
//! The subtract, the clamp and the ROM read are a stage each (both operands offset
//! alike, so `max ≥ l_c` and the difference's sign bit is always 0). A two-stage lookup
//! (`DesignParams::exp_lookup_stages`) reads each half of the table a stage and picks
//! the half the next. The class tag (`look_class`, then `exp_class`) follows a stage
//! behind the lookup.

use crate::params::DesignParams;
use crate::verilog::{assign, Expr, Memory, Module, Ty};

use super::fsm::Fsm;
use super::select::LogitSelect;

/// What the divider and the control read of the lookup and the sum.
pub(super) struct ExpSum {
    /// The ROM's registered read: E of class `exp_class` while `exp_valid`.
    pub exp_q: Expr,
    pub look_valid: Expr,
    pub look_class: Expr,
    pub exp_valid: Expr,
    pub exp_class: Expr,
    /// `E_c`, written once per class and read back one class at a time (one divider; with
    /// several, the dividers take E from registers: `divide::class_registers`).
    pub mem: Option<Memory>,
    pub total: Expr,
    /// `exp_sum + exp_q`.
    pub total_next: Expr,
}

/// The "exp lookup" section.
pub(super) fn build(m: &mut Module, p: &DesignParams, fsm: &Fsm, sel: &LogitSelect) -> ExpSum {
    m.section("exp lookup: EXP[min(max - l_c, len - 1)]");
    let exp_q = lookup(m, p, fsm, sel);
    let look_valid = m.reg("look_valid", Ty::bit());
    let look_class = m.reg("look_class", fsm.cnt_ty);
    let exp_valid = m.reg("exp_valid", Ty::bit());
    let exp_class = m.reg("exp_class", fsm.cnt_ty);
    // One divider: a small memory (block RAM on the iCE40, LUT RAM on the ECP5) rather
    // than C registers and a mux.
    let mem = (fsm.dividers == 1).then(|| {
        let mem = m.memory("exp_mem", Ty::u(p.exp_bits), 1 << fsm.cnt_ty.width, None);
        super::super::place(m, p, &mem, false);
        mem
    });
    let sw = p.sum_bits;
    let total = m.reg("exp_sum", Ty::u(sw));
    let total_next = m.wire_assign("exp_sum_next", total.clone().add(exp_q.clone().resize(sw)));
    ExpSum {
        exp_q,
        look_valid,
        look_class,
        exp_valid,
        exp_class,
        mem,
        total,
        total_next,
    }
}

/// `diff = max − logit_sel_q`, its clamp to the table, and the ROM read into `exp_q`.
fn lookup(m: &mut Module, p: &DesignParams, fsm: &Fsm, sel: &LogitSelect) -> Expr {
    let iw = p.exp_index_bits;
    let last = (1i128 << iw) - 1;
    let dw = sel.max.width() + 1;
    let max_ext = super::super::widen(m, "max_ext", sel.max.clone(), dw);
    let sel_ext = super::super::widen(m, "sel_ext", sel.sel_q.clone(), dw);
    let diff_next = m.wire_assign("diff_next", max_ext.sub(sel_ext));
    super::super::discard(m, "diff_sign", diff_next.clone().bit(dw - 1));
    let diff = m.reg("diff", Ty::u(dw - 1));
    m.always_ff(&fsm.clk, vec![assign(&diff, diff_next.slice(dw - 2, 0))]);
    let exp_idx = if dw - 1 > iw {
        // diff can exceed the table: clamp to the last entry.
        let over = m.wire_assign("exp_over", diff.clone().slice(dw - 2, iw).reduce_or());
        let low = diff.clone().slice(iw - 1, 0);
        m.wire_assign("exp_idx", Expr::mux(over, Expr::lit(last, Ty::u(iw)), low))
    } else {
        // diff < 2^(dw−1) ≤ len: every value indexes the table.
        m.wire_assign("exp_idx", diff.clone().resize(iw))
    };
    let exp_rom = m.memory(
        "exp_rom",
        Ty::u(p.exp_bits),
        1 << iw,
        Some(super::exp_rom_file()),
    );
    super::super::place(m, p, &exp_rom, true);
    let exp_q = m.reg("exp_q", Ty::u(p.exp_bits));
    let exp_idx_q = m.reg("exp_idx_q", exp_idx.ty());
    let mut stages = vec![assign(&exp_idx_q, exp_idx)];
    if fsm.look == 1 {
        stages.push(assign(&exp_q, exp_rom.read(exp_idx_q.clone())));
    } else {
        stages.extend(super::super::halved_rom_read(
            m,
            &exp_rom,
            "exp",
            exp_idx_q.clone(),
            &exp_q,
        ));
    }
    m.always_ff(&fsm.clk, stages);
    exp_q
}

#[cfg(test)]
mod tests {
    use super::super::testing::{banked, classifier, decl, tiny};
    use super::super::{fsm, select};
    use super::*;

    fn built(p: &DesignParams) -> String {
        let lw = classifier(p).softmax_logit_bits();
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let logits = m.input("logits", Ty::u(lw * p.classes as u32));
        let fsm = fsm::declare(&mut m, p, clk, rst);
        let sel = select::declare(&mut m, &fsm, &logits, lw);
        let exp = build(&mut m, p, &fsm, &sel);
        assert_eq!(exp.total_next.width(), p.sum_bits);
        assert_eq!(exp.mem.expect("one divider").depth(), 1 << fsm.cnt_ty.width);
        m.to_verilog()
    }

    #[test]
    fn the_lookup_clamps_the_difference_to_the_table() {
        let p = tiny();
        let lw = classifier(&p).softmax_logit_bits();
        let iw = p.exp_index_bits;
        assert!(lw > iw, "tiny-m's differences can exceed the table");
        let text = built(&p);
        assert_eq!(
            decl(&text, "diff"),
            Some(format!("reg [{}:0] diff;", lw - 1))
        );
        assert_eq!(
            decl(&text, "exp_over"),
            Some(format!("wire exp_over = |diff[{}:{iw}];", lw - 1))
        );
        assert_eq!(
            decl(&text, "exp_q"),
            Some(format!("reg [{}:0] exp_q;", p.exp_bits - 1))
        );
        assert_eq!(
            decl(&text, "exp_sum"),
            Some(format!("reg [{}:0] exp_sum;", p.sum_bits - 1))
        );
        assert!(text.contains("$readmemh(\"exp.hex\", exp_rom);"), "{text}");
        assert!(text.contains("exp_q <= exp_rom[exp_idx_q];"), "{text}");
        assert!(!text.contains("exp_lo_q"), "{text}");
    }

    #[test]
    fn a_two_stage_lookup_reads_the_halves_then_picks_one() {
        let text = built(&banked());
        for half in ["exp_lo_q", "exp_hi_q", "exp_top_q"] {
            assert!(decl(&text, half).is_some(), "{half}:\n{text}");
        }
        assert!(
            text.contains("exp_q <= exp_top_q ? exp_hi_q : exp_lo_q;"),
            "{text}"
        );
        assert!(!text.contains("exp_q <= exp_rom[exp_idx_q];"), "{text}");
    }
}
