//! `lls board`: train a board over its UART host link (`docs/host-link.md`), on a serial
//! port, or (`--sim`) a Verilator model of the whole board top, pins and all, driven byte
//! for byte by the same host code; every prediction and the weights read back over the
//! link are held to the golden model.

use std::path::PathBuf;
use std::time::Duration;

use testbenches::board::BoardOptions;
use testbenches::serial::SerialWire;

use super::opts::{
    check_json_output, config_path, config_text, load_config, load_dataset, write_json, CmdResult,
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
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("link").required(true).args(["sim", "port"])))]
#[command(after_help = "Examples:
  lls board train --config configs/digits-mlp.toml --port /dev/ttyUSB1 --samples 200
  lls board train --sim --config configs/digits-mlp.toml --samples 200
  lls board train --sim --config configs/digits-mlp.toml --samples 200 --link-errors 0.001 --json build/board.json

The simulated board is the trainer behind <top>_host: its UART at hardware.baud (default
1000000), the line damaged and dropping bytes at --link-errors per byte each way. The JSON
report has samples, mismatches, board_samples, weights_checked, link_errors, retries,
link_bytes, injected_faults, simulated_cycles and seconds.")]
pub struct TrainArgs {
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
    /// Training samples, from the start of the training split.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Per byte on the simulated line, each way: the chance of a flipped bit, and as often
    /// of a lost byte (0 to 0.1).
    #[arg(long, default_value_t = 0.0)]
    link_errors: f64,
    /// Read every weight back over the link after every N samples (0: after the last only).
    #[arg(long, default_value_t = 0)]
    weights_every: usize,
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

pub fn run(args: Args) -> CmdResult {
    match args.command {
        Command::Train(a) => train(a),
    }
}

fn train(args: TrainArgs) -> CmdResult {
    if args.samples == 0 {
        return Err("--samples: is 0; train at least 1 sample (default 200)".into());
    }
    if !(0.0..=0.1).contains(&args.link_errors) {
        return Err(format!(
            "--link-errors: {} is not in 0..0.1; use e.g. 0.001",
            args.link_errors
        ));
    }
    if args.attempts == 0 {
        return Err("--attempts: is 0; allow at least 1 (default 16)".into());
    }
    check_json_output(&args.config, args.json.as_deref())?;
    let mut cfg = load_config(&args.config)?;
    if let Some(baud) = args.baud {
        cfg.hardware.baud = Some(baud);
    }
    // The host link's UART needs a rate the clock times (a trainer alone does not).
    cfg.hardware.check_baud().map_err(|e| match args.baud {
        Some(baud) => format!("--baud {baud}: {e}"),
        None => e.to_string(),
    })?;
    let text = config_text(&args.config)?;
    let data = load_dataset(cfg.data.dataset)?;
    if args.samples > data.train.len() {
        return Err(format!(
            "--samples: {} is more than the {} training samples of {}; pass at most {}",
            args.samples,
            data.train.len(),
            data.name,
            data.train.len()
        ));
    }
    let opts = BoardOptions {
        samples: args.samples,
        clocks_per_bit: cfg.hardware.clocks_per_bit(),
        link_errors: args.link_errors,
        seed: args.seed,
        weights_every: args.weights_every,
        attempts: args.attempts,
        work_dir: args
            .work
            .unwrap_or_else(|| PathBuf::from("build").join(&cfg.name).join("board-sim")),
    };
    let report = match &args.port {
        None => testbenches::board::train(&cfg, &text, &data.train, &opts),
        Some(port) => {
            if args.timeout_ms == 0 {
                return Err("--timeout-ms: is 0; wait at least 1 ms (default 200)".into());
            }
            let wire = SerialWire::open(
                port,
                cfg.hardware.baud(),
                Duration::from_millis(args.timeout_ms),
            )
            .map_err(|e| e.to_string())?;
            let params =
                rtl_gen::params::DesignParams::new(&cfg, true).map_err(|e| e.to_string())?;
            testbenches::board::session(wire, &cfg, &text, &params, &data.train, &opts)
                .map(|(report, _)| report)
        }
    }
    .map_err(|e| e.to_string())?;
    let link = match &args.port {
        Some(port) => format!("on {port}"),
        None => format!(
            "simulated, {} clocks a bit, {} cycles, {} faults injected",
            report.clocks_per_bit, report.simulated_cycles, report.injected_faults
        ),
    };
    println!(
        "{} over its UART ({} baud, {link}): {} samples, {} mismatches, the board trained \
         {}; {} weights checked; {} link errors, {} retries, {} bytes on the line; {:.1} s",
        report.config,
        cfg.hardware.baud(),
        report.samples,
        report.mismatches,
        report.board_samples,
        report.weights_checked,
        report.link_errors,
        report.retries,
        report.link_bytes,
        report.seconds
    );
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    match (
        &report.first_mismatch,
        report.board_samples as usize == report.samples,
    ) {
        (None, true) => Ok(()),
        (Some(m), _) => Err(format!("the board differs from the golden model: {m}")),
        (None, false) => Err(format!(
            "the board trained {} samples, the host sent {}",
            report.board_samples, report.samples
        )),
    }
}
