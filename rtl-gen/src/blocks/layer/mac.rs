//! The MAC lanes' operands and multipliers. One multiplier per lane serves both phases
//! (they never overlap): W·x in the forward pass, δ·x in the update, so a unit needs
//! `lanes` DSP tiles, not twice that. The product is registered (the DSP's output
//! register) before anything adds to it. With `hardware.share_multipliers` the operands
//! leave for the top's pool and the products come back through ports.

use crate::params::LayerParams;
use crate::verilog::{assign, Expr, Module, Ty};

use super::super::{delay, discard, widen};
use super::control::State;
use super::input_buffer::InputBuffer;
use super::pipeline::{Chains, Issue};
use super::schedule::forward_operand_stage;
use super::weight_store::WeightStore;
use super::Unit;

/// The memories' data registered once more (wide weight memories end in a multiplexer
/// over many block RAMs): each lane's x and w at the operand stage. Readback reads w.
pub(super) struct Operands {
    pub x: Vec<Expr>,
    pub w: Vec<Expr>,
}

pub(super) fn operand_registers(
    m: &mut Module,
    u: &Unit,
    input: &InputBuffer,
    weights: &WeightStore,
) -> Operands {
    let l = u.l;
    let mut data_ff = Vec::new();
    let mut data_reg = |m: &mut Module, name: &str, q: &Expr| {
        let r = m.reg(name, q.ty());
        data_ff.push(assign(&r, q.clone()));
        r
    };
    // Banked weights take longer to read: x is delayed alike (less its address register).
    // A chain's registers are `<name>`, `<name>2`, …: from ten lanes on, lane 1's second
    // (`x_d12`) would be lane 12's first, so the lane number is then closed by `_`.
    let chain_name = |ln: usize| match l.lanes {
        ..=9 => format!("x_d{ln}"),
        _ => format!("x_d{ln}_"),
    };
    let x_d: Vec<Expr> = (0..l.lanes)
        .map(|ln| {
            delay(
                m,
                &u.clk,
                &chain_name(ln),
                input.x_q[ln].clone(),
                l.bank_read_stages() - u32::from(input.raddr_registered),
            )
        })
        .collect();
    let x: Vec<Expr> = (0..l.lanes)
        .map(|ln| data_reg(m, &format!("x_r{ln}"), &x_d[ln]))
        .collect();
    let w: Vec<Expr> = match weights.banked_data() {
        Some(data) => data,
        None => (0..l.lanes)
            .map(|ln| data_reg(m, &format!("w_r{ln}"), &weights.q[ln]))
            .collect(),
    };
    m.always_ff(&u.clk, data_ff);
    Operands { x, w }
}

/// Each lane's product at the accumulate stage: of its own multiplier, or of the pool's.
pub(super) fn multipliers(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    issue: &Issue,
    pipe: &Chains,
    delta: &Option<Expr>,
    ops: &Operands,
) -> Vec<Expr> {
    let l = u.l;
    m.section(match u.p.mul_pool {
        Some(_) => "multiplier operands to the shared pool, its products back",
        None => "one shared multiplier per lane: W*x forward (S2), delta*x update (S4)",
    });
    let operands = first_operands(m, l, fsm, delta, &ops.w);
    match &fsm.mul_handshake {
        Some(handshake) => pool_ports(m, u, handshake, issue, fsm, pipe, operands, &ops.x),
        None => own_multipliers(m, u, operands, &ops.x),
    }
}

/// The first operand of each lane's multiplier: w in the forward pass, δ in the update.
fn first_operands(
    m: &mut Module,
    l: &LayerParams,
    fsm: &State,
    delta: &Option<Expr>,
    w_r: &[Expr],
) -> Vec<Expr> {
    let mul_w = l.mul_a_bits;
    assert_eq!(
        delta
            .as_ref()
            .map_or(l.weight_bits, |d| d.width().max(l.weight_bits)),
        mul_w,
        "LayerParams::mul_a_bits disagrees with the operands built here"
    );
    let delta_ext = delta
        .as_ref()
        .map(|d| widen(m, "delta_ext", d.clone(), mul_w));
    (0..l.lanes)
        .map(|ln| match &delta_ext {
            Some(d_ext) => {
                let w_ext = widen(m, &format!("w_r{ln}_ext"), w_r[ln].clone(), mul_w);
                m.wire_assign(
                    &format!("mul_a{ln}"),
                    Expr::mux(fsm.updating.clone(), d_ext.clone(), w_ext),
                )
            }
            None => w_r[ln].clone(),
        })
        .collect()
}

/// Each lane's own multiplier, its operands registered first where `mul_stages` says, its
/// product registered: the products at the accumulate stage.
fn own_multipliers(m: &mut Module, u: &Unit, operands: Vec<Expr>, x_r: &[Expr]) -> Vec<Expr> {
    let mut prod_ff = Vec::new();
    let prods = operands
        .into_iter()
        .enumerate()
        .map(|(ln, a)| {
            // Operands registered beside the DSP where the target wants it (`mul_stages`).
            let (a, x) = if u.l.mul_stages > 0 {
                let a_q = m.reg(&format!("mul_a_q{ln}"), a.ty());
                let x_q = m.reg(&format!("mul_x_q{ln}"), x_r[ln].ty());
                prod_ff.push(assign(&a_q, a));
                prod_ff.push(assign(&x_q, x_r[ln].clone()));
                (a_q, x_q)
            } else {
                (a, x_r[ln].clone())
            };
            let prod = m.wire_assign(&format!("prod{ln}"), a.mul(x));
            let q = m.reg(&format!("prod_q{ln}"), prod.ty());
            prod_ff.push(assign(&q, prod));
            q
        })
        .collect();
    m.always_ff(&u.clk, u.held(prod_ff));
    prods
}

/// Shared multipliers (`DesignParams::mul_pool`): the operands leave on `pool_a<ln>` /
/// `pool_x<ln>` with `pool_valid` high while an item is at the operand stage (the top
/// registers them there, as `mul_stages` counts); the registered products come back on
/// `pool_p<ln>`, pool-wide, and are cut to this unit's exact product width. `pool_hold`
/// tells the arbiter that an item of this pass may not have passed its operand stage.
#[allow(clippy::too_many_arguments)]
fn pool_ports(
    m: &mut Module,
    u: &Unit,
    (req, grant): &(Expr, Expr),
    issue: &Issue,
    fsm: &State,
    pipe: &Chains,
    operands: Vec<Expr>,
    x_r: &[Expr],
) -> Vec<Expr> {
    let (pool_a, pool_x) = u.p.mul_pool_operand_bits();
    let v = &pipe.v;
    let updating = &fsm.updating;
    let fwd = forward_operand_stage(u.l) as usize;
    let held = |to: usize| {
        v[1..=to]
            .iter()
            .fold(issue.issuing.clone(), |acc, e| acc.lor(e.clone()))
    };
    let (valid, hold) = match u.st.delta {
        Some(upd) => {
            let upd = upd as usize;
            (
                Expr::mux(updating.clone(), v[upd].clone(), v[fwd].clone()),
                Expr::mux(updating.clone(), held(upd), held(fwd)),
            )
        }
        None => (v[fwd].clone(), held(fwd)),
    };
    let valid_port = m.output_wire("pool_valid", Ty::bit());
    m.assign(&valid_port, valid);
    // Registered, so that the arbiter reads flip-flops only: a cycle late, it still
    // covers the item a grant starts this cycle, and one stage past the operand stage.
    let hold_port = m.output_reg("pool_hold", Ty::bit());
    m.always_ff(
        &u.clk,
        vec![assign(
            &hold_port,
            hold.lor(req.clone().land(grant.clone())),
        )],
    );
    operands
        .into_iter()
        .enumerate()
        .map(|(ln, a)| {
            let a_port = m.output_wire(&format!("pool_a{ln}"), a.ty());
            m.assign(&a_port, a.clone());
            let x_port = m.output_wire(&format!("pool_x{ln}"), x_r[ln].ty());
            m.assign(&x_port, x_r[ln].clone());
            let pool = m.input(&format!("pool_p{ln}"), Ty::s(pool_a + pool_x));
            let bits = a.width() + x_r[ln].width();
            let cut = if bits < pool_a + pool_x {
                // The pool's product is as wide as the widest unit's; the bits above this
                // unit's exact product are its sign extension.
                discard(
                    m,
                    &format!("pool_p{ln}_sign"),
                    pool.clone().slice(pool_a + pool_x - 1, bits),
                );
                pool.slice(bits - 1, 0).as_signed()
            } else {
                pool
            };
            m.wire_assign(&format!("prod_q{ln}"), cut)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn each_lane_multiplies_w_or_delta_by_x_on_one_multiplier() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        assert_eq!(unit.numbered("prod"), l.lanes);
        assert_eq!(unit.numbered("mul_a"), l.lanes, "w or δ, by phase");
        assert_eq!(unit.width("mul_a0"), l.mul_a_bits);
        assert_eq!(unit.width("prod0"), l.mul_a_bits + l.act_bits);
        let inference = Knobs {
            learn: false,
            ..Knobs::default()
        }
        .unit(0);
        assert_eq!(inference.numbered("mul_a"), 0, "w only");
    }

    #[test]
    fn sixteen_banked_lanes_name_their_x_delays_apart() {
        let knobs = Knobs {
            inputs: 256,
            hidden: 128,
            lanes: 16,
            ..Knobs::banked()
        };
        let l = knobs.layer(0);
        assert!(
            l.bank_read_stages() > 2,
            "a delay chain of several registers"
        );
        let unit = knobs.unit(0);
        assert!(unit.has("x_d1_2") && unit.has("x_d12_"));
    }

    #[test]
    fn shared_multipliers_send_operands_out_and_take_products_in() {
        let knobs = Knobs {
            share_multipliers: true,
            ..Knobs::default()
        };
        let unit = knobs.unit(0);
        assert_eq!(unit.numbered("prod"), 0, "no multiplier of its own");
        assert_eq!(unit.get("pool_a0").unwrap().kind, "output");
        assert_eq!(unit.get("pool_p0").unwrap().kind, "input");
        assert_eq!(unit.get("pool_hold").unwrap().kind, "output");
    }

    #[test]
    fn operands_are_registered_beside_the_dsp_where_the_target_wants_it() {
        let knobs = Knobs::banked();
        let l = knobs.layer(0);
        assert!(l.mul_stages > 0);
        assert_eq!(knobs.unit(0).numbered("mul_x_q"), l.lanes);
        assert_eq!(Knobs::default().unit(0).numbered("mul_x_q"), 0);
    }
}
