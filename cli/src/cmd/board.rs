//! `lls board`: a board over its UART host link (`docs/host-link.md`), on a serial port,
//! or (`--sim`) a Verilator model of the whole board top, pins and all, driven byte for
//! byte by the same host code. `train` holds every prediction and the state read back
//! over the link to the golden model; `read-weights` saves what a board has learned as a
//! checkpoint, and `load-weights` puts a checkpoint's weights on a board.

use std::path::{Path, PathBuf};
use std::time::Duration;

use golden_model::checkpoint::{Checkpoint, ConfigMatch, Progress};
use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;
use indicatif::{ProgressBar, ProgressStyle};
use testbenches::board::{BoardOptions, BoardReport, SessionHooks};
use testbenches::serial::SerialWire;

use super::opts::{
    check_output_file, check_output_not_input, config_path, config_text, load_config, load_dataset,
    write_json, CmdResult,
};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Train the board on the config's data set, checked against the golden model.
    Train(TrainArgs),
    /// Classify the test split on a board running the inference design, checked against
    /// the golden model on the same weights.
    Infer(InferArgs),
    /// Read the board's learned state (weights, modulation, LFSR states) into a
    /// checkpoint; the board trains nothing.
    ReadWeights(ReadArgs),
    /// Write a checkpoint's weights into the board over the link and read them back.
    LoadWeights(LoadArgs),
}

/// The board and the link to it, for every board command.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("link").required(true).args(["sim", "port"])))]
struct LinkArgs {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    config: PathBuf,
    /// Talk to a Verilator model of the whole board top instead of a serial port.
    #[arg(long)]
    sim: bool,
    /// The board's serial port (its USB-serial UART), at the config's hardware.baud.
    #[arg(long)]
    port: Option<String>,
    /// On a serial port: how long a read waits for the board's next byte, ms.
    #[arg(long, default_value_t = 200)]
    timeout_ms: u64,
    /// Per byte on the simulated line, each way: the chance of a flipped bit, and as often
    /// of a lost byte (0 to 0.1).
    #[arg(long, default_value_t = 0.0)]
    link_errors: f64,
    /// Attempts per request before the host gives up.
    #[arg(long, default_value_t = 16)]
    attempts: u32,
    /// UART rate of the simulated board, bits/s (default: the config's hardware.baud). A
    /// faster line simulates in fewer cycles; the design and its checks are the same.
    #[arg(long)]
    baud: Option<u32>,
    /// Seed of the injected line faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Build folder (default build/<config>/board-sim).
    #[arg(long)]
    work: Option<PathBuf>,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls board train --config configs/digits-mlp.toml --port /dev/ttyUSB1 --samples 200 --save build/board.ckpt.json
  lls board train --sim --config configs/digits-mlp.toml --samples 200
  lls board train --sim --config configs/digits-mlp.toml --samples 200 --link-errors 0.001 --json build/board.json
  lls board train --sim --config configs/digits-mlp.toml --checkpoint build/board.ckpt.json --samples 200

The simulated board is the trainer behind <top>_host: its UART at hardware.baud (default
1000000), the line damaged and dropping bytes at --link-errors per byte each way. The JSON
report has samples, correct (predictions equal to the label, as trained), mismatches,
board_samples, weights_loaded, weights_checked, link_errors, retries, link_bytes,
injected_faults, simulated_cycles and seconds. With --checkpoint the
checkpoint's weights are loaded into the board over the link first (weights_loaded), and
the golden model starts from the state the board then holds (the board keeps its LFSR
states). Under a learning-rate schedule (learning.lr_halve_at) the host sends each sample's
halvings with its label, counting on from the checkpoint's samples; --save counts them in.")]
pub struct TrainArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// Training samples, from the start of the training split.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Read the board's state back over the link after every N samples (0: after the last
    /// only).
    #[arg(long, default_value_t = 0)]
    weights_every: usize,
    /// Save the state read off the board after the last sample as a checkpoint (for
    /// `lls weights export` and `lls gen|synth|board infer --checkpoint`), once the run is
    /// bit-exact.
    #[arg(long)]
    save: Option<PathBuf>,
    #[command(flatten)]
    state: super::gen::StateArgs,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls board infer --sim --config configs/digits-mlp.toml --checkpoint build/board.ckpt.json --samples 360
  lls board infer --config configs/digits-icebreaker.toml --port /dev/ttyUSB1 --checkpoint build/board.ckpt.json

The board runs the inference design with the weights of --checkpoint (or the config's
initial ones): `lls synth --inference --checkpoint` builds its bitstream; with --sim the
simulated board is built so. The weights are read back first and must be the checkpoint's.
The JSON report has samples, mismatches, correct, accuracy, weights_checked, link_errors,
retries, link_bytes, injected_faults, simulated_cycles and seconds.")]
pub struct InferArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// Test samples, from the start of the test split.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    #[command(flatten)]
    state: super::gen::StateArgs,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls board read-weights --config configs/digits-mlp.toml --port /dev/ttyUSB1 --out build/board.ckpt.json
  lls board read-weights --sim --config configs/digits-mlp.toml --out build/fresh.ckpt.json

The checkpoint's progress counts the samples the board says it trained (its status), in
epoch 0; its MAC counters are 0 (the board counts none). A board counts only since its
reset: under a learning-rate schedule (learning.lr_halve_at), a state trained on from a
checkpoint is saved with its whole count by `lls board train --checkpoint ... --save`.
With --sim the board is fresh from reset, and its state is checked against the config's
initial one.")]
pub struct ReadArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// The checkpoint to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls board load-weights --config configs/digits-mlp.toml --port /dev/ttyUSB1 --checkpoint build/board.ckpt.json
  lls board load-weights --sim --config configs/digits-mlp.toml --checkpoint build/board.ckpt.json

Every weight is written over the link (while the board is idle) and read back, and must
read as written. The link writes weights only: the board keeps its LFSR states, and a
checkpoint whose modulation differs from the board's is refused (build the design from it:
lls synth --checkpoint). The JSON report has weights_loaded, link_errors, retries,
link_bytes and seconds.")]
pub struct LoadArgs {
    #[command(flatten)]
    link: LinkArgs,
    /// The checkpoint whose weights go on the board.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Accept a checkpoint saved with another text of the same config.
    #[arg(long)]
    allow_config_change: bool,
}

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Command::Train(a) => train(a),
        Command::Infer(a) => infer(a),
        Command::ReadWeights(a) => read_weights(a),
        Command::LoadWeights(a) => load_weights(a),
    }
}

/// What every board command checks and loads before it talks to a board: its options,
/// its outputs (`outputs` beside `--json`, none of them an input: `inputs` beside
/// `--config`), the config with `--baud` applied, and the config's text.
fn prepare(
    link: &LinkArgs,
    inputs: &[(&str, &Path)],
    outputs: &[(&str, &Path)],
) -> Result<(Config, String), String> {
    if !(0.0..=0.1).contains(&link.link_errors) {
        return Err(format!(
            "--link-errors: {} is not in 0..0.1; use e.g. 0.001",
            link.link_errors
        ));
    }
    if link.attempts == 0 {
        return Err("--attempts: is 0; allow at least 1 (default 16)".into());
    }
    if link.port.is_some() && link.timeout_ms == 0 {
        return Err("--timeout-ms: is 0; wait at least 1 ms (default 200)".into());
    }
    let mut all: Vec<(&str, &Path)> = outputs.to_vec();
    all.extend(link.json.as_deref().map(|p| ("--json", p)));
    for &(flag, path) in &all {
        check_output_file(flag, path)?;
    }
    let mut all_inputs = vec![("--config", link.config.as_path())];
    all_inputs.extend(inputs);
    check_output_not_input(&all_inputs, &all)?;
    let mut cfg = load_config(&link.config)?;
    if let Some(baud) = link.baud {
        cfg.hardware.baud = Some(baud);
    }
    // The host link's UART needs a rate the clock times (a trainer alone does not).
    cfg.hardware.check_baud().map_err(|e| match link.baud {
        Some(baud) => format!("--baud {baud}: {e}"),
        None => e.to_string(),
    })?;
    let text = config_text(&link.config)?;
    Ok((cfg, text))
}

/// `--samples` within the `split` samples of `dataset`.
fn check_samples(samples: usize, available: usize, split: &str, dataset: &str) -> CmdResult {
    if samples > available {
        return Err(format!(
            "--samples: {samples} is more than the {available} {split} samples of {dataset}; \
             pass at most {available}"
        ));
    }
    Ok(())
}

fn options(link: &LinkArgs, cfg: &Config, samples: usize, weights_every: usize) -> BoardOptions {
    BoardOptions {
        samples,
        clocks_per_bit: cfg.hardware.clocks_per_bit(),
        link_errors: link.link_errors,
        seed: link.seed,
        weights_every,
        attempts: link.attempts,
        work_dir: link
            .work
            .clone()
            .unwrap_or_else(|| PathBuf::from("build").join(&cfg.name).join("board-sim")),
    }
}

fn open_port(port: &str, cfg: &Config, timeout_ms: u64) -> Result<SerialWire, String> {
    SerialWire::open(port, cfg.hardware.baud(), Duration::from_millis(timeout_ms))
        .map_err(|e| e.to_string())
}

fn params(cfg: &Config) -> Result<rtl_gen::params::DesignParams, String> {
    rtl_gen::params::DesignParams::new(cfg, true).map_err(|e| e.to_string())
}

/// Writes `board` as a checkpoint of `cfg` at `path` (whole, or not at all), once it
/// passes the checks a checkpoint is loaded with (an LFSR state of 0, say, is refused).
fn save(path: &Path, board: &FixedNet, cfg: &Config, text: &str, samples: u64) -> CmdResult {
    let progress = Progress { epoch: 0, samples };
    let ck = Checkpoint::capture(board, cfg, text, progress);
    ck.restore(cfg, text, ConfigMatch::Exact, path)
        .map_err(|e| format!("the state read off the board is no valid checkpoint: {e}"))?;
    super::opts::create_parent(path)?;
    ck.save(path).map_err(|e| e.to_string())
}

fn train(args: TrainArgs) -> CmdResult {
    if args.samples == 0 {
        return Err("--samples: is 0; train at least 1 sample (default 200)".into());
    }
    let link = &args.link;
    let outputs: Vec<(&str, &Path)> = args.save.iter().map(|p| ("--save", p.as_path())).collect();
    args.state.check()?;
    let (cfg, text) = prepare(link, &args.state.inputs(), &outputs)?;
    let data = load_dataset(cfg.data.dataset)?;
    check_samples(args.samples, data.train.len(), "training", &data.name)?;
    let start = args.state.checkpoint_state(&cfg, &text)?;
    let opts = options(link, &cfg, args.samples, args.weights_every);
    let bar = progress_bar(args.samples);
    let mut tell = |r: &BoardReport| {
        bar.set_position(r.samples as u64);
        bar.set_message(format!(
            "board {:.1} % correct, {} mismatches, {} retries",
            100.0 * r.correct as f64 / r.samples.max(1) as f64,
            r.mismatches,
            r.retries
        ));
    };
    let hooks = SessionHooks {
        start: start.as_ref(),
        on_sample: Some(&mut tell),
    };
    let run = match &link.port {
        None => testbenches::board::train(&cfg, &text, &data.train, &opts, hooks),
        Some(port) => {
            let wire = open_port(port, &cfg, link.timeout_ms)?;
            let params = params(&cfg)?;
            testbenches::board::session(wire, &cfg, &text, &params, &data.train, &opts, hooks)
                .map(|run| (run.report, run.board))
        }
    };
    bar.finish_and_clear();
    let (report, board) = run.map_err(|e| e.to_string())?;
    let line = match &link.port {
        Some(port) => format!("on {port}"),
        None => format!(
            "simulated, {} clocks a bit, {} cycles, {} faults injected",
            report.clocks_per_bit, report.simulated_cycles, report.injected_faults
        ),
    };
    let loaded = match report.weights_loaded {
        0 => String::new(),
        n => format!("{n} weights loaded first, "),
    };
    println!(
        "{} over its UART ({} baud, {line}): {loaded}{} samples, {:.2} % predicted right as \
         trained, {} mismatches, the board trained {}; {} weights checked; {} link errors, \
         {} retries, {} bytes on the line; {:.1} s",
        report.config,
        cfg.hardware.baud(),
        report.samples,
        100.0 * report.correct as f64 / report.samples.max(1) as f64,
        report.mismatches,
        report.board_samples,
        report.weights_checked,
        report.link_errors,
        report.retries,
        report.link_bytes,
        report.seconds
    );
    if let Some(path) = &link.json {
        write_json(path, &report)?;
    }
    match (
        &report.first_mismatch,
        report.board_samples as usize == report.samples,
    ) {
        (None, true) => {}
        (Some(m), _) => return Err(format!("the board differs from the golden model: {m}")),
        (None, false) => {
            return Err(format!(
                "the board trained {} samples, the host sent {}",
                report.board_samples, report.samples
            ))
        }
    }
    if let Some(path) = &args.save {
        // Samples trained in all: the schedule (`learning.lr_halve_at`) resumes from there.
        let before = start.as_ref().map_or(0, |net| net.trained);
        save(
            path,
            &board,
            &cfg,
            &text,
            before + u64::from(report.board_samples),
        )?;
        println!(
            "wrote {} (the board's state after {} samples)",
            path.display(),
            report.board_samples
        );
    }
    Ok(())
}

fn progress_bar(samples: usize) -> ProgressBar {
    let bar = ProgressBar::new(samples as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

fn infer(args: InferArgs) -> CmdResult {
    if args.samples == 0 {
        return Err("--samples: is 0; classify at least 1 sample (default 200)".into());
    }
    let link = &args.link;
    args.state.check()?;
    let (cfg, text) = prepare(link, &args.state.inputs(), &[])?;
    let data = load_dataset(cfg.data.dataset)?;
    check_samples(args.samples, data.test.len(), "test", &data.name)?;
    let (net, source) = args.state.load(&cfg, &text)?;
    let opts = options(link, &cfg, args.samples, 0);
    let bar = progress_bar(args.samples);
    let mut tell = |r: &testbenches::board::InferReport| {
        bar.set_position(r.samples as u64);
        bar.set_message(format!(
            "board {:.1} % correct, {} mismatches",
            100.0 * r.correct as f64 / r.samples.max(1) as f64,
            r.mismatches
        ));
    };
    let run = match &link.port {
        None => testbenches::board::infer(
            &cfg,
            &text,
            &net,
            source,
            &data.test,
            &opts,
            Some(&mut tell),
        ),
        Some(port) => {
            let wire = open_port(port, &cfg, link.timeout_ms)?;
            let params =
                rtl_gen::params::DesignParams::new(&cfg, false).map_err(|e| e.to_string())?;
            testbenches::board::infer_session(
                wire,
                &cfg,
                &text,
                &params,
                &net,
                &data.test,
                &opts,
                Some(&mut tell),
            )
            .map(|(report, _)| report)
        }
    };
    bar.finish_and_clear();
    let report = run.map_err(|e| e.to_string())?;
    println!(
        "{}: {} test samples classified on the board, {:.2} % correct, {} mismatches with \
         the golden model; {} weights checked first; {} link errors, {} retries, {} bytes on \
         the line; {:.1} s",
        report.config,
        report.samples,
        100.0 * report.accuracy,
        report.mismatches,
        report.weights_checked,
        report.link_errors,
        report.retries,
        report.link_bytes,
        report.seconds
    );
    if let Some(path) = &link.json {
        write_json(path, &report)?;
    }
    match &report.first_mismatch {
        None => Ok(()),
        Some(m) => Err(format!("the board differs from the golden model: {m}")),
    }
}

/// The `lls board read-weights` JSON report.
#[derive(serde::Serialize)]
struct ReadReport {
    config: String,
    /// Samples the board says it trained.
    board_samples: u32,
    weights: usize,
    /// With --sim: where the fresh board's state differs from the config's initial one.
    mismatches: usize,
    link_errors: u64,
    retries: u64,
    link_bytes: u64,
    seconds: f64,
}

fn read_weights(args: ReadArgs) -> CmdResult {
    let link = &args.link;
    let (cfg, text) = prepare(link, &[], &[("--out", args.out.as_path())])?;
    let started = std::time::Instant::now();
    let opts = options(link, &cfg, 0, 0);
    let state = match &link.port {
        None => testbenches::board::read_simulated(&cfg, &text, &opts),
        Some(port) => {
            let wire = open_port(port, &cfg, link.timeout_ms)?;
            testbenches::board::read_board(wire, &cfg, &text, link.attempts).map(|s| s.detach().0)
        }
    }
    .map_err(|e| e.to_string())?;
    let board = &state.board;
    let mut weights = 0;
    let differences = if link.sim {
        testbenches::board::compare_state(board, &FixedNet::new(&cfg), &mut weights)
    } else {
        weights = board.layers.iter().map(|l| l.inputs * l.outputs).sum();
        Vec::new()
    };
    let report = ReadReport {
        config: cfg.name.clone(),
        board_samples: state.samples,
        weights,
        mismatches: differences.len(),
        link_errors: state.link_errors,
        retries: state.retries,
        link_bytes: state.link_bytes,
        seconds: started.elapsed().as_secs_f64(),
    };
    println!(
        "{}: read {} weights{} of a board that trained {} samples; {} link errors, {} \
         retries, {} bytes on the line; {:.1} s",
        report.config,
        report.weights,
        if link.sim {
            format!(", {} differences from the initial state", report.mismatches)
        } else {
            String::new()
        },
        report.board_samples,
        report.link_errors,
        report.retries,
        report.link_bytes,
        report.seconds
    );
    if let Some(path) = &link.json {
        write_json(path, &report)?;
    }
    if let Some(first) = differences.first() {
        return Err(format!(
            "the simulated board's state differs from the config's initial one: {first}"
        ));
    }
    save(&args.out, board, &cfg, &text, u64::from(state.samples))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// The `lls board load-weights` JSON report.
#[derive(serde::Serialize)]
struct LoadReport {
    config: String,
    weights_loaded: usize,
    #[serde(flatten)]
    link: testbenches::board::LinkFigures,
    seconds: f64,
}

fn load_weights(args: LoadArgs) -> CmdResult {
    let link = &args.link;
    let (cfg, text) = prepare(link, &[("--checkpoint", args.checkpoint.as_path())], &[])?;
    let (net, _, _) =
        super::opts::load_checkpoint(&args.checkpoint, &cfg, &text, args.allow_config_change)?;
    let started = std::time::Instant::now();
    let (loaded, figures) = match &link.port {
        None => testbenches::board::load_simulated(&cfg, &text, &net, &options(link, &cfg, 0, 0)),
        Some(port) => {
            let wire = open_port(port, &cfg, link.timeout_ms)?;
            testbenches::board::load_board(wire, &cfg, &text, &net, link.attempts)
                .map(|(loaded, figures, _)| (loaded, figures))
        }
    }
    .map_err(|e| e.to_string())?;
    let report = LoadReport {
        config: cfg.name.clone(),
        weights_loaded: loaded.weights,
        link: figures,
        seconds: started.elapsed().as_secs_f64(),
    };
    println!(
        "{}: loaded {} weights of {} and read them back equal; {} link errors, {} retries, \
         {} bytes on the line; {:.1} s",
        report.config,
        report.weights_loaded,
        args.checkpoint.display(),
        figures.link_errors,
        figures.retries,
        figures.link_bytes,
        report.seconds
    );
    if let Some(path) = &link.json {
        write_json(path, &report)?;
    }
    Ok(())
}
