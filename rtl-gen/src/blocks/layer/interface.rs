//! The unit's ports: the input stream, `start`, the downstream (the next unit's input
//! stream, or the prediction), the readback port, whose output register is padded to
//! the design's common readback latency, and the weight load beside it.

use crate::params::addr_bits;
use crate::params::{DesignParams, LayerParams, READBACK_LATENCY};
use crate::verilog::{assign, Expr, Module, Ty};

use super::super::delay;

pub(super) struct Ports {
    pub clk: Expr,
    pub rst: Expr,
    pub in_we: Expr,
    pub in_addr: Expr,
    pub in_data: Expr,
    pub start: Expr,
    pub start_label: Expr,
    pub busy: Expr,
    pub full: Expr,
    /// The downstream's back-pressure: `pred_ready` (classifier) or `down_full` (hidden).
    pub down: Expr,
    /// Classifier: `pred_valid`, `pred`, `pred_label`; hidden: `out_we`, `out_addr`,
    /// `out_data`, `out_start`, `out_label`.
    pub out_ports: Vec<Expr>,
    pub rb_addr: Expr,
    /// The selected readback entry, before the padding registers and `rb_data`.
    pub rb_next: Expr,
    /// While idle: `load_data` into the weight at readback entry `rb_addr`.
    pub load_we: Expr,
    pub load_data: Expr,
}

pub(super) fn declare(m: &mut Module, p: &DesignParams, l: &LayerParams) -> Ports {
    let a = l.act_bits;
    let lb = l.label_bits;
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let in_we = m.input("in_we", Ty::bit());
    let in_addr = m.input("in_addr", Ty::u(addr_bits(l.inputs)));
    let in_data = m.input("in_data", Ty::s(a));
    let start = m.input("start", Ty::bit());
    let start_label = m.input("start_label", Ty::u(l.tag_bits()));
    let busy = m.output_wire("busy", Ty::bit());
    let full = m.output_wire("full", Ty::bit());
    let (down, out_ports) = if l.classifier {
        let pred_valid = m.output_reg("pred_valid", Ty::bit());
        let pred = m.output_reg("pred", Ty::u(lb));
        let pred_label = m.output_reg("pred_label", Ty::u(lb));
        let pred_ready = m.input("pred_ready", Ty::bit());
        (pred_ready, vec![pred_valid, pred, pred_label])
    } else {
        let out_we = m.output_reg("out_we", Ty::bit());
        let out_addr = m.output_reg("out_addr", Ty::u(addr_bits(l.outputs)));
        let out_data = m.output_reg("out_data", Ty::s(a));
        let out_start = m.output_reg("out_start", Ty::bit());
        let out_label = m.output_reg("out_label", Ty::u(l.tag_bits()));
        let down_full = m.input("down_full", Ty::bit());
        (
            down_full,
            vec![out_we, out_addr, out_data, out_start, out_label],
        )
    };
    let rb_addr = m.input("rb_addr", Ty::u(l.rb_addr_bits));
    let rb_data = m.output_reg("rb_data", Ty::s(p.rb_data_bits));
    let load_we = m.input("load_we", Ty::bit());
    let load_data = m.input("load_data", Ty::s(l.weight_bits));
    // The selected entry, registered into rb_data (readback stage 3), after as many
    // registers as the design's slowest unit (banked, or a wide lane select) takes more.
    let rb_next = m.wire("rb_next", Ty::s(p.rb_data_bits));
    let rb_pad = p.rb_latency - READBACK_LATENCY - l.readback_stages();
    let rb_padded = delay(m, &clk, "rb_pad", rb_next.clone(), rb_pad);
    m.always_ff(&clk, vec![assign(&rb_data, rb_padded)]);
    Ports {
        clk,
        rst,
        in_we,
        in_addr,
        in_data,
        start,
        start_label,
        busy,
        full,
        down,
        out_ports,
        rb_addr,
        rb_next,
        load_we,
        load_data,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;

    #[test]
    fn the_classifier_publishes_a_prediction_and_a_hidden_unit_streams_h() {
        let knobs = Knobs::default();
        let (hidden, classifier) = (knobs.unit(0), knobs.unit(1));
        for port in [
            "out_we",
            "out_addr",
            "out_data",
            "out_start",
            "out_label",
            "down_full",
        ] {
            assert!(hidden.has(port) && !classifier.has(port), "{port}");
        }
        for port in ["pred_valid", "pred", "pred_label", "pred_ready"] {
            assert!(classifier.has(port) && !hidden.has(port), "{port}");
        }
        let l = knobs.layer(0);
        assert_eq!(hidden.width("out_data"), l.act_bits);
        assert_eq!(hidden.width("in_data"), l.act_bits);
        assert_eq!(hidden.get("rb_data").unwrap().kind, "output");
    }

    #[test]
    fn readback_is_padded_to_the_slowest_unit() {
        let knobs = Knobs::banked();
        let p = knobs.design();
        for (k, l) in p.layers.iter().enumerate() {
            let pad = p.rb_latency - crate::params::READBACK_LATENCY - l.readback_stages();
            // `rb_pad`, then `rb_pad2` … `rb_pad<pad>`.
            let unit = knobs.unit(k);
            let regs = unit.numbered("rb_pad") + usize::from(unit.has("rb_pad"));
            assert_eq!(regs, pad as usize, "{}", l.name);
        }
    }
}
