//! The synthesis flow: wrap → yosys → nextpnr → pack → report, one artifact per stage in
//! `<out>/<preset>/<target>/`.
//!
//! The folder is emptied first, so nothing in it is stale. A stage that fails deletes what
//! it had started to write (netlist, placed design, report, bitstream: make's
//! `.DELETE_ON_ERROR`) and keeps its log, which the error names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rtl_gen::Design;

use crate::artifacts::write;
use crate::board;
use crate::chip::{ChipFigures, SampleCycles};
use crate::device::{Device, Family};
use crate::host_board;
use crate::nextpnr::{self, PnrPaths};
use crate::report::{BoardLink, SeedResult, StageSeconds, SynthReport};
use crate::tool::Tool;
use crate::yosys::{self, SynthPaths};
use crate::{outreg, pack, FlowError};

/// What to build and where.
#[derive(Clone, Debug)]
pub struct FlowOptions {
    pub device: Device,
    /// The board to build for (its PLL, host link and pins, [`crate::host_board`]);
    /// `None`: the bare trainer, its pins placed by nextpnr.
    pub board: Option<BoardOptions>,
    /// Clock target for nextpnr and for `timing_met`.
    pub freq_mhz: f64,
    /// Build root; the flow writes into `<out_root>/<preset>/<target>/`.
    pub out_root: PathBuf,
    /// Write a bitstream (the pack stage).
    pub pack: bool,
    /// nextpnr's placement seeds. Fmax on a nearly full or long-path design moves by
    /// several percent from seed to seed; with more than one, each seed is placed and
    /// routed (as many at once as the machine has cores) and the fastest is kept. The
    /// report records the one kept and, for a sweep, every seed's result.
    pub seeds: Vec<u32>,
}

/// What a board top needs beyond the design.
#[derive(Clone, Debug)]
pub struct BoardOptions {
    /// `icebreaker`, `upduino`, `ulx3s`.
    pub name: String,
    /// The config's text, hashed into the design's `hello` answer.
    pub config_toml: String,
    /// The host link's rate (`hardware.baud`).
    pub baud: u32,
}

impl FlowOptions {
    /// The placement seed every flow uses unless told otherwise (the published figures').
    pub const DEFAULT_SEED: u32 = 1;

    /// Checks the seed list: at least one seed, none twice.
    pub fn check_seeds(seeds: &[u32]) -> Result<(), String> {
        if seeds.is_empty() {
            return Err("give at least one nextpnr seed".to_string());
        }
        for (i, s) in seeds.iter().enumerate() {
            if seeds[..i].contains(s) {
                return Err(format!("seed {s} is given twice: list each seed once"));
            }
        }
        Ok(())
    }

    /// The folder one run writes: `<out>/<preset>/<target>`, or `<out>/<preset>/<board>`.
    pub fn build_dir(&self, preset: &str) -> PathBuf {
        let leaf = match &self.board {
            Some(b) => b.name.as_str(),
            None => self.device.name,
        };
        self.out_root.join(preset).join(leaf)
    }
}

/// The three tools of a family's flow.
#[derive(Clone, Debug)]
pub struct Tools {
    pub yosys: Tool,
    pub nextpnr: Tool,
    pub pack: Tool,
}

impl Tools {
    /// Locates every tool first, so that a missing one fails before any work.
    pub fn locate(family: Family) -> Result<Tools, FlowError> {
        Ok(match family {
            Family::Ice40 => Tools {
                yosys: crate::yosys()?,
                nextpnr: crate::nextpnr_ice40()?,
                pack: crate::icepack()?,
            },
            Family::Ecp5 => Tools {
                yosys: crate::yosys_ecp5()?,
                nextpnr: crate::nextpnr_ecp5()?,
                pack: crate::ecppack()?,
            },
        })
    }

    fn describe(&self) -> BTreeMap<String, String> {
        [&self.yosys, &self.nextpnr, &self.pack]
            .into_iter()
            .map(|t| {
                let text = match t.version {
                    (0, 0) => t.path.display().to_string(),
                    (major, minor) => format!("{} ({major}.{minor})", t.path.display()),
                };
                (t.name.clone(), text)
            })
            .collect()
    }
}

/// Runs `f`; when it fails, deletes `outputs` (whatever of them exists).
fn stage<T>(outputs: &[&Path], f: impl FnOnce() -> Result<T, FlowError>) -> Result<T, FlowError> {
    let result = f();
    if result.is_err() {
        for p in outputs {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

/// The wrapper's header: the design's provenance line plus what the wrapper is.
fn header(design: &Design) -> Vec<String> {
    let top_file = format!("{}.v", design.top);
    let mut lines: Vec<String> = design
        .files
        .get(&top_file)
        .map(|t| {
            t.lines()
                .take_while(|l| l.starts_with("//"))
                .take(1)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    lines.push(
        "// Board wrapper written by lls toolchain (toolchain/src/board.rs) for synthesis."
            .to_string(),
    );
    lines
}

/// Port bits of `pins` that `board`'s constraint file does not place.
pub fn unconstrained(pins: &[String], board: &crate::Board) -> Vec<String> {
    let placed: Vec<String> = board.pins().into_iter().map(|(port, _)| port).collect();
    pins.iter()
        .filter(|p| !placed.contains(p))
        .cloned()
        .collect()
}

/// The module the flow synthesises around the design, and its files and pins.
struct Wrapped {
    top: String,
    /// File name and Verilog of each module besides the design's own.
    files: Vec<(String, String)>,
    /// Port bits, as constraint files name them.
    pins: Vec<String>,
    /// The clock nextpnr times: the target, or what a board's PLL gives.
    freq_mhz: f64,
    link: Option<BoardLink>,
    board: Option<crate::Board>,
}

/// Wraps `design` for the bare part (`board::wrapper`) or for a board
/// (`host_board::build`).
fn wrap(design: &Design, opts: &FlowOptions) -> Result<Wrapped, FlowError> {
    let device = opts.device;
    let Some(b) = &opts.board else {
        let wrapper = board::wrapper(&design.manifest, header(design), device.stream_slices);
        return Ok(Wrapped {
            top: wrapper.name.clone(),
            files: vec![(wrapper.file_name(), wrapper.to_verilog())],
            pins: wrapper.pins,
            freq_mhz: opts.freq_mhz,
            link: None,
            board: None,
        });
    };
    let board = device.board(&b.name)?;
    let top = host_board::build(design, &b.config_toml, &board, opts.freq_mhz, b.baud)
        .map_err(|e| FlowError::BoardTop(e.to_string()))?;
    let pins: Vec<String> = host_board::PINS.iter().map(|p| p.to_string()).collect();
    let missing = unconstrained(&pins, &board);
    if !missing.is_empty() {
        return Err(FlowError::Unconstrained {
            file: board.path.to_string(),
            ports: missing.join(", "),
        });
    }
    Ok(Wrapped {
        top: top.name().to_string(),
        files: top
            .modules
            .iter()
            .map(|m| (m.file_name(), m.to_verilog()))
            .collect(),
        pins,
        freq_mhz: top.clock_mhz,
        link: Some(BoardLink {
            oscillator_mhz: board.clock_mhz,
            pll_mhz: round2(top.clock_mhz),
            baud: top.baud,
            clocks_per_bit: top.clocks_per_bit,
        }),
        board: Some(board),
    })
}

/// Synthesises, places, routes and packs `design` and writes `report.json`.
pub fn run(design: &Design, opts: &FlowOptions) -> Result<SynthReport, FlowError> {
    let start = Instant::now();
    FlowOptions::check_seeds(&opts.seeds).map_err(FlowError::Seeds)?;
    let device = opts.device;
    let tools = Tools::locate(device.family)?;
    let preset = design.manifest.config.clone();
    let dir = opts.build_dir(&preset);

    // Wrap: pins, constraints, RTL.
    let wrapped = wrap(design, opts)?;
    let needed = wrapped.pins.len() as u64;
    if needed > device.io_pins as u64 {
        return Err(FlowError::TooManyPins {
            top: wrapped.top.clone(),
            device: device.name.to_string(),
            part: device.part.to_string(),
            needed,
            available: device.io_pins as u64,
        });
    }
    let board = wrapped.board;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| FlowError::io(&dir, e))?;
    }
    // Absolute, as the tools run in other folders (yosys in rtl/).
    std::fs::create_dir_all(&dir).map_err(|e| FlowError::io(&dir, e))?;
    let dir = dir.canonicalize().map_err(|e| FlowError::io(&dir, e))?;
    let rtl = dir.join("rtl");
    design.write(&rtl).map_err(|e| FlowError::Io {
        path: rtl.display().to_string(),
        reason: e.to_string(),
    })?;
    for (name, text) in &wrapped.files {
        write(&rtl.join(name), text)?;
    }
    let constraints = match &board {
        Some(b) => {
            let path = dir.join(format!("{}.{}", b.name, b.extension()));
            write(&path, b.text)?;
            Some(path)
        }
        None => None,
    };
    let mut files: Vec<String> = design
        .files
        .keys()
        .filter(|f| f.ends_with(".v"))
        .cloned()
        .collect();
    files.extend(wrapped.files.iter().map(|(name, _)| name.clone()));

    // Synthesis.
    let t = Instant::now();
    let (script, log, stat, netlist) = (
        dir.join("synth.ys"),
        dir.join("synth.log"),
        dir.join("synth.stat.json"),
        dir.join("synth.json"),
    );
    let synth = stage(&[&netlist, &stat], || {
        yosys::run(
            &tools.yosys,
            device.family,
            &SynthPaths {
                rtl_dir: &rtl,
                files: &files,
                top: &wrapped.top,
                vendor_cells: wrapped.link.is_some(),
                script: &script,
                log: &log,
                stat_json: &stat,
                netlist: &netlist,
            },
        )
    })?;
    // ECP5: the register behind each block-RAM read and each product moves into the
    // DP16KD or MULT18X18D (outreg.rs).
    let (pnr_netlist, absorbed_output_registers) = match device.family {
        Family::Ice40 => (netlist.clone(), None),
        Family::Ecp5 => {
            let rewritten = dir.join("synth.outreg.json");
            let absorbed = stage(&[&rewritten], || {
                outreg::rewrite_file(&netlist, &rewritten, &log)
            })?;
            (rewritten, Some(absorbed))
        }
    };
    let synth_s = t.elapsed().as_secs_f64();

    // Place and route: one seed, or a sweep whose fastest placement is kept.
    let t = Instant::now();
    let placed = dir.join(match device.family {
        Family::Ice40 => "pnr.asc",
        Family::Ecp5 => "pnr.config",
    });
    let Placement {
        pnr,
        seed,
        seed_sweep,
        sweep_files,
    } = place_and_route(
        &tools.nextpnr,
        opts,
        wrapped.freq_mhz,
        &dir,
        &pnr_netlist,
        constraints.as_deref(),
        &placed,
    )?;
    let pnr_s = t.elapsed().as_secs_f64();

    // Bitstream.
    let t = Instant::now();
    let bitstream = dir.join(format!("{preset}.{}", pack::extension(device.family)));
    if opts.pack {
        stage(&[&bitstream], || {
            pack::run(
                &tools.pack,
                device.family,
                &placed,
                &bitstream,
                &dir.join("pack.log"),
                &dir,
            )
        })?;
    }
    let pack_s = t.elapsed().as_secs_f64();

    let used = |k: &str| pnr.utilisation.get(k).map(|u| u.used);
    let (luts, dsps, brams, ios) = match device.family {
        Family::Ice40 => (
            used("ICESTORM_LC"),
            used("ICESTORM_DSP"),
            used("ICESTORM_RAM"),
            used("SB_IO"),
        ),
        Family::Ecp5 => (
            used("TRELLIS_COMB"),
            used("MULT18X18D"),
            used("DP16KD"),
            used("TRELLIS_IO"),
        ),
    };
    let ffs = used("TRELLIS_FF").unwrap_or_else(|| synth.cells.ffs());
    let dsps = dsps.unwrap_or_else(|| synth.cells.dsps());
    let cycles = SampleCycles {
        streaming: design.manifest.steady_cycles_per_sample,
        lock_step: design.manifest.cycles_per_sample,
    };
    let mut artifacts: Vec<String> = vec!["rtl/".to_string()];
    artifacts.extend(
        constraints
            .iter()
            .filter_map(|c| c.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
    );
    artifacts.extend(
        ["synth.ys", "synth.log", "synth.json", "synth.stat.json"]
            .into_iter()
            .chain(absorbed_output_registers.map(|_| "synth.outreg.json"))
            .chain([placed
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()])
            .chain(["pnr.report.json", "pnr.log"])
            .map(str::to_string)
            .chain(sweep_files),
    );
    if opts.pack {
        artifacts.push(
            bitstream
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    artifacts.push("report.json".to_string());
    let report = SynthReport {
        preset: preset.clone(),
        top: wrapped.top.clone(),
        target: device.name.to_string(),
        part: device.part.to_string(),
        board: board.map(|b| b.name.to_string()),
        link: wrapped.link,
        bare: None,
        luts: luts.unwrap_or_else(|| synth.cells.luts()),
        luts_available: device.luts as u64,
        ffs,
        dsps,
        dsps_available: device.dsps as u64,
        brams: brams.unwrap_or_else(|| synth.cells.brams()),
        brams_available: device.brams as u64,
        io_pins: ios.unwrap_or(needed),
        io_pins_available: device.io_pins as u64,
        fmax_mhz: round2(pnr.fmax_mhz),
        freq_target_mhz: wrapped.freq_mhz,
        seed,
        seed_sweep,
        timing_met: pnr.fmax_mhz >= wrapped.freq_mhz,
        chip: ChipFigures::new(
            dsps,
            device.dsps as u64,
            pnr.fmax_mhz,
            cycles,
            design.manifest.macs_per_sample,
        ),
        seconds: round2(start.elapsed().as_secs_f64()),
        stage_seconds: StageSeconds {
            synth: round2(synth_s),
            pnr: round2(pnr_s),
            pack: round2(pack_s),
        },
        critical_path: pnr.critical_path,
        absorbed_output_registers,
        cells: synth.cells.0,
        utilisation: pnr.utilisation,
        tools: tools.describe(),
        artifacts,
        warnings: synth.warnings,
    };
    let json = serde_json::to_string_pretty(&report).map_err(|e| FlowError::Parse {
        what: "report".to_string(),
        path: "report.json".to_string(),
        reason: e.to_string(),
    })?;
    write(&dir.join("report.json"), &(json + "\n"))?;
    Ok(report)
}

/// What place and route kept.
struct Placement {
    pnr: nextpnr::PnrReport,
    /// The seed whose placement is in `pnr.*`.
    seed: u32,
    /// Every seed's result, for a sweep.
    seed_sweep: Option<Vec<SeedResult>>,
    /// The sweep's per-seed files, relative to the build folder.
    sweep_files: Vec<String>,
}

/// Places and routes `netlist` into `placed` (`pnr.asc` or `pnr.config`), `pnr.report.json`
/// and `pnr.log` in `dir`. With several seeds, each one writes `pnr.seed<N>.*`, as many at
/// once as the machine has cores, and the fastest (the earliest of equals) is copied to
/// the plain names.
fn place_and_route(
    nextpnr_tool: &Tool,
    opts: &FlowOptions,
    freq_mhz: f64,
    dir: &Path,
    netlist: &Path,
    constraints: Option<&Path>,
    placed: &Path,
) -> Result<Placement, FlowError> {
    let (report, log) = (dir.join("pnr.report.json"), dir.join("pnr.log"));
    let place = |seed: u32, out: &Path, report: &Path, log: &Path| {
        let paths = PnrPaths {
            netlist,
            constraints,
            out,
            report,
            log,
        };
        stage(&[out, report], || {
            nextpnr::run(
                nextpnr_tool,
                &opts.device,
                freq_mhz,
                seed,
                "clk",
                &paths,
                dir,
            )
        })
    };
    if let [seed] = opts.seeds[..] {
        return Ok(Placement {
            pnr: place(seed, placed, &report, &log)?,
            seed,
            seed_sweep: None,
            sweep_files: Vec::new(),
        });
    }
    let ext = placed
        .extension()
        .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
    let files = |seed: u32| {
        [
            format!("pnr.seed{seed}{ext}"),
            format!("pnr.seed{seed}.report.json"),
            format!("pnr.seed{seed}.log"),
        ]
    };
    let results = parallel(&opts.seeds, |&seed| {
        let [out, report, log] = files(seed).map(|f| dir.join(f));
        let t = Instant::now();
        place(seed, &out, &report, &log).map(|r| (r, t.elapsed().as_secs_f64()))
    });
    let mut placements = Vec::new();
    for (&seed, result) in opts.seeds.iter().zip(results) {
        let (pnr, seconds) = result?;
        placements.push((seed, pnr, seconds));
    }
    let best = (1..placements.len()).fold(0, |best, i| {
        if placements[i].1.fmax_mhz > placements[best].1.fmax_mhz {
            i
        } else {
            best
        }
    });
    let seed = placements[best].0;
    let [out, seed_report, seed_log] = files(seed).map(|f| dir.join(f));
    for (from, to) in [(&out, placed), (&seed_report, &report), (&seed_log, &log)] {
        std::fs::copy(from, to).map_err(|e| FlowError::io(to, e))?;
    }
    let seed_sweep = placements
        .iter()
        .map(|(seed, pnr, seconds)| SeedResult {
            seed: *seed,
            fmax_mhz: round2(pnr.fmax_mhz),
            timing_met: pnr.fmax_mhz >= freq_mhz,
            pnr_seconds: round2(*seconds),
            critical_path: pnr.critical_path.clone(),
        })
        .collect();
    Ok(Placement {
        pnr: placements.swap_remove(best).1,
        seed,
        seed_sweep: Some(seed_sweep),
        sweep_files: opts.seeds.iter().flat_map(|&s| files(s)).collect(),
    })
}

/// `f` on every item, on up to as many threads as the machine has cores; the results in
/// the items' order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break done };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
