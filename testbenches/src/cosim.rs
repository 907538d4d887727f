//! The co-simulation run: golden model and RTL side by side, compared every step.

use std::path::{Path, PathBuf};
use std::time::Instant;

use golden_model::config::Config;
use golden_model::data::Split;
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::lanes::LaneMap;
use golden_model::spec::numeric::format::mask;
use golden_model::spec::trace::StepTrace;
use rtl_gen::cycles::steady_period;
use rtl_gen::params::{LFSR_READBACK_BITS, LFSR_READBACK_PIECES};
use serde::Serialize;

use crate::build::{build, Compiler, Profile, Simulator, Toolchain};
use crate::session::{SampleResult, Session};
use crate::CosimError;

#[derive(Clone, Debug)]
pub struct CosimOptions {
    pub samples: usize,
    pub simulator: Simulator,
    /// Probability (0..1) that the harness holds `s_axis_tvalid` / `m_axis_tready` low.
    pub stall: f64,
    pub stall_seed: u64,
    /// Read back and compare every weight every N samples (and after the last); 0 = only
    /// after the last sample. Predictions, cycles and softmax errors are compared every
    /// sample regardless.
    pub weights_every: usize,
    /// Reset the design in the middle of streaming sample N (the sample is then re-sent).
    pub reset_at: Option<usize>,
    /// On a mismatch, re-run with an FST waveform around it (`<work>/mismatch.fst`).
    pub trace: bool,
    /// Test hook: flip bit 0 of one expected value to prove that the comparison can fail.
    pub mutate: Option<Mutation>,
    /// Scratch folder: RTL, the simulator build, waveforms.
    pub work_dir: PathBuf,
    /// 0: lock step (one sample, wait for idle, compare, next; the cycle model is checked).
    /// N: stream N samples back to back, as the design pipelines them across layers, then
    /// compare every prediction, and the errors and weights after the last of them.
    pub burst: usize,
    /// `false`: build the inference-only design and check its predictions (and that the
    /// weights stay untouched) against the golden model's inference.
    pub learn: bool,
    /// Start from this net's learned state instead of the config's initial one: its
    /// state images (`rtl_gen::mem::write_state_images`, as `lls weights export` writes
    /// them) replace the generated ones, so the RTL powers up where the net stands.
    pub resume_from: Option<FixedNet>,
    /// Split the samples into this many segments (whole bursts) co-simulated side by side,
    /// one simulator each, in `<work_dir>/segment<k>`. Segment k powers up in the golden
    /// model's state at its first sample; segment k-1 compares that state with the RTL's
    /// (every weight, modulation value and LFSR state) after its last sample, so the
    /// segments chain into one run. All run one simulator, built in `segment0`.
    /// 1: one simulator in `work_dir`.
    pub segments: usize,
    /// Profile-guided Verilator build ([`Profile`]): first an instrumented simulator,
    /// trained on the first segment's first [`PGO_SAMPLES`] samples as the run will (lock
    /// step or a burst, not compared), then the simulator the run uses, built with that
    /// profile. Two builds more; pays on long runs.
    pub pgo: bool,
    /// The C++ compiler of Verilator builds (clang++ where installed, by default).
    pub compiler: Compiler,
}

/// Samples a profile-guided build's profile run trains on (a segment's first ones).
pub const PGO_SAMPLES: usize = 20;

impl CosimOptions {
    pub fn new(samples: usize, work_dir: PathBuf) -> CosimOptions {
        CosimOptions {
            samples,
            simulator: Simulator::Verilator,
            stall: 0.0,
            stall_seed: 1,
            weights_every: 1,
            reset_at: None,
            trace: false,
            mutate: None,
            work_dir,
            learn: true,
            burst: 0,
            resume_from: None,
            segments: 1,
            pgo: false,
            compiler: Compiler::Auto,
        }
    }
}

/// Which compared value [`CosimOptions::mutate`] flips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mutation {
    pub sample: usize,
    pub layer: usize,
    pub signal: Signal,
    pub index: usize,
}

/// The values read back and compared, besides predictions and labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    SoftmaxError,
    Weight,
    Modulation,
    LfsrState,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::SoftmaxError => "softmax_error",
            Signal::Weight => "weight",
            Signal::Modulation => "modulation",
            Signal::LfsrState => "lfsr_state",
        }
    }
}

/// The first difference between RTL and golden model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub sample: usize,
    pub layer: usize,
    pub signal: String,
    pub index: usize,
    /// Simulated cycle at the end of the sample.
    pub cycle: u64,
    pub got: String,
    pub want: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MISMATCH sample={} layer={} signal={} index={} cycle={} got={} want={}",
            self.sample, self.layer, self.signal, self.index, self.cycle, self.got, self.want
        )
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CosimReport {
    pub config: String,
    pub simulator: Simulator,
    pub samples: usize,
    pub mismatches: usize,
    pub first_mismatch: Option<Mismatch>,
    /// Entries compared: predictions, errors, weights.
    pub values_compared: u64,
    pub weight_checks: usize,
    pub cycles: u64,
    pub cycles_per_sample: f64,
    pub predicted_cycles_per_sample: u64,
    pub ideal_cycles_per_sample: u64,
    pub mac_lanes: usize,
    pub mac_lanes_total: u64,
    /// MACs per sample ÷ (cycles per sample × all lanes): the sustained MAC rate as a share
    /// of lanes × clock (a lower bound in lock step, where layers do not overlap).
    pub mac_utilization: f64,
    /// Samples whose cycle count differed from the cycle model (stall-free runs only).
    pub cycle_model_deviations: usize,
    pub stall: f64,
    pub reset_at: Option<usize>,
    /// 0: lock step; N: bursts of N back-to-back samples (cycles are then throughput).
    pub burst: usize,
    /// The steady-state period measured in the last stall-free burst of more than
    /// `2 * rtl_gen::cycles::STEADY_SAMPLES` samples (`rtl_gen::cycles::steady_period`).
    pub steady_cycles_per_sample: Option<u64>,
    /// The cycle model's steady-state period (`CycleModel::steady_cycles`).
    pub predicted_steady_cycles_per_sample: u64,
    /// Share of samples the RTL predicted right while training on them (pre-update).
    pub rtl_train_accuracy: f64,
    /// Segments co-simulated side by side ([`CosimOptions::segments`]).
    pub segments: usize,
    /// Profile-guided simulator builds ([`CosimOptions::pgo`]).
    pub pgo: bool,
    /// What built the simulator: `g++` or `clang++ <version>` (Verilator), none (Icarus).
    pub sim_compiler: Option<String>,
    /// The simulator's build (one for all segments) and the slowest segment's
    /// simulation (segments run side by side).
    pub build_seconds: f64,
    pub sim_seconds: f64,
    /// Every segment's cycles ÷ `sim_seconds`.
    pub sim_cycles_per_second: f64,
    pub waveform: Option<String>,
}

/// Generates, builds and co-simulates `opts.samples` training samples of `data`.
/// Returns the net trained alongside (its weights equal the RTL's when bit exact).
pub fn run(
    cfg: &Config,
    config_toml: &str,
    data: &Split,
    opts: &CosimOptions,
) -> Result<(CosimReport, FixedNet), CosimError> {
    run_with_progress(cfg, config_toml, data, opts, &mut |_, _| {})
}

/// [`run`], calling `progress(samples done, samples total)` after every sample.
pub fn run_with_progress(
    cfg: &Config,
    config_toml: &str,
    data: &Split,
    opts: &CosimOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(CosimReport, FixedNet), CosimError> {
    if opts.pgo && opts.simulator != Simulator::Verilator {
        return Err(CosimError::Options(
            "--pgo: profile-guided builds are Verilator's; drop --pgo or use \
             --simulator verilator"
                .into(),
        ));
    }
    let design = rtl_gen::generate(cfg, config_toml, opts.learn)?;
    let tc = &opts.compiler.resolve()?;
    let samples = opts.samples.min(data.len());
    let ranges = segment_ranges(samples, opts.burst.max(1), opts.segments)?;
    // Each segment powers up where the golden model stands at its first sample; one
    // segment works in `work_dir` itself.
    let single = ranges.len() == 1;
    let mut net = opts
        .resume_from
        .clone()
        .unwrap_or_else(|| FixedNet::new(cfg));
    let mut segments = Vec::with_capacity(ranges.len());
    for (k, range) in ranges.iter().enumerate() {
        if k > 0 && opts.learn {
            for s in ranges[k - 1].clone() {
                net.train_step(data.image(s), data.label(s) as usize);
            }
        }
        segments.push(Segment {
            range: range.clone(),
            net: net.clone(),
            resumed: k > 0 || opts.resume_from.is_some(),
            work_dir: if single {
                opts.work_dir.clone()
            } else {
                opts.work_dir.join(format!("segment{k}"))
            },
        });
    }
    // One simulator serves every segment: they differ only in the `$readmemh` images
    // their folders hold, which it reads as it starts.
    let sim = build_simulator(cfg, &design, tc, data, opts, &segments[0])?;
    for seg in &segments[1..] {
        stage_segment(cfg, &design, seg)?;
    }
    if single {
        let seg = segments.pop().expect("one segment");
        let part = run_segment(cfg, &design, data, opts, seg, &sim, progress)?;
        return Ok((part.report, part.net));
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let parts = std::thread::scope(|scope| {
        let design = &design;
        let sim = &sim;
        let handles: Vec<_> = segments
            .into_iter()
            .map(|seg| {
                let done_tx = done_tx.clone();
                scope.spawn(move || {
                    let mut tick = |_: usize, _: usize| {
                        // The receiver outlives every segment.
                        let _ = done_tx.send(());
                    };
                    run_segment(cfg, design, data, opts, seg, sim, &mut tick)
                })
            })
            .collect();
        drop(done_tx);
        for (done, ()) in done_rx.into_iter().enumerate() {
            progress(done + 1, samples);
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect::<Vec<_>>()
    });
    let parts = parts.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(merge(&design, parts))
}

/// Samples `0..samples` in `segments` contiguous ranges of whole bursts of `chunk`.
fn segment_ranges(
    samples: usize,
    chunk: usize,
    segments: usize,
) -> Result<Vec<std::ops::Range<usize>>, CosimError> {
    let bursts = samples.div_ceil(chunk).max(1);
    if segments == 0 || segments > bursts {
        return Err(CosimError::Options(format!(
            "--segments {segments}: {samples} samples in bursts of {chunk} split into 1 to \
             {bursts} segments; use a value in that range"
        )));
    }
    let edge = |k: usize| (k * bursts / segments * chunk).min(samples);
    Ok((0..segments).map(|k| edge(k)..edge(k + 1)).collect())
}

/// One simulator's share of a run: its samples, the state it powers up in, its folder.
struct Segment {
    range: std::ops::Range<usize>,
    net: FixedNet,
    /// `net` is not the generated design's power-up state: its images replace those.
    resumed: bool,
    work_dir: PathBuf,
}

impl Segment {
    /// Writes `net`'s state images into `rtl_dir` over the generated ones when the segment
    /// is `resumed`; the simulator run there then powers up in that state.
    fn write_power_up_images(&self, cfg: &Config, rtl_dir: &Path) -> Result<(), CosimError> {
        if self.resumed {
            rtl_gen::mem::write_state_images(cfg, &self.net, rtl_dir)?;
        }
        Ok(())
    }
}

/// What one segment returns: its report, the net trained alongside, and how many samples
/// the RTL predicted right (the accuracy's numerator, summed across segments).
struct SegmentResult {
    report: CosimReport,
    net: FixedNet,
    correct: usize,
}

/// Segments side by side as one report: sums, the earliest mismatch, the slowest
/// segment's seconds; the net after the last segment.
fn merge(design: &rtl_gen::Design, parts: Vec<SegmentResult>) -> (CosimReport, FixedNet) {
    let segments = parts.len();
    let mut parts = parts.into_iter();
    let SegmentResult {
        mut report,
        mut net,
        mut correct,
    } = parts.next().expect("at least two segments");
    for part in parts {
        let p = part.report;
        correct += part.correct;
        report.samples += p.samples;
        report.mismatches += p.mismatches;
        report.first_mismatch = report.first_mismatch.or(p.first_mismatch);
        report.values_compared += p.values_compared;
        report.weight_checks += p.weight_checks;
        report.cycles += p.cycles;
        report.cycle_model_deviations += p.cycle_model_deviations;
        report.steady_cycles_per_sample = p
            .steady_cycles_per_sample
            .or(report.steady_cycles_per_sample);
        report.build_seconds = report.build_seconds.max(p.build_seconds);
        report.sim_seconds = report.sim_seconds.max(p.sim_seconds);
        report.waveform = report.waveform.or(p.waveform);
        net = part.net;
    }
    report.segments = segments;
    report.derive_rates(design, correct);
    (report, net)
}

impl CosimReport {
    /// The figures derived from the counts: cycles per sample, MAC utilization, simulated
    /// cycles per second, and the RTL's training accuracy from its `correct` predictions.
    fn derive_rates(&mut self, design: &rtl_gen::Design, correct: usize) {
        let samples = self.samples.max(1) as f64;
        self.cycles_per_sample = self.cycles as f64 / samples;
        self.mac_utilization = rtl_gen::cycles::mac_utilization(
            design.manifest.macs_per_sample,
            design.manifest.mac_lanes_total,
            self.cycles_per_sample,
        );
        self.sim_cycles_per_second = self.cycles as f64 / self.sim_seconds.max(1e-9);
        self.rtl_train_accuracy = correct as f64 / samples;
    }
}

/// A built simulator: the command that runs it in a folder holding the design's images.
struct BuiltSimulator<'a> {
    program: PathBuf,
    args: Vec<String>,
    seconds: f64,
    compiler: &'a Toolchain,
}

/// Builds the simulator in `first.work_dir` (through a profile run on `first`'s samples
/// with `opts.pgo`) and stages `first`'s images there.
fn build_simulator<'a>(
    cfg: &Config,
    design: &rtl_gen::Design,
    tc: &'a Toolchain,
    data: &Split,
    opts: &CosimOptions,
    first: &Segment,
) -> Result<BuiltSimulator<'a>, CosimError> {
    let t0 = Instant::now();
    let profile = std::path::absolute(first.work_dir.join("pgo"))
        .map_err(|e| crate::io_err(&first.work_dir, e))?;
    let step = if opts.pgo {
        profile_run(cfg, design, tc, data, opts, first, &profile)?;
        Profile::Use(&profile)
    } else {
        Profile::None
    };
    let (program, args) = build_segment(cfg, design, tc, opts, first, step)?;
    Ok(BuiltSimulator {
        program,
        args,
        seconds: t0.elapsed().as_secs_f64(),
        compiler: tc,
    })
}

/// Writes the design's files into `seg.work_dir/rtl` and, for a resumed segment, the
/// images of the state it powers up in: what a simulator built elsewhere reads there.
fn stage_segment(cfg: &Config, design: &rtl_gen::Design, seg: &Segment) -> Result<(), CosimError> {
    let rtl_dir = seg.work_dir.join("rtl");
    design.write(&rtl_dir)?;
    seg.write_power_up_images(cfg, &rtl_dir)
}

/// Co-simulates `seg.range` on `built`, run in `seg.work_dir/rtl`.
fn run_segment(
    cfg: &Config,
    design: &rtl_gen::Design,
    data: &Split,
    opts: &CosimOptions,
    seg: Segment,
    built: &BuiltSimulator<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SegmentResult, CosimError> {
    let rtl_dir = seg.work_dir.join("rtl");
    let build_seconds = built.seconds;
    let tc = built.compiler;
    let mut net = seg.net.clone();
    let mut sim = Session::start(&built.program, &built.args, &rtl_dir)?;
    let permille = (opts.stall.clamp(0.0, 1.0) * 1000.0).round() as u32;
    if permille > 0 {
        sim.stalls(permille, opts.stall_seed)?;
    }
    let layers: Vec<Readback> = design
        .params
        .layers
        .iter()
        .map(|l| Readback {
            lane_map: l.lane_map(),
            weight_entries: l.rb_weight_entries(),
            first_error: l.rb_first_error(),
            weight_bits: l.weight_bits,
            err_bits: l.err_bits,
            mod_bits: l.modulation.as_ref().map_or(0, |m| m.bits),
            first_mod: l.rb_first_modulation(),
            first_lfsr: l.rb_first_lfsr(),
            lfsr: !l.lfsr_seeds.is_empty(),
        })
        .collect();
    let predicted = design.manifest.cycles_per_sample;
    let model = rtl_gen::cycles::CycleModel::new(&design.params);
    let t1 = Instant::now();
    let mut report = CosimReport {
        config: cfg.name.clone(),
        simulator: opts.simulator,
        samples: 0,
        mismatches: 0,
        first_mismatch: None,
        values_compared: 0,
        weight_checks: 0,
        cycles: 0,
        cycles_per_sample: 0.0,
        predicted_cycles_per_sample: predicted,
        ideal_cycles_per_sample: design.manifest.ideal_cycles_per_sample,
        mac_lanes: design.manifest.mac_lanes,
        mac_lanes_total: design.manifest.mac_lanes_total,
        mac_utilization: 0.0,
        cycle_model_deviations: 0,
        stall: opts.stall,
        reset_at: opts.reset_at,
        burst: opts.burst,
        steady_cycles_per_sample: None,
        predicted_steady_cycles_per_sample: design.manifest.steady_cycles_per_sample,
        rtl_train_accuracy: 0.0,
        segments: 1,
        pgo: opts.pgo,
        sim_compiler: (opts.simulator == Simulator::Verilator).then(|| tc.name()),
        build_seconds,
        sim_seconds: 0.0,
        sim_cycles_per_second: 0.0,
        waveform: None,
    };
    let mut correct = 0usize;
    let chunk = opts.burst.max(1);
    let end = seg.range.end;
    'run: for first in seg.range.clone().step_by(chunk) {
        let range = first..(first + chunk).min(end);
        if opts.reset_at.is_some_and(|r| range.contains(&r)) {
            sim.reset_midstream(data.image(first).len() / 2)?;
        }
        let tags = sample_tags(design, &net, data, range.clone());
        let traces: Vec<StepTrace> = range
            .clone()
            .map(|s| {
                let (pixels, label) = (data.image(s), data.label(s) as usize);
                if opts.learn {
                    net.train_step(pixels, label)
                } else {
                    // Inference: the design only predicts; the weights must stay as they are.
                    StepTrace {
                        label,
                        prediction: net.predict(pixels),
                        layers: Vec::new(),
                    }
                }
            })
            .collect();
        // Lock step: one sample, then wait for idle; burst: all of them back to back.
        let results: Vec<SampleResult> = if opts.burst == 0 {
            let s = range.start;
            let got = sim.sample(tags[0], data.image(s))?;
            if permille == 0 && got.cycles != predicted {
                report.cycle_model_deviations += 1;
            }
            vec![got]
        } else {
            let batch: Vec<(u64, &[u8])> = range
                .clone()
                .zip(&tags)
                .map(|(s, &tag)| (tag, data.image(s)))
                .collect();
            let burst = sim.burst(&batch)?;
            if burst.outputs.len() != batch.len() {
                return Err(CosimError::Protocol(format!(
                    "{} samples sent, {} predictions back",
                    batch.len(),
                    burst.outputs.len()
                )));
            }
            if permille == 0 {
                // Without stalls the burst's cycles and every gap between its predictions
                // are the cycle model's.
                let gaps = burst.gaps();
                if burst.cycles != model.burst_cycles(batch.len())
                    || gaps != model.prediction_gaps(batch.len())
                {
                    report.cycle_model_deviations += 1;
                }
                if let Some(steady) = steady_period(&gaps) {
                    report.steady_cycles_per_sample = Some(steady);
                }
            }
            let per = burst.cycles / batch.len() as u64;
            burst
                .outputs
                .into_iter()
                .map(|out| SampleResult {
                    prediction: out.prediction,
                    cycles: per,
                    frame_error: false,
                    label: out.label,
                })
                .collect()
        };
        for ((s, trace), got) in range.clone().zip(&traces).zip(&results) {
            report.samples += 1;
            report.cycles += got.cycles;
            correct += usize::from(got.prediction == trace.label);
            // Errors and weights are visible only for the last sample of a burst.
            let last_of_chunk = s + 1 == range.end;
            let check_weights = last_of_chunk
                && (s + 1 == end
                    || opts.weights_every > 0 && (s + 1) % opts.weights_every.max(chunk) == 0);
            let found = compare(
                &mut sim,
                &net,
                trace,
                &layers,
                s,
                report.cycles,
                last_of_chunk,
                check_weights,
                opts,
                &mut report,
                got,
            )?;
            progress(s + 1 - seg.range.start, seg.range.len());
            if let Some(m) = found {
                report.mismatches = 1;
                report.first_mismatch = Some(m);
                break 'run;
            }
        }
    }
    report.sim_seconds = t1.elapsed().as_secs_f64();
    report.derive_rates(design, correct);
    sim.quit()?;
    if let (true, Some(m)) = (opts.trace, report.first_mismatch.clone()) {
        report.waveform = trace_around(cfg, design, tc, data, opts, &seg, m.sample)?;
    }
    Ok(SegmentResult {
        report,
        net,
        correct,
    })
}

/// Builds the segment's simulator in `seg.work_dir` and, when it resumes, puts its
/// power-up state images in place of the generated ones.
fn build_segment(
    cfg: &Config,
    design: &rtl_gen::Design,
    tc: &Toolchain,
    opts: &CosimOptions,
    seg: &Segment,
    profile: Profile<'_>,
) -> Result<(PathBuf, Vec<String>), CosimError> {
    let built = build(design, &seg.work_dir, opts.simulator, tc, false, profile)?;
    seg.write_power_up_images(cfg, &seg.work_dir.join("rtl"))?;
    Ok(built)
}

/// Builds the instrumented simulator in `seg.work_dir` and trains it on the segment's
/// first [`PGO_SAMPLES`] samples, the way the run will send them, so that it writes a
/// fresh profile into `profile` ([`CosimOptions::pgo`]). Nothing is compared: the run
/// built from the profile compares these samples again.
fn profile_run(
    cfg: &Config,
    design: &rtl_gen::Design,
    tc: &Toolchain,
    data: &Split,
    opts: &CosimOptions,
    seg: &Segment,
    profile: &std::path::Path,
) -> Result<(), CosimError> {
    if profile.exists() {
        std::fs::remove_dir_all(profile).map_err(|e| crate::io_err(profile, e))?;
    }
    let (program, args) = build_segment(cfg, design, tc, opts, seg, Profile::Generate(profile))?;
    let rtl_dir = seg.work_dir.join("rtl");
    let range = seg.range.start..seg.range.end.min(seg.range.start + PGO_SAMPLES);
    let batch: Vec<(u64, &[u8])> = sample_tags(design, &seg.net, data, range.clone())
        .into_iter()
        .zip(range.map(|s| data.image(s)))
        .collect();
    let mut sim = Session::start(&program, &args, &rtl_dir)?;
    if opts.burst == 0 {
        for &(tag, pixels) in &batch {
            sim.sample(tag, pixels)?;
        }
    } else {
        sim.burst(&batch)?;
    }
    // The profile is written as the simulator exits.
    sim.quit()?;
    Ok(())
}

/// Where a layer's values sit in its readback space: the weights, then the C softmax
/// errors, then the LLS-M/MxM modulation (`mod_bits` 0 when there is none), then the
/// LFSR states in pieces.
struct Readback {
    /// Weights read back at their packed addresses (`LaneMap::packed` of the row-major
    /// index) in a span of `weight_entries`.
    lane_map: LaneMap,
    weight_entries: usize,
    first_error: usize,
    weight_bits: u32,
    err_bits: u32,
    mod_bits: u32,
    /// The first modulation entry and the first LFSR piece's (`LayerParams::rb_first_*`).
    first_mod: usize,
    first_lfsr: usize,
    /// Stochastic update rounding: the lanes' LFSR states read back too.
    lfsr: bool,
}

#[allow(clippy::too_many_arguments)]
fn compare(
    sim: &mut Session,
    net: &FixedNet,
    trace: &StepTrace,
    layers: &[Readback],
    sample: usize,
    cycle: u64,
    check_errors: bool,
    check_weights: bool,
    opts: &CosimOptions,
    report: &mut CosimReport,
    got: &SampleResult,
) -> Result<Option<Mismatch>, CosimError> {
    let (prediction, frame_error, returned_label) = (got.prediction, got.frame_error, got.label);
    let last = layers.len() - 1;
    let mismatch = |layer: usize, signal: &str, index: usize, got: String, want: String| Mismatch {
        sample,
        layer,
        signal: signal.to_string(),
        index,
        cycle,
        got,
        want,
    };
    report.values_compared += 1;
    if prediction != trace.prediction {
        return Ok(Some(mismatch(
            last,
            "prediction",
            0,
            prediction.to_string(),
            trace.prediction.to_string(),
        )));
    }
    if returned_label != trace.label {
        // The prediction came back with another sample's label: a sample was lost or doubled.
        return Ok(Some(mismatch(
            last,
            "m_axis_tuser",
            0,
            returned_label.to_string(),
            trace.label.to_string(),
        )));
    }
    if frame_error {
        return Ok(Some(mismatch(0, "frame_error", 0, "1".into(), "0".into())));
    }
    if !check_errors {
        return Ok(None);
    }
    // Bit 0 of the expected value flipped when `opts.mutate` points at it.
    let flip = |k: usize, signal: Signal, index: usize| {
        u64::from(
            opts.mutate
                == Some(Mutation {
                    sample,
                    layer: k,
                    signal,
                    index,
                }),
        )
    };
    for (k, rb) in layers.iter().enumerate() {
        let want_err = trace
            .layers
            .get(k)
            .map(|t| t.error.as_slice())
            .unwrap_or(&[]);
        let mut groups: Vec<(Signal, usize, u32, Vec<i64>)> = vec![(
            Signal::SoftmaxError,
            rb.first_error,
            rb.err_bits,
            want_err.to_vec(),
        )];
        if check_weights {
            report.weight_checks += 1;
            let weights = net.layers[k].weights().iter().map(|&w| w as i64).collect();
            groups.push((Signal::Weight, 0, rb.weight_bits, weights));
            if let Some(values) = net.layers[k].modulation.values() {
                groups.push((
                    Signal::Modulation,
                    rb.first_mod,
                    rb.mod_bits,
                    values.to_vec(),
                ));
            }
            if rb.lfsr {
                let pieces = net.layers[k]
                    .lfsr
                    .iter()
                    .flat_map(|s| {
                        (0..LFSR_READBACK_PIECES as u32)
                            .map(move |p| i64::from(s.0 >> (p * LFSR_READBACK_BITS)))
                    })
                    .collect();
                groups.push((Signal::LfsrState, rb.first_lfsr, LFSR_READBACK_BITS, pieces));
            }
        }
        for (signal, first, bits, want) in groups {
            if want.is_empty() {
                continue;
            }
            let got = match signal {
                Signal::Weight => {
                    let packed = sim.readback(k, first, rb.weight_entries)?;
                    (0..want.len())
                        .map(|i| packed[rb.lane_map.packed(i)])
                        .collect()
                }
                _ => sim.readback(k, first, want.len())?,
            };
            for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                report.values_compared += 1;
                let w = ((w as u64) & mask(bits)) ^ flip(k, signal, i);
                if g & mask(bits) != w {
                    return Ok(Some(mismatch(
                        k,
                        signal.name(),
                        i,
                        hex(g, bits),
                        hex(w, bits),
                    )));
                }
            }
        }
    }
    Ok(None)
}

fn hex(v: u64, bits: u32) -> String {
    format!("0x{:0w$x}", v & mask(bits), w = bits.div_ceil(4) as usize)
}

/// The tags (`DesignParams::sample_tag`) of samples `range`, trained in order from where
/// `net` stands: each label with the learning-rate halvings in force at its step.
fn sample_tags(
    design: &rtl_gen::Design,
    net: &FixedNet,
    data: &Split,
    range: std::ops::Range<usize>,
) -> Vec<u64> {
    let first = range.start;
    range
        .map(|s| {
            let halvings = net.lr_halvings_after((s - first) as u64);
            design.params.sample_tag(data.label(s) as usize, halvings)
        })
        .collect()
}

/// Replays `seg` up to `sample` on a tracing build and records the samples around it.
fn trace_around(
    cfg: &Config,
    design: &rtl_gen::Design,
    tc: &Toolchain,
    data: &Split,
    opts: &CosimOptions,
    seg: &Segment,
    sample: usize,
) -> Result<Option<String>, CosimError> {
    if opts.simulator != Simulator::Verilator {
        return Ok(None);
    }
    let dir = seg.work_dir.join("trace");
    let (program, args) = build(design, &dir, Simulator::Verilator, tc, true, Profile::None)?;
    seg.write_power_up_images(cfg, &dir.join("rtl"))?;
    let mut sim = Session::start(&program, &args, &dir.join("rtl"))?;
    let path = seg.work_dir.join("mismatch.fst");
    let path = std::path::absolute(&path).unwrap_or(path);
    let first = seg.range.start;
    let last = sample.min(data.len().saturating_sub(1));
    let tags = sample_tags(design, &seg.net, data, first..last + 1);
    for (s, tag) in (first..=last).zip(tags) {
        // From the sample before the mismatch (or the segment's first).
        if s + 1 == sample.max(first + 1) {
            sim.trace(&path)?;
        }
        sim.sample(tag, data.image(s))?;
    }
    sim.quit()?;
    Ok(Some(path.display().to_string()))
}
