//! `lls run`: the main job in one command: data → golden model → RTL → bit-exact co-sim
//! → synthesis (when the tools are there) → `build/<preset>/report.{json,md}`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use golden_model::data::DatasetKind;
use golden_model::train::{train, Arith, TrainReport};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use testbenches::{CosimOptions, CosimReport};

use super::opts::{
    check_output_dir, check_output_not_input, config_path, config_text, data_dir, load_config,
    load_dataset, replace_dir, write_file, write_json, CmdResult,
};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls run --config configs/digits-mlp.toml
  lls run --config configs/mnist-mlp.toml --cosim-samples 500
  lls run --config configs/mnist-mlp.toml --epochs 1 --no-synth")]
pub struct Args {
    /// Config TOML, or a preset name as `lls presets` lists it.
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// Override learning.epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Samples to co-simulate (default: the digits training set, or 300 MNIST samples).
    #[arg(long)]
    pub cosim_samples: Option<usize>,
    /// Skip synthesis even if the tools are installed.
    #[arg(long)]
    pub no_synth: bool,
    /// Output folder (default build/<preset>), replaced as a whole once the run has written
    /// its report; files of other commands in it are kept.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
struct RtlSummary {
    top: String,
    verilog_lines: usize,
    memory_bits: u64,
    mac_lanes: usize,
    mac_lanes_total: u64,
    cycles_per_sample: u64,
    ideal_cycles_per_sample: u64,
}

#[derive(Serialize)]
struct RunReport {
    config: String,
    dataset: String,
    fixed: TrainReport,
    float: TrainReport,
    rtl: RtlSummary,
    cosim: CosimReport,
    bit_exact: bool,
    /// Synthesis and place-and-route for the config's target, when the tools are there.
    synth: Option<toolchain::SynthReport>,
    /// Why there is no synthesis report (skipped, tools missing, design does not fit …).
    synth_note: Option<String>,
}

fn bar(msg: String) -> ProgressBar {
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    b.set_message(msg);
    b
}

/// Fetches MNIST / Fashion-MNIST through the project's script when they are missing.
fn ensure_data(kind: DatasetKind) -> CmdResult {
    if kind == DatasetKind::Digits {
        return Ok(());
    }
    let dir = data_dir();
    let marker = dir.join(kind.name()).join("t10k-labels-idx1-ubyte");
    if marker.is_file() {
        return Ok(());
    }
    let script = Path::new("scripts/fetch-data");
    if !script.is_file() {
        return Err(format!(
            "{}: missing; run `scripts/fetch-data {}` from the repository root",
            marker.display(),
            dir.display()
        ));
    }
    eprintln!(
        "fetching datasets into {} with scripts/fetch-data …",
        dir.display()
    );
    let status = Command::new(script)
        .arg(&dir)
        .status()
        .map_err(|e| format!("scripts/fetch-data: cannot start: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`scripts/fetch-data {}` failed ({status})",
            dir.display()
        ));
    }
    Ok(())
}

/// What `lls run` writes into its folder; anything else found there (another command's
/// output, the user's files) is kept when a new run replaces the folder.
const RUN_OUTPUTS: [&str; 8] = [
    "curves.png",
    "resources.png",
    "trained-weights",
    "rtl",
    "cosim",
    "synth",
    "report.json",
    "report.md",
];

fn run_output(_: &Path, name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    RUN_OUTPUTS.contains(&&*name) || name.ends_with(".tmp")
}

pub fn run(args: Args) -> CmdResult {
    if args.cosim_samples == Some(0) {
        return Err("--cosim-samples 0: co-simulate at least 1 sample".into());
    }
    let mut cfg = load_config(&args.config)?;
    if let Some(e) = args.epochs {
        cfg.learning.epochs = e;
    }
    cfg.validate().map_err(|e| e.to_string())?;
    cfg.check_dataset(cfg.data.dataset)
        .map_err(|e| e.to_string())?;
    let text = config_text(&args.config)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("build").join(&cfg.name));
    // Everything that can fail without training is checked first: the output folder, the
    // design (rtl-gen refuses rules and widths it cannot build), the simulator, the data.
    check_output_dir("--out", &out)?;
    check_output_not_input(&[("--config", &args.config)], &[("--out", &out)])?;
    let design = rtl_gen::generate(&cfg, &text, true).map_err(|e| e.to_string())?;
    let cosim_opts = CosimOptions::new(0, PathBuf::new());
    toolchain::verilator().map_err(|e| format!("the co-simulation needs Verilator: {e}"))?;
    cosim_opts.compiler.resolve().map_err(|e| e.to_string())?;
    ensure_data(cfg.data.dataset)?;
    let data = load_dataset(cfg.data.dataset)?;
    // The run writes into a fresh folder that replaces `out` once the report is written:
    // a failure leaves the earlier run's report beside the earlier run's RTL.
    let bit_exact = replace_dir(&out, &run_output, |dir| {
        run_into(&args, &cfg, &text, &design, &data, dir, &out)
    })?;
    println!("report {}", out.join("report.md").display());
    if !bit_exact {
        return Err(format!(
            "the RTL did not match the golden model; see {}",
            out.join("report.md").display()
        ));
    }
    Ok(())
}

/// Trains, writes the RTL, co-simulates and synthesizes into `dir`, which becomes `out`;
/// returns whether the RTL was bit-exact.
fn run_into(
    args: &Args,
    cfg: &golden_model::Config,
    text: &str,
    design: &rtl_gen::Design,
    data: &golden_model::data::Dataset,
    dir: &Path,
    out: &Path,
) -> Result<bool, String> {
    let mut reports = Vec::new();
    let mut trained = None;
    for arith in [Arith::Fixed, Arith::Float] {
        let b = bar(format!("train {} {}", cfg.learning.rule, arith.name()));
        let (model, report) = train(cfg, data, arith, |done, total| {
            if done == 1 {
                b.set_length(total as u64);
            }
            if done % 512 == 0 || done == total {
                b.set_position(done as u64);
            }
        });
        b.finish_and_clear();
        println!(
            "train  {} {}: test {:.2} % after {} epochs ({:.0} samples/s)",
            data.name,
            arith.name(),
            100.0 * report.test_accuracy,
            report.epochs,
            report.samples_per_second
        );
        reports.push(report);
        if let golden_model::train::Model::Fixed(net) = model {
            trained = Some(net);
        }
    }
    let float = reports.pop().expect("float report");
    let fixed = reports.pop().expect("fixed report");
    let curve = |r: &TrainReport| {
        r.history
            .iter()
            .map(|h| (h.epoch as f64, 100.0 * h.test_accuracy))
            .collect::<Vec<_>>()
    };
    crate::plot::learning_curves(
        &dir.join("curves.png"),
        &format!("{} on {}: test accuracy (%)", cfg.learning.rule, data.name),
        &[
            ("fixed point (the RTL's spec)", curve(&fixed)),
            ("float", curve(&float)),
        ],
    )?;
    if let Some(net) = &trained {
        // The trained state as the RTL's $readmemh images, ready to load.
        rtl_gen::mem::write_state_images(cfg, net, &dir.join("trained-weights"))
            .map_err(|e| e.to_string())?;
    }

    design.write(&dir.join("rtl")).map_err(|e| e.to_string())?;
    let rtl = RtlSummary {
        top: design.top.clone(),
        verilog_lines: design
            .files
            .iter()
            .filter(|(n, _)| n.ends_with(".v"))
            .map(|(_, t)| t.lines().count())
            .sum(),
        memory_bits: design.manifest.memory_bits,
        mac_lanes: design.manifest.mac_lanes,
        mac_lanes_total: design.manifest.mac_lanes_total,
        cycles_per_sample: design.manifest.cycles_per_sample,
        ideal_cycles_per_sample: design.manifest.ideal_cycles_per_sample,
    };
    println!(
        "rtl    {}: {} lines of Verilog, {} memory bits in {}",
        rtl.top,
        rtl.verilog_lines,
        rtl.memory_bits,
        out.join("rtl").display()
    );

    let samples = args.cosim_samples.unwrap_or(match cfg.data.dataset {
        DatasetKind::Digits => data.train.len(),
        _ => 300,
    });
    let opts = CosimOptions {
        // Every weight after every sample where that stays cheap, else every 100 samples.
        weights_every: if samples
            * design
                .manifest
                .params
                .layers
                .iter()
                .map(|l| l.inputs * l.outputs)
                .sum::<usize>()
            <= 50_000_000
        {
            1
        } else {
            100
        },
        ..CosimOptions::new(samples, dir.join("cosim"))
    };
    let b = bar("co-simulate (verilator)".into());
    b.set_length(samples as u64);
    let (cosim, _) =
        testbenches::run_with_progress(cfg, text, &data.train, &opts, &mut |done, _| {
            b.set_position(done as u64)
        })
        .map_err(|e| e.to_string())?;
    b.finish_and_clear();
    let bit_exact = cosim.mismatches == 0 && cosim.cycle_model_deviations == 0;
    match &cosim.first_mismatch {
        None => println!(
            "cosim  {} samples bit-exact, {:.0} cycles/sample (cycle model {}), {:.2} M cycles/s simulated",
            cosim.samples,
            cosim.cycles_per_sample,
            cosim.predicted_cycles_per_sample,
            cosim.sim_cycles_per_second / 1e6
        ),
        Some(m) => println!("cosim  {m}"),
    }

    let (synth, synth_note) = if args.no_synth {
        (None, Some("skipped (--no-synth)".to_string()))
    } else {
        // The golden model's rate beside the chip's: the fixed-point training above, timed
        // on this thread in this run.
        let golden = (
            fixed.samples_per_second,
            format!(
                "this run's fixed-point training: {} samples × {} epochs, one thread, batch 1",
                fixed.train_samples, fixed.epochs
            ),
        );
        let (report, note) = synthesize(cfg, design, dir, golden);
        // A note names the logs where they will be, in `out`.
        let staged = dir.display().to_string();
        let note = note.map(|n| n.replace(&staged, &out.display().to_string()));
        (report, note)
    };
    if let Some(y) = &synth {
        let pct = |used: u64, avail: u64| 100.0 * used as f64 / avail.max(1) as f64;
        crate::plot::bars(
            &dir.join("resources.png"),
            &format!("{} on {}: resources used (%)", cfg.name, y.target),
            &[
                "LUTs".to_string(),
                "DSPs".to_string(),
                "block RAMs".to_string(),
            ],
            &[(
                y.target.as_str(),
                vec![
                    pct(y.luts, y.luts_available),
                    pct(y.dsps, y.dsps_available),
                    pct(y.brams, y.brams_available),
                ],
            )],
        )?;
    }
    let report = RunReport {
        config: cfg.name.clone(),
        dataset: data.name.clone(),
        fixed,
        float,
        rtl,
        cosim,
        bit_exact,
        synth,
        synth_note,
    };
    write_json(&dir.join("report.json"), &report)?;
    write_file(&dir.join("report.md"), markdown(&report).as_bytes())?;
    Ok(bit_exact)
}

/// Synthesis, place-and-route and pack for the config's target, with `golden` (the golden
/// model's samples/s on one core and how it was timed) beside the chip-level figures. A
/// missing tool or a design that does not fit is reported, not fatal: the RTL and its
/// co-simulation stand on their own.
fn synthesize(
    cfg: &golden_model::Config,
    design: &rtl_gen::Design,
    out: &Path,
    golden: (f64, String),
) -> (Option<toolchain::SynthReport>, Option<String>) {
    let device = match toolchain::Device::from_name(cfg.hardware.target.name()) {
        Ok(d) => d,
        Err(e) => return (None, Some(e.to_string())),
    };
    let opts = toolchain::FlowOptions {
        device,
        board: None,
        freq_mhz: cfg.hardware.freq_mhz,
        out_root: out.join("synth"),
        pack: true,
        seeds: vec![toolchain::FlowOptions::DEFAULT_SEED],
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!(
        "synthesize for {} (yosys, nextpnr)",
        cfg.hardware.target.name()
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    let result = toolchain::flow::run(design, &opts);
    spinner.finish_and_clear();
    match result {
        Ok(mut r) => {
            r.chip = r.chip.with_golden(golden.0, golden.1);
            // The flow wrote its report.json before the golden figure joined it.
            if let Err(e) = write_json(
                &opts.build_dir(&design.manifest.config).join("report.json"),
                &r,
            ) {
                return (None, Some(e));
            }
            println!("synth  {}", r.summary());
            (Some(r), None)
        }
        Err(e) => {
            println!("synth  not done: {e}");
            (None, Some(e.to_string()))
        }
    }
}

fn markdown(r: &RunReport) -> String {
    let mut s = String::new();
    let pct = |x: f64| format!("{:.2} %", 100.0 * x);
    s.push_str(&format!("# {}: LLS on-chip training report\n\n", r.config));
    s.push_str(&format!(
        "Dataset: {} ({} train / {} test samples).\n\n",
        r.dataset, r.fixed.train_samples, r.fixed.test_samples
    ));
    s.push_str("## Accuracy (golden model)\n\n![learning curves](curves.png)\n\n| epoch | fixed test | float test | fixed train (streamed) |\n| ---: | ---: | ---: | ---: |\n");
    for (a, b) in r.fixed.history.iter().zip(&r.float.history) {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            a.epoch,
            pct(a.test_accuracy),
            pct(b.test_accuracy),
            pct(a.train_accuracy)
        ));
    }
    let m = &r.fixed.macs_per_sample;
    s.push_str(&format!(
        "\nMACs per sample: forward {}, learning {}, update {}. Memory: {} bytes (fixed point). \
         Throughput on one core: fixed {:.0}, float {:.0} samples/s.\n\n",
        m.forward,
        m.learning,
        m.update,
        r.fixed.memory_bytes,
        r.fixed.samples_per_second,
        r.float.samples_per_second
    ));
    s.push_str("## RTL\n\n");
    s.push_str(&format!(
        "Top `{}`: {} lines of Verilog, {} memory bits, {} MAC lanes per hidden unit ({} in all). Cycle \
         model: {} cycles per training sample (ideal MACs ÷ lanes: {}).\n\n",
        r.rtl.top,
        r.rtl.verilog_lines,
        r.rtl.memory_bits,
        r.rtl.mac_lanes,
        r.rtl.mac_lanes_total,
        r.rtl.cycles_per_sample,
        r.rtl.ideal_cycles_per_sample
    ));
    s.push_str("## Co-simulation (Verilator vs golden model)\n\n");
    let c = &r.cosim;
    s.push_str(&format!(
        "- samples: {}\n- verdict: **{}**\n- values compared: {} (every prediction and softmax error; every weight {} times)\n\
         - cycles per sample: {:.1} measured, {} predicted\n- simulation: {:.1} s, {:.2} M cycles/s\n",
        c.samples,
        if r.bit_exact { "bit-exact".to_string() } else { format!("MISMATCH: {:?}", c.first_mismatch) },
        c.values_compared,
        c.weight_checks,
        c.cycles_per_sample,
        c.predicted_cycles_per_sample,
        c.sim_seconds,
        c.sim_cycles_per_second / 1e6
    ));
    s.push_str("\n## FPGA (yosys + nextpnr)\n\n");
    match (&r.synth, &r.synth_note) {
        (Some(y), _) => s.push_str(&format!(
            "![resources](resources.png)\n\n\
             | target | LUTs | FFs | DSPs | BRAMs | Fmax | target clock | timing | training at Fmax |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n\
             | {} | {}/{} | {} | {}/{} | {}/{} | {:.2} MHz | {:.1} MHz | {} | {:.0} samples/s |\n\n\
             Critical path: {}.\n\n{}",
            y.target,
            y.luts,
            y.luts_available,
            y.ffs,
            y.dsps,
            y.dsps_available,
            y.brams,
            y.brams_available,
            y.fmax_mhz,
            y.freq_target_mhz,
            if y.timing_met { "met" } else { "**missed**" },
            y.chip.samples_per_second,
            y.critical_path.as_ref().map_or("not reported".to_string(), |c| format!(
                "{:.1} ns ({:.1} logic, {:.1} routing) from `{}` to `{}` through {}",
                c.delay_ns,
                c.logic_ns,
                c.routing_ns,
                c.from,
                c.to,
                c.signals.join(" → ")
            )),
            chip_markdown(&y.chip),
        )),
        (None, Some(note)) => s.push_str(&format!("Not synthesized: {note}\n")),
        (None, None) => s.push_str("Not synthesized.\n"),
    }
    s
}

/// The chip-level figures: the multipliers, the rate at Fmax against the multiplier-bound
/// limit, and the golden model on one core beside them.
fn chip_markdown(c: &toolchain::ChipFigures) -> String {
    let golden = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or("not measured".into(), f);
    format!(
        "### Chip-level figures\n\n\
         | multipliers | DSP MACs/sample | cycles/sample (streaming / lock step) | samples/s at Fmax (streaming / lock step) | multiplier-bound limit | of limit | golden model, one core | chip ÷ golden |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {}/{} | {} | {} / {} | {:.0} / {:.0} | {:.0} samples/s | {:.2} % | {} | {} |\n\n\
         samples/s at Fmax = Fmax ÷ cycles per sample (streaming: the steady-state period of \
         samples back to back); limit = multipliers available × Fmax ÷ DSP MACs per sample; \
         of limit and chip ÷ golden use the streaming rate; golden model: {}.\n",
        c.multipliers_used,
        c.multipliers_available,
        c.macs_per_sample,
        c.streaming_cycles_per_sample,
        c.lock_step_cycles_per_sample,
        c.samples_per_second,
        c.lock_step_samples_per_second,
        c.limit_samples_per_second,
        100.0 * c.fraction_of_limit,
        golden(c.golden_samples_per_second, &|g| format!("{g:.0} samples/s")),
        golden(c.fraction_of_golden, &|f| format!("{f:.2}×")),
        c.golden_note.as_deref().unwrap_or("not measured"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_figures_table_names_every_figure_and_the_golden_rate() {
        let cycles = toolchain::SampleCycles {
            streaming: 1_233,
            lock_step: 1_428,
        };
        let chip = toolchain::ChipFigures::new(5, 8, 52.15, cycles, 4_736)
            .with_golden(539_627.0, "this run's fixed-point training");
        let md = chip_markdown(&chip);
        assert!(md.contains("cycles/sample (streaming / lock step)"), "{md}");
        assert!(
            md.contains("| 5/8 | 4736 | 1233 / 1428 | 42295 / 36520 | 88091 samples/s | 48.01 % | 539627 samples/s | 0.08× |"),
            "{md}"
        );
        assert!(
            md.contains("golden model: this run's fixed-point training."),
            "{md}"
        );
        let missing = chip_markdown(&chip.without_golden("not timed"));
        assert!(
            missing.contains("| not measured | not measured |"),
            "{missing}"
        );
    }
}
