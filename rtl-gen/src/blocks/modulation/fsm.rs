//! The unit's passes: IDLE → LOGIT → SMAX → GRAD → UPD → IDLE, and the pass decodes the
//! datapath selects on. [`Fsm`] is the context the other concerns read them from.

use crate::verilog::{Expr, Module, Ty};

/// The clock and reset, the state register with its codes, and the pass decodes.
pub(super) struct Fsm {
    pub clk: Expr,
    pub rst: Expr,
    pub state: Expr,
    pub s_idle: Expr,
    pub s_logit: Expr,
    pub s_smax: Expr,
    pub s_grad: Expr,
    pub s_upd: Expr,
    pub in_logit: Expr,
    pub in_grad: Expr,
    pub in_upd: Expr,
}

/// The "state" section.
pub(super) fn declare(m: &mut Module, clk: Expr, rst: Expr) -> Fsm {
    m.section("state");
    let st_ty = Ty::u(3);
    let s_idle = m.localparam("S_IDLE", Expr::lit(0, st_ty));
    let s_logit = m.localparam("S_LOGIT", Expr::lit(1, st_ty));
    let s_smax = m.localparam("S_SMAX", Expr::lit(2, st_ty));
    let s_grad = m.localparam("S_GRAD", Expr::lit(3, st_ty));
    let s_upd = m.localparam("S_UPD", Expr::lit(4, st_ty));
    let state = m.reg("state", st_ty);
    let in_logit = m.wire_assign("in_logit", state.clone().eq(s_logit.clone()));
    let in_grad = m.wire_assign("in_grad", state.clone().eq(s_grad.clone()));
    let in_upd = m.wire_assign("in_upd", state.clone().eq(s_upd.clone()));
    Fsm {
        clk,
        rst,
        state,
        s_idle,
        s_logit,
        s_smax,
        s_grad,
        s_upd,
        in_logit,
        in_grad,
        in_upd,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::decl;
    use super::*;

    #[test]
    fn five_states_in_three_bits_and_one_decode_per_pass() {
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let fsm = declare(&mut m, clk, rst);
        assert_eq!(fsm.state.width(), 3);
        let text = m.to_verilog();
        for (name, code) in [
            ("S_IDLE", 0),
            ("S_LOGIT", 1),
            ("S_SMAX", 2),
            ("S_GRAD", 3),
            ("S_UPD", 4),
        ] {
            assert_eq!(
                decl(&text, name),
                Some(format!("localparam [2:0] {name} = 3'd{code};"))
            );
        }
        for (wire, st) in [
            ("in_logit", "S_LOGIT"),
            ("in_grad", "S_GRAD"),
            ("in_upd", "S_UPD"),
        ] {
            assert_eq!(
                decl(&text, wire),
                Some(format!("wire {wire} = state == {st};"))
            );
        }
    }
}
