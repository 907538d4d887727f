//! The forward pass's accumulate: the lanes' products summed (in a tree of register
//! stages), then added into a split accumulator whose finished row registers into `acc`
//! at `Stages::sum`.

use golden_model::spec::numeric::width::ceil_log2;

use crate::verilog::{assign, if_, Expr, Module, Ty};

use super::super::{named, sum, widen};
use super::control::State;
use super::pipeline::Chains;
use super::Unit;

pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    pipe: &Chains,
    prods: &[Expr],
    acc: &Expr,
) {
    m.section("forward accumulate");
    let mac_sum = lane_sum(m, u, prods);
    let acc_v = pipe.v[u.st.acc as usize].clone();
    let mac_en = if u.p.learn {
        acc_v.land(fsm.updating.clone().lnot())
    } else {
        acc_v
    };
    split_accumulator(
        m,
        u,
        mac_en,
        pipe.first[u.st.acc as usize].clone(),
        mac_sum,
        acc,
    );
}

/// The lanes' products added into one term at the accumulate stage. Several lanes (or
/// one, banked): the last stage adds its terms into a register (`mac_q`). Where the sum
/// takes more stages, each one before it adds groups of `lane_sum_group` terms into
/// registers, each exact in its own width, level by level. One lane otherwise: the
/// product itself, widened.
fn lane_sum(m: &mut Module, u: &Unit, prods: &[Expr]) -> Expr {
    let l = u.l;
    let acc_w = l.acc_bits;
    let terms: Vec<Expr> = if l.mac_sum_stages >= 2 {
        let mut terms = prods.to_vec();
        let mut width = prods[0].width();
        for level in 0..l.mac_sum_stages - 1 {
            (terms, width) = group_sums(m, u, level, &terms, width);
        }
        let sum_w = (width + ceil_log2(terms.len())).min(acc_w);
        terms.into_iter().map(|q| q.resize(sum_w)).collect()
    } else {
        prods
            .iter()
            .enumerate()
            .map(|(ln, p)| widen(m, &format!("prod_q{ln}_ext"), p.clone(), acc_w))
            .collect()
    };
    if l.mac_sum_stages == 0 {
        return terms.into_iter().next().expect("one lane");
    }
    let sum_w = m.wire_assign("mac_sum", sum(terms));
    let q = m.reg("mac_q", Ty::s(acc_w));
    m.always_ff(&u.clk, u.held(vec![assign(&q, sum_w.resize(acc_w))]));
    q
}

/// One level of the lanes' sum: `terms` (each `width` bits) added `lane_sum_group` at a
/// time into registers (`mac_group_q<g>` on the first level, `mac_group<level>_q<g>` on
/// later ones). Returns the registers and their width.
fn group_sums(
    m: &mut Module,
    u: &Unit,
    level: u32,
    terms: &[Expr],
    width: u32,
) -> (Vec<Expr>, u32) {
    let group = u.l.lane_sum_group;
    let group_w = (width + ceil_log2(group)).min(u.l.acc_bits);
    let mut ff = Vec::new();
    let groups = terms
        .chunks(group)
        .enumerate()
        .map(|(g, group)| {
            let name = match level {
                0 => format!("mac_group_q{g}"),
                _ => format!("mac_group{level}_q{g}"),
            };
            let q = m.reg(&name, Ty::s(group_w));
            ff.push(assign(
                &q,
                sum(group.iter().map(|p| p.clone().resize(group_w)).collect()),
            ));
            q
        })
        .collect();
    m.always_ff(&u.clk, u.held(ff));
    (groups, group_w)
}

/// The sum is kept in two halves so that each carry chain in the loop is half as long:
/// the low half's carry enters the high half a cycle later, and the stage after the last
/// term (`Stages::sum`) adds the one still pending. A row's first term starts from zero
/// (the select sits before the chains, on registers); the carry pending then belongs to
/// the row before, which the sum stage is reading in that very cycle.
fn split_accumulator(
    m: &mut Module,
    u: &Unit,
    mac_en: Expr,
    first_term: Expr,
    mac_sum: Expr,
    acc: &Expr,
) {
    let acc_w = u.l.acc_bits;
    let lo_w = acc_w / 2;
    let hi_w = acc_w - lo_w;
    let term = named(m, "acc_term", mac_sum);
    let acc_lo = m.reg("acc_lo", Ty::u(lo_w));
    let acc_hi = m.reg("acc_hi", Ty::u(hi_w));
    let acc_carry = m.reg("acc_carry", Ty::bit());
    let lo_next = m.wire_assign(
        "acc_lo_next",
        Expr::mux(
            first_term.clone(),
            Expr::lit(0, Ty::u(lo_w)),
            acc_lo.clone(),
        )
        .resize(lo_w + 1)
        .add(term.clone().slice(lo_w - 1, 0).resize(lo_w + 1)),
    );
    let carry_in = m.wire_assign(
        "acc_carry_in",
        acc_carry.clone().land(first_term.clone().lnot()),
    );
    let hi_next = m.wire_assign(
        "acc_hi_next",
        Expr::mux(first_term, Expr::lit(0, Ty::u(hi_w)), acc_hi.clone())
            .add(term.slice(acc_w - 1, lo_w))
            .add(carry_in.resize(hi_w)),
    );
    m.always_ff(
        &u.clk,
        u.held(vec![
            if_(
                mac_en,
                vec![
                    assign(&acc_lo, lo_next.clone().slice(lo_w - 1, 0)),
                    assign(&acc_carry, lo_next.bit(lo_w)),
                    assign(&acc_hi, hi_next),
                ],
            ),
            assign(
                acc,
                Expr::concat(vec![acc_hi.add(acc_carry.resize(hi_w)), acc_lo]).as_signed(),
            ),
        ]),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn the_accumulator_is_split_in_halves_with_a_pending_carry() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.width("acc_lo"), l.acc_bits / 2);
        assert_eq!(unit.width("acc_hi"), l.acc_bits - l.acc_bits / 2);
        assert_eq!(unit.width("acc_carry"), 1);
        assert_eq!(unit.width("acc"), l.acc_bits);
    }

    #[test]
    fn several_lanes_are_summed_into_a_register_first() {
        for lanes in [1, 2, 4] {
            let knobs = Knobs {
                lanes,
                ..Knobs::default()
            };
            let l = knobs.layer(0);
            assert_eq!(
                knobs.unit(0).has("mac_q"),
                l.mac_sum_stages > 0,
                "{lanes} lanes"
            );
        }
    }
}
