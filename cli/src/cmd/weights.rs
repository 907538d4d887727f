//! `lls weights export|import`: move a net's learned state between a checkpoint and the
//! RTL's `$readmemh` images, the files `lls gen` writes: the weights by lane
//! (`<prefix>_<layer>_w<lane>.hex`), the LLS-M/MxM modulation (`<prefix>_<layer>_mod.hex`)
//! and the stochastic-rounding LFSR states (`<prefix>_<layer>_lfsr.hex`); a banked layer's
//! weights are also written as the bank images its RTL loads (`<prefix>_<layer>_w_b<k>.hex`),
//! and import reads those (see `rtl_gen::mem`).
//!
//! No output may be one of the inputs: `--out` naming the config, the checkpoint or one of
//! the images is refused before anything is read or written.

use std::path::{Path, PathBuf};

use golden_model::checkpoint::{Checkpoint, Progress};
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
    #[arg(long, value_parser = super::opts::config_path)]
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
    /// Folder holding every state image of every layer (`$readmemh` syntax; a banked
    /// layer's weights are read from its bank images).
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
    let (net, progress, _) =
        super::opts::load_checkpoint(path, &cfg, &text, source.allow_config_change)?;
    Ok((cfg, text, net, progress))
}

/// `path` as the file system resolves it: symlinks, `.` and `..` resolved where the path
/// (or its folder, for a file not written yet) exists.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (parent.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Refuses writing `out` (given as `flag`) where it would overwrite an input.
fn check_not_input(flag: &str, out: &Path, inputs: &[(&str, PathBuf)]) -> CmdResult {
    let target = resolved(out);
    for (input_flag, input) in inputs {
        if resolved(input) == target {
            return Err(format!(
                "{flag} {}: is the {input_flag} file {}; writing there would destroy it, give \
                 {flag} another path",
                out.display(),
                input.display()
            ));
        }
    }
    Ok(())
}

/// The config and checkpoint files `source` names, as inputs for [`check_not_input`].
fn source_inputs(source: &Source) -> Vec<(&'static str, PathBuf)> {
    let mut inputs = vec![("--config", source.config.clone())];
    if let Some(ck) = &source.checkpoint {
        inputs.push(("--checkpoint", ck.clone()));
    }
    inputs
}

/// The state image names a design of `cfg` has (those export writes and import reads).
fn image_names(cfg: &Config) -> Result<Vec<String>, String> {
    let images = rtl_gen::mem::state_images(cfg, &FixedNet::new(cfg)).map_err(|e| e.to_string())?;
    Ok(images.into_keys().collect())
}

fn export(args: ExportArgs) -> CmdResult {
    let cfg = load_config(&args.source.config)?;
    let inputs = source_inputs(&args.source);
    for name in image_names(&cfg)? {
        check_not_input("--out", &args.out.join(name), &inputs)?;
    }
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
    let cfg = load_config(&args.source.config)?;
    let mut inputs = source_inputs(&args.source);
    inputs.push(("--images", args.images.clone()));
    for name in image_names(&cfg)? {
        inputs.push(("--images", args.images.join(name)));
    }
    check_not_input("--out", &args.out, &inputs)?;
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
