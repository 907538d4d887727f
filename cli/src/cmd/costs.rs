//! `lls costs`: MACs and memory per training sample, LLS against BP, for a config (counted
//! by the models as they run; from its layer shapes where it has convolutional blocks),
//! layer by layer, and for the paper's VGG8 shapes.

use std::path::PathBuf;

use golden_model::config::{Config, Rule};
use golden_model::cost::{
    config_shapes, layer_macs, shape_macs, shape_memory_bytes, vgg8, LayerShape, MacCount,
};
use golden_model::memory::memory_bytes;
use golden_model::train::{Arith, Model};
use serde::Serialize;

use super::opts::{check_json_output, config_path, load_config_with_conv, write_json, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls costs --config configs/mnist-mlp.toml
  lls costs --config configs/digits-mlp.toml --json build/costs.json
  lls costs --config my-cnn.toml             # network.conv blocks: counted from their shapes")]
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

/// One layer of the config: its MACs a training sample under LLS and under BP.
#[derive(Serialize)]
struct LayerRow {
    layer: String,
    lls: MacCount,
    bp: MacCount,
}

#[derive(Serialize)]
struct Report {
    networks: Vec<Row>,
    layers: Vec<LayerRow>,
}

pub fn run(args: Args) -> CmdResult {
    check_json_output(&args.config, args.json.as_deref())?;
    // Convolutional blocks are costed from their shapes.
    let cfg = load_config_with_conv(&args.config)?;
    let shapes = config_shapes(&cfg).map_err(|e| e.to_string())?;
    let classes = cfg.network.classes;
    let mut rows = if cfg.network.conv.is_empty() {
        counted_rows(&cfg)
    } else {
        shape_rows(&cfg.name, &shapes, classes, 1)
    };
    for (name, classes, batch) in [
        ("VGG8 CIFAR-10", 10, 1),
        ("VGG8 CIFAR-10", 10, 128),
        ("VGG8 CIFAR-100", 100, 1),
        ("VGG8 CIFAR-100", 100, 128),
    ] {
        rows.extend(shape_rows(name, &vgg8(3, 32, classes), classes, batch));
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
    let layers = layer_rows(&shapes, classes);
    println!();
    println!("{}, layer by layer (MACs a training sample):", cfg.name);
    println!("| layer | forward | LLS learning | BP learning | update |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for l in &layers {
        println!(
            "| {} | {} | {} | {} | {} |",
            l.layer, l.lls.forward, l.lls.learning, l.bp.learning, l.lls.update
        );
    }
    if let Some(path) = &args.json {
        write_json(
            path,
            &Report {
                networks: rows,
                layers,
            },
        )?;
    }
    Ok(())
}

/// The config's rows for every rule it validates with, counted by the fixed-point model
/// over one training step.
fn counted_rows(cfg: &Config) -> Vec<Row> {
    let zeros = vec![0u8; cfg.network.inputs];
    let mut rows = Vec::new();
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
    rows
}

/// BP and LLS rows of a network given by its layer shapes (f32 memory at `batch`).
fn shape_rows(name: &str, shapes: &[LayerShape], classes: usize, batch: u64) -> Vec<Row> {
    [("bp", false), ("lls", true)]
        .into_iter()
        .map(|(rule, local)| {
            let macs = shape_macs(shapes, classes, local);
            Row {
                network: name.to_string(),
                rule: rule.to_string(),
                macs,
                total_macs: macs.total(),
                memory_bytes: shape_memory_bytes(shapes, classes, local, batch),
                memory_note: format!("f32, batch {batch}"),
            }
        })
        .collect()
}

/// Each layer's MACs under LLS and BP, named by its shape.
fn layer_rows(shapes: &[LayerShape], classes: usize) -> Vec<LayerRow> {
    let lls = layer_macs(shapes, classes, true);
    let bp = layer_macs(shapes, classes, false);
    let last = shapes.len() - 1;
    shapes
        .iter()
        .zip(lls.into_iter().zip(bp))
        .enumerate()
        .map(|(k, (shape, (lls, bp)))| LayerRow {
            layer: match *shape {
                LayerShape::Conv {
                    cin,
                    cout,
                    rows,
                    cols,
                    kernel,
                    lls_len,
                } => format!("conv {kernel}×{kernel} {cin}→{cout} on {rows}×{cols}, N = {lls_len}"),
                LayerShape::Linear {
                    inputs, outputs, ..
                } if k == last => format!("classifier {inputs}→{outputs}"),
                LayerShape::Linear {
                    inputs, outputs, ..
                } => format!("dense {inputs}→{outputs}"),
            },
            lls,
            bp,
        })
        .collect()
}
