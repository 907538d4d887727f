//! The layer's softmax-error unit, instantiated on the modulated logits: started by
//! `sm_start` at the end of LOGIT, its `done` (`sm_done`) starts GRAD.

use crate::params::LayerParams;
use crate::verilog::{Expr, Module, Ty};

use super::fsm::Fsm;
use super::Ports;

/// The "softmax error" section; returns `sm_start`.
pub(super) fn build(
    m: &mut Module,
    l: &LayerParams,
    fsm: &Fsm,
    ports: &Ports,
    mlogit: &[Expr],
    sm_done: &Expr,
) -> Expr {
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
            ("clk".into(), fsm.clk.clone()),
            ("rst".into(), fsm.rst.clone()),
            ("start".into(), sm_start.clone()),
            ("label".into(), ports.label.clone()),
            ("logits".into(), mlogits),
            ("done".into(), sm_done.clone()),
            ("err".into(), ports.err.clone()),
        ],
    );
    sm_start
}

#[cfg(test)]
mod tests {
    use super::super::testing::{decl, modulated, vector};

    #[test]
    fn the_softmax_reads_the_modulated_logits_and_drives_the_errors() {
        let p = vector();
        let (l, mp) = modulated(&p);
        let text = super::super::module(&p, l, mp, &[]).to_verilog();
        assert_eq!(
            decl(&text, "mlogits"),
            Some(format!(
                "wire [{}:0] mlogits = {{$unsigned(mlogit2), $unsigned(mlogit1), $unsigned(mlogit0)}};",
                3 * mp.logit_bits - 1
            ))
        );
        let inst = &text[text
            .find(&format!("{}_softmax softmax", l.name))
            .expect("instance")..];
        let inst: String = inst.chars().filter(|c| !c.is_whitespace()).collect();
        for conn in [
            ".start(sm_start)",
            ".logits(mlogits)",
            ".done(sm_done)",
            ".err(err)",
        ] {
            assert!(inst.contains(conn), "{conn}:\n{inst}");
        }
    }
}
