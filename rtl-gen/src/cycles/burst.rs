//! Samples streamed back to back (a burst): every unit takes its next sample as soon as
//! it is idle and the sample is in its input buffer, so the units work on successive
//! samples at once. The schedule follows the same handshakes as lock step, and adds the
//! ones that only bind across samples:
//!
//! - a unit that is busy when a sample's `start` comes holds it in its spare bank
//!   (`pending`, the unit's `full`) and takes it the edge after it goes idle;
//! - the pixel stream's `tready` is layer 0's `!full`: the next sample's beats follow the
//!   last beat at once, unless that sample had to wait, then from the edge it is taken;
//! - a hidden unit leaves WAIT for its forward pass only while the next unit holds no
//!   waiting sample (`down_full`), so that its outputs land in a free bank.
//!
//! The steady-state period, the gap between two predictions once every unit's next input
//! waits for it, is what a streaming chip trains at.

use super::CycleModel;

/// Edges of one unit's handshakes for one sample, each `None` until known.
#[derive(Clone, Copy, Debug, Default)]
struct Handshake {
    /// The edge that samples the sample's `start`.
    start: Option<u64>,
    /// The edge the unit takes it (IDLE left): `start`, or the edge after the unit went
    /// idle where the sample had to wait.
    accept: Option<u64>,
}

/// The pending pass of a unit: (request edge, the update?).
type Request = Option<(u64, bool)>;

/// Per unit, while the burst runs.
#[derive(Clone, Default)]
struct UnitRun {
    /// Every sample's handshake edges, in order.
    samples: Vec<Handshake>,
    /// The sample the unit works on or waits for next.
    current: usize,
    /// The edge the unit went idle after its last sample (`None` before the first).
    idle: Option<u64>,
    /// The unit holds a sample: accepted, not yet idle again.
    active: bool,
    request: Request,
    /// Edges at which the unit began each forward pass.
    forward_begins: Vec<u64>,
}

/// The schedule of a burst: the edge at which the last unit goes idle, and the edges at
/// which the classifier began each sample's forward pass.
pub(super) struct BurstSchedule {
    pub end: u64,
    pub classifier_begins: Vec<u64>,
}

impl CycleModel {
    pub(super) fn burst_schedule(&self, samples: usize) -> BurstSchedule {
        let n_units = self.units.len();
        let mut runs = vec![
            UnitRun {
                samples: vec![Handshake::default(); samples],
                ..UnitRun::default()
            };
            n_units
        ];
        // The first sample's beats take edges 1..=inputs; its last beat starts layer 0.
        if samples > 0 {
            runs[0].samples[0].start = Some(self.inputs);
        }
        let mut free = 0;
        let mut end = 0;
        loop {
            // Taking a sample may free the bank a unit before waits for: until none moves.
            while (0..n_units).any(|k| self.accept_next(&mut runs, k)) {}
            // The earliest begin; on a tie the later unit (the arbiter's priority).
            let begin_of = |r: u64| if self.shared { (r + 1).max(free) } else { r };
            let Some((k, begin, update)) = runs
                .iter()
                .enumerate()
                .filter_map(|(k, u)| u.request.map(|(edge, upd)| (k, begin_of(edge), upd)))
                .min_by_key(|&(k, begin, _)| (begin, std::cmp::Reverse(k)))
            else {
                break;
            };
            let t = &self.units[k];
            runs[k].request = None;
            let operand_stage = if update {
                let idle = begin + t.upd_end.expect("an update is asked only when learning");
                finish(&mut runs[k], idle);
                end = end.max(idle);
                t.upd_operand_stage.unwrap_or(0)
            } else {
                runs[k].forward_begins.push(begin);
                // A hidden unit's forward end starts the next unit on this sample.
                let n = runs[k].current;
                if let Some(next) = runs.get_mut(k + 1) {
                    next.samples[n].start = Some(begin + t.fwd_end);
                }
                match t.upd_end {
                    Some(_) => runs[k].request = Some((begin + t.after_fwd, true)),
                    None => {
                        finish(&mut runs[k], begin + t.after_fwd);
                        end = end.max(begin + t.after_fwd);
                    }
                }
                t.fwd_operand_stage
            };
            // The pass holds the pool until its last item has passed the operand stage
            // (`pool_hold`, registered: one stage later); the arbiter's grant then begins
            // the next pass at the following edge.
            if self.shared {
                free = begin + t.rows + operand_stage + 2;
            }
        }
        BurstSchedule {
            end,
            classifier_begins: runs.last().map_or(Vec::new(), |u| u.forward_begins.clone()),
        }
    }

    /// Unit `k` takes its next sample where it is idle and the sample's `start` is known,
    /// then asks for its forward pass (returns whether it did): at once (the classifier), or, a hidden unit, once
    /// the next unit's spare bank is free (known once the next unit took the sample
    /// before).
    fn accept_next(&self, runs: &mut [UnitRun], k: usize) -> bool {
        let n = runs[k].current;
        if runs[k].active || n >= runs[k].samples.len() {
            return false;
        }
        let Some(start) = runs[k].samples[n].start else {
            return false;
        };
        // A sample whose start came while the unit was busy is taken the edge after the
        // unit goes idle (the idle edge itself still sees the unit busy).
        let accept = match runs[k].idle {
            Some(idle) => start.max(idle + 1),
            None => start,
        };
        let t = &self.units[k];
        let asks = accept + t.fwd_request;
        let request = match runs.get(k + 1) {
            Some(next) if n > 0 => {
                let prev = next.samples[n - 1];
                let (Some(prev_start), Some(prev_accept)) = (prev.start, prev.accept) else {
                    return false;
                };
                // The next unit's spare bank holds its previous sample from the edge
                // that started it until the edge that took it.
                if prev_start < asks && asks <= prev_accept {
                    prev_accept + 1
                } else {
                    asks
                }
            }
            _ => asks,
        };
        runs[k].samples[n].accept = Some(accept);
        runs[k].active = true;
        runs[k].request = Some((request, false));
        if k == 0 && n + 1 < runs[0].samples.len() {
            // The next sample's beats: right after this one's last, or, where this one had
            // to wait (layer 0 was full), from the edge after it was taken.
            let first_beat = accept.max(start) + 1;
            runs[0].samples[n + 1].start = Some(first_beat + self.inputs - 1);
        }
        true
    }
}

/// The unit goes idle at `idle`, done with its current sample.
fn finish(run: &mut UnitRun, idle: u64) {
    run.idle = Some(idle);
    run.active = false;
    run.current += 1;
}
