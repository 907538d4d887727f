//! The learning signal: the softmax error unit (behind the modulation unit for LLS-M /
//! LLS-MxM) and the δ each row's update multiplies by: the classifier's error e\[row\], a
//! hidden unit's narrow(f'(z)·Bᵀe) (Bᵀg with modulation).

use crate::params::addr_bits;
use crate::verilog::{assign, case, if_, Expr, Module, Stmt, Ty};

use super::super::narrowing::{saturate, shift_round};
use super::super::{place, ram_port, signed_fields, sum};
use super::control::State;
use super::forward_tail::Activation;
use super::pipeline::Chains;
use super::projection::basis_terms;
use super::Unit;

/// The error unit's connections.
pub(super) struct Signal {
    pub start: Expr,
    pub done: Expr,
    /// The errors e_c, one field a class.
    pub bus: Expr,
    pub errs: Vec<Expr>,
    pub modulation: Option<ModulationPorts>,
}

/// LLS-M/MxM: the modulated error g the basis projects back, and the unit's readback.
pub(super) struct ModulationPorts {
    pub grad_bus: Expr,
    pub grads: Vec<Expr>,
    pub rb_index: Expr,
    pub rb_value: Expr,
}

impl Signal {
    /// The error the basis projects back: g with modulation, else e.
    fn back_error(&self) -> &[Expr] {
        self.modulation.as_ref().map_or(&self.errs, |mp| &mp.grads)
    }
}

/// The error unit's wires; it exists only when the design learns.
pub(super) fn declare(m: &mut Module, u: &Unit) -> Option<Signal> {
    let l = u.l;
    let c_n = l.classes;
    if !u.p.learn {
        return None;
    }
    m.section(if l.modulation.is_some() {
        "softmax error unit, behind the modulation unit"
    } else {
        "softmax error unit"
    });
    let start = m.reg("sm_start", Ty::bit());
    let done = m.wire("sm_done", Ty::bit());
    let bus = m.wire("err", Ty::u(l.err_bits * c_n as u32));
    let errs = signed_fields(m, "err", &bus, l.classes, l.err_bits);
    let modulation = l.modulation.as_ref().map(|mp| {
        let grad_bus = m.wire("grad", Ty::u(mp.grad_bits * c_n as u32));
        let grads = signed_fields(m, "grad", &grad_bus, c_n, mp.grad_bits);
        let rb_index = m.wire("mod_rb_index", Ty::u(addr_bits(mp.entries)));
        let rb_value = m.wire("mod_rb_value", Ty::s(mp.bits));
        ModulationPorts {
            grad_bus,
            grads,
            rb_index,
            rb_value,
        }
    });
    Some(Signal {
        start,
        done,
        bus,
        errs,
        modulation,
    })
}

/// The softmax (or modulation) unit's instance, fed the unit's logits and label.
pub(super) fn instance(m: &mut Module, u: &Unit, s: &Signal, label: &Expr, logits: &[Expr]) {
    let logits_bus = m.wire_assign(
        "logits",
        Expr::concat(
            logits
                .iter()
                .rev()
                .map(|e| e.clone().as_unsigned())
                .collect(),
        ),
    );
    let mut conns = vec![
        ("clk".into(), u.clk.clone()),
        ("rst".into(), u.rst.clone()),
        ("start".into(), s.start.clone()),
        ("label".into(), label.clone()),
        ("logits".into(), logits_bus),
        ("done".into(), s.done.clone()),
        ("err".into(), s.bus.clone()),
    ];
    match &s.modulation {
        Some(mp) => {
            conns.extend([
                ("grad".into(), mp.grad_bus.clone()),
                ("rb_index".into(), mp.rb_index.clone()),
                ("rb_value".into(), mp.rb_value.clone()),
            ]);
            m.instance(&format!("{}_modulation", u.l.name), "modulation", conns);
        }
        None => m.instance(&format!("{}_softmax", u.l.name), "softmax", conns),
    }
}

/// The classifier's δ = e\[row\] (>> η under a learning-rate schedule), selected a stage
/// before the multiply and registered.
pub(super) fn classifier_delta(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    pipe: &Chains,
    s: &Signal,
    late_ff: &mut Vec<Stmt>,
) -> Expr {
    let l = u.l;
    m.section(match fsm.halvings() {
        Some(_) => "update: delta = e[row] >>> eta, registered for the multiply stage",
        None => "update: delta = e[row], registered for the multiply stage",
    });
    let d = m.reg("delta", Ty::s(l.err_bits));
    let d_q = m.reg("delta_q", Ty::s(l.err_bits));
    late_ff.push(assign(&d_q, halve(m, "delta_eta", d.clone(), fsm)));
    let row = pipe.row[u.st.delta.expect("learning") as usize - 1].clone();
    m.always_comb(vec![
        assign(&d, Expr::lit(0, Ty::s(l.err_bits))),
        case(
            row.clone(),
            (0..l.classes)
                .map(|c| {
                    (
                        vec![Expr::lit(c as i128, row.ty())],
                        vec![assign(&d, s.errs[c].clone())],
                    )
                })
                .collect(),
            vec![],
        ),
    ]);
    d_q
}

/// The sign of each row's z, written at the done stage and read back for f'(z) in the
/// update: a memory of one bit a row.
pub(super) fn sign_memory(
    m: &mut Module,
    u: &Unit,
    pipe: &Chains,
    hidden: &Activation,
    late_ff: &mut Vec<Stmt>,
) -> Expr {
    let neg_mem = m.memory("neg_mem", Ty::bit(), u.l.outputs as u32, None);
    place(m, u.p, &neg_mem, false);
    let neg_q = m.reg("neg_q", Ty::bit());
    // f'(z) is applied three stages before δ (S4): the sign is read a stage earlier.
    let neg_row = pipe.row[u.st.delta.expect("learning") as usize - 4].clone();
    late_ff.extend(ram_port(
        m,
        &neg_mem,
        pipe.done.clone(),
        pipe.row[u.st.done as usize].clone(),
        hidden
            .z_neg
            .clone()
            .expect("a learning unit keeps the sign"),
        &neg_q,
        neg_row,
    ));
    neg_q
}

/// δ for the row: S1 the terms B\[c\]\[row\]·e_c, S2/S3 their sum, S4 f'(z)·sum, S5 the
/// rounding shift, S6 saturated: ready at S7 (each a stage later per registered basis
/// address). Its registers load only while updating, the phase that uses δ: the same
/// values there, and nothing for a simulator to do through the forward pass.
pub(super) fn hidden_delta(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    s: &Signal,
    basis: &[Expr],
    neg_q: Expr,
    late_ff: &mut Vec<Stmt>,
) -> Expr {
    let l = u.l;
    m.section(&format!(
        "update stages S{}-S{}: delta = narrow(f'(z) * B^T e)",
        1 + l.basis_addr_stages,
        6 + l.basis_addr_stages
    ));
    let mut back_ff = Vec::new();
    let g = back_projection(m, u, s, basis, &mut back_ff);
    let g_leak = if l.leaky {
        m.wire_assign("back_leak", g.clone().sar(l.leak_shift))
    } else {
        Expr::lit(0, Ty::s(l.back_bits))
    };
    let gd = m.wire_assign("back_act", Expr::mux(neg_q, g_leak, g));
    let gd = halve(m, "back_eta", gd, fsm);
    let gd_q = m.reg("back_act_q", gd.ty());
    back_ff.push(assign(&gd_q, gd));
    let shr = shift_round(m, "delta_shr", gd_q, l.back_shift, u.p.rounding, None);
    let shr_q = m.reg("delta_shr_q", shr.ty());
    back_ff.push(assign(&shr_q, shr));
    let d = saturate(m, "delta", shr_q, l.delta_bits);
    let d_q = m.reg("delta_q", Ty::s(l.delta_bits));
    back_ff.push(assign(&d_q, d));
    late_ff.push(if_(fsm.updating.clone(), back_ff));
    d_q
}

/// `x >>> η`, the sample's learning-rate halvings (`FixedNet::lr_halvings`): one
/// arithmetic shift a value of η, selected; `x` itself without a schedule.
fn halve(m: &mut Module, name: &str, x: Expr, fsm: &State) -> Expr {
    let Some(eta) = fsm.halvings() else {
        return x;
    };
    let shifted = (1..1u32 << eta.width()).rev().fold(x.clone(), |rest, k| {
        Expr::mux(
            eta.clone().eq(Expr::lit(k as i128, eta.ty())),
            x.clone().sar(k),
            rest,
        )
    });
    m.wire_assign(name, shifted)
}

/// Σ_c B\[c\]\[row\]·e_c, registered: each term registered (the basis bits fan out to
/// every term's select), then up to four terms per partial sum (two adder levels),
/// registered, then their sum.
fn back_projection(
    m: &mut Module,
    u: &Unit,
    s: &Signal,
    basis: &[Expr],
    back_ff: &mut Vec<Stmt>,
) -> Expr {
    let l = u.l;
    let back = basis_terms(
        m,
        "back",
        basis,
        s.back_error(),
        l.back_bits,
        l.square,
        Some(back_ff),
    );
    let back: Vec<Expr> = back
        .into_iter()
        .enumerate()
        .map(|(c, t)| {
            let q = m.reg(&format!("back_term_q{c}"), t.ty());
            back_ff.push(assign(&q, t));
            q
        })
        .collect();
    let parts: Vec<Expr> = back
        .chunks(4)
        .enumerate()
        .map(|(k, chunk)| {
            let part = m.wire_assign(&format!("back_part{k}"), sum(chunk.to_vec()));
            let q = m.reg(&format!("back_part_q{k}"), Ty::s(l.back_bits));
            back_ff.push(assign(&q, part));
            q
        })
        .collect();
    let back_sum = m.wire_assign("back_sum", sum(parts));
    let g = m.reg("back_sum_q", Ty::s(l.back_bits));
    back_ff.push(assign(&g, back_sum));
    g
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn the_classifier_multiplies_by_its_error_and_a_hidden_unit_by_its_narrowed_delta() {
        let knobs = Knobs::default();
        let (hidden, classifier) = (knobs.layer(0), knobs.layer(1));
        assert_eq!(knobs.unit(1).width("delta_q"), classifier.err_bits);
        let unit = knobs.unit(0);
        assert_eq!(unit.width("delta_q"), hidden.delta_bits);
        assert_eq!(unit.numbered("back_term_q"), hidden.classes);
        assert_eq!(
            unit.get("neg_mem").unwrap().depth,
            Some(hidden.outputs as u32)
        );
    }

    #[test]
    fn modulation_puts_its_unit_between_the_logits_and_the_softmax() {
        let plain = Knobs::default().unit(0);
        assert!(plain.text.contains("softmax unit_softmax") || plain.text.contains("_softmax"));
        assert!(!plain.has("grad"));
        let modulated = Knobs {
            rule: "lls-m",
            ..Knobs::default()
        }
        .unit(0);
        assert!(modulated.has("grad") && modulated.has("mod_rb_value"));
        assert!(modulated.text.contains("_modulation"));
    }
}
