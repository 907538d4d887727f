//! `lls weights export|import`: move a net's learned state between a checkpoint and the
//! RTL's `$readmemh` images, the files `lls gen` writes: the weights by lane
//! (`<prefix>_<layer>_w<lane>.hex`), the LLS-M/MxM modulation (`<prefix>_<layer>_mod.hex`)
//! and the stochastic-rounding LFSR states (`<prefix>_<layer>_lfsr.hex`).

use std::path::PathBuf;

use golden_model::checkpoint::{Checkpoint, ConfigMatch, Progress};
use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;

use super::opts::{load_config, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls weights export --config configs/digits-mlp.toml --checkpoint build/digits.ckpt.json --out build/digits-mlp/rtl
  lls weights import --config configs/digits-mlp.toml --images build/digits-mlp/rtl --out build/digits-from-rtl.ckpt.json
  lls weights import --config configs/digits-mlp.toml --images hw-dump --checkpoint build/digits.ckpt.json --out build/merged.ckpt.json")]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand)]
pub enum Action {
    /// Write a checkpoint's learned state (or the initial one) as `$readmemh` images.
    Export(ExportArgs),
    /// Read `$readmemh` state images into a checkpoint.
    Import(ImportArgs),
}

/// The config, and the checkpoint to start from.
#[derive(clap::Args)]
pub struct Source {
    #[arg(long)]
    pub config: PathBuf,
    /// Checkpoint to start from (default: the config's initial state). Import takes from
    /// it what images do not hold: the training progress.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Accept a checkpoint saved with another text of the same config.
    #[arg(long)]
    pub allow_config_change: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub source: Source,
    /// Folder for the images (created if missing; other files in it are kept).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub source: Source,
    /// Folder holding every state image of every layer.
    #[arg(long)]
    pub images: PathBuf,
    /// Checkpoint to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args) -> CmdResult {
    match args.action {
        Action::Export(a) => export(a),
        Action::Import(a) => import(a),
    }
}

/// The config, and the net and progress in `source.checkpoint` (or the initial ones).
fn load(source: &Source) -> Result<(Config, String, FixedNet, Progress), String> {
    let cfg = load_config(&source.config)?;
    let text = std::fs::read_to_string(&source.config)
        .map_err(|e| format!("{}: {e}", source.config.display()))?;
    let Some(path) = &source.checkpoint else {
        let net = FixedNet::new(&cfg);
        return Ok((cfg, text, net, Progress::default()));
    };
    let matching = if source.allow_config_change {
        ConfigMatch::SameName
    } else {
        ConfigMatch::Exact
    };
    let ck = Checkpoint::load(path).map_err(|e| e.to_string())?;
    let net = ck
        .restore(&cfg, &text, matching, path)
        .map_err(|e| e.to_string())?;
    Ok((cfg, text, net, ck.progress))
}

fn export(args: ExportArgs) -> CmdResult {
    let (cfg, _, net, _) = load(&args.source)?;
    let files =
        rtl_gen::mem::write_state_images(&cfg, &net, &args.out).map_err(|e| e.to_string())?;
    println!(
        "{}: {} state images in {}",
        cfg.name,
        files.len(),
        args.out.display()
    );
    Ok(())
}

fn import(args: ImportArgs) -> CmdResult {
    let (cfg, text, mut net, progress) = load(&args.source)?;
    rtl_gen::mem::import_state_images(&cfg, &mut net, &args.images).map_err(|e| e.to_string())?;
    Checkpoint::capture(&net, &cfg, &text, progress)
        .save(&args.out)
        .map_err(|e| e.to_string())?;
    let weights: usize = net.layers.iter().map(|l| l.inputs * l.outputs).sum();
    let modulation: usize = net
        .layers
        .iter()
        .filter_map(|l| l.modulation.values().map(<[i64]>::len))
        .sum();
    let lfsrs: usize = net.layers.iter().map(|l| l.lfsr.len()).sum();
    println!(
        "{}: {weights} weights, {modulation} modulation values, {lfsrs} LFSR states from {} into {}",
        cfg.name,
        args.images.display(),
        args.out.display()
    );
    Ok(())
}
