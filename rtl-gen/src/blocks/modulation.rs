//! The LLS-M / LLS-MxM modulation unit: a hidden layer's learnable vector m (C) or
//! matrix M (C × C) between its logits and its softmax, exactly as
//! `golden_model::spec::fixed::FixedNet::local_signal` defines it.
//!
//! ```text
//! IDLE ─start→ LOGIT  l'_j = (Σ_c l_c·M[c][j]) >> frac      (vector: m_j·l_j)
//!      → SMAX   e = softmax_error(l', y)                     (its own unit)
//!      → GRAD   g_c = (Σ_j M[c][j]·e_j) >> frac              (vector: m_c·e_c; pre-update M)
//!      → UPD    M[c][j] = sat(M[c][j] − round(l_c·e_j >> update_shift))
//!      → IDLE, done
//! ```
//! One multiplier serves the three passes (C·terms products each), with the same
//! issue / S1 / S2 pipeline as the learning unit: S0 presents the memory address, S1
//! multiplies (and accumulates, or writes the update back), S2 stores a finished sum.
//! The layer reads the C softmax errors (for readback) and the C modulated errors g
//! (for its back-projection) once `done` pulses.

use crate::params::{addr_bits, DesignParams, LayerParams, ModParams};
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

use super::{discard, place, ram_port, saturate, select, shift_round, signed_fields, sum, widen};

pub fn mod_file(l: &LayerParams) -> String {
    format!("{}_mod.hex", l.name)
}

/// Cycles from the `start` edge to the edge at which the layer sees `done`, the
/// counterpart of `1 + softmax::latency` for a layer without modulation: each pass
/// issues C·terms items and ends 2 cycles later (LOGIT, GRAD) or 1 (UPD, plus `done`).
pub fn latency(p: &DesignParams, mp: &ModParams) -> u64 {
    let n = (p.classes * mp.terms) as u64;
    1 + (n + 2) + (1 + super::softmax::latency(p)) + (n + 2) + (n + 1) + 1
}

pub fn module(p: &DesignParams, l: &LayerParams, mp: &ModParams, header: &[String]) -> Module {
    let c_n = l.classes;
    let lw = l.logit_bits;
    let ew = l.err_bits;
    let mut m = Module::new(&format!("{}_modulation", l.name));
    m.header(header.to_vec());
    m.doc(&format!(
        "{} modulation of {c_n} logits ({} entries of Q.{} in {} bits), serial on one multiplier,\n\
         around the layer's softmax-error unit.",
        if mp.matrix {
            "LLS-MxM (C x C matrix)"
        } else {
            "LLS-M (vector)"
        },
        mp.entries,
        mp.frac,
        mp.bits
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let start = m.input("start", Ty::bit());
    let label = m.input("label", Ty::u(l.label_bits));
    let logits = m.input("logits", Ty::u(lw * c_n as u32));
    let done = m.output_reg("done", Ty::bit());
    let err_bus = m.output_wire("err", Ty::u(ew * c_n as u32));
    let grad_bus = m.output_wire("grad", Ty::u(mp.grad_bits * c_n as u32));
    let idx_bits = addr_bits(mp.entries);
    let rb_index = m.input("rb_index", Ty::u(idx_bits));
    let rb_value = m.output_wire("rb_value", Ty::s(mp.bits));

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

    m.section("issue stage S0: output o, term i, memory address");
    let o_ty = Ty::u(addr_bits(c_n));
    let i_ty = Ty::u(addr_bits(mp.terms));
    let a_ty = Ty::u(idx_bits);
    let issuing = m.reg("issuing", Ty::bit());
    let o0 = m.reg("o0", o_ty);
    let i0 = m.reg("i0", i_ty);
    let addr0 = m.reg("addr0", a_ty);
    let i_last0 = m.wire_assign(
        "i_last0",
        i0.clone().eq(Expr::lit(mp.terms as i128 - 1, i_ty)),
    );
    let o_last0 = m.wire_assign("o_last0", o0.clone().eq(Expr::lit(c_n as i128 - 1, o_ty)));
    // Which logit / error an item multiplies: LOGIT walks M by columns (term i = class c
    // of output j), GRAD and UPD by rows (term i = class j of output c).
    let (base_idx0, err_idx0) = if mp.matrix {
        (
            m.wire_assign(
                "base_idx0",
                Expr::mux(in_logit.clone(), i0.clone().resize(o_ty.width), o0.clone()),
            ),
            i0.clone().resize(o_ty.width),
        )
    } else {
        (o0.clone(), o0.clone())
    };

    m.section("stage S1 / S2 pipeline registers");
    let v1 = m.reg("v1", Ty::bit());
    let first1 = m.reg("first1", Ty::bit());
    let last1 = m.reg("last1", Ty::bit());
    let final1 = m.reg("final1", Ty::bit());
    let o1 = m.reg("o1", o_ty);
    let addr1 = m.reg("addr1", a_ty);
    let base_idx1 = m.reg("base_idx1", o_ty);
    let err_idx1 = m.reg("err_idx1", o_ty);
    let done2 = m.reg("done2", Ty::bit());
    let final2 = m.reg("final2", Ty::bit());
    let o2 = m.reg("o2", o_ty);

    m.section("modulation memory: m[c] or M[c][j] at c*C + j");
    let mem = m.memory(
        "mod_mem",
        Ty::s(mp.bits),
        mp.entries as u32,
        Some(&mod_file(l)),
    );
    place(&mut m, p, &mem, false);
    let mod_q = m.reg("mod_q", Ty::s(mp.bits));
    let raddr = m.wire_assign(
        "mod_raddr",
        Expr::mux(issuing.clone(), addr0.clone(), rb_index),
    );
    m.assign(&rb_value, mod_q.clone());

    m.section("operands: base logits, softmax errors");
    let base = signed_fields(&mut m, "base", &logits, c_n, lw);
    let softmax_done = m.wire("sm_done", Ty::bit());
    let err = signed_fields(&mut m, "err", &err_bus, c_n, ew);
    let base_sel = select(&mut m, "base_sel", &base, &base_idx1);
    let err_sel = select(&mut m, "err_sel", &err, &err_idx1);

    m.section("stage S1: one multiplier: l*M (LOGIT), e*M (GRAD), l*e (UPD)");
    let (aw, bw) = (mp.mul_a_bits, mp.mul_b_bits);
    let base_a = widen(&mut m, "base_a", base_sel.clone(), aw);
    let err_a = widen(&mut m, "err_a", err_sel.clone(), aw);
    let mod_b = widen(&mut m, "mod_b", mod_q.clone(), bw);
    let err_b = widen(&mut m, "err_b", err_sel, bw);
    let mul_a = m.wire_assign("mul_a", Expr::mux(in_grad.clone(), err_a, base_a));
    let mul_b = m.wire_assign("mul_b", Expr::mux(in_upd.clone(), err_b, mod_b));
    let prod = m.wire_assign("prod", mul_a.mul(mul_b));
    let acc_w = mp.acc_bits;
    let acc = m.reg("acc", Ty::s(acc_w));
    let prod_ext = widen(&mut m, "prod_ext", prod.clone(), acc_w.max(prod.width()));
    let prod_acc = if prod_ext.width() > acc_w {
        // Under LLS-M the product is wider than either sum needs (one operand is narrow).
        discard(
            &mut m,
            "prod_high",
            prod_ext.clone().slice(prod_ext.width() - 1, acc_w),
        );
        m.wire_assign("prod_acc", prod_ext.slice(acc_w - 1, 0).as_signed())
    } else {
        prod_ext
    };
    m.always_ff(
        &clk,
        vec![if_(
            v1.clone().land(in_upd.clone().lnot()),
            vec![if_else(
                first1.clone(),
                vec![assign(&acc, prod_acc.clone())],
                vec![assign(&acc, sum(vec![acc.clone(), prod_acc]))],
            )],
        )],
    );

    m.section("stage S1 (UPD): M - round(l*e >> shift), saturated");
    let step_in_w = prod.width().max(mp.update_shift + 2);
    let step_in = widen(&mut m, "step_in", prod.clone(), step_in_w);
    let step = shift_round(&mut m, "mod_step", step_in, mp.update_shift, p.half_up);
    let dw = step.width().max(mp.bits) + 1;
    let mod_ext = widen(&mut m, "mod_ext", mod_q.clone(), dw);
    let step_ext = widen(&mut m, "mod_step_ext", step, dw);
    let diff = m.wire_assign("mod_diff", mod_ext.sub(step_ext));
    let mod_new = saturate(&mut m, "mod_new", diff, mp.bits);
    let port = ram_port(
        &mut m,
        &mem,
        v1.clone().land(in_upd.clone()),
        addr1.clone(),
        mod_new,
        &mod_q,
        raddr,
    );
    m.always_ff(&clk, port);

    m.section("stage S2: finished sums >> frac (floor)");
    let acc_shr = m.wire_assign("acc_shr", acc.clone().slice(acc_w - 1, mp.frac).as_signed());
    if mp.frac > 0 {
        discard(&mut m, "acc_frac", acc.clone().slice(mp.frac - 1, 0));
    }
    let mlogit: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("mlogit{c}"), Ty::s(mp.logit_bits)))
        .collect();
    let grad: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("grad{c}"), Ty::s(mp.grad_bits)))
        .collect();
    let store = |regs: &[Expr], bits: u32| {
        case(
            o2.clone(),
            (0..c_n)
                .map(|c| {
                    (
                        vec![Expr::lit(c as i128, o_ty)],
                        vec![assign(&regs[c], acc_shr.clone().resize(bits))],
                    )
                })
                .collect(),
            vec![],
        )
    };
    let store_logit = store(&mlogit, mp.logit_bits);
    let store_grad = store(&grad, mp.grad_bits);
    m.assign(
        &grad_bus,
        Expr::concat(grad.iter().rev().map(|g| g.clone().as_unsigned()).collect()),
    );

    m.section("softmax error of the modulated logits");
    let sm_start = m.reg("sm_start", Ty::bit());
    let mlogits = m.wire_assign(
        "mlogits",
        Expr::concat(
            mlogit
                .iter()
                .rev()
                .map(|g| g.clone().as_unsigned())
                .collect(),
        ),
    );
    m.instance(
        &format!("{}_softmax", l.name),
        "softmax",
        vec![
            ("clk".into(), clk.clone()),
            ("rst".into(), rst.clone()),
            ("start".into(), sm_start.clone()),
            ("label".into(), label),
            ("logits".into(), mlogits),
            ("done".into(), softmax_done.clone()),
            ("err".into(), err_bus),
        ],
    );

    m.section("control");
    let f = Expr::bool(false);
    let t = Expr::bool(true);
    let begin = |next: &Expr| {
        vec![
            assign(&state, next.clone()),
            assign(&issuing, t.clone()),
            assign(&o0, Expr::lit(0, o_ty)),
            assign(&i0, Expr::lit(0, i_ty)),
            assign(&addr0, Expr::lit(0, a_ty)),
        ]
    };
    // LOGIT walks column j of M: address i*C + j, next column starts at j + 1.
    let (i_step, row_next) = if mp.matrix {
        (
            Expr::mux(
                in_logit.clone(),
                Expr::lit(c_n as i128, a_ty),
                Expr::lit(1, a_ty),
            ),
            Expr::mux(
                in_logit.clone(),
                o0.clone().resize(idx_bits).add(Expr::lit(1, a_ty)),
                addr0.clone().add(Expr::lit(1, a_ty)),
            ),
        )
    } else {
        (Expr::lit(1, a_ty), addr0.clone().add(Expr::lit(1, a_ty)))
    };
    let advance = if_(
        issuing.clone(),
        vec![if_else(
            i_last0.clone(),
            vec![
                assign(&i0, Expr::lit(0, i_ty)),
                assign(&o0, o0.clone().add(Expr::lit(1, o_ty))),
                assign(&addr0, row_next),
                if_(o_last0.clone(), vec![assign(&issuing, f.clone())]),
            ],
            vec![
                assign(&i0, i0.clone().add(Expr::lit(1, i_ty))),
                assign(&addr0, addr0.clone().add(i_step)),
            ],
        )],
    );
    let pipeline = vec![
        assign(&v1, issuing.clone()),
        assign(&first1, i0.clone().eq(Expr::lit(0, i_ty))),
        assign(&last1, i_last0.clone()),
        assign(&final1, i_last0.land(o_last0)),
        assign(&o1, o0.clone()),
        assign(&addr1, addr0.clone()),
        assign(&base_idx1, base_idx0),
        assign(&err_idx1, err_idx0),
        assign(
            &done2,
            v1.clone()
                .land(last1.clone())
                .land(in_logit.clone().lor(in_grad.clone())),
        ),
        assign(&final2, final1.clone()),
        assign(&o2, o1.clone()),
    ];
    let arms = vec![
        (vec![s_idle.clone()], vec![if_(start, begin(&s_logit))]),
        (
            vec![s_logit.clone()],
            vec![if_(
                done2.clone(),
                vec![
                    store_logit,
                    if_(
                        final2.clone(),
                        vec![assign(&state, s_smax.clone()), assign(&sm_start, t.clone())],
                    ),
                ],
            )],
        ),
        (vec![s_smax], vec![if_(softmax_done, begin(&s_grad))]),
        (
            vec![s_grad],
            vec![if_(
                done2.clone(),
                vec![store_grad, if_(final2.clone(), begin(&s_upd))],
            )],
        ),
        (
            vec![s_upd],
            vec![if_(
                v1.clone().land(final1.clone()),
                vec![assign(&state, s_idle.clone()), assign(&done, t.clone())],
            )],
        ),
    ];
    let mut run = vec![
        assign(&done, f.clone()),
        assign(&sm_start, f.clone()),
        advance,
    ];
    run.extend(pipeline);
    run.push(case(state.clone(), arms, vec![]));
    m.always_ff(
        &clk,
        vec![if_else(
            rst,
            vec![
                assign(&state, s_idle),
                assign(&issuing, f.clone()),
                assign(&v1, f.clone()),
                assign(&done2, f.clone()),
                assign(&done, f.clone()),
                assign(&sm_start, f),
            ],
            run,
        )],
    );
    m
}
