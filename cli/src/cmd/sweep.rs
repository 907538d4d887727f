//! `lls sweep`: the lane × layer-width sweep: cycles per sample (cycle model), ideal, MAC
//! utilization, predicted training throughput, and with `--synth` the resources and Fmax of
//! each point; JSON and PNGs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use golden_model::config::Config;

use super::opts::{
    check_output_dir, check_output_not_input, config_path, config_text, load_config, replace_dir,
    write_json, CmdResult,
};
use crate::plot::{self, Scale};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls sweep --config configs/mnist-mlp.toml --out build/sweep-mnist
  lls sweep --config configs/digits-mlp.toml --hidden 16,32,64 --out build/sweep-widths
  lls sweep --config configs/digits-mlp.toml --synth --out build/sweep-digits")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// Output folder for sweep.json and sweep.png, replaced as a whole (files of other
    /// commands in it are kept).
    #[arg(long, default_value = "build/sweep")]
    pub out: PathBuf,
    /// Hidden-layer widths to sweep (each replaces every hidden layer's width); default:
    /// the config's.
    #[arg(long, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Also synthesize and place-and-route every point (minutes each).
    #[arg(long)]
    pub synth: bool,
}

#[derive(Serialize)]
struct Point {
    /// Hidden-layer widths of this point.
    hidden: Vec<usize>,
    lanes: usize,
    /// Lock step: one sample in flight.
    cycles_per_sample: u64,
    /// Streaming: the steady-state period of samples back to back.
    steady_cycles_per_sample: u64,
    ideal_cycles_per_sample: u64,
    /// `ideal_cycles_per_sample / steady_cycles_per_sample`.
    efficiency: f64,
    /// Multipliers of all units (the classifier's lanes may differ: `classifier_lanes`).
    mac_lanes_total: u64,
    /// MACs ÷ (cycles × all lanes), streaming.
    mac_utilization: f64,
    /// At the config's clock target, streaming, from the cycle model.
    samples_per_second_at_target: f64,
    luts: Option<u64>,
    dsps: Option<u64>,
    brams: Option<u64>,
    fmax_mhz: Option<f64>,
    /// At Fmax, streaming, when synthesized.
    samples_per_second_at_fmax: Option<f64>,
    synth_note: Option<String>,
}

/// Whether `name` in an earlier sweep folder is one of the sweep's outputs.
fn swept(_: &Path, name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    ["sweep.json", "sweep.png", "sweep-fmax.png"].contains(&&*name)
        || (name.starts_with("hidden") && name.contains("-lanes"))
        || name.ends_with(".tmp")
}

pub fn run(args: Args) -> CmdResult {
    check_output_dir("--out", &args.out)?;
    check_output_not_input(&[("--config", &args.config)], &[("--out", &args.out)])?;
    let base = load_config(&args.config)?;
    let text = config_text(&args.config)?;
    if args.synth {
        let device =
            toolchain::Device::from_name(base.hardware.target.name()).map_err(|e| e.to_string())?;
        toolchain::flow::Tools::locate(device.family).map_err(|e| format!("--synth: {e}"))?;
    }
    let shapes = shapes(&args, &base)?;
    replace_dir(&args.out, &swept, |dir| {
        sweep_into(&args, &shapes, dir, &text)
    })?;
    println!(
        "wrote {} and sweep.png",
        args.out.join("sweep.json").display()
    );
    Ok(())
}

/// Every point, its JSON and its charts, into `dir` (which becomes `--out`).
fn sweep_into(args: &Args, shapes: &[Config], dir: &Path, text: &str) -> CmdResult {
    let mut points = Vec::new();
    for shaped in shapes {
        sweep_lanes(args, shaped, text, dir, &mut points)?;
    }
    write_json(&dir.join("sweep.json"), &points)?;
    plot_points(dir, &shapes[0].name, &points)
}

/// The config once per `--hidden` width (every hidden layer that wide), each validated,
/// or the config itself.
fn shapes(args: &Args, base: &Config) -> Result<Vec<Config>, String> {
    if args.hidden.is_empty() {
        return Ok(vec![base.clone()]);
    }
    args.hidden
        .iter()
        .map(|&w| {
            let mut shaped = base.clone();
            shaped.network.hidden.iter_mut().for_each(|h| *h = w);
            shaped
                .validate()
                .map_err(|e| format!("--hidden {w}: {e}"))?;
            Ok(shaped)
        })
        .collect()
}

/// One point per hidden-unit lane count the config accepts (a divisor of every fan-in it
/// applies to) whose units' multipliers all fit the target's DSPs, appended to `points`.
fn sweep_lanes(
    args: &Args,
    base: &Config,
    text: &str,
    dir: &Path,
    points: &mut Vec<Point>,
) -> CmdResult {
    let device =
        toolchain::Device::from_name(base.hardware.target.name()).map_err(|e| e.to_string())?;
    for lanes in 1..=device.dsps as usize {
        let mut cfg = base.clone();
        cfg.hardware.lanes = lanes;
        let multipliers = match cfg.hardware.share_multipliers {
            true => (0..cfg.layer_shapes().len()).map(|k| cfg.lanes_of(k)).max(),
            false => Some((0..cfg.layer_shapes().len()).map(|k| cfg.lanes_of(k)).sum()),
        };
        if cfg.validate().is_ok() && multipliers.unwrap_or(0) <= device.dsps as usize {
            let design = rtl_gen::generate(&cfg, text, true).map_err(|e| e.to_string())?;
            let m = &design.manifest;
            let mut point = Point {
                hidden: cfg.network.hidden.clone(),
                lanes,
                cycles_per_sample: m.cycles_per_sample,
                steady_cycles_per_sample: m.steady_cycles_per_sample,
                ideal_cycles_per_sample: m.ideal_cycles_per_sample,
                efficiency: m.ideal_cycles_per_sample as f64 / m.steady_cycles_per_sample as f64,
                mac_lanes_total: m.mac_lanes_total,
                mac_utilization: rtl_gen::cycles::mac_utilization(
                    m.macs_per_sample,
                    m.mac_lanes_total,
                    m.steady_cycles_per_sample as f64,
                ),
                samples_per_second_at_target: toolchain::ChipFigures::throughput(
                    cfg.hardware.freq_mhz,
                    m.steady_cycles_per_sample,
                ),
                luts: None,
                dsps: None,
                brams: None,
                fmax_mhz: None,
                samples_per_second_at_fmax: None,
                synth_note: None,
            };
            if args.synth {
                let opts = toolchain::FlowOptions {
                    device,
                    board: None,
                    freq_mhz: cfg.hardware.freq_mhz,
                    out_root: dir.join(format!(
                        "hidden{}-lanes{lanes}",
                        cfg.network.hidden.first().copied().unwrap_or(0)
                    )),
                    pack: false,
                    seeds: vec![toolchain::FlowOptions::DEFAULT_SEED],
                };
                match toolchain::flow::run(&design, &opts) {
                    Ok(r) => {
                        point.luts = Some(r.luts);
                        point.dsps = Some(r.dsps);
                        point.brams = Some(r.brams);
                        point.fmax_mhz = Some(r.fmax_mhz);
                        point.samples_per_second_at_fmax = Some(r.chip.samples_per_second);
                    }
                    // The note names the logs where they will be, in --out.
                    Err(e) => {
                        point.synth_note =
                            Some(e.to_string().replace(
                                &dir.display().to_string(),
                                &args.out.display().to_string(),
                            ))
                    }
                }
            }
            println!(
                "hidden {:?} lanes {:3}: {:8} cycles/sample streaming, {:8} lock step (ideal {:8}, {:.1} %), MACs {:.1} % busy, {:.0} samples/s at {} MHz{}",
                point.hidden,
                lanes,
                point.steady_cycles_per_sample,
                point.cycles_per_sample,
                point.ideal_cycles_per_sample,
                100.0 * point.efficiency,
                100.0 * point.mac_utilization,
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
    }
    Ok(())
}

/// sweep.png: cycles per sample against lanes, the cycle model and the ideal for each
/// width; with synthesized points, samples/s at Fmax too, where the knee shows.
/// One value of a point to plot (`None`: the point has none, e.g. not synthesized).
type Metric = dyn Fn(&Point) -> Option<f64>;

fn plot_points(dir: &Path, name: &str, points: &[Point]) -> CmdResult {
    let mut widths: Vec<&Vec<usize>> = points.iter().map(|p| &p.hidden).collect();
    widths.dedup();
    // One line per width and metric: (lanes, metric) of the points that have the metric.
    let series = |metrics: &[(&str, &Metric)]| {
        let mut out: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for &h in &widths {
            for &(what, f) in metrics {
                let line: Vec<(f64, f64)> = points
                    .iter()
                    .filter(|p| &p.hidden == h)
                    .filter_map(|p| f(p).map(|y| (p.lanes as f64, y)))
                    .collect();
                if !line.is_empty() {
                    let label = if widths.len() > 1 {
                        format!("hidden {h:?}: {what}")
                    } else {
                        what.to_string()
                    };
                    out.push((label, line));
                }
            }
        }
        out
    };
    let draw = |file: &str, title: String, y_label: &str, lines: &[(String, Vec<(f64, f64)>)]| {
        let refs: Vec<(&str, Vec<(f64, f64)>)> =
            lines.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        plot::sweep(
            &dir.join(file),
            &title,
            "MAC lanes per hidden unit",
            y_label,
            Scale::Log,
            &refs,
        )
    };
    draw(
        "sweep.png",
        format!("{name}: cycles per training sample vs MAC lanes"),
        "cycles per sample",
        &series(&[
            ("streaming (cycle model)", &|p| {
                Some(p.steady_cycles_per_sample as f64)
            }),
            ("lock step (cycle model)", &|p| {
                Some(p.cycles_per_sample as f64)
            }),
            ("ideal (MACs / lanes)", &|p| {
                Some(p.ideal_cycles_per_sample as f64)
            }),
        ]),
    )?;
    if points
        .iter()
        .any(|p| p.samples_per_second_at_fmax.is_some())
    {
        // The Fmax line ends at the last point that fits; the target-clock line goes on,
        // so the knee is where they part.
        draw(
            "sweep-fmax.png",
            format!("{name}: training samples/s vs MAC lanes"),
            "samples per second",
            &series(&[
                ("at Fmax (placed and routed)", &|p| {
                    p.samples_per_second_at_fmax
                }),
                ("at the target clock, if it fit", &|p| {
                    Some(p.samples_per_second_at_target)
                }),
            ]),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_stop_at_the_targets_dsp_count() {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/digits-mlp.toml"
        ));
        let base = load_config(&path).expect("preset loads");
        let text = std::fs::read_to_string(&path).expect("preset reads");
        let args = Args {
            config: path,
            out: PathBuf::from("unused"),
            hidden: Vec::new(),
            synth: false,
        };
        let mut points = Vec::new();
        sweep_lanes(&args, &base, &text, Path::new("unused"), &mut points).expect("sweep");
        // Divisors of the hidden unit's fan-in (64) whose lanes fit the UP5K's 8 DSP tiles
        // beside the classifier's one: 8 + 1 do not.
        let lanes: Vec<usize> = points.iter().map(|p| p.lanes).collect();
        assert_eq!(lanes, [1, 2, 4]);
        for p in &points {
            // A multiplier set per unit: the hidden unit's forward and update MACs (64×32)
            // on its lanes set the ideal, the classifier's (32×10 on one lane) fit beside.
            assert_eq!(p.mac_lanes_total, p.lanes as u64 + 1);
            assert_eq!(p.ideal_cycles_per_sample * p.lanes as u64, 2 * 64 * 32);
            assert!(p.cycles_per_sample > p.ideal_cycles_per_sample);
            assert!(p.steady_cycles_per_sample > p.ideal_cycles_per_sample);
            assert!(p.steady_cycles_per_sample <= p.cycles_per_sample);
        }
    }

    #[test]
    fn lane_counts_that_are_not_powers_of_two_are_swept() {
        let path = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/mnist-mlp.toml"
        ));
        let base = load_config(&path).expect("preset loads");
        let text = std::fs::read_to_string(&path).expect("preset reads");
        let args = Args {
            config: path,
            out: PathBuf::from("unused"),
            hidden: Vec::new(),
            synth: false,
        };
        let mut points = Vec::new();
        sweep_lanes(&args, &base, &text, Path::new("unused"), &mut points).expect("sweep");
        // Divisors of 784 whose units fit the ECP5-85k's 156 multipliers beside the
        // classifier's 4.
        let lanes: Vec<usize> = points.iter().map(|p| p.lanes).collect();
        assert_eq!(lanes, [1, 2, 4, 7, 8, 14, 16, 28, 49, 56, 98, 112]);
        let preset = points.iter().find(|p| p.lanes == 98).expect("the preset's");
        assert_eq!(
            (preset.steady_cycles_per_sample, preset.cycles_per_sample),
            (4_183, 4_966)
        );
    }
}
