//! `lls weights export|import`: move a net's weights between a checkpoint and the RTL's
//! `$readmemh` lane images (`<prefix>_<layer>_w<lane>.hex`, the files `lls gen` writes).

use std::path::{Path, PathBuf};

use golden_model::checkpoint::{Checkpoint, ConfigMatch, Progress};
use golden_model::config::Config;
use golden_model::fixed::FixedNet;

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
    /// Write a checkpoint's weights (or the initial ones) as `$readmemh` lane images.
    Export(ExportArgs),
    /// Read `$readmemh` lane images into a checkpoint.
    Import(ImportArgs),
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Checkpoint to export (default: the config's initial weights).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Accept a checkpoint saved with another text of the same config.
    #[arg(long)]
    pub allow_config_change: bool,
    /// Folder for the images (created if missing; other files in it are kept).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Folder holding every lane image of every layer.
    #[arg(long)]
    pub images: PathBuf,
    /// Checkpoint that supplies everything but the weights (LFSRs, modulation, progress);
    /// default: the config's initial state.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Accept a checkpoint saved with another text of the same config.
    #[arg(long)]
    pub allow_config_change: bool,
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

fn config(path: &Path) -> Result<(Config, String), String> {
    let cfg = load_config(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((cfg, text))
}

/// The net in `checkpoint`, or the config's initial one.
fn net(
    cfg: &Config,
    text: &str,
    checkpoint: Option<&Path>,
    allow_config_change: bool,
) -> Result<(FixedNet, Progress), String> {
    let Some(path) = checkpoint else {
        return Ok((FixedNet::new(cfg), Progress::default()));
    };
    let matching = if allow_config_change {
        ConfigMatch::SameName
    } else {
        ConfigMatch::Exact
    };
    let ck = Checkpoint::load(path).map_err(|e| e.to_string())?;
    let net = ck
        .restore(cfg, text, matching, path)
        .map_err(|e| e.to_string())?;
    Ok((net, ck.progress))
}

fn export(args: ExportArgs) -> CmdResult {
    let (cfg, text) = config(&args.config)?;
    let (net, _) = net(
        &cfg,
        &text,
        args.checkpoint.as_deref(),
        args.allow_config_change,
    )?;
    let files =
        rtl_gen::mem::write_weight_images(&cfg, &net, &args.out).map_err(|e| e.to_string())?;
    println!(
        "{}: {} weight images in {}",
        cfg.name,
        files.len(),
        args.out.display()
    );
    Ok(())
}

fn import(args: ImportArgs) -> CmdResult {
    let (cfg, text) = config(&args.config)?;
    let (mut net, progress) = net(
        &cfg,
        &text,
        args.checkpoint.as_deref(),
        args.allow_config_change,
    )?;
    rtl_gen::mem::import_weight_images(&cfg, &mut net, &args.images).map_err(|e| e.to_string())?;
    Checkpoint::capture(&net, &cfg, &text, progress)
        .save(&args.out)
        .map_err(|e| e.to_string())?;
    let weights: usize = net.layers.iter().map(|l| l.inputs * l.outputs).sum();
    println!(
        "{}: {weights} weights from {} into {}",
        cfg.name,
        args.images.display(),
        args.out.display()
    );
    Ok(())
}
