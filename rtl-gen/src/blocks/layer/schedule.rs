//! The unit's schedule: the stage at which each step of a pass happens ([`Stages`]), and
//! the pass timing the cycle model adds up ([`PassTiming`]).

use crate::params::{DesignParams, LayerParams};

/// Pipeline stage numbers (S0 is the issue stage: counters, memory addresses).
#[derive(Clone, Copy, Debug)]
pub struct Stages {
    /// Forward: the stage whose edge accumulates into the split accumulator (S1 registers
    /// the memories' data again, S2 multiplies into the product register; with
    /// `LayerParams::mac_sum_stages` the stages from S3 on sum the lanes into a register
    /// first).
    pub acc: u32,
    /// Forward: the stage that registers a finished row's sum `acc`, its two halves and
    /// the pending carry added (acc + 1).
    pub sum: u32,
    /// Forward: a finished row leaves the unit (hidden: h registered for the next layer,
    /// two stages after the activation and the rounding; classifier: logit and argmax from
    /// `acc`).
    pub done: u32,
    /// Hidden unit that learns: the basis projection of the registered h into the scores.
    pub proj: Option<u32>,
    /// Update: the stage that multiplies δ·x (hidden: S1 the terms of Bᵀe, S2 partial
    /// sums, S3 their sum, S4–S6 δ; classifier: S3 δ = e\[row\]), or later where the
    /// weight read is longer ([`LayerParams::weight_read_stages`], when x is read).
    pub delta: Option<u32>,
    /// Update: the stage that writes the weight back (after the rounded step, the
    /// registered difference and the weight read; banked weights register the write on
    /// the way in, `bank_stages` later than the new word is ready: `Stages::new_word`).
    pub write: Option<u32>,
}

/// Whether the classifier compares a finished sum with the running maximum a stage before
/// it updates the maximum: rows are then at least two cycles apart (`words` ≥ 2), so the
/// compare always sees the previous row's update, and the wide compare gets a stage of
/// its own. With one word a row the compare and the update share the done stage.
pub(super) fn argmax_split(l: &LayerParams) -> bool {
    l.classifier && l.words > 1
}

/// The update's multiply stage (see [`Stages::delta`]): the classifier's δ is a registered
/// error (S3); a hidden unit's goes through f'(z), the rounding shift and the saturation,
/// a stage each after Σ B·e (S4–S6).
///
/// x is read for the update `weight_read_stages` before the multiply, so the multiply
/// waits for a read path longer than its own δ path (a classifier with banked weights).
fn delta_stage(l: &LayerParams) -> u32 {
    let delta_path = if l.classifier {
        4
    } else {
        7 + l.basis_addr_stages
    };
    delta_path.max(l.weight_read_stages())
}

pub fn stages(p: &DesignParams, l: &LayerParams) -> Stages {
    // Banked weights reach w_r later (`LayerParams::bank_read_stages`).
    // Registered multiplier operands (`mul_stages`) delay the product alike.
    let acc = 3 + l.mac_sum_stages + l.bank_read_stages() + l.mul_stages;
    let sum = acc + 1;
    // A hidden row's finished sum goes through the activation (sum+1), the rounding shift
    // (sum+2) and the saturation into h (done): one wide carry chain a stage.
    let done = match (l.classifier, argmax_split(l)) {
        (false, _) => sum + 3,
        (true, true) => sum + 2,
        (true, false) => sum + 1,
    };
    Stages {
        acc,
        sum,
        done,
        proj: (p.learn && !l.classifier).then_some(done + 1),
        delta: p.learn.then_some(delta_stage(l)),
        write: p
            .learn
            .then_some(delta_stage(l) + 3 + l.mul_stages + l.bank_stages()),
    }
}

impl Stages {
    /// Update: the stage that presents the saturated new weight to the memory port.
    pub(super) fn new_word(&self, l: &LayerParams) -> Option<u32> {
        self.write.map(|w| w - l.bank_stages())
    }

    pub(super) fn last(&self) -> u32 {
        self.done
            .max(self.proj.unwrap_or(0))
            .max(self.write.unwrap_or(0))
    }
}

/// A unit's schedule around its two passes, in clock edges, for the cycle model. A pass
/// "begins" at the edge that raises `issuing`: the edge that asks for it, or, with shared
/// multipliers, the edge after the arbiter's grant.
#[derive(Clone, Debug)]
pub struct PassTiming {
    /// Items a pass issues, one a cycle (rows × words).
    pub rows: u64,
    /// From the edge that samples `start` to the forward pass's request: the hidden unit
    /// goes IDLE→WAIT→FWD (1), the classifier IDLE→FWD (0, or 1 where it defers its first
    /// item: [`defers_first_issue`]).
    pub fwd_request: u64,
    /// From the forward begin to the edge that raises the successor's `start` (hidden):
    /// `rows` issued, the last reaches the done stage, `out_start` registered.
    pub fwd_end: u64,
    /// From the forward begin to the update's request (when learning): the forward end,
    /// the classifier's WAIT (1), the last row's projection (hidden), the softmax start
    /// (1) and its latency (or the modulation unit's). Without learning, to idle.
    pub after_fwd: u64,
    /// From the update begin to idle: `rows` issued, the last reaches the write stage.
    pub upd_end: Option<u64>,
    /// The stage at which each pass's operands reach the multiplier (the pool registers
    /// them there): an item before or at it holds a shared pool.
    pub fwd_operand_stage: u64,
    pub upd_operand_stage: Option<u64>,
}

/// Whether the unit's forward pass issues a cycle after it accepts a sample rather than at
/// once. Registered input writes (`DesignParams::input_write_stages`) land in the buffer
/// an edge after the stream presents them, and the last one comes with `start`. A unit
/// whose rows are one word reads every lane's only word with its first item, so that read
/// would meet the last write in the same cycle. A hidden unit passes through WAIT first,
/// and a pass on the shared pool waits for the grant: only the classifier with its own
/// multipliers defers its first item.
pub fn defers_first_issue(p: &DesignParams, l: &LayerParams) -> bool {
    l.classifier && l.words == 1 && p.input_write_stages > 0 && p.mul_pool.is_none()
}

pub fn pass_timing(p: &DesignParams, l: &LayerParams) -> PassTiming {
    let rows = l.lane_words() as u64;
    let st = stages(p, l);
    let fwd_end = 1 + rows + st.done as u64;
    let wait = u64::from(l.classifier);
    let after_fwd = match st.write {
        Some(_) => {
            let proj = st.proj.map_or(0, |q| (q - st.done) as u64);
            let error = match &l.modulation {
                Some(mp) => crate::blocks::modulation::latency(p, mp),
                None => 1 + crate::blocks::softmax::latency(p),
            };
            fwd_end + wait + proj + error
        }
        None => fwd_end + wait,
    };
    PassTiming {
        rows,
        fwd_request: 1 - wait + u64::from(defers_first_issue(p, l)),
        fwd_end,
        after_fwd,
        upd_end: st.write.map(|w| rows + w as u64),
        fwd_operand_stage: forward_operand_stage(l) as u64,
        upd_operand_stage: st.delta.map(u64::from),
    }
}

/// The forward pass's operand stage: w_r and x_r hold the item (memory register, data
/// register, and the banks' stages).
pub fn forward_operand_stage(l: &LayerParams) -> u32 {
    2 + l.bank_read_stages()
}

#[cfg(test)]
mod tests {
    use super::super::testing::Knobs;
    use super::*;

    #[test]
    fn the_update_writes_three_stages_after_delta_plus_the_extra_registers() {
        for knobs in [Knobs::default(), Knobs::banked()] {
            let p = knobs.design();
            for l in &p.layers {
                let st = stages(&p, l);
                let (delta, write) = (st.delta.unwrap(), st.write.unwrap());
                assert_eq!(
                    write,
                    delta + 3 + l.mul_stages + l.bank_stages(),
                    "{}",
                    l.name
                );
                assert_eq!(st.new_word(l), Some(write - l.bank_stages()));
                assert!(
                    delta >= l.weight_read_stages(),
                    "x is read before δ is ready"
                );
                assert_eq!(st.sum, st.acc + 1);
                assert_eq!(st.last(), st.done.max(st.proj.unwrap_or(0)).max(write));
            }
        }
    }

    #[test]
    fn hidden_units_project_a_stage_after_done_and_only_when_learning() {
        let learning = Knobs::default();
        let p = learning.design();
        let (hidden, classifier) = (&p.layers[0], &p.layers[1]);
        let st = stages(&p, hidden);
        assert_eq!(st.done, st.sum + 3, "activation, rounding, saturation");
        assert_eq!(st.proj, Some(st.done + 1));
        assert_eq!(stages(&p, classifier).proj, None);
        let inference = Knobs {
            learn: false,
            ..Knobs::default()
        }
        .design();
        let st = stages(&inference, &inference.layers[0]);
        assert_eq!((st.proj, st.delta, st.write), (None, None, None));
    }

    #[test]
    fn banked_weights_shift_the_accumulate_by_their_read_stages() {
        let plain = Knobs {
            target: "ecp5-85k",
            ..Knobs::default()
        };
        let banked = Knobs {
            bank_weights: true,
            ..plain.clone()
        };
        let (lp, lb) = (plain.layer(0), banked.layer(0));
        let (sp, sb) = (stages(&plain.design(), &lp), stages(&banked.design(), &lb));
        let extra = lb.bank_read_stages() + lb.mul_stages + lb.mac_sum_stages;
        assert_eq!(sb.acc, sp.acc + extra - lp.mul_stages - lp.mac_sum_stages);
        assert_eq!(forward_operand_stage(&lb), 2 + lb.bank_read_stages());
    }

    #[test]
    fn a_banked_classifier_of_one_word_a_row_defers_its_first_item() {
        // 4 hidden outputs on 4 classifier lanes: one word a row.
        let knobs = Knobs {
            hidden: 4,
            lanes: 4,
            ..Knobs::banked()
        };
        let p = knobs.design();
        let classifier = &p.layers[1];
        assert_eq!(classifier.words, 1);
        assert!(defers_first_issue(&p, classifier));
        assert_eq!(pass_timing(&p, classifier).fwd_request, 1);
        assert!(knobs.unit(1).has("issue_next"));
        assert!(
            !defers_first_issue(&p, &p.layers[0]),
            "a hidden unit waits in WAIT"
        );
        let unbanked = Knobs {
            hidden: 4,
            lanes: 4,
            ..Knobs::default()
        }
        .design();
        assert!(
            !defers_first_issue(&unbanked, &unbanked.layers[1]),
            "writes land at once"
        );
    }

    #[test]
    fn a_pass_issues_every_lane_word_and_ends_at_its_write_stage() {
        let p = Knobs::default().design();
        let l = &p.layers[0];
        let t = pass_timing(&p, l);
        assert_eq!(t.rows, (l.words * l.outputs) as u64);
        assert_eq!(
            t.upd_end,
            Some(t.rows + stages(&p, l).write.unwrap() as u64)
        );
        assert_eq!(t.fwd_request, 1, "a hidden unit waits a cycle in WAIT");
        assert_eq!(pass_timing(&p, &p.layers[1]).fwd_request, 0);
    }
}
