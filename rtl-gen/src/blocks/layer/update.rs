//! The weight update: per item W\[j\]\[i\] = sat(W\[j\]\[i\] − round(δ_j·x_i >> shift)), one
//! weight a lane a cycle, the product from the lane's multiplier; with stochastic update
//! rounding one LFSR per lane gives the rounding bias.

use crate::params::addr_bits;
use crate::verilog::{assign, if_, if_else, Expr, Module, Ty};

use super::super::narrowing::{saturate, shift_round};
use super::super::widen;
use super::control::State;
use super::mac::Operands;
use super::pipeline::Chains;
use super::{lfsr_file, Unit};

/// The update's weight addresses: the read's, and the write's a few stages later.
pub(super) struct UpdateAddresses {
    pub read: Expr,
    pub write: Expr,
}

/// One lane's weight write.
pub(super) struct WeightWrite {
    pub we: Expr,
    pub addr: Expr,
    pub data: Expr,
}

/// What the update leaves to the weight store and to readback.
pub(super) struct Learned {
    pub writes: Vec<WeightWrite>,
    /// Each lane's LFSR state (stochastic update rounding), for readback.
    pub lfsr_states: Vec<Expr>,
}

/// Rows and words are visited in order without a gap, so the address at a stage counts
/// that stage's valid items from the pass start. Read so that the word is in w_r at the
/// difference stage (the new word's stage − 1), then one register per stage up to the
/// write.
pub(super) fn addresses(m: &mut Module, u: &Unit, pipe: &Chains) -> Option<UpdateAddresses> {
    let w = u.st.new_word(u.l)?;
    let w_ty = Ty::u(addr_bits(u.l.lane_words()));
    let read = w - 1 - u.l.weight_read_stages();
    let regs: Vec<Expr> = (read..=w)
        .map(|k| m.reg(&format!("addr{k}"), w_ty))
        .collect();
    let rd = regs[0].clone();
    let mut ff = vec![if_else(
        pipe.v[read as usize].clone(),
        vec![assign(&rd, rd.clone().add(Expr::lit(1, w_ty)))],
        vec![assign(&rd, Expr::lit(0, w_ty))],
    )];
    ff.extend(regs.windows(2).map(|p| assign(&p[1], p[0].clone())));
    m.always_ff(&u.clk, ff);
    Some(UpdateAddresses {
        read: rd,
        write: regs[regs.len() - 1].clone(),
    })
}

/// The step rounded from each lane's product (δ·x), the difference registered, the new
/// weight saturated: the lanes' writes.
#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    pipe: &Chains,
    delta: &Option<Expr>,
    upd_addr: &Option<UpdateAddresses>,
    prods: &[Expr],
    ops: &Operands,
) -> Learned {
    let l = u.l;
    let (Some(_), Some(addr), Some(ws)) = (delta, upd_addr, u.st.new_word(l)) else {
        return Learned {
            writes: Vec::new(),
            lfsr_states: Vec::new(),
        };
    };
    m.section(&format!(
        "update: S{} step = round(delta * x >> shift), S{} W - step, S{ws} saturated",
        ws - 2,
        ws - 1
    ));
    let we = m.wire_assign(
        "w_we",
        pipe.v[ws as usize].clone().land(fsm.updating.clone()),
    );
    // The step is rounded two stages before the write: a stochastic lane's LFSR steps
    // with each item there.
    let step_en = pipe.v[ws as usize - 2].clone().land(fsm.updating.clone());
    let lfsr_states = lfsrs(m, u, step_en);
    let wb = l.weight_bits;
    let mut step_ff = Vec::new();
    let mut writes = Vec::new();
    for (ln, prod) in prods.iter().enumerate() {
        let step = shift_round(
            m,
            &format!("upd_step{ln}"),
            prod.clone(),
            l.update_shift,
            u.p.update_rounding,
            lfsr_states.get(ln),
        );
        let step_q = m.reg(&format!("upd_step_q{ln}"), step.ty());
        step_ff.push(assign(&step_q, step));
        let dw = step_q.width().max(wb) + 1;
        let w_ext = widen(m, &format!("w_ext{ln}"), ops.w[ln].clone(), dw);
        let s_ext = widen(m, &format!("upd_step_q{ln}_ext"), step_q, dw);
        let diff = m.wire_assign(&format!("w_diff{ln}"), w_ext.sub(s_ext));
        let diff_q = m.reg(&format!("w_diff_q{ln}"), diff.ty());
        step_ff.push(assign(&diff_q, diff));
        let data = saturate(m, &format!("w_new{ln}"), diff_q, wb);
        writes.push(WeightWrite {
            we: we.clone(),
            addr: addr.write.clone(),
            data,
        });
    }
    m.always_ff(&u.clk, u.held(step_ff));
    Learned {
        writes,
        lfsr_states,
    }
}

/// Stochastic update rounding: one LFSR per lane (`golden_model::spec::numeric::lfsr`),
/// stepped once per weight that lane updates, its pre-step state the rounding bias. The
/// state is learned-state like the weights: it powers up from its image ([`lfsr_file`],
/// so a checkpoint resumes exactly) and `rst` keeps it.
fn lfsrs(m: &mut Module, u: &Unit, step: Expr) -> Vec<Expr> {
    let l = u.l;
    if l.lfsr_seeds.is_empty() {
        return Vec::new();
    }
    let step = m.wire_assign("lfsr_step", step);
    m.section("stochastic rounding: one 32-bit Galois LFSR per lane, taps 0x80200003");
    let ty = Ty::u(32);
    let lanes = l.lfsr_seeds.len();
    let mem = m.memory("lfsr", ty, lanes as u32, Some(&lfsr_file(l)));
    m.keep_as_memory(&mem);
    let taps = Expr::lit(golden_model::spec::numeric::lfsr::TAPS as i128, ty);
    let at = |ln: usize| Expr::lit(ln as i128, Ty::u(mem.addr_width()));
    let states: Vec<Expr> = (0..lanes)
        .map(|ln| m.wire_assign(&format!("lfsr{ln}"), mem.read(at(ln))))
        .collect();
    let next = states
        .iter()
        .enumerate()
        .map(|(ln, s)| {
            mem.write(
                at(ln),
                s.clone()
                    .shr(1)
                    .xor(Expr::mux(s.clone().bit(0), taps.clone(), Expr::lit(0, ty))),
            )
        })
        .collect();
    m.always_ff(&u.clk, vec![if_(step, next)]);
    states
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn each_lane_writes_a_saturated_weight() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.numbered("w_diff_q"), l.lanes);
        assert_eq!(unit.width("w_new0"), l.weight_bits);
        assert!(unit.has("w_we"));
        assert!(!unit.has("lfsr"), "deterministic rounding needs no LFSR");
    }

    #[test]
    fn stochastic_rounding_steps_one_lfsr_per_lane() {
        let knobs = Knobs {
            update_rounding: "stochastic",
            ..Knobs::default()
        };
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        let lfsr = unit.get("lfsr").unwrap();
        assert_eq!((lfsr.width, lfsr.depth), (32, Some(l.lanes as u32)));
        assert_eq!(unit.numbered("lfsr"), l.lanes);
    }
}
