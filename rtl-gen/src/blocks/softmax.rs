//! The softmax-error unit: `e = p − onehot(label)` from C logits, exactly as
//! `golden_model::spec::softmax::softmax_error` defines it.
//!
//! Sequential, one class at a time: find the maximum (2C cycles), look up
//! `EXP[min(max − l_c, len−1)]` in the exp ROM and sum (C+4 cycles; C+5 with a two-stage
//! lookup, `DesignParams::exp_lookup_stages`), then divide each `E_c · 2^P` by the sum
//! with a non-restoring divider, one quotient bit per cycle (C·(P+1) cycles), and register
//! each error a cycle after its last quotient bit (1).
//! `done` pulses once the C errors are registered. The class selects (`logit_sel`,
//! `exp_sel`) are registered, so each cycle does one compare or one subtract.

use crate::params::{addr_bits, DesignParams, LayerParams};
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

use super::widen;

pub fn exp_rom_file() -> &'static str {
    "exp.hex"
}

/// Cycles from `start` (sampled at an edge) to `done` high, for the cycle model.
pub fn latency(p: &DesignParams) -> u64 {
    let c = p.classes as u64;
    2 * c + (c + 3 + p.exp_lookup_stages as u64) + c * (p.prob_frac as u64 + 1) + 1
}

pub fn module(p: &DesignParams, l: &LayerParams, header: &[String]) -> Module {
    let c_n = p.classes;
    let lw = l.softmax_logit_bits();
    let ew = l.err_bits;
    let prob = p.prob_frac;
    let mut m = Module::new(&format!("{}_softmax", l.name));
    m.header(header.to_vec());
    m.doc(&format!(
        "Softmax error of {c_n} logits (Q.{} in {lw} bits) -> p - onehot(label) in Q.{prob} ({ew} bits).\n\
         Max scan, exp ROM lookup and sum, then one non-restoring division per class.",
        p.logit_frac
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let start = m.input("start", Ty::bit());
    let label = m.input("label", Ty::u(p.label_bits));
    let logits = m.input("logits", Ty::u(lw * c_n as u32));
    let done = m.output_reg("done", Ty::bit());
    let err_bus = m.output_wire("err", Ty::u(ew * c_n as u32));

    m.section("state");
    let st_ty = Ty::u(2);
    let s_idle = m.localparam("S_IDLE", Expr::lit(0, st_ty));
    let s_max = m.localparam("S_MAX", Expr::lit(1, st_ty));
    let s_exp = m.localparam("S_EXP", Expr::lit(2, st_ty));
    let s_div = m.localparam("S_DIV", Expr::lit(3, st_ty));
    let state = m.reg("state", st_ty);
    // The exp phase counts to C + 2 + the lookup's stages.
    let look = p.exp_lookup_stages as usize;
    let cnt_ty = Ty::u(addr_bits(c_n + 3 + look));
    let cnt = m.reg("cnt", cnt_ty);
    let it_ty = Ty::u(addr_bits(prob as usize + 1));
    let it = m.reg("iter", it_ty);

    m.section("logits: logit_sel_q = logit[cnt of the cycle before]");
    let logit = super::signed_fields(&mut m, "logit", &logits, c_n, lw);
    // The class counter also kept one-hot, for the logit select alone: an AND-OR of the
    // logit registers, without decoding cnt in front of it. Only classes < C select.
    let sel_oh = m.reg("logit_sel_onehot", Ty::u(c_n as u32));
    let oh = |k: usize| Expr::lit(1i128 << k, Ty::u(c_n as u32));
    let oh_inc = sel_oh.clone().shl(1);
    let sel = m.wire_assign("logit_sel", super::one_hot_select(&sel_oh, logit.clone()));
    // Registered in offset binary (the sign bit inverted: l + 2^(lw−1)), so that the max
    // scan's compares are unsigned (the carry out of one chain) and max − l_c is the same.
    let sel_q = m.reg("logit_sel_q", Ty::u(lw));
    m.always_ff(
        &clk,
        vec![assign(
            &sel_q,
            Expr::concat(vec![sel.clone().bit(lw - 1).not(), sel.slice(lw - 2, 0)]),
        )],
    );
    // The running maximum, two cycles a logit (`max_phase`): see the scan below.
    let max = m.reg("max", Ty::u(lw));
    let max_phase = m.reg("max_phase", Ty::bit());

    m.section("exp lookup: EXP[min(max - l_c, len - 1)]");
    let iw = p.exp_index_bits;
    let last = (1i128 << iw) - 1;
    let dw = lw + 1;
    let max_ext = widen(&mut m, "max_ext", max.clone(), dw);
    let sel_ext = widen(&mut m, "sel_ext", sel_q.clone(), dw);
    // The subtract and the clamp are a stage each (both operands offset alike). max ≥ l_c:
    // the difference's sign bit is always 0 and is not kept.
    let diff_next = m.wire_assign("diff_next", max_ext.sub(sel_ext));
    super::discard(&mut m, "diff_sign", diff_next.clone().bit(dw - 1));
    let diff = m.reg("diff", Ty::u(dw - 1));
    m.always_ff(&clk, vec![assign(&diff, diff_next.slice(dw - 2, 0))]);
    let exp_idx = if dw - 1 > iw {
        // diff can exceed the table: clamp to the last entry.
        let over = m.wire_assign("exp_over", diff.clone().slice(dw - 2, iw).reduce_or());
        let low = diff.clone().slice(iw - 1, 0);
        m.wire_assign("exp_idx", Expr::mux(over, Expr::lit(last, Ty::u(iw)), low))
    } else {
        // diff < 2^(dw−1) ≤ len: every value indexes the table.
        m.wire_assign("exp_idx", diff.clone().resize(iw))
    };
    let exp_rom = m.memory("exp_rom", Ty::u(p.exp_bits), 1 << iw, Some(exp_rom_file()));
    super::place(&mut m, p, &exp_rom, true);
    let exp_q = m.reg("exp_q", Ty::u(p.exp_bits));
    // The index is registered before the ROM, so the clamp and the ROM read are a stage
    // each; the class tag follows a stage behind the lookup.
    let exp_idx_q = m.reg("exp_idx_q", exp_idx.ty());
    let mut lookup = vec![assign(&exp_idx_q, exp_idx)];
    if look == 1 {
        lookup.push(assign(&exp_q, exp_rom.read(exp_idx_q.clone())));
    } else {
        lookup.extend(super::halved_rom_read(
            &mut m,
            &exp_rom,
            "exp",
            exp_idx_q.clone(),
            &exp_q,
        ));
    }
    m.always_ff(&clk, lookup);
    let look_valid = m.reg("look_valid", Ty::bit());
    let look_class = m.reg("look_class", cnt_ty);
    let exp_valid = m.reg("exp_valid", Ty::bit());
    let exp_class = m.reg("exp_class", cnt_ty);
    // E_c is written once per class and read back one class at a time: a small memory
    // (block RAM on the iCE40, LUT RAM on the ECP5) rather than C registers and a mux.
    let ex = m.memory("exp_mem", Ty::u(p.exp_bits), 1 << cnt_ty.width, None);
    super::place(&mut m, p, &ex, false);
    let sw = p.sum_bits;
    let total = m.reg("exp_sum", Ty::u(sw));
    let total_next = m.wire_assign("exp_sum_next", total.clone().add(exp_q.clone().resize(sw)));

    m.section("non-restoring division: q = floor(E_c * 2^P / sum)");
    let rw = sw + 1;
    // exp_sel_q: E of the class whose division starts after this cycle (class 0 outside
    // the division). The read is issued a cycle ahead: the next class at the one-but-last
    // quotient step.
    let p_last = Expr::lit(prob as i128, it_ty);
    let p_next = Expr::lit(prob as i128 - 1, it_ty);
    let cnt_inc = cnt.clone().add(Expr::lit(1, cnt_ty));
    let ex_idx = m.wire_assign(
        "exp_sel_idx",
        Expr::mux(
            state.clone().eq(s_div.clone()),
            Expr::mux(it.clone().eq(p_next.clone()), cnt_inc.clone(), cnt.clone()),
            Expr::lit(0, cnt_ty),
        ),
    );
    let ex_sel_q = m.reg("exp_sel_q", Ty::u(p.exp_bits));
    let port = super::ram_port(
        &mut m,
        &ex,
        exp_valid.clone(),
        exp_class.clone(),
        exp_q.clone(),
        &ex_sel_q,
        ex_idx,
    );
    m.always_ff(&clk, port);
    // Non-restoring: the partial remainder r_k (two's complement, rw bits) is
    // r_k = 2·r_{k-1} − sum after a non-negative one, 2·r_{k-1} + sum after a negative one
    // (a class's first step: E − sum): the same r_k as the restoring divider's trial
    // subtraction, so the same quotient bits (r_k ≥ 0), but one add a step.
    // |r_k| < sum < 2^(rw−1), so the arithmetic wraps modulo 2^rw harmlessly. The add's
    // three operands are registers, loaded from the step before: the loop is the carry
    // chain, its sign bit and one LUT a bit (step, sum bit, sign, load value).
    // div_a: E, or 2·r_{k-1}; div_b: the sum, or its complement when subtracting; div_sub:
    // the carry-in, 1 when subtracting.
    let div_a = m.reg("div_a", Ty::u(rw));
    let div_b = m.reg("div_b", Ty::u(rw));
    let sub = m.reg("div_sub", Ty::bit());
    // div_step: this cycle is a quotient step of a class that is not at its last one, i.e.
    // state == S_DIV && iter != P, kept as a register so that the operands' next values
    // decode nothing behind the carry chain. Otherwise the operands load a class's first
    // step (E_c − sum), which the entry and each class end need and all other cycles ignore.
    let step = m.reg("div_step", Ty::bit());
    // div_on: the divider's registers load this cycle (the entry, then every quotient
    // step): a flip-flop on their clock enables, so they hold, and a simulator skips them,
    // for all but the C·(P+1) cycles of a sample that divide.
    let div_on = m.reg("div_on", Ty::bit());
    // The signs of the partial remainders, i.e. the quotient bits inverted. The sign leaves
    // the chain into one register beside it (rem_sign_q, so the loop's only other loads are
    // the operands) and is shifted on from there every cycle: the cycle after a class's last
    // step, rem_signs and rem_sign_q hold its P+1 signs.
    let sign_q = m.reg("rem_sign_q", Ty::bit());
    let signs = m.reg("rem_signs", Ty::u(prob));
    let rem_next = m.wire_assign(
        "rem_next",
        div_a.clone().add(div_b.clone()).add(sub.clone().resize(rw)),
    );
    let rem_neg = m.wire_assign("rem_neg", rem_next.clone().bit(rw - 1));
    // −sum for a first step: at the entry the sum takes its last E at that very edge
    // (exp_valid), at a class end it is complete.
    let first_b = m.wire_assign(
        "div_b_first",
        Expr::mux(exp_valid.clone(), total_next.clone(), total.clone())
            .resize(rw)
            .not(),
    );
    m.always_ff(
        &clk,
        vec![if_(
            div_on.clone(),
            vec![
                assign(
                    &div_a,
                    Expr::mux(
                        step.clone(),
                        Expr::concat(vec![
                            rem_next.clone().slice(rw - 2, 0),
                            Expr::lit(0, Ty::u(1)),
                        ]),
                        ex_sel_q.clone().resize(rw),
                    ),
                ),
                assign(
                    &div_b,
                    Expr::mux(
                        step.clone(),
                        total
                            .clone()
                            .resize(rw)
                            .xor(Expr::repeat(rw, rem_neg.clone().lnot())),
                        first_b,
                    ),
                ),
                assign(&sub, step.clone().land(rem_neg.clone()).lnot()),
                assign(&sign_q, rem_neg.clone()),
                assign(
                    &signs,
                    Expr::concat(vec![signs.clone().slice(prob - 2, 0), sign_q.clone()]),
                ),
            ],
        )],
    );
    m.section("error of the class whose quotient finished last cycle");
    // The finished quotient, still as signs (inverted where it is used, off the loop): valid
    // the cycle after the class's last step, when quo_fin_write is one-hot on the class
    // (each error register's enable is one flip-flop, no class decode).
    let q_fin = m.wire_assign(
        "quo_fin_signs",
        Expr::concat(vec![signs.clone(), sign_q.clone()]),
    );
    let q_write = m.reg("quo_fin_write", Ty::u(c_n as u32));
    // Whether that class is the label, decided at its last step.
    let q_is_label = m.reg("quo_fin_is_label", Ty::bit());
    let p_ext = m.wire_assign("prob", q_fin.clone().not().resize(ew).as_signed());
    let one = Expr::lit(1i128 << prob, Ty::s(ew));
    let e_val = m.wire_assign(
        "err_val",
        Expr::mux(q_is_label.clone(), p_ext.clone().sub(one), p_ext),
    );
    let err: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("err{c}"), Ty::s(ew)))
        .collect();
    m.assign(
        &err_bus,
        Expr::concat(err.iter().rev().map(|e| e.clone().as_unsigned()).collect()),
    );
    m.always_ff(
        &clk,
        err.iter()
            .enumerate()
            .map(|(c, e)| {
                if_(
                    q_write.clone().bit(c as u32),
                    vec![assign(e, e_val.clone())],
                )
            })
            .collect(),
    );

    m.section("control");
    let c_last = Expr::lit(c_n as i128 - 1, cnt_ty);
    let c_end = Expr::lit(c_n as i128, cnt_ty);
    let c_exp_end = Expr::lit((c_n + 2 + look) as i128, cnt_ty);
    let look_class_of_cnt = cnt.clone().sub(Expr::lit(1 + look as i128, cnt_ty));
    // A class's last quotient step: its quotient out, the next class's first step in
    // (div_a, div_b and div_sub load it as div_step is low).
    // Into the next phase (or idle): its state, the class counter and select back to 0.
    let enter = |next: &Expr| {
        vec![
            assign(&state, next.clone()),
            assign(&cnt, Expr::lit(0, cnt_ty)),
            assign(&sel_oh, oh(0)),
        ]
    };
    let class_end = vec![
        assign(&q_write, sel_oh.clone()),
        assign(&q_is_label, cnt.clone().eq(label_ext(&label, cnt_ty))),
        assign(&it, Expr::lit(0, it_ty)),
        assign(&cnt, cnt_inc.clone()),
        assign(&sel_oh, oh_inc.clone()),
        if_(
            cnt.clone().eq(c_last.clone()),
            [
                enter(&s_idle),
                vec![
                    assign(&step, Expr::bool(false)),
                    assign(&div_on, Expr::bool(false)),
                ],
            ]
            .concat(),
        ),
    ];
    // The max scan, two cycles a logit: the first compares logit e with the maximum of
    // 0..e−1 by halves (three carry chains half as long) into registers, the second
    // combines them and takes the logit if it beat the maximum. No loop runs through a
    // carry chain, and the maximum is a register when the exp lookup subtracts from it.
    // While idle the maximum is the least value, so the scan needs no select on `start`.
    let idle = state.clone().eq(s_idle.clone());
    let in_max = state.clone().eq(s_max.clone());
    let (beats, parts_ff) = super::registered_gt(&mut m, "max_gt", "max_gt", &sel_q, &max);
    let max_ff = if_else(
        idle,
        vec![assign(&max, Expr::lit(0, Ty::u(lw)))],
        vec![if_(
            in_max,
            [
                parts_ff,
                vec![if_(
                    max_phase.clone().land(beats),
                    vec![assign(&max, sel_q.clone())],
                )],
            ]
            .concat(),
        )],
    );
    m.always_ff(&clk, vec![max_ff]);
    m.always_ff(
        &clk,
        vec![if_else(
            rst,
            vec![
                assign(&state, s_idle.clone()),
                assign(&max_phase, Expr::bool(false)),
                assign(&done, Expr::bool(false)),
                assign(&look_valid, Expr::bool(false)),
                assign(&exp_valid, Expr::bool(false)),
                assign(&q_write, Expr::lit(0, Ty::u(c_n as u32))),
                assign(&cnt, Expr::lit(0, cnt_ty)),
                assign(&sel_oh, oh(0)),
                assign(&it, Expr::lit(0, it_ty)),
                assign(&step, Expr::bool(false)),
                assign(&div_on, Expr::bool(false)),
            ],
            vec![
                assign(&look_valid, Expr::bool(false)),
                assign(&exp_valid, look_valid.clone()),
                assign(&exp_class, look_class.clone()),
                assign(&q_write, Expr::lit(0, Ty::u(c_n as u32))),
                if_(exp_valid.clone(), vec![assign(&total, total_next.clone())]),
                assign(&done, q_write.clone().bit(c_n as u32 - 1)),
                case(
                    state.clone(),
                    vec![
                        (
                            // cnt is 0 while idle, so logit_sel_q holds logit 0.
                            vec![s_idle.clone()],
                            vec![if_(start, vec![assign(&state, s_max.clone())])],
                        ),
                        (
                            // Logit e: compared while cnt = e (max_phase low; the select
                            // moves on, logit_sel_q keeps logit e a cycle more), taken
                            // while cnt = e + 1 (logit 0 against the least value first).
                            vec![s_max],
                            vec![
                                assign(&max_phase, max_phase.clone().lnot()),
                                if_else(
                                    max_phase.clone(),
                                    vec![if_(
                                        cnt.clone().eq(c_end),
                                        [
                                            enter(&s_exp),
                                            vec![assign(&total, Expr::lit(0, Ty::u(sw)))],
                                        ]
                                        .concat(),
                                    )],
                                    vec![
                                        assign(&cnt, cnt_inc.clone()),
                                        assign(&sel_oh, oh_inc.clone()),
                                    ],
                                ),
                            ],
                        ),
                        (
                            // cnt = k in 1..=C subtracts class k − 1's logit from the max; its
                            // index is clamped at k + 1, its E read at k + 2 (k + 2 and k + 3
                            // with a two-stage lookup) and summed a cycle after (tagged
                            // from k + 1 on, or k + 2).
                            vec![s_exp],
                            vec![if_else(
                                cnt.clone().eq(c_exp_end),
                                [
                                    enter(&s_div),
                                    vec![
                                        assign(&it, Expr::lit(0, it_ty)),
                                        // Into the division: class 0's first step is
                                        // loaded at this edge, its quotient steps follow.
                                        assign(&step, Expr::bool(true)),
                                    ],
                                ]
                                .concat(),
                                vec![
                                    // The cycle before the entry: the divider's
                                    // registers load from the entry on.
                                    if_(
                                        cnt.clone().eq(Expr::lit((c_n + 1 + look) as i128, cnt_ty)),
                                        vec![assign(&div_on, Expr::bool(true))],
                                    ),
                                    if_(
                                        cnt.clone().ge(Expr::lit(1 + look as i128, cnt_ty)).land(
                                            cnt.clone().le(Expr::lit((c_n + look) as i128, cnt_ty)),
                                        ),
                                        vec![
                                            assign(&look_valid, Expr::bool(true)),
                                            assign(&look_class, look_class_of_cnt),
                                        ],
                                    ),
                                    assign(&cnt, cnt_inc.clone()),
                                    assign(&sel_oh, oh_inc.clone()),
                                ],
                            )],
                        ),
                        (
                            vec![s_div],
                            vec![
                                // The next cycle steps unless it ends the class.
                                assign(&step, it.clone().ne(p_next.clone())),
                                assign(&it, it.clone().add(Expr::lit(1, it_ty))),
                                if_(it.clone().eq(p_last), class_end),
                            ],
                        ),
                    ],
                    vec![],
                ),
            ],
        )],
    );
    m
}

/// The label compared against the class counter, which may be one bit wider.
fn label_ext(label: &Expr, cnt_ty: Ty) -> Expr {
    if label.width() == cnt_ty.width {
        label.clone()
    } else {
        label.clone().resize(cnt_ty.width)
    }
}
