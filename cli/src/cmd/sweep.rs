//! `lls sweep`: the lane sweep: cycles per sample (cycle model), ideal, predicted training
//! throughput, and with `--synth` the resources and Fmax of each point; JSON and a PNG.

use std::path::PathBuf;

use serde::Serialize;

use super::opts::{load_config, write_json, CmdResult};
use crate::plot::{self, Scale};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls sweep --config configs/mnist-mlp.toml --out build/sweep-mnist
  lls sweep --config configs/digits-mlp.toml --synth --out build/sweep-digits")]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// Output folder for sweep.json and sweep.png.
    #[arg(long, default_value = "build/sweep")]
    pub out: PathBuf,
    /// Also synthesize and place-and-route every point (minutes each).
    #[arg(long)]
    pub synth: bool,
}

#[derive(Serialize)]
struct Point {
    lanes: usize,
    cycles_per_sample: u64,
    ideal_cycles_per_sample: u64,
    efficiency: f64,
    /// Multipliers of all units (the classifier's lanes may differ: `classifier_lanes`).
    mac_lanes_total: u64,
    /// MACs ÷ (cycles × all lanes), lock step.
    mac_utilization: f64,
    /// At the config's clock target, from the cycle model.
    samples_per_second_at_target: f64,
    luts: Option<u64>,
    dsps: Option<u64>,
    brams: Option<u64>,
    fmax_mhz: Option<f64>,
    /// At Fmax, when synthesized.
    samples_per_second_at_fmax: Option<f64>,
    synth_note: Option<String>,
}

pub fn run(args: Args) -> CmdResult {
    let base = load_config(&args.config)?;
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let mut points = Vec::new();
    let max_lanes = base
        .layer_shapes()
        .iter()
        .map(|&(i, _)| i)
        .min()
        .unwrap_or(1);
    let mut lanes = 1;
    while lanes <= max_lanes {
        let mut cfg = base.clone();
        cfg.hardware.lanes = lanes;
        if cfg.validate().is_ok() {
            let design = rtl_gen::generate(&cfg, &text, true).map_err(|e| e.to_string())?;
            let m = &design.manifest;
            let mut point = Point {
                lanes,
                cycles_per_sample: m.cycles_per_sample,
                ideal_cycles_per_sample: m.ideal_cycles_per_sample,
                efficiency: m.ideal_cycles_per_sample as f64 / m.cycles_per_sample as f64,
                mac_lanes_total: m.mac_lanes_total,
                mac_utilization: rtl_gen::cycles::mac_utilization(
                    m.macs_per_sample,
                    m.mac_lanes_total,
                    m.cycles_per_sample as f64,
                ),
                samples_per_second_at_target: cfg.hardware.freq_mhz * 1e6
                    / m.cycles_per_sample as f64,
                luts: None,
                dsps: None,
                brams: None,
                fmax_mhz: None,
                samples_per_second_at_fmax: None,
                synth_note: None,
            };
            if args.synth {
                let opts = toolchain::FlowOptions {
                    device: toolchain::Device::from_name(cfg.hardware.target.name())
                        .map_err(|e| e.to_string())?,
                    board: None,
                    freq_mhz: cfg.hardware.freq_mhz,
                    out_root: args.out.join(format!("lanes{lanes}")),
                    pack: false,
                };
                match toolchain::flow::run(&design, &opts) {
                    Ok(r) => {
                        point.luts = Some(r.luts);
                        point.dsps = Some(r.dsps);
                        point.brams = Some(r.brams);
                        point.fmax_mhz = Some(r.fmax_mhz);
                        point.samples_per_second_at_fmax = Some(r.samples_per_second);
                    }
                    Err(e) => point.synth_note = Some(e.to_string()),
                }
            }
            println!(
                "lanes {:3}: {:8} cycles/sample (ideal {:8}, {:.1} %), {:.0} samples/s at {} MHz{}",
                lanes,
                point.cycles_per_sample,
                point.ideal_cycles_per_sample,
                100.0 * point.efficiency,
                point.samples_per_second_at_target,
                cfg.hardware.freq_mhz,
                match (&point.fmax_mhz, &point.synth_note) {
                    (Some(f), _) => format!(
                        ", Fmax {f:.1} MHz, {} LUTs, {} DSPs, {} BRAMs",
                        point.luts.unwrap_or(0),
                        point.dsps.unwrap_or(0),
                        point.brams.unwrap_or(0)
                    ),
                    (None, Some(n)) => format!(", synth: {n}"),
                    _ => String::new(),
                }
            );
            points.push(point);
        }
        lanes *= 2;
    }
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    write_json(&args.out.join("sweep.json"), &points)?;
    let line = |f: &dyn Fn(&Point) -> f64| {
        points
            .iter()
            .map(|p| (p.lanes as f64, f(p)))
            .collect::<Vec<_>>()
    };
    plot::sweep(
        &args.out.join("sweep.png"),
        &format!("{}: cycles per training sample vs MAC lanes", base.name),
        "MAC lanes per unit",
        "cycles per sample",
        Scale::Log,
        &[
            ("cycle model", line(&|p| p.cycles_per_sample as f64)),
            (
                "ideal (MACs / lanes)",
                line(&|p| p.ideal_cycles_per_sample as f64),
            ),
        ],
    )?;
    println!(
        "wrote {} and sweep.png",
        args.out.join("sweep.json").display()
    );
    Ok(())
}
