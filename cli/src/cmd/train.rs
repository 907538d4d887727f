//! `lls train`: train the golden model and report accuracy, MACs, memory and speed.

use std::path::PathBuf;

use golden_model::config::Rule;
use golden_model::data::DatasetKind;
use golden_model::train::{train, Arith};
use indicatif::{ProgressBar, ProgressStyle};

use super::opts::{load_config, load_dataset, write_json, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls train --config configs/digits-mlp.toml --arith fixed
  lls train --config configs/mnist-mlp.toml --rule bp --arith float --epochs 1
  lls train --config configs/mnist-mlp.toml --dataset fashion-mnist --json build/fmnist.json")]
pub struct Args {
    /// Preset or config TOML.
    #[arg(long)]
    pub config: PathBuf,
    /// Dataset (default: the config's data.dataset).
    #[arg(long)]
    pub dataset: Option<DatasetKind>,
    /// Learning rule (default: the config's learning.rule).
    #[arg(long)]
    pub rule: Option<Rule>,
    #[arg(long, default_value = "fixed")]
    pub arith: Arith,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train on the first N training samples only.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args) -> CmdResult {
    let mut cfg = load_config(&args.config)?;
    if let Some(d) = args.dataset {
        cfg.data.dataset = d;
    }
    if let Some(r) = args.rule {
        cfg.learning.rule = r;
    }
    if let Some(e) = args.epochs {
        cfg.learning.epochs = e;
    }
    if let Some(s) = args.seed {
        cfg.learning.seed = s;
    }
    cfg.validate().map_err(|e| e.to_string())?;
    let mut data = load_dataset(cfg.data.dataset)?;
    if data.train.pixels != cfg.network.inputs {
        return Err(format!(
            "network.inputs: is {} but {} images have {} pixels; use a config for this dataset",
            cfg.network.inputs, data.name, data.train.pixels
        ));
    }
    if let Some(n) = args.limit {
        data.train = data.train.take(n);
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(format!(
        "train {} {} {}",
        data.name,
        cfg.learning.rule,
        args.arith.name()
    ));
    let (_model, report) = train(&cfg, &data, args.arith, |done, total| {
        if done == 1 {
            bar.set_length(total as u64);
        }
        if done % 256 == 0 || done == total {
            bar.set_position(done as u64);
        }
    });
    bar.finish_and_clear();
    println!(
        "{} {} {} {}: test {:.2} % train {:.2} % after {} epochs, {:.0} samples/s, {} MACs/sample (fwd {} learn {} upd {}), {} bytes",
        report.config,
        report.dataset,
        report.rule,
        report.arith.name(),
        100.0 * report.test_accuracy,
        100.0 * report.train_accuracy,
        report.epochs,
        report.samples_per_second,
        report.macs_per_sample.forward + report.macs_per_sample.learning + report.macs_per_sample.update,
        report.macs_per_sample.forward,
        report.macs_per_sample.learning,
        report.macs_per_sample.update,
        report.memory_bytes,
    );
    if let Some(path) = args.json {
        write_json(&path, &report)?;
    }
    Ok(())
}
