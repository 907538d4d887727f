//! A learning hidden unit's projection onto the fixed basis: the basis ROM (column t at
//! address t, class 0 in the LSBs), the scores += B\[:, row\]·h as each row finishes, and
//! the logits = scores >> shift. The update reads the same ROM for Bᵀe
//! ([`super::learning_signal::hidden_delta`]).

use crate::verilog::{assign, if_, if_else, Expr, Module, Stmt, Ty};

use super::super::{discard, named, place, signed_fields, widen};
use super::control::State;
use super::pipeline::{Chains, Issue};
use super::{basis_file, Unit};

pub(super) struct Projection {
    /// The basis entries B\[c\]\[row\] read for the current row, one signed field a class.
    pub basis: Vec<Expr>,
    pub scores: Vec<Expr>,
}

/// The basis ROM and the projection stage; the ROM's read registers join `late_ff`.
pub(super) fn build(
    m: &mut Module,
    u: &Unit,
    fsm: &State,
    issue: &Issue,
    pipe: &Chains,
    h_q: &Expr,
    late_ff: &mut Vec<Stmt>,
) -> Projection {
    let l = u.l;
    let c_n = l.classes;
    m.section("basis ROM and projection stage: scores += B[:, row]·h (h from out_data)");
    // Basis ROM: address t → column t, class 0 in the LSBs.
    let bb = l.basis_bits;
    let rom = m.memory(
        "basis_rom",
        Ty::u(bb * c_n as u32),
        l.outputs as u32,
        Some(&basis_file(l)),
    );
    place(m, u.p, &rom, true);
    let rom_q = m.reg("basis_q", Ty::u(bb * c_n as u32));
    // The update reads the basis from S0's row, the projection from the done stage's. A
    // registered address is picked that many stages earlier: the update's read then lands
    // later (its δ path is longer, `Stages::delta`), the projection's at the same stage.
    // `updating` rises with the update's first item and falls after its last write, long
    // after the last projection.
    let n = l.basis_addr_stages;
    let fwd_row = pipe.row[(u.st.done - n) as usize].clone();
    let mut rom_addr = m.wire_assign(
        "basis_addr",
        Expr::mux(fsm.updating.clone(), issue.row0.clone(), fwd_row),
    );
    for k in 1..=n {
        let q = m.reg(&format!("basis_addr_q{k}"), rom_addr.ty());
        late_ff.push(assign(&q, rom_addr));
        rom_addr = q;
    }
    late_ff.push(assign(&rom_q, rom.read(rom_addr)));
    let basis = signed_fields(m, "b", &rom_q, c_n, bb);
    let sw = l.score_bits;
    let scores: Vec<Expr> = (0..c_n)
        .map(|c| m.reg(&format!("score{c}"), Ty::s(sw)))
        .collect();
    let terms = projection_terms(m, u, &basis, h_q);
    // Cleared while idle (the softmax has long read them), summed at the projection
    // stage whatever the state: the FSM is on to the softmax by the last row.
    let done_p = pipe
        .done_p
        .as_ref()
        .expect("a learning hidden unit projects");
    let add_terms = (0..c_n)
        .map(|c| {
            let (term, cin) = &terms[c];
            let sum = scores[c].clone().add(term.clone());
            let sum = match cin {
                Some(cin) => sum.add(cin.clone()),
                None => sum,
            };
            assign(&scores[c], sum)
        })
        .collect();
    m.always_ff(
        &u.clk,
        vec![if_else(
            fsm.idle.clone(),
            scores
                .iter()
                .map(|s| assign(s, Expr::lit(0, Ty::s(sw))))
                .collect(),
            vec![if_(done_p.clone(), add_terms)],
        )],
    );
    Projection { basis, scores }
}

/// Each class's term B\[c\]\[row\]·h and its carry-in. A square basis adds h, −h or 0: as
/// (h ^ sign) + sign, one carry chain from registers (no negation in front of it).
fn projection_terms(
    m: &mut Module,
    u: &Unit,
    basis: &[Expr],
    h_q: &Expr,
) -> Vec<(Expr, Option<Expr>)> {
    let sw = u.l.score_bits;
    if !u.l.square {
        return basis_terms(m, "proj", basis, std::slice::from_ref(h_q), sw, false, None)
            .into_iter()
            .map(|t| (t, None))
            .collect();
    }
    let h_ext = widen(m, "proj_h", h_q.clone(), sw);
    let h_ext = named(m, "proj_h", h_ext);
    basis
        .iter()
        .enumerate()
        .map(|(c, bc)| {
            let bt = bc.ty();
            let neg = m.wire_assign(&format!("proj_sub{c}"), bc.clone().eq(Expr::lit(-1, bt)));
            let keep = bc.clone().ne(Expr::lit(0, bt));
            let flipped = h_ext
                .clone()
                .as_unsigned()
                .xor(Expr::repeat(sw, neg.clone()))
                .and(Expr::repeat(sw, keep));
            let term = m.wire_assign(&format!("proj_term{c}"), flipped.as_signed());
            let cin = m.wire_assign(&format!("proj_cin{c}"), neg.resize(sw).as_signed());
            (term, Some(cin))
        })
        .collect()
}

/// logits = scores >> shift (floor): the scores' top bits, the fraction discarded.
pub(super) fn logits(m: &mut Module, u: &Unit, scores: &[Expr]) -> Vec<Expr> {
    let l = u.l;
    m.section("logits = scores >> shift (floor)");
    scores
        .iter()
        .enumerate()
        .map(|(c, s)| {
            if l.logit_shift > 0 {
                discard(
                    m,
                    &format!("score{c}_frac"),
                    s.clone().slice(l.logit_shift - 1, 0),
                );
            }
            m.wire_assign(
                &format!("logit{c}"),
                s.clone().slice(l.score_bits - 1, l.logit_shift).as_signed(),
            )
        })
        .collect()
}

/// `B[c]·v` for each class, widened to `width`: add/subtract for the square basis
/// (entries −1/0/+1, no multiplier), a product for the sine basis. With `neg_ff` the
/// negated values are registered there (for values that hold still, like the errors).
pub(super) fn basis_terms(
    m: &mut Module,
    prefix: &str,
    b: &[Expr],
    v: &[Expr],
    width: u32,
    square: bool,
    mut neg_ff: Option<&mut Vec<Stmt>>,
) -> Vec<Expr> {
    b.iter()
        .enumerate()
        .map(|(c, bc)| {
            let vc = if v.len() == 1 { &v[0] } else { &v[c] };
            if !square {
                let prod = m.wire_assign(&format!("{prefix}_prod{c}"), bc.clone().mul(vc.clone()));
                let ext = widen(m, &format!("{prefix}_term{c}_ext"), prod, width);
                return named(m, &format!("{prefix}_term{c}"), ext);
            }
            let pos = widen(m, &format!("{prefix}_pos{c}"), vc.clone(), width);
            let pos = named(m, &format!("{prefix}_pos{c}"), pos);
            let neg_val = Expr::lit(0, Ty::s(width)).sub(pos.clone());
            let neg = match neg_ff.as_deref_mut() {
                Some(ff) => {
                    let q = m.reg(&format!("{prefix}_neg{c}"), Ty::s(width));
                    ff.push(assign(&q, neg_val));
                    q
                }
                None => m.wire_assign(&format!("{prefix}_neg{c}"), neg_val),
            };
            let bt = bc.ty();
            m.wire_assign(
                &format!("{prefix}_term{c}"),
                Expr::mux(
                    bc.clone().eq(Expr::lit(1, bt)),
                    pos,
                    Expr::mux(
                        bc.clone().eq(Expr::lit(-1, bt)),
                        neg,
                        Expr::lit(0, Ty::s(width)),
                    ),
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn the_basis_rom_holds_one_column_a_row() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        let rom = unit.get("basis_rom").unwrap();
        assert_eq!(rom.depth, Some(l.outputs as u32));
        assert_eq!(rom.width, l.basis_bits * l.classes as u32);
        assert_eq!(unit.numbered("score"), l.classes);
        assert!(
            !knobs.unit(1).has("basis_rom"),
            "the classifier has no basis"
        );
    }

    #[test]
    fn a_square_basis_adds_or_subtracts_and_a_sine_basis_multiplies() {
        let square = Knobs::default().unit(0);
        assert_eq!(square.numbered("proj_sub"), 3);
        assert_eq!(square.numbered("proj_prod"), 0);
        let sine = Knobs {
            basis: "sine",
            ..Knobs::default()
        }
        .unit(0);
        assert_eq!(sine.numbered("proj_prod"), 3);
        assert_eq!(sine.numbered("proj_sub"), 0);
    }
}
