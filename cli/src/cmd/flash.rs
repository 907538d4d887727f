//! `lls flash`: program a board with the bitstream `lls synth --board` built for it, with
//! the open programmers: iceprog (Project IceStorm) for the iCE40 boards, openFPGALoader
//! for any of them. A bitstream built for another board or for the bare design (whose pins
//! nextpnr placed, not the board's) is refused before anything is sent.

use std::path::{Path, PathBuf};
use std::process::Command;

use toolchain::device::{Board, BOARDS, DEVICES};
use toolchain::{Family, Tool};

use super::opts::{config_path, load_config, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls synth --config configs/digits-icebreaker.toml --board icebreaker
  lls flash --config configs/digits-icebreaker.toml --board icebreaker
  lls flash --board ulx3s --bitstream build/mnist-mlp/ulx3s/mnist-mlp.bit --dry-run

Programmers: iceprog (Debian: fpga-icestorm) for icebreaker and upduino, openFPGALoader
(Debian: openfpgaloader) for every board; LLS_ICEPROG / LLS_OPENFPGALOADER name others.
The bitstream goes to the board's SPI flash, which configures the FPGA at power-up; --sram
loads the FPGA directly instead (lost at power-off; the iCEBreaker needs its jumpers set
for it).")]
pub struct Args {
    /// icebreaker, upduino or ulx3s.
    #[arg(long)]
    pub board: String,
    /// The config the bitstream was built from: finds <out>/<name>/<board>/<name>.bin|.bit.
    #[arg(long, value_parser = config_path, required_unless_present = "bitstream")]
    pub config: Option<PathBuf>,
    /// Build root `lls synth --out` wrote to.
    #[arg(long, default_value = "build")]
    pub out: PathBuf,
    /// The bitstream, in place of --config/--out.
    #[arg(long)]
    pub bitstream: Option<PathBuf>,
    /// Load the FPGA's configuration memory (lost at power-off) rather than the board's
    /// SPI flash.
    #[arg(long)]
    pub sram: bool,
    /// Print the programmer's command, run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args) -> CmdResult {
    let board = find_board(&args.board)?;
    let family = family_of(&board);
    let ext = match family {
        Family::Ice40 => "bin",
        Family::Ecp5 => "bit",
    };
    let bitstream = match (&args.bitstream, &args.config) {
        (Some(path), _) => path.clone(),
        (None, Some(config)) => {
            let cfg = load_config(config)?;
            let dir = args.out.join(&cfg.name).join(board.name);
            check_built_for(&dir, board.name)?;
            dir.join(format!("{}.{ext}", cfg.name))
        }
        (None, None) => return Err("give --config or --bitstream".to_string()),
    };
    check_bitstream(&bitstream, ext)?;
    let (tool, args_for) = programmer(family, board.name)?;
    let mut cmd_args = args_for(args.sram);
    cmd_args.push(bitstream.display().to_string());
    let line = format!("{} {}", tool.path.display(), cmd_args.join(" "));
    if args.dry_run {
        println!("{line}");
        return Ok(());
    }
    println!(
        "programming the {} with {}",
        board.name,
        bitstream.display()
    );
    let status = Command::new(&tool.path)
        .args(&cmd_args)
        .status()
        .map_err(|e| format!("{}: {e}", tool.path.display()))?;
    if !status.success() {
        return Err(format!(
            "`{line}` failed ({status}): is the {} plugged in, and may this user open its USB \
             device (udev rule, or the plugdev group)?",
            board.name
        ));
    }
    Ok(())
}

fn find_board(name: &str) -> Result<Board, String> {
    BOARDS
        .iter()
        .find(|b| b.name == name)
        .copied()
        .ok_or_else(|| {
            format!(
                "--board {name:?}: use {}",
                BOARDS.map(|b| b.name).join(", ")
            )
        })
}

fn family_of(board: &Board) -> Family {
    DEVICES
        .iter()
        .find(|d| d.boards.contains(&board.name))
        .map_or(Family::Ice40, |d| d.family)
}

/// The build folder's report says the bitstream was built for this board.
fn check_built_for(dir: &Path, board: &str) -> Result<(), String> {
    let report = dir.join("report.json");
    let text = std::fs::read_to_string(&report).map_err(|_| {
        format!(
            "no {}: build the board's bitstream first (lls synth --config ... --board {board})",
            report.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a synthesis report ({e})", report.display()))?;
    match json.get("board").and_then(|b| b.as_str()) {
        Some(b) if b == board => Ok(()),
        other => Err(format!(
            "{} is for {}, not the {board}: build it with lls synth --board {board}",
            report.display(),
            other.map_or("the bare design".to_string(), |b| format!("the {b}"))
        )),
    }
}

fn check_bitstream(path: &Path, ext: &str) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|_| {
        format!(
            "no bitstream at {}: build it with lls synth --board (without --no-pack)",
            path.display()
        )
    })?;
    if path.extension().and_then(|e| e.to_str()) != Some(ext) {
        return Err(format!(
            "{}: this board takes a .{ext} bitstream",
            path.display()
        ));
    }
    if meta.len() == 0 {
        return Err(format!("{} is empty: build it again", path.display()));
    }
    Ok(())
}

type ArgsFor = fn(bool) -> Vec<String>;

/// The programmer for the board, and its arguments (configuration memory or flash) before
/// the file.
fn programmer(family: Family, board: &'static str) -> Result<(Tool, ArgsFor), String> {
    let openfpgaloader = || Tool::locate("openFPGALoader", "LLS_OPENFPGALOADER", &["-V"], (0, 0));
    let ofl_args: ArgsFor = match board {
        "icebreaker" => |sram| ofl("icebreaker", sram),
        "upduino" => |sram| ofl("ice40_generic", sram),
        _ => |sram| ofl("ulx3s", sram),
    };
    match family {
        Family::Ice40 => {
            if let Ok(t) = Tool::locate("iceprog", "LLS_ICEPROG", &["-h"], (0, 0)) {
                // iceprog writes the flash by default; -S loads the FPGA directly.
                let args: ArgsFor = |sram| if sram { vec!["-S".into()] } else { vec![] };
                return Ok((t, args));
            }
            openfpgaloader().map(|t| (t, ofl_args)).map_err(|_| {
                "no programmer: install iceprog (apt install fpga-icestorm) or openFPGALoader \
                 (apt install openfpgaloader), or name one with LLS_ICEPROG"
                    .to_string()
            })
        }
        Family::Ecp5 => openfpgaloader().map(|t| (t, ofl_args)).map_err(|_| {
            "no programmer: install openFPGALoader (apt install openfpgaloader), or name it \
             with LLS_OPENFPGALOADER"
                .to_string()
        }),
    }
}

/// openFPGALoader loads the FPGA by default; -f writes the flash.
fn ofl(board: &str, sram: bool) -> Vec<String> {
    let mut args = vec!["-b".to_string(), board.to_string()];
    if !sram {
        args.push("-f".to_string());
    }
    args
}
