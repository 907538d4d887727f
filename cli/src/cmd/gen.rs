//! `lls gen`: write the Verilog, memory images and manifest.json for a config.

use std::path::PathBuf;

use super::opts::{load_config, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls gen --config configs/digits-mlp.toml --out build/digits-mlp/rtl
  lls gen --config configs/mnist-mlp.toml --out build/mnist-mlp/rtl --inference")]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// Output folder (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Inference only: no softmax, no update.
    #[arg(long)]
    pub inference: bool,
}

pub fn run(args: Args) -> CmdResult {
    let cfg = load_config(&args.config)?;
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let design = rtl_gen::generate(&cfg, &text, !args.inference).map_err(|e| e.to_string())?;
    design.write(&args.out).map_err(|e| e.to_string())?;
    let lines: usize = design
        .files
        .iter()
        .filter(|(n, _)| n.ends_with(".v"))
        .map(|(_, t)| t.lines().count())
        .sum();
    println!(
        "{}: {} files in {} ({} lines of Verilog, {} memory bits, {} cycles/sample predicted, ideal {})",
        design.top,
        design.files.len() + 1,
        args.out.display(),
        lines,
        design.manifest.memory_bits,
        design.manifest.cycles_per_sample,
        design.manifest.ideal_cycles_per_sample
    );
    Ok(())
}
