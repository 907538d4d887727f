//! `lls costs`: MACs and memory per training sample, LLS against BP, for a config (counted
//! by the models as they run) and for the paper's VGG8 shapes.

use std::path::PathBuf;

use golden_model::config::Rule;
use golden_model::cost::{shape_macs, shape_memory_bytes, vgg8, MacCount};
use golden_model::memory::memory_bytes;
use golden_model::train::{Arith, Model};
use serde::Serialize;

use super::opts::{check_json_output, config_path, load_config, write_json, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls costs --config configs/mnist-mlp.toml
  lls costs --config configs/digits-mlp.toml --json build/costs.json")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Serialize)]
struct Row {
    network: String,
    rule: String,
    macs: MacCount,
    total_macs: u64,
    memory_bytes: u64,
    memory_note: String,
}

pub fn run(args: Args) -> CmdResult {
    check_json_output(&args.config, args.json.as_deref())?;
    let cfg = load_config(&args.config)?;
    let mut rows = Vec::new();
    let zeros = vec![0u8; cfg.network.inputs];
    for rule in Rule::ALL {
        let mut c = cfg.clone();
        c.learning.rule = rule;
        if c.validate().is_err() {
            continue;
        }
        let mut model = Model::new(&c, Arith::Fixed);
        model.train_sample(&zeros, 0);
        let macs = model.macs();
        rows.push(Row {
            network: cfg.name.clone(),
            rule: rule.name().to_string(),
            macs,
            total_macs: macs.total(),
            memory_bytes: memory_bytes(&c, Arith::Fixed).total,
            memory_note: "fixed-point formats of the config, batch 1".into(),
        });
    }
    for (name, classes, batch) in [
        ("VGG8 CIFAR-10", 10, 1),
        ("VGG8 CIFAR-10", 10, 128),
        ("VGG8 CIFAR-100", 100, 1),
        ("VGG8 CIFAR-100", 100, 128),
    ] {
        let shapes = vgg8(3, 32, classes);
        for (rule, local) in [("bp", false), ("lls", true)] {
            let macs = shape_macs(&shapes, classes, local);
            rows.push(Row {
                network: name.to_string(),
                rule: rule.to_string(),
                macs,
                total_macs: macs.total(),
                memory_bytes: shape_memory_bytes(&shapes, classes, local, batch),
                memory_note: format!("f32, batch {batch}"),
            });
        }
    }
    println!(
        "| network | rule | forward MACs | learning MACs | update MACs | total | memory (bytes) |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} ({}) |",
            r.network,
            r.rule,
            r.macs.forward,
            r.macs.learning,
            r.macs.update,
            r.total_macs,
            r.memory_bytes,
            r.memory_note
        );
    }
    if let Some(path) = &args.json {
        write_json(path, &rows)?;
    }
    Ok(())
}
