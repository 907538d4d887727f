//! nextpnr (ice40 / ecp5): place and route, utilisation and Fmax from `--report`.
//!
//! nextpnr runs with `--timing-allow-fail`, so a missed clock target still gives a routed
//! design and a report; the flow compares the achieved Fmax with the target itself. When
//! the design does not fit, nextpnr stops at placement ("Unable to place cell ..., no BELs
//! remaining") after printing the device utilisation table, which [`overflows`] reads to say
//! which resource is short and by how much.
//!
//! Fmax is the achieved frequency of the design's clock: `$PACKER_GND_NET`/`$PACKER_VCC_NET`
//! entries (tied-off clock pins of unused DSP registers) are not clocks and are skipped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::artifacts::relative;
use crate::device::{Device, Family};
use crate::tool::Tool;
use crate::FlowError;

/// Used and available count of one BEL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

/// One resource a design needs more of than the part has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overflow {
    /// nextpnr's BEL type (`ICESTORM_DSP`, `DP16KD`).
    pub resource: String,
    /// What it is, in words.
    pub what: String,
    pub needed: u64,
    pub available: u64,
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) needs {}, available {}",
            self.resource, self.what, self.needed, self.available
        )
    }
}

/// Plain words for nextpnr BEL types.
pub fn describe(resource: &str) -> &'static str {
    match resource {
        "ICESTORM_LC" => "logic cells: LUT4 + carry + FF",
        "ICESTORM_DSP" => "SB_MAC16 DSP tiles",
        "ICESTORM_RAM" => "SB_RAM40_4K 4 Kib block RAMs",
        "ICESTORM_SPRAM" => "SB_SPRAM256KA 256 Kib single-port RAMs",
        "SB_IO" | "TRELLIS_IO" => "I/O pins",
        "SB_GB" | "DCCA" => "global clock buffers",
        "TRELLIS_COMB" => "LUT4s",
        "TRELLIS_FF" => "flip-flops",
        "TRELLIS_RAMW" => "LUT RAM write ports",
        "MULT18X18D" => "18x18 multipliers",
        "ALU54B" => "54-bit DSP ALUs",
        "DP16KD" => "DP16KD 18 Kib block RAMs",
        _ => "other",
    }
}

/// Reads the last "Device utilisation:" table of a nextpnr log
/// (`Info: \t ICESTORM_DSP:    16/    8   200%`).
pub fn utilisation_from_log(log: &str) -> BTreeMap<String, Usage> {
    let mut table = BTreeMap::new();
    let mut inside = false;
    for line in log.lines() {
        let body = line.trim_start_matches("Info:").trim();
        if body.starts_with("Device utilisation:") {
            inside = true;
            table.clear();
            continue;
        }
        if !inside {
            continue;
        }
        let parsed = body.split_once(':').and_then(|(name, rest)| {
            let (used, rest) = rest.split_once('/')?;
            let available = rest.split_whitespace().next()?;
            Some((
                name.trim().to_string(),
                used.trim().parse().ok()?,
                available.parse().ok()?,
            ))
        });
        match parsed {
            Some((name, used, available)) => {
                table.insert(name, Usage { used, available });
            }
            None => inside = false,
        }
    }
    table
}

/// Every resource used beyond what is available.
///
/// ```
/// let log = "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:  5915/ 5280   112%\n\
///            Info: \t        ICESTORM_DSP:    16/    8   200%\nInfo: \t          SB_IO:    27/   96    28%\n\n\
///            ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_DSP'\n";
/// let o = toolchain::nextpnr::overflows(&toolchain::nextpnr::utilisation_from_log(log));
/// assert_eq!(o.len(), 2);
/// assert_eq!(o[0].to_string(), "ICESTORM_DSP (SB_MAC16 DSP tiles) needs 16, available 8");
/// ```
pub fn overflows(table: &BTreeMap<String, Usage>) -> Vec<Overflow> {
    let mut over: Vec<Overflow> = table
        .iter()
        .filter(|(_, u)| u.used > u.available)
        .map(|(name, u)| Overflow {
            resource: name.clone(),
            what: describe(name).to_string(),
            needed: u.used,
            available: u.available,
        })
        .collect();
    // Worst first: the resource to cut.
    over.sort_by(|a, b| {
        (b.needed * a.available)
            .cmp(&(a.needed * b.available))
            .then(a.resource.cmp(&b.resource))
    });
    over
}

/// The cell type of an "Unable to place cell ..., no BELs remaining to implement cell type
/// 'X'" error.
pub fn unplaceable_type(log: &str) -> Option<String> {
    log.lines().find_map(|l| {
        let rest = l
            .split("no BELs remaining to implement cell type '")
            .nth(1)?;
        Some(rest.split('\'').next()?.to_string())
    })
}

/// One step of a timing path in nextpnr's report.
#[derive(Clone, Debug, Deserialize)]
struct RawStep {
    #[serde(rename = "type")]
    kind: String,
    delay: f64,
    from: RawPin,
    to: RawPin,
    #[serde(default)]
    net: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct RawPin {
    cell: String,
}

#[derive(Clone, Debug, Deserialize)]
struct RawPath {
    from: String,
    to: String,
    path: Vec<RawStep>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
struct RawFmax {
    achieved: f64,
    constraint: f64,
}

#[derive(Clone, Debug, Deserialize)]
struct RawReport {
    #[serde(default)]
    utilization: BTreeMap<String, Usage>,
    #[serde(default)]
    fmax: BTreeMap<String, RawFmax>,
    #[serde(default)]
    critical_paths: Vec<RawPath>,
}

/// The longest register-to-register path of the design clock.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CriticalPath {
    /// nextpnr's clock net name.
    pub clock: String,
    /// Launching register and capturing cell, with yosys' mapping suffixes cut off.
    pub from: String,
    pub to: String,
    pub delay_ns: f64,
    pub logic_ns: f64,
    pub routing_ns: f64,
    /// RTL signals along the path, in order (nets named after them, suffixes cut off).
    pub signals: Vec<String>,
}

/// What place and route found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PnrReport {
    pub utilisation: BTreeMap<String, Usage>,
    /// The design clock's net name in nextpnr.
    pub clock: String,
    pub fmax_mhz: f64,
    /// The clock constraint nextpnr worked to (`--freq`, or the board file's FREQUENCY).
    pub constraint_mhz: f64,
    pub critical_path: Option<CriticalPath>,
}

/// The RTL name a yosys/nextpnr net or cell is derived from:
/// `u.u_layer0.h_shr_rnd_SB_LUT4_O_I3[2]` → `u.u_layer0.h_shr_rnd`. `None` for
/// nextpnr-made names (`$nextpnr_ICESTORM_LC_61$O`).
///
/// ```
/// use toolchain::nextpnr::rtl_name;
/// assert_eq!(rtl_name("u.u_layer0.h_shr_rnd_SB_LUT4_O_I3[2]").as_deref(), Some("u.u_layer0.h_shr_rnd"));
/// assert_eq!(rtl_name("u.acc_SB_DFFE_Q_21_D_SB_LUT4_O_LC").as_deref(), Some("u.acc"));
/// assert_eq!(rtl_name("$nextpnr_ICESTORM_LC_61$O"), None);
/// ```
pub fn rtl_name(name: &str) -> Option<String> {
    if name.starts_with('$') {
        return None;
    }
    let mut cut = name.len();
    for marker in [
        "_SB_",
        "_TRELLIS_",
        "_LUT4_",
        "_CCU2C_",
        "_MULT18X18D",
        "_DP16KD",
        "_PFUMX",
        "_L6MUX21",
        "$",
        "[",
    ] {
        if let Some(i) = name.find(marker) {
            cut = cut.min(i);
        }
    }
    let base = &name[..cut];
    let base = base
        .strip_suffix("_LC")
        .or_else(|| base.strip_suffix("_DFFLC"))
        .unwrap_or(base);
    (!base.is_empty()).then(|| base.to_string())
}

/// The clock of the design among nextpnr's `fmax` keys: not a `$PACKER_` constant, and the
/// one named after `clock_port` (`clk$SB_IO_IN_$glb_clk`, `$glbnet$clk$TRELLIS_IO_IN`)
/// when there is one; the slowest of those left otherwise.
fn design_clock<'a>(
    fmax: &'a BTreeMap<String, RawFmax>,
    clock_port: &str,
) -> Option<(&'a String, RawFmax)> {
    let real: Vec<(&String, RawFmax)> = fmax
        .iter()
        .filter(|(k, _)| !k.contains("$PACKER_"))
        .map(|(k, v)| (k, *v))
        .collect();
    let named: Vec<(&String, RawFmax)> = real
        .iter()
        .copied()
        .filter(|(k, _)| k.split('$').any(|part| part == clock_port))
        .collect();
    let pool = if named.is_empty() { real } else { named };
    pool.into_iter()
        .min_by(|a, b| a.1.achieved.total_cmp(&b.1.achieved))
}

/// Parses nextpnr's `--report` JSON. `clock_port` names the top's clock input.
pub fn parse_report(json: &str, clock_port: &str) -> Result<PnrReport, String> {
    let raw: RawReport = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let (clock, fmax) =
        design_clock(&raw.fmax, clock_port).ok_or("no clock in the report's fmax section")?;
    let critical_path = raw
        .critical_paths
        .iter()
        .filter(|p| p.from.ends_with(clock.as_str()) && p.to.ends_with(clock.as_str()))
        .map(|p| summarise(clock, p))
        .max_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns));
    Ok(PnrReport {
        utilisation: raw.utilization,
        clock: clock.clone(),
        fmax_mhz: fmax.achieved,
        constraint_mhz: fmax.constraint,
        critical_path,
    })
}

fn summarise(clock: &str, p: &RawPath) -> CriticalPath {
    let mut logic = 0.0;
    let mut routing = 0.0;
    let mut signals: Vec<String> = Vec::new();
    for s in &p.path {
        if s.kind == "routing" {
            routing += s.delay;
            if let Some(n) = s.net.as_deref().and_then(rtl_name) {
                if signals.last() != Some(&n) {
                    signals.push(n);
                }
            }
        } else {
            logic += s.delay;
        }
    }
    let cell = |c: &str| rtl_name(c).unwrap_or_else(|| c.to_string());
    // The first net is the launching register's output, named after the register; the
    // launching cell is named after whatever LUT nextpnr packed the flip-flop with.
    let from = signals
        .first()
        .cloned()
        .or_else(|| p.path.first().map(|s| cell(&s.from.cell)))
        .unwrap_or_default();
    CriticalPath {
        clock: clock.to_string(),
        from,
        to: p.path.last().map(|s| cell(&s.to.cell)).unwrap_or_default(),
        delay_ns: round3(logic + routing),
        logic_ns: round3(logic),
        routing_ns: round3(routing),
        signals,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Where [`run`] reads and writes.
#[derive(Clone, Debug)]
pub struct PnrPaths<'a> {
    pub netlist: &'a Path,
    /// Constraint file; `None` lets nextpnr place the pins.
    pub constraints: Option<&'a Path>,
    /// `.asc` (iCE40) or textual `.config` (ECP5).
    pub out: &'a Path,
    pub report: &'a Path,
    pub log: &'a Path,
}

/// nextpnr's command line.
pub fn args(device: &Device, freq_mhz: f64, p: &PnrPaths<'_>, seed: u32) -> Vec<String> {
    let s = |x: &str| x.to_string();
    let path = |x: &Path| x.display().to_string();
    let mut a = vec![
        s(device.nextpnr_device),
        s("--package"),
        s(device.package),
        s("--json"),
        path(p.netlist),
        s("--freq"),
        format!("{freq_mhz}"),
        s("--timing-allow-fail"),
        s("--seed"),
        seed.to_string(),
        s("--report"),
        path(p.report),
    ];
    let (out_flag, constraint_flag, allow) = match device.family {
        Family::Ice40 => ("--asc", "--pcf", "--pcf-allow-unconstrained"),
        Family::Ecp5 => ("--textcfg", "--lpf", "--lpf-allow-unconstrained"),
    };
    a.push(s(out_flag));
    a.push(path(p.out));
    match p.constraints {
        Some(c) => {
            a.push(s(constraint_flag));
            a.push(path(c));
        }
        None => a.push(s(allow)),
    }
    a
}

/// Places and routes. A design that does not fit is [`FlowError::DoesNotFit`]; any other
/// failure keeps nextpnr's output tail.
pub fn run(
    tool: &Tool,
    device: &Device,
    freq_mhz: f64,
    seed: u32,
    clock_port: &str,
    p: &PnrPaths<'_>,
    cwd: &Path,
) -> Result<PnrReport, FlowError> {
    let rel = |path: &Path| relative(path, cwd);
    let (netlist, out, report, log) = (rel(p.netlist), rel(p.out), rel(p.report), rel(p.log));
    let constraints = p.constraints.map(rel);
    let relative_paths = PnrPaths {
        netlist: &netlist,
        constraints: constraints.as_deref(),
        out: &out,
        report: &report,
        log: &log,
    };
    let out = tool.run_logged(&args(device, freq_mhz, &relative_paths, seed), cwd, p.log)?;
    if !out.success() {
        let over = overflows(&utilisation_from_log(&out.text));
        if !over.is_empty() {
            return Err(FlowError::DoesNotFit {
                device: device.name.to_string(),
                overflows: over,
                log: p.log.display().to_string(),
            });
        }
        if let Some(kind) = unplaceable_type(&out.text) {
            return Err(FlowError::Unplaceable {
                device: device.name.to_string(),
                cell_type: kind,
                log: p.log.display().to_string(),
            });
        }
        return Err(out.failed().into());
    }
    let json = std::fs::read_to_string(p.report).map_err(|e| FlowError::io(p.report, e))?;
    parse_report(&json, clock_port).map_err(|reason| FlowError::Parse {
        what: "nextpnr --report".to_string(),
        path: p.report.display().to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilisation_table_ends_at_blank_line() {
        let log = "Info: Device utilisation:\nInfo: \t          DP16KD:     227/    208   109%\n\
                   Info: \t      MULT18X18D:      64/    156    41%\n\nInfo: Placed 0 cells\n\
                   ERROR: Unable to place cell 'u.w.0.8', no BELs remaining to implement cell type 'DP16KD'\n";
        let t = utilisation_from_log(log);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t["DP16KD"],
            Usage {
                used: 227,
                available: 208
            }
        );
        let o = overflows(&t);
        assert_eq!(o.len(), 1);
        assert_eq!(
            o[0].to_string(),
            "DP16KD (DP16KD 18 Kib block RAMs) needs 227, available 208"
        );
        assert_eq!(unplaceable_type(log).as_deref(), Some("DP16KD"));
    }

    #[test]
    fn packer_nets_are_not_clocks() {
        let mut fmax = BTreeMap::new();
        fmax.insert(
            "$PACKER_GND_NET".to_string(),
            RawFmax {
                achieved: 256.0,
                constraint: 50.0,
            },
        );
        fmax.insert(
            "clk$SB_IO_IN_$glb_clk".to_string(),
            RawFmax {
                achieved: 18.9,
                constraint: 50.0,
            },
        );
        assert_eq!(
            design_clock(&fmax, "clk").unwrap().0,
            "clk$SB_IO_IN_$glb_clk"
        );
        let mut ecp5 = BTreeMap::new();
        ecp5.insert(
            "$glbnet$clk$TRELLIS_IO_IN".to_string(),
            RawFmax {
                achieved: 75.0,
                constraint: 125.0,
            },
        );
        assert_eq!(design_clock(&ecp5, "clk").unwrap().1.achieved, 75.0);
    }

    #[test]
    fn ice40_command_line() {
        let p = PnrPaths {
            netlist: Path::new("synth.json"),
            constraints: None,
            out: Path::new("pnr.asc"),
            report: Path::new("pnr.report.json"),
            log: Path::new("pnr.log"),
        };
        let a = args(&crate::device::ICE40_UP5K, 50.0, &p, 7).join(" ");
        assert_eq!(
            a,
            "--up5k --package sg48 --json synth.json --freq 50 --timing-allow-fail --seed 7 \
             --report pnr.report.json --asc pnr.asc --pcf-allow-unconstrained"
        );
    }
}
