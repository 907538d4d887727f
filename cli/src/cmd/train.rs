//! `lls train`: train the golden model and report accuracy, MACs, memory and speed.

use std::path::PathBuf;

use golden_model::baseline::recipe::{train_official_with, Augment, Recipe};
use golden_model::checkpoint::{self, ConfigMatch};
use golden_model::config::{Rule, Waveform};
use golden_model::data::DatasetKind;
use golden_model::train::{check_model, train_from, Arith, Model};
use indicatif::{ProgressBar, ProgressStyle};

use super::opts::{
    check_output_file, check_output_not_input, config_path, config_text, create_parent,
    load_config_with_conv, load_dataset, write_json, CmdResult,
};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls train --config configs/digits-mlp.toml --arith fixed
  lls train --config configs/mnist-mlp.toml --rule bp --arith float --epochs 1
  lls train --config configs/mnist-mlp.toml --dataset fashion-mnist --json build/fmnist.json
  lls train --config configs/mnist-mlp.toml --arith float --recipe official --rule lls-m --epochs 10")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// Dataset (default: the config's data.dataset).
    #[arg(long)]
    pub dataset: Option<DatasetKind>,
    /// Learning rule (default: the config's learning.rule).
    #[arg(long)]
    pub rule: Option<Rule>,
    /// Basis waveform (default: the config's learning.basis).
    #[arg(long, value_parser = parse_waveform)]
    pub basis: Option<Waveform>,
    #[arg(long, default_value = "fixed")]
    pub arith: Arith,
    /// `hardware`: the hardware's equations (batch 1, SGD, no BatchNorm); `official`: the
    /// official PyTorch recipe (BatchNorm, L2 normalisation, AdamW-ScheduleFree, batch 128;
    /// float only, see golden_model::baseline::recipe).
    #[arg(long, default_value = "hardware")]
    pub recipe: Recipe,
    /// Official recipe only: random-crop padding of the training images. The official data
    /// loader pads 4 for MNIST, but the anchor figures are matched without the crop (0);
    /// see golden_model::baseline::recipe. At most the image side (8 for digits, 28 for
    /// MNIST).
    #[arg(long, default_value_t = 0)]
    pub crop_pad: usize,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Train on the first N training samples only (1 up to the training split's size).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Fixed point: save the trained model as a checkpoint (versioned JSON with a checksum).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Fixed point: continue from a checkpoint up to --epochs (total) in the same sample
    /// order an uninterrupted run would see.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// --resume: accept a checkpoint saved with another text of the same config (say,
    /// more epochs); shapes and values are still checked.
    #[arg(long)]
    pub allow_config_change: bool,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The output paths can be written and spare the inputs: checked before training, so
/// that a bad `--save` or `--json` does not lose a trained model.
fn check_outputs(args: &Args) -> CmdResult {
    let mut inputs = vec![("--config", args.config.as_path())];
    inputs.extend(args.resume.as_deref().map(|p| ("--resume", p)));
    let mut outputs = Vec::new();
    outputs.extend(args.save.as_deref().map(|p| ("--save", p)));
    outputs.extend(args.json.as_deref().map(|p| ("--json", p)));
    for &(flag, path) in &outputs {
        check_output_file(flag, path)?;
    }
    check_output_not_input(&inputs, &outputs)
}

fn parse_waveform(s: &str) -> Result<Waveform, String> {
    match s {
        "square" => Ok(Waveform::Square),
        "sine" => Ok(Waveform::Sine),
        _ => Err(format!("unknown basis `{s}`; expected square or sine")),
    }
}

pub fn run(args: Args) -> CmdResult {
    if args.resume.is_some() && (args.rule.is_some() || args.seed.is_some() || args.basis.is_some())
    {
        return Err(
            "--resume: the checkpoint fixes rule, seed and basis; drop --rule/--seed/--basis"
                .to_string(),
        );
    }
    if args.recipe == Recipe::Official && args.arith != Arith::Float {
        return Err("--recipe official runs in f32 only; pass --arith float with it".to_string());
    }
    if args.allow_config_change && args.resume.is_none() {
        return Err(
            "--allow-config-change: applies to the checkpoint of --resume; pass --resume \
             or drop it"
                .to_string(),
        );
    }
    if args.crop_pad > 0 && args.recipe != Recipe::Official {
        return Err(format!(
            "--crop-pad {}: the crop is part of the official recipe; add --recipe official \
             --arith float, or drop --crop-pad",
            args.crop_pad
        ));
    }
    check_outputs(&args)?;
    let mut cfg = load_config_with_conv(&args.config)?;
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
    if let Some(b) = args.basis {
        cfg.learning.basis = b;
    }
    cfg.validate().map_err(|e| e.to_string())?;
    check_model(&cfg, args.arith).map_err(|e| e.to_string())?;
    if args.save.is_some() || args.resume.is_some() {
        if !cfg.network.conv.is_empty() {
            return Err(
                "--save/--resume: checkpoints hold the fixed-point model, which takes \
                 dense layers only (network.conv); drop --save/--resume"
                    .to_string(),
            );
        }
        if args.arith != Arith::Fixed || args.recipe != Recipe::Hardware {
            return Err(
                "--save/--resume: checkpoints hold the fixed-point model; use --arith fixed"
                    .to_string(),
            );
        }
    }
    if args.recipe == Recipe::Official {
        cfg.require_dense("--recipe official")
            .map_err(|e| e.to_string())?;
    }
    cfg.check_dataset(cfg.data.dataset)
        .map_err(|e| e.to_string())?;
    let mut data = load_dataset(cfg.data.dataset)?;
    if let Some(n) = args.limit {
        let len = data.train.len();
        if n == 0 || n > len {
            return Err(format!(
                "--limit {n}: {} has {len} training samples; use 1..={len}",
                data.name
            ));
        }
        data.train = data.train.take(n);
    }
    if args.crop_pad > data.width {
        return Err(format!(
            "--crop-pad {}: above the image side of {} ({} pixels); use 0..={}",
            args.crop_pad, data.name, data.width, data.width
        ));
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
        "train {} {} {} {}",
        data.name,
        cfg.learning.rule,
        args.arith.name(),
        args.recipe
    ));
    let progress = |done: usize, total: usize| {
        if bar.length() != Some(total as u64) {
            bar.set_length(total as u64);
        }
        if done % 256 == 0 || done == total {
            bar.set_position(done as u64);
        }
    };
    let report = match args.recipe {
        Recipe::Hardware => {
            let text = config_text(&args.config)?;
            let (model, first_epoch) = match &args.resume {
                Some(path) => {
                    let matching = if args.allow_config_change {
                        ConfigMatch::SameName
                    } else {
                        ConfigMatch::Exact
                    };
                    let (net, progress) =
                        checkpoint::resume(path, &cfg, &text, data.train.len(), matching)
                            .map_err(|e| e.to_string())?;
                    (Model::Fixed(Box::new(net)), progress.epoch as usize)
                }
                None => (Model::new(&cfg, args.arith), 0),
            };
            let (model, report) = train_from(&cfg, &data, model, first_epoch, progress);
            if let (Some(path), Model::Fixed(net)) = (&args.save, &model) {
                let done = checkpoint::Progress {
                    epoch: cfg.learning.epochs as u64,
                    samples: (cfg.learning.epochs * data.train.len()) as u64,
                };
                create_parent(path)?;
                checkpoint::save(path, net, &cfg, &text, done).map_err(|e| e.to_string())?;
            }
            report
        }
        Recipe::Official => {
            let mut augment = Augment::for_dataset(&data);
            augment.pad = args.crop_pad;
            let (_, official) = train_official_with(&cfg, &data, &augment, progress);
            bar.finish_and_clear();
            println!(
                "official recipe ({} basis): best test {:.2} % at epoch {}, last {:.2} %; {:.3} s/epoch of training",
                match cfg.learning.basis {
                    Waveform::Square => "square",
                    Waveform::Sine => "sine",
                },
                100.0 * official.best_test_accuracy,
                official.best_epoch,
                100.0 * official.report.test_accuracy,
                official.report.train_samples as f64 / official.report.samples_per_second,
            );
            official.report
        }
    };
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
