//! `lls synth`: generate the RTL, synthesise, place and route, pack, and report resources,
//! Fmax and the chip-level figures ([`toolchain::ChipFigures`]). Before the flow starts it
//! times the golden model on one core with `lls bench`'s loop over [`GOLDEN_SAMPLES`] samples
//! of the config's dataset, so the report has both rates from the same run; without the
//! dataset on disk (MNIST before `scripts/fetch-data`) the report says so instead.

use std::path::PathBuf;

use golden_model::config::Target;
use golden_model::train::Arith;
use toolchain::flow::BoardOptions;
use toolchain::flow::Tools;
use toolchain::{Device, FlowOptions};

use super::opts::{
    check_build_root, check_output_file, check_output_not_input, config_path, config_text,
    load_config, load_dataset, write_json, CmdResult,
};

/// Training samples the golden model is timed over (after 1 % of warm-up): a fraction of a
/// second on either preset, short beside synthesis.
pub const GOLDEN_SAMPLES: usize = 20_000;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls synth --config configs/digits-mlp.toml
  lls synth --config configs/digits-mlp.toml --target ice40-up5k --board icebreaker --json build/digits.json
  lls synth --config configs/mnist-mlp.toml --target ecp5-85k --freq 125 --out build
  lls synth --config configs/mnist-mlp.toml --seed 1,2,3,4   (keeps the fastest placement)
  lls synth --config configs/digits-icebreaker.toml --board icebreaker --inference --checkpoint build/board.ckpt.json

Artifacts go to <out>/<preset>/<target>/: rtl/, synth.json, pnr.asc|pnr.config, <preset>.bin|.bit,
report.json. The ECP5 tools come from scripts/install-deps.sh --ecp5.

report.json has multipliers_used/_available, samples_per_second at Fmax (samples streamed
back to back; lock_step_samples_per_second with one in flight), limit_samples_per_second (every multiplier busy every cycle), fraction_of_limit and,
beside them, golden_samples_per_second: the golden model timed on one core in the same run.")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// ice40-up5k, ecp5-25k or ecp5-85k (default: the config's hardware.target).
    #[arg(long)]
    pub target: Option<String>,
    /// Build for a board (icebreaker, upduino: ice40-up5k; ulx3s: ecp5-85k): its
    /// oscillator through a PLL, the host link on its USB-serial pins
    /// (docs/host-link.md), the pins from its constraint file. The bare design is placed
    /// beside it in the same run and reported next to it. Default: the bare design alone,
    /// its pins placed by nextpnr.
    #[arg(long)]
    pub board: Option<String>,
    /// Clock target in MHz (default: the config's hardware.freq_mhz).
    #[arg(long)]
    pub freq: Option<f64>,
    /// Build root.
    #[arg(long, default_value = "build")]
    pub out: PathBuf,
    /// Also write the report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stop after place and route (no bitstream).
    #[arg(long)]
    pub no_pack: bool,
    /// nextpnr's placement seed: another seed places the same netlist differently, and
    /// Fmax moves with it. Several (`--seed 1,2,3`) place and route each, as many at once
    /// as there are cores, and keep the fastest; report.json has every seed's Fmax.
    #[arg(long, value_delimiter = ',', default_values_t = [FlowOptions::DEFAULT_SEED])]
    pub seed: Vec<u32>,
    /// The inference design (no softmax, no update): what `lls board infer` runs.
    #[arg(long)]
    pub inference: bool,
    #[command(flatten)]
    pub state: super::gen::StateArgs,
}

pub fn run(args: Args) -> CmdResult {
    let mut cfg = load_config(&args.config)?;
    if let Some(name) = &args.target {
        cfg.hardware.target = [Target::Ice40Up5k, Target::Ecp5_25k, Target::Ecp5_85k]
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| format!("--target {name:?}: use ice40-up5k, ecp5-25k or ecp5-85k"))?;
    }
    let device = Device::from_name(cfg.hardware.target.name()).map_err(|e| e.to_string())?;
    let freq_mhz = args.freq.unwrap_or(cfg.hardware.freq_mhz);
    if freq_mhz.is_nan() || freq_mhz <= 0.0 {
        return Err(format!(
            "--freq {freq_mhz}: give a clock target above 0 MHz"
        ));
    }
    FlowOptions::check_seeds(&args.seed).map_err(|e| format!("--seed: {e}"))?;
    check_build_root("--out", &args.out)?;
    let build_dir = args.out.join(&cfg.name).join(device.name);
    let board_dir = args
        .board
        .as_ref()
        .map(|b| args.out.join(&cfg.name).join(b));
    let mut outputs = vec![("--out", build_dir.as_path())];
    if let Some(dir) = &board_dir {
        outputs.push(("--out", dir.as_path()));
    }
    if let Some(json) = &args.json {
        check_output_file("--json", json)?;
        outputs.push(("--json", json));
    }
    let mut inputs = vec![("--config", args.config.as_path())];
    inputs.extend(args.state.inputs());
    check_output_not_input(&inputs, &outputs)?;
    // Every tool of the flow, before the design is generated.
    Tools::locate(device.family).map_err(|e| e.to_string())?;
    let text = config_text(&args.config)?;
    let design = args.state.design(&cfg, &text, !args.inference)?;
    let bare = FlowOptions {
        device,
        board: None,
        freq_mhz,
        out_root: args.out,
        pack: !args.no_pack,
        seeds: args.seed,
    };
    let board = args.board.map(|name| FlowOptions {
        board: Some(BoardOptions {
            name,
            config_toml: text.clone(),
            baud: cfg.hardware.baud(),
        }),
        ..bare.clone()
    });
    if let Some(b) = board.as_ref().and_then(|o| o.board.as_ref()) {
        // The board exists for the part, its PLL reaches the clock and the clock times the
        // link: checked before either flow starts.
        let found = device.board(&b.name).map_err(|e| format!("--board: {e}"))?;
        toolchain::host_board::plan(&found, freq_mhz, b.baud)
            .map_err(|e| format!("--board {}: {e}", b.name))?;
    }
    let golden = if args.inference {
        Err(
            "golden model not timed: `lls bench` times training, this is the inference design"
                .to_string(),
        )
    } else {
        golden_samples_per_second(&cfg)
    };
    let with_golden = |mut r: toolchain::SynthReport| {
        r.chip = match &golden {
            Ok((sps, note)) => r.chip.with_golden(*sps, note.clone()),
            Err(note) => r.chip.without_golden(note.clone()),
        };
        r
    };
    // The bare design and the board top place side by side.
    let (bare_result, board_result) = std::thread::scope(|s| {
        let board_run = board
            .as_ref()
            .map(|opts| s.spawn(|| toolchain::flow::run(&design, opts)));
        let bare_result = toolchain::flow::run(&design, &bare);
        let board_result = board_run.map(|h| h.join().expect("board flow thread"));
        (bare_result, board_result)
    });
    let bare_report = with_golden(bare_result.map_err(|e| e.to_string())?);
    // Each flow wrote its report.json before the golden figure joined it.
    let bare_dir = bare.build_dir(&design.manifest.config);
    write_json(&bare_dir.join("report.json"), &bare_report)?;
    println!("{} ({})", bare_report.summary(), bare_dir.display());
    let report = match (board, board_result) {
        (Some(opts), Some(result)) => {
            let mut r = with_golden(result.map_err(|e| format!("--board: {e}"))?);
            r.bare = Some(toolchain::BareFigures::of(&bare_report));
            let dir = opts.build_dir(&design.manifest.config);
            write_json(&dir.join("report.json"), &r)?;
            println!("{} ({})", r.summary(), dir.display());
            r
        }
        _ => bare_report,
    };
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(())
}

/// The golden model's fixed-point training samples/s on one core and how it was measured,
/// or why it was not.
fn golden_samples_per_second(cfg: &golden_model::Config) -> Result<(f64, String), String> {
    let not_measured = |e: String| format!("golden model not timed: {e}");
    cfg.check_dataset(cfg.data.dataset)
        .map_err(|e| not_measured(e.to_string()))?;
    let data = load_dataset(cfg.data.dataset).map_err(not_measured)?;
    let m = super::bench::measure(cfg, &data, Arith::Fixed, GOLDEN_SAMPLES);
    Ok((
        m.samples_per_second,
        format!(
            "lls bench's loop before synthesis: {} {} samples of {} in {:.3} s, one thread, batch 1",
            m.samples, m.arith, data.name, m.seconds
        ),
    ))
}
