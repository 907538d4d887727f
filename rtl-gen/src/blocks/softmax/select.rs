//! The logit select and the max scan. The class counter is also kept one-hot
//! (`logit_sel_onehot`), for the logit select alone: an AND-OR of the logit fields,
//! without decoding `cnt` in front of it. The selected logit is registered in offset
//! binary (the sign bit inverted: `l + 2^(lw−1)`), so that the max scan's compares are
//! unsigned and `max − l_c` is the same.
//!
//! The scan takes two cycles a logit (`max_phase`): the first compares logit e with the
//! maximum of 0..e−1 by halves (three carry chains half as long) into registers, the
//! second combines them and takes the logit if it beat the maximum. No loop runs through a
//! carry chain, and the maximum is a register when the exp lookup subtracts from it.

use crate::verilog::{assign, if_, if_else, Expr, Module, Ty};

use super::fsm::Fsm;

/// The select's registers and the running maximum.
pub(super) struct LogitSelect {
    /// Bit k set while class k is selected (only classes < C select).
    pub onehot: Expr,
    /// `logit[cnt of the cycle before]`, offset binary.
    pub sel_q: Expr,
    pub max: Expr,
    pub max_phase: Expr,
}

impl LogitSelect {
    /// The one-hot select of class `k`.
    pub fn onehot_lit(&self, k: usize) -> Expr {
        let w = self.onehot.width();
        Expr::lit(1i128 << k, Ty::u(w))
    }

    /// The select moved on to the next class.
    pub fn onehot_inc(&self) -> Expr {
        self.onehot.clone().shl(1)
    }
}

/// The "logits" section: the fields of the `logits` bus, the select, `logit_sel_q`, and the
/// maximum's registers (assigned by [`max_scan`]).
pub(super) fn declare(m: &mut Module, fsm: &Fsm, logits: &Expr, lw: u32) -> LogitSelect {
    let c_n = fsm.classes;
    m.section("logits: logit_sel_q = logit[cnt of the cycle before]");
    let logit = super::super::signed_fields(m, "logit", logits, c_n, lw);
    let onehot = m.reg("logit_sel_onehot", Ty::u(c_n as u32));
    let sel = m.wire_assign("logit_sel", super::super::one_hot_select(&onehot, logit));
    let sel_q = m.reg("logit_sel_q", Ty::u(lw));
    m.always_ff(
        &fsm.clk,
        vec![assign(
            &sel_q,
            Expr::concat(vec![sel.clone().bit(lw - 1).not(), sel.slice(lw - 2, 0)]),
        )],
    );
    let max = m.reg("max", Ty::u(lw));
    let max_phase = m.reg("max_phase", Ty::bit());
    LogitSelect {
        onehot,
        sel_q,
        max,
        max_phase,
    }
}

/// The maximum's clocked block: the least value while idle (so the scan needs no select
/// on `start`), in `S_MAX` the compare's registers every cycle and the logit taken on the
/// second cycle if it beat the maximum.
pub(super) fn max_scan(m: &mut Module, fsm: &Fsm, sel: &LogitSelect) {
    let lw = sel.max.width();
    let idle = fsm.state.clone().eq(fsm.s_idle.clone());
    let in_max = fsm.state.clone().eq(fsm.s_max.clone());
    let (beats, parts_ff) =
        super::super::registered_gt(m, "max_gt", "max_gt", &sel.sel_q, &sel.max);
    let max_ff = if_else(
        idle,
        vec![assign(&sel.max, Expr::lit(0, Ty::u(lw)))],
        vec![if_(
            in_max,
            [
                parts_ff,
                vec![if_(
                    sel.max_phase.clone().land(beats),
                    vec![assign(&sel.max, sel.sel_q.clone())],
                )],
            ]
            .concat(),
        )],
    );
    m.always_ff(&fsm.clk, vec![max_ff]);
}

#[cfg(test)]
mod tests {
    use super::super::fsm;
    use super::super::testing::{classifier, decl, tiny};
    use super::*;

    fn built(with_scan: bool) -> (u32, String) {
        let p = tiny();
        let lw = classifier(&p).softmax_logit_bits();
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let logits = m.input("logits", Ty::u(lw * p.classes as u32));
        let fsm = fsm::declare(&mut m, &p, clk, rst);
        let sel = declare(&mut m, &fsm, &logits, lw);
        if with_scan {
            max_scan(&mut m, &fsm, &sel);
        }
        (lw, m.to_verilog())
    }

    #[test]
    fn the_select_is_one_hot_and_registered_in_offset_binary() {
        let (lw, text) = built(false);
        assert_eq!(
            decl(&text, "logit_sel_onehot").as_deref(),
            Some("reg [2:0] logit_sel_onehot;")
        );
        let top = lw - 1;
        assert_eq!(
            decl(&text, "logit_sel_q"),
            Some(format!("reg [{top}:0] logit_sel_q;"))
        );
        assert_eq!(decl(&text, "max"), Some(format!("reg [{top}:0] max;")));
        // The sign bit inverted, the rest as is.
        let offset = format!(
            "logit_sel_q <= {{~logit_sel[{top}], logit_sel[{}:0]}};",
            top - 1
        );
        assert!(text.contains(&offset), "{text}");
        // Each field behind its one-hot bit, no decode of cnt.
        for k in 0..3 {
            assert!(text.contains(&format!("logit_sel_onehot[{k}] ?")), "{text}");
        }
        assert!(!text.contains("max_gt"), "{text}");
    }

    #[test]
    fn the_scan_compares_by_halves_into_registers() {
        let (lw, text) = built(true);
        assert!(lw >= 8, "by halves needs 8 bits or more");
        for part in ["hi_gt", "hi_lt", "lo_gt"] {
            assert_eq!(
                decl(&text, &format!("max_gt_{part}_q")),
                Some(format!("reg max_gt_{part}_q;")),
                "{text}"
            );
        }
        assert!(text.contains("max <= logit_sel_q;"), "{text}");
    }
}
