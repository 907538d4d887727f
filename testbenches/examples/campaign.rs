//! Random-config co-simulation campaign: many random valid configs, each trained for a few
//! tens of samples in the RTL and in the golden model side by side, every weight compared
//! every sample. The configs vary rule (lls, lls-m, lls-mxm), layer count and sizes, lanes
//! and classifier lanes, widths, rounding (floor, half-up, stochastic updates), basis,
//! activation, banked weights, the shared multiplier pool, learning rates and input scale
//! ([`Knobs::campaign`]: three in four are narrow and fast-learning, so that activations,
//! deltas, weights and modulation saturate); the runs vary stalls, a reset in the middle of
//! a sample and back-to-back bursts. The golden model counts the values each saturating
//! stage clipped to each rail ([`golden_model::spec::rails`]).
//!
//! ```text
//! cargo run -p testbenches --example campaign -- \
//!     [--configs 300] [--samples 50] [--seed 1] [--jobs 1] \
//!     [--simulator verilator|iverilog] [--json target/campaign/summary.json] [--keep]
//!     [--rails-only] [--burst N]
//! ```
//!
//! `--burst N` streams every config in bursts of N samples without stalls or resets, so
//! that each burst's cycles, and each gap between its predictions, are held to the cycle
//! model's (`rtl_gen::cycles::CycleModel::burst_cycles`, `prediction_gaps`); a run whose
//! cycles deviate fails.
//!
//! `--rails-only` skips the RTL: it prints how many configs clip each stage to both rails
//! in the golden model (seconds for hundreds of configs), to tune the draws.
//!
//! Writes a JSON summary (every config's TOML, options, outcome, seconds and rail counts;
//! the totals) and exits 1 if any config mismatched or failed to build or run. A config's
//! scratch folder (`target/campaign/<name>`) is removed when it passes, kept otherwise.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use golden_model::data::{default_data_dir, load, DatasetKind, Split};
use golden_model::rng::SplitMix64;
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::rails::{Rails, Stage};
use serde::Serialize;
use testbenches::build::Simulator;
use testbenches::{run, CosimOptions};

#[path = "../../rtl-gen/tests/support/random_configs.rs"]
mod random_configs;

use random_configs::Knobs;

struct Args {
    configs: usize,
    samples: usize,
    seed: u64,
    jobs: usize,
    simulator: Simulator,
    json: PathBuf,
    keep: bool,
    rails_only: bool,
    /// Every run in bursts of this many samples, no stalls, no reset.
    burst: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = Args {
        configs: 300,
        samples: 50,
        seed: 1,
        jobs: 1,
        simulator: Simulator::Verilator,
        json: workspace.join("target/campaign/summary.json"),
        keep: false,
        rails_only: false,
        burst: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--keep" || flag == "--rails-only" {
            args.keep |= flag == "--keep";
            args.rails_only |= flag == "--rails-only";
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--configs" => args.configs = number()? as usize,
            "--samples" => args.samples = number()? as usize,
            "--seed" => args.seed = number()?,
            "--jobs" => args.jobs = (number()? as usize).max(1),
            "--simulator" => args.simulator = value.parse()?,
            "--json" => args.json = PathBuf::from(value),
            "--burst" => args.burst = Some((number()? as usize).max(1)),
            _ => {
                return Err(format!(
                    "unknown option {flag}; see the header of testbenches/examples/campaign.rs"
                ))
            }
        }
    }
    if args.configs == 0 || args.samples == 0 {
        return Err("--configs and --samples must be at least 1".into());
    }
    Ok(args)
}

/// The run options drawn for one config.
#[derive(Clone, Debug, Serialize)]
struct RunDraw {
    stall: f64,
    reset_at: Option<usize>,
    burst: usize,
    weights_every: usize,
}

impl RunDraw {
    /// One config in three stalls its streams, one in four is reset in the middle of a
    /// sample, one in six streams bursts of 5 (weights compared after each burst).
    fn draw(rng: &mut SplitMix64, samples: usize) -> RunDraw {
        let stall = if rng.below(3) == 0 {
            0.1 * (1 + rng.below(3)) as f64
        } else {
            0.0
        };
        let burst = if rng.below(6) == 0 { 5 } else { 0 };
        let reset_at = (burst == 0 && rng.below(4) == 0).then(|| rng.below(samples));
        RunDraw {
            stall,
            reset_at,
            burst,
            weights_every: 1,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
struct ConfigResult {
    name: String,
    config: String,
    run: RunDraw,
    samples: usize,
    /// `pass`, `mismatch` or `error`.
    outcome: &'static str,
    /// The first mismatch, or the build or run error.
    detail: Option<String>,
    seconds: f64,
    rails: Rails,
}

#[derive(Serialize)]
struct StageTotal {
    stage: &'static str,
    min: u64,
    max: u64,
    /// Configs in which this stage clipped to both rails.
    configs_both_rails: usize,
}

#[derive(Serialize)]
struct Summary {
    seed: u64,
    simulator: Simulator,
    configs: usize,
    samples_per_config: usize,
    samples: usize,
    passed: usize,
    mismatches: usize,
    errors: usize,
    seconds: f64,
    seconds_per_config: f64,
    rails: Vec<StageTotal>,
    results: Vec<ConfigResult>,
}

fn rails_of(knobs: &Knobs, data: &Split, samples: usize) -> Rails {
    let mut net = FixedNet::new(&knobs.config());
    net.count_rails();
    for s in 0..samples {
        net.train_step(data.image(s), data.label(s) as usize);
    }
    *net.rails().expect("counting")
}

fn run_one(
    knobs: &Knobs,
    draw: &RunDraw,
    data: &Split,
    args: &Args,
    work: PathBuf,
) -> ConfigResult {
    let cfg = knobs.config();
    let t0 = Instant::now();
    let opts = CosimOptions {
        simulator: args.simulator,
        stall: draw.stall,
        stall_seed: 7,
        reset_at: draw.reset_at,
        burst: draw.burst,
        weights_every: draw.weights_every,
        ..CosimOptions::new(args.samples, work.clone())
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(&cfg, &cfg.to_toml(), data, &opts)
    }));
    let (outcome, detail) = match outcome {
        Ok(Ok((r, _))) => match r.first_mismatch {
            None if r.cycle_model_deviations > 0 => (
                "mismatch",
                Some(format!(
                    "cycle model: {} samples or bursts took other cycles than predicted",
                    r.cycle_model_deviations
                )),
            ),
            None if r.samples == args.samples.min(data.len()) => ("pass", None),
            None => (
                "error",
                Some(format!("{} of {} samples ran", r.samples, args.samples)),
            ),
            Some(m) => ("mismatch", Some(m.to_string())),
        },
        Ok(Err(e)) => ("error", Some(e.to_string())),
        Err(panic) => (
            "error",
            Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        ),
    };
    if outcome == "pass" && !args.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    ConfigResult {
        name: cfg.name.clone(),
        config: cfg.to_toml(),
        run: draw.clone(),
        samples: args.samples,
        outcome,
        detail,
        seconds: t0.elapsed().as_secs_f64(),
        rails: rails_of(knobs, data, args.samples),
    }
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("campaign: {e}");
        std::process::exit(2);
    });
    let data = load(DatasetKind::Digits, &default_data_dir()).unwrap_or_else(|e| {
        eprintln!("campaign: {e}");
        std::process::exit(2);
    });
    // Every config and its run options are drawn up front, so a config's draw does not
    // depend on the number of jobs.
    let mut rng = SplitMix64::new(args.seed);
    let plan: Vec<(Knobs, RunDraw)> = (0..args.configs)
        .map(|k| {
            let knobs = Knobs::campaign(&mut rng, &format!("campaign{}-{k}", args.seed));
            let draw = RunDraw::draw(&mut rng, args.samples);
            let draw = match args.burst {
                Some(burst) => RunDraw {
                    stall: 0.0,
                    reset_at: None,
                    burst,
                    weights_every: 1,
                },
                None => draw,
            };
            (knobs, draw)
        })
        .collect();
    if args.rails_only {
        let mut both = [0usize; 4];
        for (knobs, _) in &plan {
            let r = rails_of(knobs, &data.train, args.samples);
            for (n, s) in both.iter_mut().zip(Stage::ALL) {
                *n += usize::from(r.stage(s).both());
            }
        }
        let line: Vec<String> = Stage::ALL
            .iter()
            .zip(both)
            .map(|(s, n)| format!("{} {n}", s.name()))
            .collect();
        println!(
            "configs clipping both rails, of {}: {}",
            plan.len(),
            line.join(", ")
        );
        return;
    }
    let work_root = args
        .json
        .parent()
        .map_or_else(|| PathBuf::from("campaign-work"), |p| p.join("work"));
    let t0 = Instant::now();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(args.configs));
    std::thread::scope(|scope| {
        for _ in 0..args.jobs {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((knobs, draw)) = plan.get(k) else {
                    break;
                };
                let r = run_one(knobs, draw, &data.train, &args, work_root.join(&knobs.name));
                eprintln!(
                    "[{:>4}/{}] {:<18} {:<8} {:>6.1} s{}",
                    k + 1,
                    args.configs,
                    r.name,
                    r.outcome,
                    r.seconds,
                    r.detail.as_deref().map_or(String::new(), |d| format!(
                        "  {}",
                        d.lines().next().unwrap_or("")
                    ))
                );
                results.lock().expect("results").push((k, r));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(k, _)| *k);
    let results: Vec<ConfigResult> = results.into_iter().map(|(_, r)| r).collect();
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
    let mut total = Rails::default();
    for r in &results {
        total.add(&r.rails);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let summary = Summary {
        seed: args.seed,
        simulator: args.simulator,
        configs: results.len(),
        samples_per_config: args.samples,
        samples: results.len() * args.samples,
        passed: count("pass"),
        mismatches: count("mismatch"),
        errors: count("error"),
        seconds,
        seconds_per_config: seconds / results.len() as f64,
        rails: Stage::ALL
            .iter()
            .map(|&s| StageTotal {
                stage: s.name(),
                min: total.stage(s).min,
                max: total.stage(s).max,
                configs_both_rails: results.iter().filter(|r| r.rails.stage(s).both()).count(),
            })
            .collect(),
        results,
    };
    if let Some(parent) = args.json.parent() {
        std::fs::create_dir_all(parent).expect("summary folder");
    }
    let text = serde_json::to_string_pretty(&summary).expect("summary serialises");
    std::fs::write(&args.json, text + "\n").expect("summary written");
    eprintln!(
        "{} configs x {} samples: {} passed, {} mismatches, {} errors, {:.0} s ({:.1} s/config); rails (min/max): {}; summary: {}",
        summary.configs,
        summary.samples_per_config,
        summary.passed,
        summary.mismatches,
        summary.errors,
        summary.seconds,
        summary.seconds_per_config,
        summary
            .rails
            .iter()
            .map(|s| format!("{} {}/{}", s.stage, s.min, s.max))
            .collect::<Vec<_>>()
            .join(", "),
        args.json.display()
    );
    if summary.mismatches + summary.errors > 0 {
        std::process::exit(1);
    }
}
