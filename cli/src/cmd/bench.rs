//! `lls bench`: training throughput of the golden model on one core, fixed and float,
//! measured side by side in one run and written as JSON (speed targets live here, not in
//! timed tests).

use std::path::PathBuf;
use std::time::Instant;

use golden_model::data::{Dataset, DatasetKind};
use golden_model::train::{Arith, Model};
use serde::Serialize;

use super::opts::{
    check_json_output, config_path, load_config, load_dataset, use_dataset, write_json, CmdResult,
};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls bench --config configs/mnist-mlp.toml --samples 20000 --json build/bench.json
  lls bench --config configs/digits-mlp.toml")]
pub struct Args {
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    #[arg(long)]
    pub dataset: Option<DatasetKind>,
    /// Training samples per measurement, at least 1 (cycled through the training split).
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Serialize)]
pub(crate) struct Measurement {
    pub arith: &'static str,
    pub samples: usize,
    pub seconds: f64,
    pub samples_per_second: f64,
}

/// Training samples/s of a fresh `arith` model on this thread, batch 1: `samples` steps
/// cycled through the training split, after a warm-up of 1 % of them (at least one).
pub(crate) fn measure(
    cfg: &golden_model::Config,
    data: &Dataset,
    arith: Arith,
    samples: usize,
) -> Measurement {
    let n = data.train.len();
    let mut model = Model::new(cfg, arith);
    for i in 0..(samples / 100).max(1) {
        model.train_sample(data.train.image(i % n), data.train.label(i % n) as usize);
    }
    let t = Instant::now();
    for i in 0..samples {
        model.train_sample(data.train.image(i % n), data.train.label(i % n) as usize);
    }
    let seconds = t.elapsed().as_secs_f64();
    Measurement {
        arith: arith.name(),
        samples,
        seconds,
        samples_per_second: samples as f64 / seconds.max(1e-9),
    }
}

#[derive(Serialize)]
struct BenchReport {
    config: String,
    dataset: String,
    threads: usize,
    batch: usize,
    measurements: Vec<Measurement>,
}

pub fn run(args: Args) -> CmdResult {
    if args.samples == 0 {
        return Err("--samples: is 0; measure at least 1 sample (default 10000)".into());
    }
    check_json_output(&args.config, args.json.as_deref())?;
    let mut cfg = load_config(&args.config)?;
    use_dataset(&mut cfg, args.dataset)?;
    let data = load_dataset(cfg.data.dataset)?;
    let measurements: Vec<Measurement> = [Arith::Fixed, Arith::Float]
        .into_iter()
        .map(|arith| measure(&cfg, &data, arith, args.samples))
        .collect();
    for m in &measurements {
        println!(
            "{} {}: {:.0} samples/s ({} samples in {:.2} s, one thread, batch 1)",
            cfg.name, m.arith, m.samples_per_second, m.samples, m.seconds
        );
    }
    if let Some(path) = &args.json {
        write_json(
            path,
            &BenchReport {
                config: cfg.name.clone(),
                dataset: data.name.clone(),
                threads: 1,
                batch: 1,
                measurements,
            },
        )?;
    }
    Ok(())
}
