//! The issue stage S0 (row, word and address counters, one item a cycle without a gap)
//! and the chains that carry each item's flags and row down the stages: element k of a
//! chain is the item's value at stage k (see [`super::Stages`]).

use crate::params::addr_bits;
use crate::params::LayerParams;
use crate::verilog::{assign, if_, if_else, Expr, Module, Stmt, Ty};

use super::Unit;

/// The S0 counters and the flags derived from them.
pub(super) struct Issue {
    pub issuing: Expr,
    pub row0: Expr,
    pub word0: Expr,
    pub addr0: Expr,
    pub word_last0: Expr,
    /// `word_last0` is a register the S0 counters' assignments keep in step with `word0`.
    pub word_last_reg: bool,
    /// Whether row0 is the last row, read only on a row's last word.
    pub row_last0: Expr,
    /// The register "S0 issues the last item"; `None` in a one-item pass, whose first
    /// item is its last.
    pub issue_last: Option<Expr>,
    /// Set on accepting a sample where the first item waits a cycle
    /// ([`super::schedule::defers_first_issue`]): issuing starts on the next edge.
    pub deferred: Option<Expr>,
}

impl Issue {
    pub(super) fn declare(m: &mut Module, u: &Unit) -> Issue {
        let l = u.l;
        let out_aw = addr_bits(l.outputs);
        let word_aw = addr_bits(l.words);
        m.section("issue stage S0: row / word counters");
        let issuing = m.reg("issuing", Ty::bit());
        let row0 = m.reg("row0", Ty::u(out_aw));
        let word0 = m.reg("word0", Ty::u(word_aw));
        let addr0 = m.reg("addr0", Ty::u(addr_bits(l.lane_words())));
        // `DesignParams::issue_flags_registered`: the row's last word is a register (set by
        // the control block), and the last row's last word is the pass's last item.
        let word_last_reg = u.p.issue_flags_registered && l.words > 1;
        let compares = (!word_last_reg).then(|| {
            (
                m.wire_assign(
                    "word_last0",
                    word0
                        .clone()
                        .eq(Expr::lit(l.words as i128 - 1, Ty::u(word_aw))),
                ),
                m.wire_assign(
                    "row_last0",
                    row0.clone()
                        .eq(Expr::lit(l.outputs as i128 - 1, Ty::u(out_aw))),
                ),
            )
        });
        // Whether S0 issues the pass's last item: a flip-flop set from the address the item
        // before, so that `issuing` ends on a register rather than on the counters'
        // compares. A one-item pass has no such register: its first item is its last.
        let issue_last_reg = (l.lane_words() > 1).then(|| m.reg("issue_last", Ty::bit()));
        let issue_last = issue_last_reg.clone().unwrap_or_else(|| Expr::bool(true));
        let (word_last0, row_last0) =
            compares.unwrap_or_else(|| (m.reg("word_last0", Ty::bit()), issue_last));
        let deferred =
            super::schedule::defers_first_issue(u.p, l).then(|| m.reg("issue_next", Ty::bit()));
        Issue {
            issuing,
            row0,
            word0,
            addr0,
            word_last0,
            word_last_reg,
            row_last0,
            issue_last: issue_last_reg,
            deferred,
        }
    }

    /// Whether S0 issues the pass's last item (constant 1 in a one-item pass).
    pub(super) fn last_item(&self) -> Expr {
        self.issue_last.clone().unwrap_or_else(|| Expr::bool(true))
    }

    /// A registered `word_last0` follows word0: it is 0 wherever word0 returns to 0 (rows
    /// of more than one word), and set as word0 steps onto a row's last word.
    fn word_last_is(&self, value: impl FnOnce() -> Expr) -> Vec<Stmt> {
        if self.word_last_reg {
            vec![assign(&self.word_last0, value())]
        } else {
            Vec::new()
        }
    }

    /// The S0 counters are 0 whenever nothing is issued (reset, and back to 0 after the
    /// last item), so starting a pass sets one bit: the stream's handshakes and the
    /// softmax's done reach no counter.
    pub(super) fn zero(&self) -> Vec<Stmt> {
        [
            vec![
                assign(&self.row0, Expr::lit(0, self.row0.ty())),
                assign(&self.word0, Expr::lit(0, self.word0.ty())),
                assign(&self.addr0, Expr::lit(0, self.addr0.ty())),
            ],
            self.word_last_is(|| Expr::bool(false)),
        ]
        .concat()
    }

    /// Starts a forward pass: at once, or on the next edge where the first item is
    /// deferred.
    pub(super) fn start_forward(&self) -> Vec<Stmt> {
        match &self.deferred {
            Some(flag) => vec![assign(flag, Expr::bool(true))],
            None => self.start(),
        }
    }

    /// A deferred first item issues now (nothing where none is deferred).
    pub(super) fn issue_deferred(&self) -> Option<Stmt> {
        self.deferred.as_ref().map(|flag| {
            if_(
                flag.clone(),
                [self.start(), vec![assign(flag, Expr::bool(false))]].concat(),
            )
        })
    }

    /// Raises `issuing` for a pass's first item.
    pub(super) fn start(&self) -> Vec<Stmt> {
        let mut stmts = vec![assign(&self.issuing, Expr::bool(true))];
        stmts.extend(self.issue_last.iter().map(|r| assign(r, Expr::bool(false))));
        stmts
    }

    /// S0 counters advance while issuing; the last item ends the pass.
    pub(super) fn advance(&self, l: &LayerParams) -> Stmt {
        let f = Expr::bool(false);
        let (out_ty, word_ty, w_ty) = (self.row0.ty(), self.word0.ty(), self.addr0.ty());
        let mut advance_stmts = vec![
            assign(&self.addr0, self.addr0.clone().add(Expr::lit(1, w_ty))),
            if_(self.last_item(), vec![assign(&self.issuing, f.clone())]),
        ];
        advance_stmts.extend(self.issue_last.iter().map(|r| {
            assign(
                r,
                self.addr0
                    .clone()
                    .eq(Expr::lit(l.lane_words() as i128 - 2, w_ty)),
            )
        }));
        let next_row = [
            vec![
                assign(&self.word0, Expr::lit(0, word_ty)),
                assign(&self.row0, self.row0.clone().add(Expr::lit(1, out_ty))),
            ],
            self.word_last_is(|| f.clone()),
            // word0 and word_last0 are cleared just above.
            vec![if_(
                self.row_last0.clone(),
                vec![
                    assign(&self.row0, Expr::lit(0, out_ty)),
                    assign(&self.addr0, Expr::lit(0, w_ty)),
                ],
            )],
        ]
        .concat();
        let next_word = [
            vec![assign(
                &self.word0,
                self.word0.clone().add(Expr::lit(1, word_ty)),
            )],
            self.word_last_is(|| {
                self.word0
                    .clone()
                    .eq(Expr::lit(l.words as i128 - 2, word_ty))
            }),
        ]
        .concat();
        if_(
            self.issuing.clone(),
            [
                advance_stmts,
                vec![if_else(self.word_last0.clone(), next_row, next_word)],
            ]
            .concat(),
        )
    }
}

/// The per-stage chains behind S0, and the done stage's flags.
pub(super) struct Chains {
    /// Item valid.
    pub v: Vec<Expr>,
    /// The item is its row's first word.
    pub first: Vec<Expr>,
    /// The item is its row's last word.
    pub last: Vec<Expr>,
    /// The item is the pass's last.
    pub fin: Vec<Expr>,
    pub row: Vec<Expr>,
    /// The item's word, as far as the update reads x (a row of one word has no chain).
    pub word: Vec<Expr>,
    /// A row's last word reaches the done stage in the forward pass.
    pub done: Expr,
    /// `done` a stage later, at the projection stage (a learning hidden unit).
    pub done_p: Option<Expr>,
}

impl Chains {
    pub(super) fn declare(m: &mut Module, u: &Unit, issue: &Issue) -> Chains {
        let (l, st) = (u.l, &u.st);
        let word_ty = issue.word0.ty();
        m.section("pipeline registers: item flags and row per stage (index = stage)");
        let v = chain(
            m,
            "v",
            issue.issuing.clone(),
            (st.done - 1).max(st.write.unwrap_or(0)),
        );
        let first = chain(
            m,
            "first",
            issue.word0.clone().eq(Expr::lit(0, word_ty)),
            st.acc,
        );
        let last = chain(m, "last", issue.word_last0.clone(), st.done - 1);
        let fin = chain(m, "final", issue.last_item(), st.last());
        let row = chain(
            m,
            "row",
            issue.row0.clone(),
            st.done.max(st.delta.map_or(0, |d| d - 1)),
        );
        // The update reads x as many stages before δ is ready as a weight read takes
        // (memory, [bank registers], data register): x keeps in step with the weights.
        let word = match st.delta {
            Some(dq) if l.words > 1 => {
                chain(m, "word", issue.word0.clone(), dq - l.weight_read_stages())
            }
            _ => vec![issue.word0.clone()],
        };
        let done = m.reg(&format!("done{}", st.done), Ty::bit());
        let done_p = st.proj.map(|q| m.reg(&format!("done{q}"), Ty::bit()));
        Chains {
            v,
            first,
            last,
            fin,
            row,
            word,
            done,
            done_p,
        }
    }

    /// Each chain shifts one stage a cycle; `done` rises where the forward pass's last
    /// word of a row leaves the stage before it.
    pub(super) fn shift(&self, u: &Unit, state: &Expr, s_fwd: &Expr) -> Vec<Stmt> {
        let chains = [
            &self.v,
            &self.first,
            &self.last,
            &self.fin,
            &self.row,
            &self.word,
        ];
        let chain_ff: Vec<Stmt> = chains
            .iter()
            .flat_map(|ch| ch.windows(2).map(|w| assign(&w[1], w[0].clone())))
            .collect();
        let mut stmts = u.held(chain_ff);
        let pre = u.st.done as usize - 1;
        stmts.push(assign(
            &self.done,
            self.v[pre]
                .clone()
                .land(self.last[pre].clone())
                .land(state.clone().eq(s_fwd.clone())),
        ));
        if let Some(done_p) = &self.done_p {
            stmts.push(assign(done_p, self.done.clone()));
        }
        stmts
    }
}

/// A shift chain of `n` registers `<name>1 … <name>n` behind `src`: element k is the value
/// at stage k, element 0 the source (the assignments are made in the control block).
fn chain(m: &mut Module, name: &str, src: Expr, n: u32) -> Vec<Expr> {
    let ty = src.ty();
    let mut v = vec![src];
    v.extend((1..=n).map(|k| m.reg(&format!("{name}{k}"), ty)));
    v
}

#[cfg(test)]
mod tests {
    use super::super::schedule::stages;
    use super::super::testing::Knobs;

    #[test]
    fn each_chain_reaches_the_last_stage_that_reads_it() {
        let knobs = Knobs::default();
        let p = knobs.design();
        for (k, l) in p.layers.iter().enumerate() {
            let st = stages(&p, l);
            let unit = knobs.unit(k);
            let v = (st.done - 1).max(st.write.unwrap()) as usize;
            assert_eq!(unit.numbered("v"), v, "{}", l.name);
            assert_eq!(unit.numbered("first"), st.acc as usize);
            assert_eq!(unit.numbered("last"), st.done as usize - 1);
            assert_eq!(unit.numbered("final"), st.last() as usize);
            assert!(unit.has(&format!("done{}", st.done)));
            assert_eq!(unit.width("row1"), unit.width("row0"));
        }
    }

    #[test]
    fn the_issue_counters_span_a_pass() {
        let knobs = Knobs::default();
        let l = knobs.layer(0);
        let unit = knobs.unit(0);
        let bits = |n: usize| crate::params::addr_bits(n);
        assert_eq!(unit.width("row0"), bits(l.outputs));
        assert_eq!(unit.width("word0"), bits(l.words));
        assert_eq!(unit.width("addr0"), bits(l.lane_words()));
        assert!(
            unit.has("issue_last"),
            "a pass of several items ends on a register"
        );
    }
}
