//! ECP5 hard-block output registers: moves the flip-flops behind a DP16KD read port into the
//! block RAM's own output register (`REGMODE_A/B = "OUTREG"`), and those behind a
//! MULT18X18D's product into its output register (`REG_OUTPUT_CLK = "CLK0"`).
//!
//! yosys maps a synchronous read into a DP16KD and a multiply into a MULT18X18D, but never a
//! register after either (yosys issue 5814: `memory_libmap` has no output-register rule; the
//! ECP5 DSP mapping is combinational). That register then lands in a slice, behind the
//! block RAM's 5.83 ns clock-to-out (0.95 ns from its own output register, Project Trellis
//! timing database as nextpnr uses it) or the multiplier's 3.9 ns, plus a route to wherever
//! the placer put it: in a banked design these paths would set the clock.
//!
//! The rewrite keeps the netlist's behaviour cycle for cycle. An output is absorbed only
//! when every one of its bits that anything reads drives exactly one load, the `DI` of a
//! `TRELLIS_FF`, and is not a port of the module; each of those flip-flops is a D register
//! without set/reset (`LSR` tied low and not inverted, not a preload, reset value 0) on one
//! clock, not inverted, and one clock enable: all tied high, or all the same net, not
//! inverted; and:
//! - DP16KD: the port is in `NOREG` mode, its output clock enable (`OCEx`) is tied high, its
//!   reset (`RSTx`) low, its clock (`CLKx`, not inverted) is the flip-flops' clock, and its
//!   `GSR` setting is theirs. `OCEx` gets the flip-flops' enable. In the 36-bit pseudo
//!   dual-port mode (`DATA_WIDTH = 36`) one read, clocked by port B, drives both ports'
//!   outputs: both ports pass these checks together (the write port's `OCEA` may be tied
//!   low) and both get `OUTREG` and the enable, so that the whole word is registered the
//!   same way whichever port's controls the silicon applies to `DOA`. (Judged apart, the
//!   two halves would differ: `DOB` absorbed, and `DOA`, its `OCEA` low, left in slices.)
//! - MULT18X18D: no register of it is in use yet, its `CLK0`/`CE0`/`RST0` are free, and
//!   no output but `P` is read. It gets the flip-flops' clock on `CLK0`, their enable on
//!   `CE0`, `RST0` low and their `GSR` setting.
//!
//! The output register then loads in exactly the cycles, and exactly what, the flip-flops
//! loaded. Enabled registers matter as much as plain ones: a datapath held while idle (so
//! that simulation skips it) must not push its registers back into the fabric. Outputs that
//! fail any check stay as yosys wrote them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::FlowError;

/// What [`absorb_output_registers`] changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Absorbed {
    /// DP16KD read ports switched to `OUTREG`.
    pub bram_ports: u64,
    /// MULT18X18D products switched to their output register.
    pub dsp_outputs: u64,
    /// Flip-flops removed (moved into those blocks).
    pub flip_flops: u64,
    /// Outputs (block-RAM read ports, products) that are read but failed a check, left
    /// unregistered.
    pub left: u64,
}

impl Absorbed {
    fn add(&mut self, other: Absorbed) {
        self.bram_ports += other.bram_ports;
        self.dsp_outputs += other.dsp_outputs;
        self.flip_flops += other.flip_flops;
        self.left += other.left;
    }
}

/// An output to absorb: its block, the parameters and connections to set, and per read
/// bit the flip-flop to remove.
struct Plan {
    block: String,
    kind: Kind,
    set_parameters: Vec<(String, Value)>,
    set_connections: Vec<(String, Value)>,
    moves: Vec<Move>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bram,
    Dsp,
}

/// One output bit: the block's pin now drives the flip-flop's `Q` net; its old net has
/// neither driver nor load.
struct Move {
    pin: String,
    flip_flop: String,
    q: Value,
    old: u64,
}

enum Outcome {
    /// Nothing reads this output, or it is registered already.
    Unused,
    /// Read, but not absorbable.
    Left,
    Absorb(Plan),
}

/// Rewrites every module of a yosys JSON netlist (`write_json`) in place.
pub fn absorb_output_registers(netlist: &mut Value) -> Result<Absorbed, String> {
    let modules = netlist
        .get_mut("modules")
        .and_then(Value::as_object_mut)
        .ok_or("no \"modules\" object")?;
    let mut total = Absorbed::default();
    for (name, module) in modules.iter_mut() {
        total.add(absorb_in_module(module).map_err(|e| format!("module {name}: {e}"))?);
    }
    Ok(total)
}

/// The netlist around one module's cells.
struct Context<'a> {
    cells: &'a Map<String, Value>,
    /// Net → the (cell, pin) inputs it drives.
    loads: HashMap<u64, Vec<(String, String)>>,
    /// Nets that are ports of the module.
    port_bits: HashSet<u64>,
}

fn absorb_in_module(module: &mut Value) -> Result<Absorbed, String> {
    let Some(cells) = module.get("cells").and_then(Value::as_object) else {
        return Ok(Absorbed::default());
    };
    let ctx = Context {
        cells,
        loads: input_loads(cells)?,
        port_bits: module
            .get("ports")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|ports| ports.values())
            .flat_map(|p| bits(p.get("bits")))
            .collect(),
    };

    let mut found = Absorbed::default();
    let mut plans = Vec::new();
    for (name, cell) in cells {
        let outcomes = match cell.get("type").and_then(Value::as_str) {
            Some("DP16KD") if pseudo_dual_port(cell) => vec![bram_read(&ctx, name, "AB")],
            Some("DP16KD") => vec![bram_read(&ctx, name, "A"), bram_read(&ctx, name, "B")],
            Some("MULT18X18D") => vec![dsp_product(&ctx, name)],
            _ => continue,
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Unused => {}
                Outcome::Left => found.left += 1,
                Outcome::Absorb(plan) => plans.push(plan),
            }
        }
    }

    let mut stale = HashSet::new();
    let cells = module
        .get_mut("cells")
        .and_then(Value::as_object_mut)
        .ok_or("no cells")?;
    for plan in plans {
        for m in &plan.moves {
            cells.remove(&m.flip_flop);
            stale.insert(m.old);
        }
        let block = cells.get_mut(&plan.block).ok_or("block vanished")?;
        for m in &plan.moves {
            block["connections"][&m.pin] = json!([m.q]);
        }
        for (pin, net) in plan.set_connections {
            block["connections"][&pin] = net;
            block["port_directions"][&pin] = json!("input");
        }
        for (key, value) in plan.set_parameters {
            block["parameters"][key] = value;
        }
        match plan.kind {
            Kind::Bram => found.bram_ports += 1,
            Kind::Dsp => found.dsp_outputs += 1,
        }
        found.flip_flops += plan.moves.len() as u64;
    }
    drop_stale_names(module, &stale);
    Ok(found)
}

/// A DP16KD's read: one port (`"A"` or `"B"`), or both (`"AB"`) in the 36-bit pseudo
/// dual-port mode yosys maps wide memories to, which writes through port A and reads through
/// port B onto both ports' outputs (`DOA` the low 18 bits, `DOB` the high 18).
fn bram_read(ctx: &Context<'_>, name: &str, ports: &str) -> Outcome {
    let ram = &ctx.cells[name];
    let conn = &ram["connections"];
    let outputs = read_bits(
        ctx,
        ram,
        ports
            .chars()
            .flat_map(|port| (0..18).map(move |i| format!("DO{port}{i}"))),
    );
    if outputs.is_empty() {
        return Outcome::Unused;
    }
    if ports
        .chars()
        .any(|port| param(ram, &format!("REGMODE_{port}")).unwrap_or("NOREG") != "NOREG")
    {
        // Registered already (absorbed by an earlier pass, or instantiated so).
        return Outcome::Unused;
    }
    let gsr = param(ram, "GSR").unwrap_or("ENABLED");
    let Some(regs) = registers_behind(ctx, &outputs) else {
        return Outcome::Left;
    };
    // Every port whose outputs carry the read gets the same output register: its clock is
    // the flip-flops', its reset tied low, its enable theirs. A pseudo dual-port block's
    // write port has its output enable tied low (it reads nothing of its own).
    let port_ok = |port: char| {
        let oce = &conn[format!("OCE{port}")];
        let pdp_write_port = ports.len() == 2 && port == 'A';
        (*oce == json!(["1"]) || (pdp_write_port && *oce == json!(["0"])))
            && conn[format!("RST{port}")] == json!(["0"])
            && param(ram, &format!("CLK{port}MUX")).unwrap_or(&format!("CLK{port}"))
                == format!("CLK{port}")
            && conn[format!("CLK{port}")] == regs.clock
    };
    if !ports.chars().all(port_ok) || regs.gsr != gsr {
        return Outcome::Left;
    }
    Outcome::Absorb(Plan {
        block: name.to_string(),
        kind: Kind::Bram,
        set_parameters: ports
            .chars()
            .map(|port| (format!("REGMODE_{port}"), json!("OUTREG")))
            .collect(),
        set_connections: ports
            .chars()
            .map(|port| (format!("OCE{port}"), regs.enable.clone()))
            .collect(),
        moves: regs.moves,
    })
}

/// Whether a DP16KD is in the 36-bit pseudo dual-port mode (`DATA_WIDTH_A/B = 36`).
fn pseudo_dual_port(ram: &Value) -> bool {
    ["DATA_WIDTH_A", "DATA_WIDTH_B"]
        .iter()
        .any(|key| int_param(ram, key) == Some(36))
}

/// A MULT18X18D's product `P`.
fn dsp_product(ctx: &Context<'_>, name: &str) -> Outcome {
    let dsp = &ctx.cells[name];
    let conn = &dsp["connections"];
    let outputs = read_bits(ctx, dsp, (0..36).map(|i| format!("P{i}")));
    if outputs.is_empty() {
        return Outcome::Unused;
    }
    if param(dsp, "REG_OUTPUT_CLK").unwrap_or("NONE") != "NONE" {
        return Outcome::Unused;
    }
    let unregistered = dsp
        .get("parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("REG_") && k.ends_with("_CLK"))
        .all(|(k, _)| param(dsp, k) == Some("NONE"));
    let free = |pin: &str, idle: &str| {
        conn.get(pin)
            .is_none_or(|c| *c == json!(["x"]) || *c == json!([idle]))
    };
    let only_p_read = conn.as_object().into_iter().flatten().all(|(pin, net)| {
        pin.starts_with('P')
            || dsp["port_directions"][pin] != json!("output")
            || bits(Some(net)).all(|b| !ctx.loads.contains_key(&b) && !ctx.port_bits.contains(&b))
    });
    let dsp_ok =
        unregistered && only_p_read && free("CLK0", "0") && free("CE0", "1") && free("RST0", "0");
    match (dsp_ok, registers_behind(ctx, &outputs)) {
        (true, Some(regs)) => Outcome::Absorb(Plan {
            block: name.to_string(),
            kind: Kind::Dsp,
            set_parameters: vec![
                ("REG_OUTPUT_CLK".to_string(), json!("CLK0")),
                ("REG_OUTPUT_CE".to_string(), json!("CE0")),
                ("REG_OUTPUT_RST".to_string(), json!("RST0")),
                ("GSR".to_string(), json!(regs.gsr)),
            ],
            set_connections: vec![
                ("CLK0".to_string(), regs.clock.clone()),
                ("CE0".to_string(), regs.enable),
                ("RST0".to_string(), json!(["0"])),
            ],
            moves: regs.moves,
        }),
        _ => Outcome::Left,
    }
}

/// The output pins among `pins` whose one-bit net something reads, with that net.
fn read_bits(
    ctx: &Context<'_>,
    cell: &Value,
    pins: impl Iterator<Item = String>,
) -> Vec<(String, u64)> {
    pins.filter_map(|pin| {
        let bit = cell["connections"].get(&pin).and_then(single_bit)?;
        let read = ctx.port_bits.contains(&bit) || ctx.loads.contains_key(&bit);
        read.then_some((pin, bit))
    })
    .collect()
}

/// The flip-flops behind a block's output bits, when each bit drives one D register and
/// nothing else, all on one clock, one clock enable and one `GSR` setting.
struct Registers {
    clock: Value,
    /// `["1"]` when the flip-flops load every cycle, else their enable net.
    enable: Value,
    gsr: String,
    moves: Vec<Move>,
}

fn registers_behind(ctx: &Context<'_>, outputs: &[(String, u64)]) -> Option<Registers> {
    let mut clock: Option<&Value> = None;
    let mut enable: Option<Value> = None;
    let mut gsr: Option<&str> = None;
    let mut moves = Vec::with_capacity(outputs.len());
    for (pin, bit) in outputs {
        if ctx.port_bits.contains(bit) {
            return None;
        }
        let [(ff_name, load_pin)] = ctx.loads.get(bit)?.as_slice() else {
            return None;
        };
        let ff = &ctx.cells[ff_name];
        let ff_conn = &ff["connections"];
        let ff_enable = match param(ff, "CEMUX").unwrap_or("CE") {
            "1" => json!(["1"]),
            "CE" => match ff_conn.get("CE") {
                Some(ce) if *ce == json!(["1"]) || single_bit(ce).is_some() => ce.clone(),
                _ => return None,
            },
            _ => return None,
        };
        let plain_register = ff.get("type").and_then(Value::as_str) == Some("TRELLIS_FF")
            && load_pin == "DI"
            && ff_conn["CLK"]
                .as_array()
                .is_some_and(|c| c.len() == 1 && c[0].is_u64())
            && param(ff, "CLKMUX").unwrap_or("CLK") == "CLK"
            && ff_conn.get("LSR").is_none_or(|l| *l == json!(["0"]))
            && param(ff, "LSRMUX").unwrap_or("LSR") == "LSR"
            && param(ff, "LSRMODE").unwrap_or("LSR") == "LSR"
            && param(ff, "REGSET").unwrap_or("RESET") == "RESET";
        let q = ff_conn.get("Q").and_then(single_bit)?;
        let ff_gsr = param(ff, "GSR").unwrap_or("ENABLED");
        if !plain_register
            || **clock.get_or_insert(&ff_conn["CLK"]) != ff_conn["CLK"]
            || *enable.get_or_insert_with(|| ff_enable.clone()) != ff_enable
            || *gsr.get_or_insert(ff_gsr) != ff_gsr
        {
            return None;
        }
        moves.push(Move {
            pin: pin.clone(),
            flip_flop: ff_name.clone(),
            q: json!(q),
            old: *bit,
        });
    }
    Some(Registers {
        clock: clock?.clone(),
        enable: enable?,
        gsr: gsr?.to_string(),
        moves,
    })
}

/// A parameter's string value. yosys writes a string that could be read as a bit pattern
/// (`"1"`) with a trailing space, which is trimmed here.
fn param<'a>(cell: &'a Value, key: &str) -> Option<&'a str> {
    cell.get("parameters")?
        .get(key)?
        .as_str()
        .map(str::trim_end)
}

/// An integer parameter, which yosys writes as a 32-bit binary string (or a number).
fn int_param(cell: &Value, key: &str) -> Option<u64> {
    match cell.get("parameters")?.get(key)? {
        Value::String(bits) => u64::from_str_radix(bits.trim_end(), 2).ok(),
        value => value.as_u64(),
    }
}

/// A one-bit connection's net number (`None` for a constant or a bus).
fn single_bit(connection: &Value) -> Option<u64> {
    match connection.as_array()?.as_slice() {
        [bit] => bit.as_u64(),
        _ => None,
    }
}

fn bits(list: Option<&Value>) -> impl Iterator<Item = u64> + '_ {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
}

/// Net number → the (cell, pin) inputs it drives.
fn input_loads(cells: &Map<String, Value>) -> Result<HashMap<u64, Vec<(String, String)>>, String> {
    let mut loads: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    for (name, cell) in cells {
        let conns = cell
            .get("connections")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("cell {name} has no connections"))?;
        for (pin, net) in conns {
            let direction = cell
                .get("port_directions")
                .and_then(|d| d.get(pin))
                .and_then(Value::as_str);
            // Blackbox cells without directions count as loads on every pin: that only
            // makes a port fail the one-load check, never absorbs wrongly.
            if direction == Some("output") {
                continue;
            }
            for bit in bits(Some(net)) {
                loads
                    .entry(bit)
                    .or_default()
                    .push((name.clone(), pin.clone()));
            }
        }
    }
    Ok(loads)
}

/// The old outputs' nets have neither driver nor load now: a name made only of them is
/// removed, and in a wider name they become `"x"`.
fn drop_stale_names(module: &mut Value, stale: &HashSet<u64>) {
    if stale.is_empty() {
        return;
    }
    let Some(names) = module.get_mut("netnames").and_then(Value::as_object_mut) else {
        return;
    };
    names.retain(|_, net| {
        let Some(list) = net.get_mut("bits").and_then(Value::as_array_mut) else {
            return true;
        };
        let is_stale = |b: &Value| b.as_u64().is_some_and(|b| stale.contains(&b));
        if list.iter().all(is_stale) {
            return false;
        }
        for b in list.iter_mut() {
            if is_stale(b) {
                *b = json!("x");
            }
        }
        true
    });
}

/// Reads yosys's netlist at `input`, absorbs, writes the result to `output` and appends one
/// line saying what changed to `log`.
pub fn rewrite_file(input: &Path, output: &Path, log: &Path) -> Result<Absorbed, FlowError> {
    let parse_error = |reason: String| FlowError::Parse {
        what: "the yosys netlist".to_string(),
        path: input.display().to_string(),
        reason,
    };
    let text = std::fs::read(input).map_err(|e| FlowError::io(input, e))?;
    let mut netlist: Value =
        serde_json::from_slice(&text).map_err(|e| parse_error(e.to_string()))?;
    drop(text);
    let absorbed = absorb_output_registers(&mut netlist).map_err(parse_error)?;
    let text = serde_json::to_string(&netlist).map_err(|e| parse_error(e.to_string()))?;
    crate::artifacts::write(output, &text)?;
    let line = format!(
        "\nlls (toolchain/src/outreg.rs): output registers absorbed into {} DP16KD read ports \
         and {} MULT18X18D products, {} flip-flops removed; {} outputs left unregistered; \
         wrote {}\n",
        absorbed.bram_ports,
        absorbed.dsp_outputs,
        absorbed.flip_flops,
        absorbed.left,
        output.display()
    );
    let mut log_file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .map_err(|e| FlowError::io(log, e))?;
    std::io::Write::write_all(&mut log_file, line.as_bytes()).map_err(|e| FlowError::io(log, e))?;
    Ok(absorbed)
}
