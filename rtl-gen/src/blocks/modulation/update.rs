//! S1 in UPD: `M[c][j] − round(l_c·e_j >> update_shift)`, saturated to the entry's
//! width and written back at the item's address (the model's `sat` and `shift_round`).

use crate::params::{DesignParams, ModParams};
use crate::verilog::{Expr, Module};

use super::fsm::Fsm;
use super::issue::Stages;
use super::memory::ModMem;

/// The "stage S1 (UPD)" section: the step, the new entry, and the memory's clocked block
/// (its write-back and its registered read).
pub(super) fn build(
    m: &mut Module,
    p: &DesignParams,
    mp: &ModParams,
    fsm: &Fsm,
    s: &Stages,
    store: &ModMem,
    prod: &Expr,
) {
    use super::super::narrowing::{saturate, shift_round};
    use super::super::{ram_port, widen};
    m.section("stage S1 (UPD): M - round(l*e >> shift), saturated");
    let step_in_w = prod.width().max(mp.update_shift + 2);
    let step_in = widen(m, "step_in", prod.clone(), step_in_w);
    let step = shift_round(m, "mod_step", step_in, mp.update_shift, p.rounding, None);
    let dw = step.width().max(mp.bits) + 1;
    let mod_ext = widen(m, "mod_ext", store.mod_q.clone(), dw);
    let step_ext = widen(m, "mod_step_ext", step, dw);
    let diff = m.wire_assign("mod_diff", mod_ext.sub(step_ext));
    let mod_new = saturate(m, "mod_new", diff, mp.bits);
    let port = ram_port(
        m,
        &store.mem,
        s.v1.clone().land(fsm.in_upd.clone()),
        s.addr1.clone(),
        mod_new,
        &store.mod_q,
        store.raddr.clone(),
    );
    m.always_ff(&fsm.clk, port);
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, matrix, modulated, vector};

    #[test]
    fn the_new_entry_is_saturated_to_the_entry_width_and_written_in_upd() {
        for p in [vector(), matrix()] {
            let (l, mp) = modulated(&p);
            let text = super::super::module(&p, l, mp, &[]).to_verilog();
            let top = mp.bits - 1;
            let new = decl(&text, "mod_new").expect("mod_new");
            assert!(
                new.starts_with(&format!("wire signed [{top}:0] mod_new = mod_new_over ?")),
                "{new}"
            );
            // The difference is one bit wider than either side, so it cannot wrap.
            let diff = decl(&text, "mod_diff").expect("mod_diff");
            let width: u32 = diff["wire signed [".len()..diff.find(':').expect("a range")]
                .parse()
                .expect("a width");
            assert!(width + 1 > mp.bits, "{diff}");
            assert!(
                diff.contains(&format!(
                    "$signed({{{{{}{{mod_q[{}]}}}}, mod_q}}) - ",
                    width - mp.bits + 1,
                    mp.bits - 1
                )),
                "{diff}"
            );
            assert!(text.contains("if (v1 && in_upd) begin"), "{text}");
            assert!(text.contains("mod_mem[addr1] <= mod_new;"), "{text}");
            assert!(text.contains("mod_q <= mod_mem[mod_raddr];"), "{text}");
        }
    }

    #[test]
    fn the_step_drops_update_shift_bits() {
        let p = vector();
        let (l, mp) = modulated(&p);
        assert!(mp.update_shift > 0);
        let text = super::super::module(&p, l, mp, &[]).to_verilog();
        assert_eq!(
            decl(&text, "unused_mod_step").map(|d| d.split(" = ").nth(1).map(str::to_string)),
            Some(Some(format!("mod_step_rnd[{}:0];", mp.update_shift - 1))),
            "{text}"
        );
    }
}
