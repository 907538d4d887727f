//! `lls gen`: write the Verilog, memory images and manifest.json for a config.
//!
//! The folder is replaced as a whole ([`opts::replace_dir`]): an interrupted or failed
//! generation leaves the earlier one as it was, and a new one leaves none of the earlier
//! one's files (say, lanes 4 → 8 drops the lane images 4..8 would not have).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;
use rtl_gen::{Design, StateSource};

use super::opts::{self, check_output_dir, check_output_not_input, config_path, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls gen --config configs/digits-mlp.toml --out build/digits-mlp/rtl
  lls gen --config mnist-mlp --out build/mnist-mlp/rtl --inference
  lls gen --config configs/digits-mlp.toml --out build/digits-mlp/rtl-trained --checkpoint build/digits.ckpt.json")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// Output folder, replaced as a whole (files of other commands in it are kept).
    #[arg(long)]
    pub out: PathBuf,
    /// Inference only: no softmax, no update.
    #[arg(long)]
    pub inference: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

/// The learned state a design's memory images start from.
#[derive(clap::Args)]
pub struct StateArgs {
    /// Start from this checkpoint's state (`lls train --save`, `lls board train --save`,
    /// `lls board read-weights`) instead of the config's initial one.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// --checkpoint: accept one saved with another text of the same config.
    #[arg(long)]
    pub allow_config_change: bool,
}

impl StateArgs {
    /// The checkpoint file, as an input the outputs must not overwrite.
    pub fn inputs(&self) -> Vec<(&'static str, &Path)> {
        self.checkpoint
            .iter()
            .map(|p| ("--checkpoint", p.as_path()))
            .collect()
    }

    /// `--allow-config-change` needs a checkpoint.
    pub fn check(&self) -> CmdResult {
        if self.allow_config_change && self.checkpoint.is_none() {
            return Err(
                "--allow-config-change: applies to --checkpoint; pass one or drop it".into(),
            );
        }
        Ok(())
    }

    /// The learned state: the checkpoint's, or the config's initial one, and its source.
    pub fn load(&self, cfg: &Config, text: &str) -> Result<(FixedNet, StateSource), String> {
        self.check()?;
        let Some(path) = &self.checkpoint else {
            return Ok((FixedNet::new(cfg), StateSource::Config));
        };
        let (net, _, sha256) = opts::load_checkpoint(path, cfg, text, self.allow_config_change)?;
        Ok((net, StateSource::Checkpoint { sha256 }))
    }

    /// The checkpoint's state, if one is given (`None`: the run starts from the config's).
    pub fn checkpoint_state(&self, cfg: &Config, text: &str) -> Result<Option<FixedNet>, String> {
        match &self.checkpoint {
            Some(_) => self.load(cfg, text).map(|(net, _)| Some(net)),
            None => Ok(None),
        }
    }

    /// The design of `cfg` (`text`), learning or not, from the checkpoint's state or the
    /// config's initial one.
    pub fn design(&self, cfg: &Config, text: &str, learn: bool) -> Result<Design, String> {
        let (net, source) = self.load(cfg, text)?;
        rtl_gen::generate_with_state(cfg, text, learn, &net, source).map_err(|e| e.to_string())
    }
}

/// Whether `name` in an earlier output folder `dir` is a file `lls gen` wrote: one its
/// manifest.json lists, the manifest itself, or a temporary file of an interrupted write.
pub fn generated(dir: &Path, name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    if name == "manifest.json" || (name.starts_with('.') && name.ends_with(".tmp")) {
        return true;
    }
    std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|m| {
            m.get("files")?
                .as_array()
                .map(|files| files.iter().any(|f| f.as_str() == Some(&*name)))
        })
        .unwrap_or(false)
}

pub fn run(args: Args) -> CmdResult {
    check_output_dir("--out", &args.out)?;
    let mut inputs = vec![("--config", args.config.as_path())];
    inputs.extend(args.state.inputs());
    check_output_not_input(&inputs, &[("--out", &args.out)])?;
    let cfg = opts::load_config(&args.config)?;
    let text = opts::config_text(&args.config)?;
    let design = args.state.design(&cfg, &text, !args.inference)?;
    opts::replace_dir(&args.out, &generated, |dir| {
        design.write(dir).map_err(|e| e.to_string())
    })?;
    let lines: usize = design
        .files
        .iter()
        .filter(|(n, _)| n.ends_with(".v"))
        .map(|(_, t)| t.lines().count())
        .sum();
    println!(
        "{}: {} files in {} ({} lines of Verilog, {} memory bits, {} cycles/sample predicted in lock step, {} streaming, ideal {})",
        design.top,
        design.files.len() + 1,
        args.out.display(),
        lines,
        design.manifest.memory_bits,
        design.manifest.cycles_per_sample,
        design.manifest.steady_cycles_per_sample,
        design.manifest.ideal_cycles_per_sample
    );
    Ok(())
}
