//! `lls cosim`: train on the RTL in simulation and hold it to the golden model bit for bit.

use std::path::PathBuf;

use golden_model::data::DatasetKind;
use testbenches::build::{Compiler, Simulator};
use testbenches::CosimOptions;

use super::opts::{
    check_json_output, config_path, config_text, load_config, load_dataset, use_dataset,
    write_json, CmdResult,
};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls cosim --config configs/digits-mlp.toml --samples 1437
  lls cosim --config configs/mnist-mlp.toml --samples 300 --weights-every 100 --json build/cosim.json
  lls cosim --config configs/digits-mlp.toml --samples 50 --simulator iverilog --stall 0.3
  lls cosim --config configs/mnist-mlp.toml --samples 60000 --burst 1000 --weights-every 10000 --segments 2 --pgo
  lls cosim --config configs/digits-mlp.toml --checkpoint build/digits.ckpt.json --samples 50

With --checkpoint the RTL powers up in the checkpoint's state (weights, modulation, LFSR
states) and the golden model starts there too, its learning-rate schedule at the
checkpoint's samples; the samples still come from the start of the training split.")]
pub struct Args {
    #[arg(long, value_parser = config_path)]
    pub config: PathBuf,
    /// Dataset (default: the config's data.dataset); samples come from its training split.
    #[arg(long)]
    pub dataset: Option<DatasetKind>,
    /// Samples to co-simulate: at least 1, at most the training split's (more are capped).
    #[arg(long, default_value_t = 100)]
    pub samples: usize,
    #[arg(long, default_value = "verilator")]
    pub simulator: Simulator,
    /// Probability of a valid/ready stall on the streams each cycle (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub stall: f64,
    /// Compare every weight every N samples (0: only after the last one).
    #[arg(long, default_value_t = 1)]
    pub weights_every: usize,
    /// Reset the design in the middle of streaming sample N (counted from 0, below
    /// --samples).
    #[arg(long)]
    pub reset_at: Option<usize>,
    /// Stream bursts of N samples back to back (throughput, layers overlapped) instead of
    /// one sample at a time; 0 = lock step, where the cycle model is checked.
    #[arg(long, default_value_t = 0)]
    pub burst: usize,
    /// Build the inference-only design and check its predictions.
    #[arg(long)]
    pub inference: bool,
    /// Write an FST waveform around the first mismatch.
    #[arg(long)]
    pub trace: bool,
    /// Co-simulate N segments of the samples side by side, one simulator process (and core)
    /// each, all of one build.
    /// Segment k powers up in the golden model's state at its first sample, which
    /// segment k-1 checks against the RTL's every weight after its last sample.
    #[arg(long, default_value_t = 1)]
    pub segments: usize,
    /// Profile-guided simulator build: build, train on the first segment's first samples, rebuild
    /// with that profile. Two builds more; 1.3-1.4x the simulated cycles per second on the
    /// banked mnist design, nothing measurable unbanked (docs/performance.md).
    #[arg(long)]
    pub pgo: bool,
    /// C++ compiler of the Verilator simulator: auto (clang++ where it and llvm-profdata
    /// are installed, else g++), gcc or clang.
    #[arg(long, default_value = "auto")]
    pub compiler: Compiler,
    /// Scratch folder (default build/<preset>/cosim).
    #[arg(long)]
    pub work: Option<PathBuf>,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub state: super::gen::StateArgs,
}

/// The JSON `lls cosim` writes: the co-sim report and, after a bit-exact learning run,
/// the test-split accuracy of the weights the RTL holds.
#[derive(serde::Serialize)]
struct CosimOutput<'a> {
    #[serde(flatten)]
    report: &'a testbenches::CosimReport,
    rtl_test_accuracy: Option<f64>,
}

pub fn run(args: Args) -> CmdResult {
    if args.samples == 0 {
        return Err("--samples: is 0; co-simulate at least 1 sample (default 100)".into());
    }
    if !(0.0..1.0).contains(&args.stall) {
        return Err(format!(
            "--stall: {} is not in 0..1; use e.g. 0.3",
            args.stall
        ));
    }
    check_reset_at(args.reset_at, args.samples, None)?;
    check_json_output(&args.config, args.json.as_deref())?;
    args.state.check()?;
    if let Some(json) = &args.json {
        super::opts::check_output_not_input(&args.state.inputs(), &[("--json", json)])?;
    }
    let mut cfg = load_config(&args.config)?;
    use_dataset(&mut cfg, args.dataset)?;
    let text = config_text(&args.config)?;
    let start = args.state.checkpoint_state(&cfg, &text)?;
    let data = load_dataset(cfg.data.dataset)?;
    // The run co-simulates at most the training split.
    if data.train.len() < args.samples {
        check_reset_at(args.reset_at, data.train.len(), Some(&data.name))?;
    }
    let work = args
        .work
        .unwrap_or_else(|| PathBuf::from("build").join(&cfg.name).join("cosim"));
    let opts = CosimOptions {
        simulator: args.simulator,
        stall: args.stall,
        weights_every: args.weights_every,
        reset_at: args.reset_at,
        trace: args.trace,
        burst: args.burst,
        learn: !args.inference,
        segments: args.segments,
        pgo: args.pgo,
        compiler: args.compiler,
        resume_from: start,
        ..CosimOptions::new(args.samples, work)
    };
    let (report, net) =
        testbenches::run(&cfg, &text, &data.train, &opts).map_err(|e| e.to_string())?;
    // Every weight was compared after the last sample, so when the run is bit-exact the
    // model's weights are the ones the RTL learned: their test accuracy is the RTL's.
    let rtl_test_accuracy = (report.mismatches == 0 && opts.learn).then(|| {
        let test = &data.test;
        let right = (0..test.len())
            .filter(|&i| net.predict(test.image(i)) == test.label(i) as usize)
            .count();
        right as f64 / test.len().max(1) as f64
    });
    match &report.first_mismatch {
        None => println!(
            "{} {:?}: {} samples bit-exact{} ({} values compared, weights checked {} times), {:.1} cycles/sample (model {}, ideal {}), {:.0} cycles/s simulated{}",
            report.config,
            report.simulator,
            report.samples,
            if report.segments > 1 {
                format!(" in {} segments side by side", report.segments)
            } else {
                String::new()
            },
            report.values_compared,
            report.weight_checks,
            report.cycles_per_sample,
            report.predicted_cycles_per_sample,
            report.ideal_cycles_per_sample,
            report.sim_cycles_per_second,
            report
                .sim_compiler
                .as_ref()
                .map_or(String::new(), |c| format!(" ({c} build)"))
        ),
        Some(m) => println!("{m}"),
    }
    if let Some(steady) = report.steady_cycles_per_sample {
        println!(
            "streaming: {steady} cycles between two predictions in the steady state (model {})",
            report.predicted_steady_cycles_per_sample
        );
    }
    if let Some(acc) = rtl_test_accuracy {
        println!(
            "test accuracy of the weights the RTL learned: {:.2} % ({} test samples)",
            100.0 * acc,
            data.test.len()
        );
    }
    if let Some(path) = &args.json {
        write_json(
            path,
            &CosimOutput {
                report: &report,
                rtl_test_accuracy,
            },
        )?;
    }
    if report.mismatches > 0 {
        return Err("RTL and golden model differ (see the MISMATCH line)".into());
    }
    if report.stall == 0.0 && report.cycle_model_deviations > 0 {
        return Err(format!(
            "{} samples took other than the cycle model's {} cycles",
            report.cycle_model_deviations, report.predicted_cycles_per_sample
        ));
    }
    Ok(())
}

/// `--reset-at` must name one of the `samples` co-simulated: `split` names the data set
/// when its training split is what limits them.
fn check_reset_at(reset_at: Option<usize>, samples: usize, split: Option<&str>) -> CmdResult {
    match reset_at {
        Some(r) if r >= samples => Err(match split {
            None => format!(
                "--reset-at: sample {r} is not among the {samples} samples co-simulated; use 0 \
                 to {}, or raise --samples",
                samples - 1
            ),
            Some(name) => format!(
                "--reset-at: sample {r} is not among the {samples} samples co-simulated (the \
                 {name} training split holds {samples}); use 0 to {}",
                samples - 1
            ),
        }),
        _ => Ok(()),
    }
}
