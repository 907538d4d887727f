//! The issue stage S0 and the stage registers behind it. S0 walks the pass's items:
//! output o, term i and the memory address, `issuing` while items remain. S1 multiplies
//! what S0 addressed a cycle before; S2 stores a finished sum.
//!
//! Which logit / error an item multiplies: LOGIT walks M by columns (term i = class c of
//! output j, address i·C + j), GRAD and UPD by rows (term i = class j of output c,
//! address c·C + j).

use crate::params::{addr_bits, ModParams};
use crate::verilog::{assign, if_, if_else, Expr, Module, Stmt, Ty};

use super::fsm::Fsm;

/// S0: the item being issued.
pub(super) struct Issue {
    pub o_ty: Ty,
    pub i_ty: Ty,
    pub a_ty: Ty,
    pub classes: usize,
    pub matrix: bool,
    pub issuing: Expr,
    pub o0: Expr,
    pub i0: Expr,
    pub addr0: Expr,
    pub i_last0: Expr,
    pub o_last0: Expr,
    /// The base logit's and the error's class of the item.
    pub base_idx0: Expr,
    pub err_idx0: Expr,
}

/// S1 and S2: the item's tags a stage and two stages on.
pub(super) struct Stages {
    pub v1: Expr,
    pub first1: Expr,
    pub last1: Expr,
    pub final1: Expr,
    pub o1: Expr,
    pub addr1: Expr,
    pub base_idx1: Expr,
    pub err_idx1: Expr,
    pub done2: Expr,
    pub final2: Expr,
    pub o2: Expr,
}

/// The "issue stage S0" section.
pub(super) fn declare_issue(m: &mut Module, fsm: &Fsm, c_n: usize, mp: &ModParams) -> Issue {
    m.section("issue stage S0: output o, term i, memory address");
    let o_ty = Ty::u(addr_bits(c_n));
    let i_ty = Ty::u(addr_bits(mp.terms));
    let a_ty = Ty::u(addr_bits(mp.entries));
    let issuing = m.reg("issuing", Ty::bit());
    let o0 = m.reg("o0", o_ty);
    let i0 = m.reg("i0", i_ty);
    let addr0 = m.reg("addr0", a_ty);
    let i_last0 = m.wire_assign(
        "i_last0",
        i0.clone().eq(Expr::lit(mp.terms as i128 - 1, i_ty)),
    );
    let o_last0 = m.wire_assign("o_last0", o0.clone().eq(Expr::lit(c_n as i128 - 1, o_ty)));
    let (base_idx0, err_idx0) = if mp.matrix {
        (
            m.wire_assign(
                "base_idx0",
                Expr::mux(
                    fsm.in_logit.clone(),
                    i0.clone().resize(o_ty.width),
                    o0.clone(),
                ),
            ),
            i0.clone().resize(o_ty.width),
        )
    } else {
        (o0.clone(), o0.clone())
    };
    Issue {
        o_ty,
        i_ty,
        a_ty,
        classes: c_n,
        matrix: mp.matrix,
        issuing,
        o0,
        i0,
        addr0,
        i_last0,
        o_last0,
        base_idx0,
        err_idx0,
    }
}

/// The "stage S1 / S2 pipeline registers" section.
pub(super) fn declare_stages(m: &mut Module, s0: &Issue) -> Stages {
    m.section("stage S1 / S2 pipeline registers");
    Stages {
        v1: m.reg("v1", Ty::bit()),
        first1: m.reg("first1", Ty::bit()),
        last1: m.reg("last1", Ty::bit()),
        final1: m.reg("final1", Ty::bit()),
        o1: m.reg("o1", s0.o_ty),
        addr1: m.reg("addr1", s0.a_ty),
        base_idx1: m.reg("base_idx1", s0.o_ty),
        err_idx1: m.reg("err_idx1", s0.o_ty),
        done2: m.reg("done2", Ty::bit()),
        final2: m.reg("final2", Ty::bit()),
        o2: m.reg("o2", s0.o_ty),
    }
}

/// Into a pass: `next` as the state, issuing from item 0.
pub(super) fn begin(fsm: &Fsm, s0: &Issue, next: &Expr) -> Vec<Stmt> {
    vec![
        assign(&fsm.state, next.clone()),
        assign(&s0.issuing, Expr::bool(true)),
        assign(&s0.o0, Expr::lit(0, s0.o_ty)),
        assign(&s0.i0, Expr::lit(0, s0.i_ty)),
        assign(&s0.addr0, Expr::lit(0, s0.a_ty)),
    ]
}

/// S0 on to the next item: the next term, or the next output after an output's last term
/// (the pass's last item ends issuing).
pub(super) fn advance(fsm: &Fsm, s0: &Issue) -> Stmt {
    let a_ty = s0.a_ty;
    let one = Expr::lit(1, a_ty);
    // LOGIT walks column j of M: address i*C + j, next column starts at j + 1.
    let (i_step, row_next) = if s0.matrix {
        (
            Expr::mux(
                fsm.in_logit.clone(),
                Expr::lit(s0.classes as i128, a_ty),
                one.clone(),
            ),
            Expr::mux(
                fsm.in_logit.clone(),
                s0.o0.clone().resize(a_ty.width).add(one.clone()),
                s0.addr0.clone().add(one),
            ),
        )
    } else {
        (one.clone(), s0.addr0.clone().add(one))
    };
    if_(
        s0.issuing.clone(),
        vec![if_else(
            s0.i_last0.clone(),
            vec![
                assign(&s0.i0, Expr::lit(0, s0.i_ty)),
                assign(&s0.o0, s0.o0.clone().add(Expr::lit(1, s0.o_ty))),
                assign(&s0.addr0, row_next),
                if_(
                    s0.o_last0.clone(),
                    vec![assign(&s0.issuing, Expr::bool(false))],
                ),
            ],
            vec![
                assign(&s0.i0, s0.i0.clone().add(Expr::lit(1, s0.i_ty))),
                assign(&s0.addr0, s0.addr0.clone().add(i_step)),
            ],
        )],
    )
}

/// The stage registers' loads, every cycle: S0's item into S1, S1's into S2 (`done2`: an
/// output's sum of LOGIT or GRAD is complete).
pub(super) fn pipeline(fsm: &Fsm, s0: &Issue, s: &Stages) -> Vec<Stmt> {
    vec![
        assign(&s.v1, s0.issuing.clone()),
        assign(&s.first1, s0.i0.clone().eq(Expr::lit(0, s0.i_ty))),
        assign(&s.last1, s0.i_last0.clone()),
        assign(&s.final1, s0.i_last0.clone().land(s0.o_last0.clone())),
        assign(&s.o1, s0.o0.clone()),
        assign(&s.addr1, s0.addr0.clone()),
        assign(&s.base_idx1, s0.base_idx0.clone()),
        assign(&s.err_idx1, s0.err_idx0.clone()),
        assign(
            &s.done2,
            s.v1.clone()
                .land(s.last1.clone())
                .land(fsm.in_logit.clone().lor(fsm.in_grad.clone())),
        ),
        assign(&s.final2, s.final1.clone()),
        assign(&s.o2, s.o1.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::fsm;
    use super::super::testing::{decl, matrix, modulated, vector};
    use super::*;
    use crate::params::DesignParams;
    use crate::verilog::Stmt;

    fn built(p: &DesignParams) -> String {
        let (l, mp) = modulated(p);
        let mut m = Module::new("t");
        let clk = m.input("clk", Ty::bit());
        let rst = m.input("rst", Ty::bit());
        let fsm = fsm::declare(&mut m, clk.clone(), rst);
        let s0 = declare_issue(&mut m, &fsm, l.classes, mp);
        let s = declare_stages(&mut m, &s0);
        let body: Vec<Stmt> = [vec![advance(&fsm, &s0)], pipeline(&fsm, &s0, &s)].concat();
        m.always_ff(&clk, body);
        m.to_verilog()
    }

    #[test]
    fn a_vector_walks_one_term_per_output() {
        let text = built(&vector());
        // 3 entries: a 2-bit address; one term: a 1-bit term counter that is always last.
        assert_eq!(decl(&text, "addr0").as_deref(), Some("reg [1:0] addr0;"));
        assert_eq!(decl(&text, "i0").as_deref(), Some("reg i0;"));
        assert_eq!(
            decl(&text, "i_last0").as_deref(),
            Some("wire i_last0 = i0 == 1'b0;")
        );
        // Base logit and error are both output o's: no index wire.
        assert!(decl(&text, "base_idx0").is_none(), "{text}");
        assert!(text.contains("base_idx1 <= o0;"), "{text}");
        assert!(text.contains("addr0 <= addr0 + 2'd1;"), "{text}");
    }

    #[test]
    fn a_matrix_walks_columns_in_logit_and_rows_otherwise() {
        let text = built(&matrix());
        // 9 entries: a 4-bit address; terms 0..=2.
        assert_eq!(decl(&text, "addr0").as_deref(), Some("reg [3:0] addr0;"));
        assert_eq!(
            decl(&text, "i_last0").as_deref(),
            Some("wire i_last0 = i0 == 2'd2;")
        );
        assert_eq!(
            decl(&text, "base_idx0").as_deref(),
            Some("wire [1:0] base_idx0 = in_logit ? i0 : o0;")
        );
        // A term steps the address by C in LOGIT (down a column), by 1 otherwise.
        assert!(
            text.contains("addr0 <= addr0 + (in_logit ? 4'd3 : 4'd1);"),
            "{text}"
        );
        assert!(text.contains("err_idx1 <= i0;"), "{text}");
    }
}
