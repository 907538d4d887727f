//! The whole board in simulation: the trainer behind its UART host link
//! (`rtl_gen::blocks::host_top`), verilated with `harness/tb_host.cpp`, driven byte for
//! byte by the host link's own code (`host_link::Host`) over a [`SimWire`] that can damage
//! the line, and held to the golden model: every prediction, and every weight read back
//! over the link at a cadence.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use golden_model::config::Config;
use golden_model::data::Split;
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::lanes::LaneMap;
use host_link::command::{Request, Response, MAX_READ_WORDS};
use host_link::{Host, LinkError, Wire};
use rtl_gen::params::DesignParams;
use rtl_gen::Design;
use serde::Serialize;

use crate::{io_err, CosimError};

pub use rtl_gen::config_hash;

pub const HOST_HARNESS_CPP: &str = include_str!("../harness/tb_host.cpp");

/// Words a weight read asks for: short answers, so that on a damaged line most arrive
/// whole (64 bytes of words and 7 of frame).
pub const READ_CHUNK: u16 = 16;

/// A board run's options.
#[derive(Clone, Debug)]
pub struct BoardOptions {
    pub samples: usize,
    /// Clocks a UART bit lasts.
    pub clocks_per_bit: u32,
    /// Per byte on the line, either way: the chance that it is damaged (one bit flipped)
    /// and, as often, that it is lost.
    pub link_errors: f64,
    pub seed: u64,
    /// Read every weight back over the link after every this many samples (0: at the
    /// end only).
    pub weights_every: usize,
    /// Attempts per request before the host gives up.
    pub attempts: u32,
    pub work_dir: PathBuf,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BoardReport {
    pub config: String,
    pub samples: usize,
    /// Predictions and read-back weights that differ from the golden model.
    pub mismatches: usize,
    /// The first difference, described.
    pub first_mismatch: Option<String>,
    /// Samples the board says it trained (its `status`): equal to `samples` when none was
    /// lost or doubled.
    pub board_samples: u32,
    /// Predictions equal to the sample's label, as the board trained (running accuracy).
    pub correct: usize,
    /// Weights written into the board over its link before the first sample (a starting
    /// state given: `lls board train --checkpoint`).
    pub weights_loaded: usize,
    pub weights_checked: usize,
    pub link_errors: u64,
    pub retries: u64,
    pub link_bytes: u64,
    /// Bytes the wire damaged or dropped on purpose.
    pub injected_faults: u64,
    pub clocks_per_bit: u32,
    pub simulated_cycles: u64,
    pub seconds: f64,
}

/// The simulated board as a byte link, with faults injected both ways.
pub struct SimWire {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    rng: u64,
    /// Per byte, in units of 2^-32: a flipped bit, and as often a lost byte.
    fault: u64,
    pub faults: u64,
}

impl SimWire {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// The byte after the line: itself, one bit flipped, or lost.
    fn carry(&mut self, byte: u8) -> Option<u8> {
        let r = self.next() >> 32;
        if r < self.fault {
            self.faults += 1;
            Some(byte ^ (1 << (self.next() % 8)))
        } else if r < 2 * self.fault {
            self.faults += 1;
            None
        } else {
            Some(byte)
        }
    }

    fn line(&mut self) -> Result<String, CosimError> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| CosimError::Protocol(format!("reading the simulator: {e}")))?;
        if n == 0 {
            return Err(CosimError::Protocol("the simulator exited".into()));
        }
        Ok(line.trim_end().to_string())
    }

    fn command(&mut self, text: &str) -> Result<(), CosimError> {
        writeln!(self.stdin, "{text}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| CosimError::Protocol(format!("writing to the simulator: {e}")))
    }

    /// Ends the simulation; its total cycles.
    pub fn quit(mut self) -> Result<u64, CosimError> {
        self.command("Q")?;
        let line = self.line()?;
        let _ = self.child.wait();
        line.strip_prefix("Q ")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| CosimError::Protocol(format!("expected Q <cycles>, got {line}")))
    }
}

impl Wire for SimWire {
    type Error = CosimError;

    fn send(&mut self, bytes: &[u8]) -> Result<(), CosimError> {
        let kept: Vec<String> = bytes
            .iter()
            .filter_map(|&b| self.carry(b))
            .map(|b| format!("{b:02x}"))
            .collect();
        self.command(&format!("S {}", kept.join(" ")))
    }

    fn recv(&mut self) -> Result<Option<u8>, CosimError> {
        loop {
            self.command("R")?;
            let line = self.line()?;
            let byte = match line.as_str() {
                "N" => return Ok(None),
                _ => line
                    .strip_prefix("B ")
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| CosimError::Protocol(format!("expected B or N, got {line}")))?,
            };
            if let Some(b) = self.carry(byte) {
                return Ok(Some(b));
            }
        }
    }
}

/// Writes the design and its host top into `dir/rtl`, verilates them with the host
/// harness and starts the simulator.
fn start(
    design: &Design,
    cfg: &Config,
    text: &str,
    opts: &BoardOptions,
) -> Result<SimWire, CosimError> {
    let dir = std::path::absolute(&opts.work_dir).map_err(|e| io_err(&opts.work_dir, e))?;
    let rtl = dir.join("rtl");
    design.write(&rtl)?;
    let header = rtl_gen::verilog::header_lines(&cfg.name, text.as_bytes());
    let trainer = rtl_gen::blocks::top::module(&design.params, &design.top, &header);
    let host = rtl_gen::blocks::host_top::modules(
        &design.params,
        &trainer,
        config_hash(text),
        opts.clocks_per_bit,
        &header,
    );
    let mut sources: Vec<String> = design
        .files
        .keys()
        .filter(|n| n.ends_with(".v"))
        .cloned()
        .collect();
    for m in &host {
        let path = rtl.join(m.file_name());
        std::fs::write(&path, m.to_verilog()).map_err(|e| io_err(&path, e))?;
        sources.push(m.file_name());
    }
    let harness = rtl.join("tb_host.cpp");
    std::fs::write(&harness, HOST_HARNESS_CPP).map_err(|e| io_err(&harness, e))?;
    let top = host[0].name().to_string();
    let class = format!("V{top}");
    // Quiet longer than the board can take to answer: a sample streamed in (a few clocks
    // a pixel), its training in lock step, and a read's words, with room to spare.
    let p = &design.params;
    let idle = 4
        * (8 * p.inputs as u64
            + design.manifest.cycles_per_sample
            + u64::from(MAX_READ_WORDS) * u64::from(p.rb_latency + 4))
        + 40 * u64::from(opts.clocks_per_bit);
    let obj = rtl.join("obj_host");
    if obj.exists() {
        std::fs::remove_dir_all(&obj).map_err(|e| io_err(&obj, e))?;
    }
    let mut args = crate::build::model_args(&top);
    args.extend([
        "--Mdir".into(),
        "obj_host".into(),
        "-CFLAGS".into(),
        format!(
            "-O2 -DTOP_HEADER='\"{class}.h\"' -DTOP_CLASS={class} -DCLOCKS_PER_BIT={} \
             -DIDLE_CYCLES={idle}",
            opts.clocks_per_bit
        ),
        "-o".into(),
        "sim".into(),
    ]);
    args.extend(sources);
    args.push("tb_host.cpp".into());
    toolchain::verilator()?.run(&args, &rtl)?;
    let exe = obj.join("sim");
    let mut child = Command::new(&exe)
        .current_dir(&rtl)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| io_err(&exe, e))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    Ok(SimWire {
        child,
        stdin,
        stdout,
        rng: opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        fault: (opts.link_errors.clamp(0.0, 0.5) * 4_294_967_296.0) as u64,
        faults: 0,
    })
}

fn link_err<E: Into<CosimError> + std::error::Error>(e: LinkError<E>) -> CosimError {
    match e {
        LinkError::Wire(e) => e.into(),
        other => CosimError::Protocol(other.to_string()),
    }
}

/// What a board session starts from, and whom it tells of each sample.
#[derive(Default)]
pub struct SessionHooks<'a> {
    /// A state whose weights are loaded into the board first ([`load_weights`]); the
    /// golden model then starts from the state the board holds. `None`: both start from
    /// the config's initial state.
    pub start: Option<&'a FixedNet>,
    /// Called after each sample with the report so far (a progress bar).
    pub on_sample: Option<&'a mut dyn FnMut(&BoardReport)>,
}

/// Trains the simulated board on the first `opts.samples` samples of `data` over its
/// host link, beside the golden model, and compares ([`session`]); the report and the
/// state read off the board after the last sample.
pub fn train(
    cfg: &Config,
    text: &str,
    data: &Split,
    opts: &BoardOptions,
    hooks: SessionHooks,
) -> Result<(BoardReport, FixedNet), CosimError> {
    check_samples(opts.samples, data)?;
    let started = Instant::now();
    let design = rtl_gen::generate(cfg, text, true)?;
    let wire = start(&design, cfg, text, opts)?;
    let Session {
        mut report,
        mut wire,
        board,
    } = session(wire, cfg, text, &design.params, data, opts, hooks)?;
    report.clocks_per_bit = opts.clocks_per_bit;
    report.injected_faults = wire.faults;
    wire.fault = 0;
    report.simulated_cycles = wire.quit()?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((report, board))
}

fn check_samples(samples: usize, data: &Split) -> Result<(), CosimError> {
    if samples > data.len() {
        return Err(CosimError::Options(format!(
            "--samples {samples} is more than the {} samples of the data set; pass at most {}",
            data.len(),
            data.len()
        )));
    }
    Ok(())
}

/// The board's readback words of unit `unit` from `addr` on, as the golden model holds
/// them (raw, `rb_data_bits` bits): weights at their packed addresses (`LaneMap::packed`),
/// the modulation and the LFSR states' pieces; `None` for a hole of a padded lane field
/// (the board reads some lane's word there), the softmax errors (the model keeps none) and
/// past the unit's entries.
pub fn model_words(
    net: &FixedNet,
    params: &DesignParams,
    unit: usize,
    addr: u32,
    count: u16,
) -> Vec<Option<u32>> {
    use rtl_gen::params::{LFSR_READBACK_BITS, LFSR_READBACK_PIECES};
    let layer = &net.layers[unit];
    let l = &params.layers[unit];
    let lanes = LaneMap::new(l.lanes);
    let raw = |v: i64| (v as u64 & ((1u64 << params.rb_data_bits) - 1)) as u32;
    let modulation = layer.modulation.values().unwrap_or(&[]);
    let first_mod = l.rb_first_modulation();
    let first_lfsr = l.rb_first_lfsr();
    (addr as usize..addr as usize + usize::from(count))
        .map(|a| {
            if a < l.rb_weight_entries() {
                let flat = lanes.unpacked(a)?;
                let (j, i) = (flat / layer.inputs, flat % layer.inputs);
                Some(raw(i64::from(layer.weight(j, i))))
            } else if (first_mod..first_mod + modulation.len()).contains(&a) {
                Some(raw(modulation[a - first_mod]))
            } else if a >= first_lfsr && a < l.rb_entries {
                let (state, piece) = (
                    (a - first_lfsr) / LFSR_READBACK_PIECES,
                    (a - first_lfsr) % LFSR_READBACK_PIECES,
                );
                let mask = (1u32 << LFSR_READBACK_BITS) - 1;
                Some(layer.lfsr[state].0 >> (piece as u32 * LFSR_READBACK_BITS) & mask)
            } else {
                None
            }
        })
        .collect()
}

/// A board inference run's report (`lls board infer`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct InferReport {
    pub config: String,
    pub samples: usize,
    /// Predictions that differ from the golden model's on the same weights.
    pub mismatches: usize,
    pub first_mismatch: Option<String>,
    /// Predictions equal to the label.
    pub correct: usize,
    pub accuracy: f64,
    /// Weights read off the board before the samples and found equal to the state's.
    pub weights_checked: usize,
    pub link_errors: u64,
    pub retries: u64,
    pub link_bytes: u64,
    pub injected_faults: u64,
    pub clocks_per_bit: u32,
    pub simulated_cycles: u64,
    pub seconds: f64,
}

/// Runs inference on a board reached over `wire`, which must run the inference design of
/// `cfg` (`text`, parameters `params`) with `net`'s weights: the weights are read back
/// first and must equal `net`'s, then each of the first `opts.samples` samples of `data`
/// is sent and its prediction held to the golden model's (`FixedNet::predict`);
/// `on_sample` hears of each sample with the report so far.
#[allow(clippy::too_many_arguments)]
pub fn infer_session<W: Wire>(
    wire: W,
    cfg: &Config,
    text: &str,
    params: &DesignParams,
    net: &FixedNet,
    data: &Split,
    opts: &BoardOptions,
    mut on_sample: Option<&mut dyn FnMut(&InferReport)>,
) -> Result<(InferReport, W), CosimError>
where
    W::Error: Into<CosimError>,
{
    check_samples(opts.samples, data)?;
    let started = Instant::now();
    let (mut host, identity) =
        Host::open(wire, opts.attempts, config_hash(text)).map_err(link_err)?;
    if identity.learns {
        return Err(CosimError::Protocol(
            "the board runs the training design; build the inference one (`lls synth \
             --inference`) for inference"
                .into(),
        ));
    }
    let board = read_state(&mut host, cfg, params)?;
    if let Some(d) = first_weight_difference(&board, net) {
        return Err(CosimError::Protocol(format!(
            "the board holds other weights than the state given: {d}, the state has {}; \
             program the board with the inference design built from that state (`lls synth \
             --inference --checkpoint`)",
            d.expected
        )));
    }
    let mut report = InferReport {
        config: cfg.name.clone(),
        weights_checked: net.layers.iter().map(|l| l.inputs * l.outputs).sum(),
        ..InferReport::default()
    };
    let px = data.pixels;
    for k in 0..opts.samples {
        let pixels = &data.images[k * px..(k + 1) * px];
        let label = data.labels[k];
        let want = net.predict(pixels);
        let answer = host
            .call(&Request::Infer {
                label,
                pixels: pixels.to_vec(),
            })
            .map_err(link_err)?;
        match answer {
            Response::Prediction { class, .. } if usize::from(class) == want => {
                report.correct += usize::from(want == usize::from(label));
            }
            other => {
                report.mismatches += 1;
                report.first_mismatch.get_or_insert(format!(
                    "sample {k}: the board answered {other:?}, the model predicts {want}"
                ));
            }
        }
        report.samples = k + 1;
        if let Some(tell) = on_sample.as_mut() {
            tell(&report);
        }
    }
    report.accuracy = report.correct as f64 / report.samples.max(1) as f64;
    let stats = host.stats();
    report.link_errors = stats.link_errors;
    report.retries = stats.retries;
    report.link_bytes = stats.bytes_sent + stats.bytes_received;
    report.seconds = started.elapsed().as_secs_f64();
    Ok((report, host.into_wire()))
}

/// [`infer_session`] on the simulated board: the inference design of `cfg` whose memory
/// images hold `net`'s weights (`source` names where they come from).
#[allow(clippy::too_many_arguments)]
pub fn infer(
    cfg: &Config,
    text: &str,
    net: &FixedNet,
    source: rtl_gen::StateSource,
    data: &Split,
    opts: &BoardOptions,
    on_sample: Option<&mut dyn FnMut(&InferReport)>,
) -> Result<InferReport, CosimError> {
    check_samples(opts.samples, data)?;
    let started = Instant::now();
    let design = rtl_gen::generate_with_state(cfg, text, false, net, source)?;
    let wire = start(&design, cfg, text, opts)?;
    let (mut report, mut wire) =
        infer_session(wire, cfg, text, &design.params, net, data, opts, on_sample)?;
    report.clocks_per_bit = opts.clocks_per_bit;
    report.injected_faults = wire.faults;
    wire.fault = 0;
    report.simulated_cycles = wire.quit()?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What a board session leaves: its report, the wire, and the learned state read off the
/// board after the last sample (its MAC counters the golden model's, which did the same
/// work).
pub struct Session<W> {
    pub report: BoardReport,
    pub wire: W,
    pub board: FixedNet,
}

/// Trains a board reached over `wire` on the first `opts.samples` samples of `data`,
/// beside the golden model: each prediction compared, the board's learned state (every
/// weight, the modulation, the LFSR states) read back after every `opts.weights_every`
/// samples and after the last and compared; `status` at the end. The board must run the
/// design of `cfg` (`text`), whose parameters are `params`; `hooks` give the starting
/// state and a progress callback.
pub fn session<W: Wire>(
    wire: W,
    cfg: &Config,
    text: &str,
    params: &DesignParams,
    data: &Split,
    opts: &BoardOptions,
    mut hooks: SessionHooks,
) -> Result<Session<W>, CosimError>
where
    W::Error: Into<CosimError>,
{
    check_samples(opts.samples, data)?;
    let started = Instant::now();
    let (mut host, _) = Host::open(wire, opts.attempts, config_hash(text)).map_err(link_err)?;
    let mut report = BoardReport {
        config: cfg.name.clone(),
        ..BoardReport::default()
    };
    let mut net = match hooks.start {
        Some(state) => {
            let loaded = load_weights(&mut host, cfg, params, state)?;
            report.weights_loaded = loaded.weights;
            loaded.board
        }
        None => FixedNet::new(cfg),
    };
    let mut board_net = None;
    let mismatch = |report: &mut BoardReport, what: String| {
        report.mismatches += 1;
        report.first_mismatch.get_or_insert(what);
    };
    let px = data.pixels;
    for k in 0..opts.samples {
        let pixels = &data.images[k * px..(k + 1) * px];
        let label = data.labels[k];
        // The label byte carries the sample's learning-rate halvings above the class.
        let tag = params.sample_tag(usize::from(label), net.lr_halvings()) as u8;
        let want = net.train_step(pixels, usize::from(label)).prediction;
        let answer = host
            .call(&Request::Train {
                label: tag,
                pixels: pixels.to_vec(),
            })
            .map_err(link_err)?;
        match answer {
            Response::Prediction { class, .. } if usize::from(class) == want => {
                report.correct += usize::from(want == usize::from(label));
            }
            other => mismatch(
                &mut report,
                format!("sample {k}: the board answered {other:?}, the model predicts {want}"),
            ),
        }
        report.samples = k + 1;
        if let Some(tell) = hooks.on_sample.as_mut() {
            tell(&report);
        }
        let last = k + 1 == opts.samples;
        if !(last || (opts.weights_every > 0 && (k + 1) % opts.weights_every == 0)) {
            continue;
        }
        let board = read_state(&mut host, cfg, params)?;
        for difference in compare_state(&board, &net, &mut report.weights_checked) {
            mismatch(&mut report, format!("after sample {k}: {difference}"));
        }
        if last {
            board_net = Some(board);
        }
    }
    report.board_samples = trained_samples(&mut host)?;
    let stats = host.stats();
    report.link_errors = stats.link_errors;
    report.retries = stats.retries;
    report.link_bytes = stats.bytes_sent + stats.bytes_received;
    report.seconds = started.elapsed().as_secs_f64();
    let mut board = board_net.expect("the last sample reads the board's state");
    board.macs = net.macs;
    board.trained = net.trained;
    Ok(Session {
        report,
        wire: host.into_wire(),
        board,
    })
}

/// A board's learned state read over its link ([`read_board`]).
pub struct BoardState<W> {
    pub board: FixedNet,
    /// Samples the board says it trained (its `status`).
    pub samples: u32,
    pub link_errors: u64,
    pub retries: u64,
    pub link_bytes: u64,
    pub wire: W,
}

impl<W> BoardState<W> {
    /// The state and link figures, and the wire apart.
    pub fn detach(self) -> (BoardState<()>, W) {
        let state = BoardState {
            board: self.board,
            samples: self.samples,
            link_errors: self.link_errors,
            retries: self.retries,
            link_bytes: self.link_bytes,
            wire: (),
        };
        (state, self.wire)
    }
}

/// Reads the learned state of a board reached over `wire`, which must run a design of
/// `cfg` (`text`), training or inference (its `hello` says which, and so which entries
/// it has): its `status`, then every weight, the modulation and the LFSR states
/// ([`read_state`]). The board trains nothing.
pub fn read_board<W: Wire>(
    wire: W,
    cfg: &Config,
    text: &str,
    attempts: u32,
) -> Result<BoardState<W>, CosimError>
where
    W::Error: Into<CosimError>,
{
    let (mut host, identity) = Host::open(wire, attempts, config_hash(text)).map_err(link_err)?;
    let params = &DesignParams::new(cfg, identity.learns)?;
    let samples = trained_samples(&mut host)?;
    let board = read_state(&mut host, cfg, params)?;
    let stats = host.stats();
    Ok(BoardState {
        board,
        samples,
        link_errors: stats.link_errors,
        retries: stats.retries,
        link_bytes: stats.bytes_sent + stats.bytes_received,
        wire: host.into_wire(),
    })
}

/// [`read_board`] on the simulated board, fresh from its reset (its state the config's
/// initial one), over a line with `opts.link_errors`.
pub fn read_simulated(
    cfg: &Config,
    text: &str,
    opts: &BoardOptions,
) -> Result<BoardState<()>, CosimError> {
    let design = rtl_gen::generate(cfg, text, true)?;
    let wire = start(&design, cfg, text, opts)?;
    let (state, mut wire) = read_board(wire, cfg, text, opts.attempts)?.detach();
    wire.fault = 0;
    wire.quit()?;
    Ok(state)
}

/// Writes every weight of `net` into a board of parameters `params` over its link, a
/// memory word or more a request ([`Request::Write`] at the weights' packed addresses,
/// the holes of a padded lane field skipped): a unit whose weights sit in banks takes one
/// whole word a request, lane 0 first, as it must. Returns the weights written.
pub fn write_weights<W: Wire>(
    host: &mut Host<W>,
    net: &FixedNet,
    params: &DesignParams,
) -> Result<usize, CosimError>
where
    W::Error: Into<CosimError>,
{
    let max_words = host_link::command::max_write_words(rtl_gen::blocks::link::max_payload(params));
    let mut written = 0;
    for (unit, (layer, l)) in net.layers.iter().zip(&params.layers).enumerate() {
        let lanes = LaneMap::new(l.lanes);
        let weights = layer.weights();
        let per_request = if l.bank_stages() > 0 {
            l.lanes
        } else {
            max_words
        };
        let total = l.rb_weight_entries();
        let mut addr = 0;
        while addr < total {
            let words: Vec<u32> = (addr..total)
                .take(per_request)
                .map_while(|a| lanes.unpacked(a).map(|flat| weights[flat] as u32))
                .collect();
            if words.is_empty() {
                addr += 1;
                continue;
            }
            let n = words.len();
            let request = Request::Write {
                unit: unit as u8,
                addr: addr as u32,
                words,
            };
            match host.call(&request).map_err(link_err)? {
                Response::Written => {}
                other => {
                    return Err(CosimError::Protocol(format!(
                        "write of {n} weights of unit {unit} at {addr}: the board answered \
                         {other:?}"
                    )))
                }
            }
            addr += n;
            written += n;
        }
    }
    Ok(written)
}

/// The state a board holds after [`load_weights`], and the weights written.
pub struct Loaded {
    pub board: FixedNet,
    pub weights: usize,
}

/// Loads `net`'s weights into a board of `cfg` (parameters `params`) over its link
/// ([`write_weights`]) and reads its state back ([`read_state`]): every weight must read
/// as written. The link writes weights only: the board keeps its own LFSR states, which
/// the state returned holds, and a `net` whose modulation differs from the board's is
/// refused before anything is written (its modulation cannot be put on the board this
/// way).
pub fn load_weights<W: Wire>(
    host: &mut Host<W>,
    cfg: &Config,
    params: &DesignParams,
    net: &FixedNet,
) -> Result<Loaded, CosimError>
where
    W::Error: Into<CosimError>,
{
    let bits = params.rb_data_bits;
    for (unit, (layer, l)) in net.layers.iter().zip(&params.layers).enumerate() {
        let Some(mp) = &l.modulation else {
            continue;
        };
        let board: Vec<i64> = read_entries(host, unit, l.rb_first_modulation(), mp.entries)?
            .iter()
            .map(|&w| signed(w, bits))
            .collect();
        let state = layer.modulation.values().unwrap_or(&[]);
        if board != state {
            return Err(CosimError::Options(format!(
                "unit {unit}: the state's modulation {state:?} is not the board's {board:?}, \
                 and the link loads weights only; nothing was written. Build the design from \
                 the state instead (`lls synth --checkpoint`)"
            )));
        }
    }
    let weights = write_weights(host, net, params)?;
    let mut board = read_state(host, cfg, params)?;
    // The board knows no sample count: the host's learning-rate schedule goes on from
    // the state's.
    board.trained = net.trained;
    if let Some(d) = first_weight_difference(&board, net) {
        return Err(CosimError::Protocol(format!(
            "{d} after the load, {} was written",
            d.expected
        )));
    }
    Ok(Loaded { board, weights })
}

/// The first weight a board's state holds other than `expected`'s.
struct WeightDifference {
    unit: usize,
    row: usize,
    col: usize,
    read: i32,
    expected: i32,
}

impl std::fmt::Display for WeightDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "unit {} W[{}][{}] reads {}",
            self.unit, self.row, self.col, self.read
        )
    }
}

fn first_weight_difference(board: &FixedNet, expected: &FixedNet) -> Option<WeightDifference> {
    board
        .layers
        .iter()
        .zip(&expected.layers)
        .enumerate()
        .find_map(|(unit, (b, m))| {
            let (bw, mw) = (b.weights(), m.weights());
            let k = (0..mw.len()).find(|&k| bw[k] != mw[k])?;
            Some(WeightDifference {
                unit,
                row: k / m.inputs,
                col: k % m.inputs,
                read: bw[k],
                expected: mw[k],
            })
        })
}

/// [`load_weights`] into a board reached over `wire`, which must run a design of `cfg`
/// (`text`), training or inference (its `hello` says which); the state it then holds,
/// the weights written, the link figures and the wire.
pub fn load_board<W: Wire>(
    wire: W,
    cfg: &Config,
    text: &str,
    net: &FixedNet,
    attempts: u32,
) -> Result<(Loaded, LinkFigures, W), CosimError>
where
    W::Error: Into<CosimError>,
{
    let (mut host, identity) = Host::open(wire, attempts, config_hash(text)).map_err(link_err)?;
    let params = &DesignParams::new(cfg, identity.learns)?;
    let loaded = load_weights(&mut host, cfg, params, net)?;
    Ok((loaded, LinkFigures::of(&host), host.into_wire()))
}

/// [`load_board`] on the simulated board, fresh from its reset, over a line with
/// `opts.link_errors`.
pub fn load_simulated(
    cfg: &Config,
    text: &str,
    net: &FixedNet,
    opts: &BoardOptions,
) -> Result<(Loaded, LinkFigures), CosimError> {
    let design = rtl_gen::generate(cfg, text, true)?;
    let wire = start(&design, cfg, text, opts)?;
    let (loaded, figures, mut wire) = load_board(wire, cfg, text, net, opts.attempts)?;
    wire.fault = 0;
    wire.quit()?;
    Ok((loaded, figures))
}

/// What a link carried: errors it detected, requests sent again, bytes both ways.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LinkFigures {
    pub link_errors: u64,
    pub retries: u64,
    pub link_bytes: u64,
}

impl LinkFigures {
    pub fn of<W: Wire>(host: &Host<W>) -> LinkFigures {
        let stats = host.stats();
        LinkFigures {
            link_errors: stats.link_errors,
            retries: stats.retries,
            link_bytes: stats.bytes_sent + stats.bytes_received,
        }
    }
}

/// The samples the board says it trained (its `status`).
fn trained_samples<W: Wire>(host: &mut Host<W>) -> Result<u32, CosimError>
where
    W::Error: Into<CosimError>,
{
    match host.call(&Request::Status).map_err(link_err)? {
        Response::Status(s) => Ok(s.samples),
        other => Err(CosimError::Protocol(format!(
            "status: the board answered {other:?}"
        ))),
    }
}

/// Reads `total` readback entries of `unit` from `first` on, [`READ_CHUNK`] a request.
fn read_entries<W: Wire>(
    host: &mut Host<W>,
    unit: usize,
    first: usize,
    total: usize,
) -> Result<Vec<u32>, CosimError>
where
    W::Error: Into<CosimError>,
{
    let mut words = Vec::with_capacity(total);
    while words.len() < total {
        let addr = (first + words.len()) as u32;
        let count = (total - words.len()).min(usize::from(READ_CHUNK)) as u16;
        let request = Request::Read {
            unit: unit as u8,
            addr,
            count,
        };
        match host.call(&request).map_err(link_err)? {
            Response::Words(w) if w.len() == usize::from(count) => words.extend(w),
            other => {
                return Err(CosimError::Protocol(format!(
                    "read of {count} entries of unit {unit} at {addr}: the board answered \
                     {other:?}"
                )))
            }
        }
    }
    Ok(words)
}

/// `word`'s low `bits` bits as a two's complement value.
fn signed(word: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    (i64::from(word) << shift) >> shift
}

/// The learned state a board holds, read over its link into a net of `cfg`'s shape: every
/// weight, the modulation and the LFSR states, from the readback entries of
/// `docs/axi-stream.md` (the holes of a padded lane field skipped).
pub fn read_state<W: Wire>(
    host: &mut Host<W>,
    cfg: &Config,
    params: &DesignParams,
) -> Result<FixedNet, CosimError>
where
    W::Error: Into<CosimError>,
{
    let mut net = FixedNet::new(cfg);
    let bits = params.rb_data_bits;
    for (unit, (layer, l)) in net.layers.iter_mut().zip(&params.layers).enumerate() {
        let lanes = LaneMap::new(l.lanes);
        let entries = read_entries(host, unit, 0, l.rb_weight_entries())?;
        let mut weights = vec![0i32; layer.inputs * layer.outputs];
        let limit = 1i64 << (l.weight_bits - 1);
        for (a, &word) in entries.iter().enumerate() {
            let Some(flat) = lanes.unpacked(a) else {
                continue;
            };
            let value = signed(word, bits);
            if !(-limit..limit).contains(&value) {
                return Err(CosimError::Protocol(format!(
                    "unit {unit} readback entry {a}: {word:#x} is no {}-bit weight",
                    l.weight_bits
                )));
            }
            weights[flat] = value as i32;
        }
        layer.set_weights(&weights);
        if let Some(mp) = &l.modulation {
            let words = read_entries(host, unit, l.rb_first_modulation(), mp.entries)?;
            layer
                .modulation
                .set_values(words.iter().map(|&w| signed(w, bits)).collect());
        }
        if !l.lfsr_seeds.is_empty() {
            use rtl_gen::params::{LFSR_READBACK_BITS, LFSR_READBACK_PIECES};
            let total = LFSR_READBACK_PIECES * l.lfsr_seeds.len();
            let words = read_entries(host, unit, l.rb_first_lfsr(), total)?;
            let mask = (1u32 << LFSR_READBACK_BITS) - 1;
            for (state, pieces) in layer
                .lfsr
                .iter_mut()
                .zip(words.chunks_exact(LFSR_READBACK_PIECES))
            {
                // The low piece first.
                state.0 = pieces
                    .iter()
                    .rev()
                    .fold(0, |acc, &p| acc << LFSR_READBACK_BITS | (p & mask));
            }
        }
    }
    Ok(net)
}

/// Where `board`'s learned state differs from `model`'s, described (each unit's first
/// differing weight, modulation value and LFSR state, and how many differ); `checked`
/// counts the weights compared.
pub fn compare_state(board: &FixedNet, model: &FixedNet, checked: &mut usize) -> Vec<String> {
    let mut differences = Vec::new();
    for (unit, (b, m)) in board.layers.iter().zip(&model.layers).enumerate() {
        let (bw, mw) = (b.weights(), m.weights());
        *checked += mw.len();
        let wrong: Vec<usize> = (0..mw.len()).filter(|&k| bw[k] != mw[k]).collect();
        if let Some(&k) = wrong.first() {
            differences.push(format!(
                "unit {unit}: {} weights differ, the first W[{}][{}] reads {}, the model has {}",
                wrong.len(),
                k / m.inputs,
                k % m.inputs,
                bw[k],
                mw[k]
            ));
        }
        if b.modulation.values() != m.modulation.values() {
            differences.push(format!(
                "unit {unit}: the modulation reads {:?}, the model has {:?}",
                b.modulation.values(),
                m.modulation.values()
            ));
        }
        if b.lfsr != m.lfsr {
            differences.push(format!(
                "unit {unit}: the LFSR states read {:?}, the model has {:?}",
                b.lfsr, m.lfsr
            ));
        }
    }
    differences
}
