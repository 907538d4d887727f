//! The ECP5 output-register rewrite (`toolchain::outreg`) on a netlist yosys wrote
//! (`data/outreg_fixture.v`): of four block-RAM reads and two products, the three reads and
//! the two products whose registers may be absorbed (loading every cycle, or under one
//! enable; a 36-bit pseudo dual-port read on both ports at once) are, exactly; every
//! condition that would make absorbing change behaviour, applied to any of them, keeps it
//! out.

use serde_json::{json, Value};
use toolchain::outreg::{absorb_output_registers, Absorbed};

fn fixture() -> Value {
    let text = include_str!("data/outreg_fixture.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn top(netlist: &mut Value) -> &mut Value {
    &mut netlist["modules"]["outreg_fixture"]
}

const RAM: &str = "m0.0.0";
const DSP: &str = "product_TRELLIS_FF_Q_DI_MULT18X18D_P0";
const GATED_RAM: &str = "m1.0.0";
/// 512 × 32, pseudo dual-port: the read's low 18 bits on `DOA`, the rest on `DOB`.
const WIDE_RAM: &str = "m3.0.0";
const GATED_DSP: &str = "product_gated_TRELLIS_FF_Q_30_DI_MULT18X18D_P31";

/// The `TRELLIS_FF` reading output `pin` of cell `block`.
fn flip_flop_behind(netlist: &Value, block: &str, pin: &str) -> String {
    let cells = &netlist["modules"]["outreg_fixture"]["cells"];
    let bit = &cells[block]["connections"][pin][0];
    let loads: Vec<&String> = cells
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["connections"]["DI"].get(0) == Some(bit))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(loads.len(), 1, "{pin} of {block} drives one DI");
    loads[0].clone()
}

/// The DP16KD output that carries bit `i` of the wide read.
fn wide_pin(i: usize) -> String {
    if i < 18 {
        format!("DOA{i}")
    } else {
        format!("DOB{}", i - 18)
    }
}

fn netname_bits(netlist: &Value, name: &str) -> Vec<Value> {
    netlist["modules"]["outreg_fixture"]["netnames"][name]["bits"]
        .as_array()
        .unwrap()
        .clone()
}

/// What the pristine fixture absorbs: the plain, the gated and the wide read, the plain and
/// the gated product; the read through an adder is left.
const ALL: Absorbed = Absorbed {
    bram_ports: 3,
    dsp_outputs: 2,
    flip_flops: 128,
    left: 1,
};

#[test]
fn the_registers_behind_reads_and_products_move_into_the_blocks_with_their_enable() {
    let mut netlist = fixture();
    let cells_before = top(&mut netlist)["cells"].as_object().unwrap().len();
    let plain = netname_bits(&netlist, "plain");
    let gated = netname_bits(&netlist, "gated");
    let product = netname_bits(&netlist, "product");
    let product_gated = netname_bits(&netlist, "product_gated");
    let clock = netname_bits(&netlist, "clk");
    let hold = netname_bits(&netlist, "hold");
    let wide = netname_bits(&netlist, "wide");
    let flip_flops: Vec<String> = (0..16)
        .flat_map(|i| [RAM, GATED_RAM].map(|r| flip_flop_behind(&netlist, r, &format!("DOB{i}"))))
        .chain((0..32).map(|i| flip_flop_behind(&netlist, WIDE_RAM, &wide_pin(i))))
        .chain((0..32).flat_map(|i| {
            [DSP, GATED_DSP].map(|d| flip_flop_behind(&netlist, d, &format!("P{i}")))
        }))
        .collect();
    assert_eq!(flip_flops.len(), 128);

    let absorbed = absorb_output_registers(&mut netlist).unwrap();
    assert_eq!(absorbed, ALL);

    let m = top(&mut netlist);
    let cells = m["cells"].as_object().unwrap();
    assert_eq!(cells.len(), cells_before - 128);
    for ff in &flip_flops {
        assert!(!cells.contains_key(ff), "{ff} removed");
    }
    // The blocks now drive the nets the flip-flops drove, bit for bit.
    // The output register loads when the flip-flops did: every cycle, or under `hold`.
    for (block, outputs, enable) in [
        (RAM, &plain, json!(["1"])),
        (GATED_RAM, &gated, json!(hold)),
    ] {
        let ram = &cells[block];
        assert_eq!(ram["parameters"]["REGMODE_B"], json!("OUTREG"), "{block}");
        assert_eq!(ram["parameters"]["REGMODE_A"], json!("NOREG"), "{block}");
        assert_eq!(ram["connections"]["OCEB"], enable, "{block}");
        for (i, bit) in outputs.iter().enumerate() {
            assert_eq!(ram["connections"][format!("DOB{i}")], json!([bit]));
        }
    }
    for (block, outputs, enable) in [
        (DSP, &product, json!(["1"])),
        (GATED_DSP, &product_gated, json!(hold)),
    ] {
        let dsp = &cells[block];
        for (key, value) in [
            ("REG_OUTPUT_CLK", "CLK0"),
            ("REG_OUTPUT_CE", "CE0"),
            ("REG_OUTPUT_RST", "RST0"),
            ("GSR", "DISABLED"),
        ] {
            assert_eq!(dsp["parameters"][key], json!(value), "{block} {key}");
        }
        assert_eq!(dsp["connections"]["CLK0"], json!(clock), "{block}");
        assert_eq!(dsp["connections"]["CE0"], enable, "{block}");
        assert_eq!(dsp["connections"]["RST0"], json!(["0"]), "{block}");
        for (i, bit) in outputs.iter().enumerate() {
            assert_eq!(dsp["connections"][format!("P{i}")], json!([bit]));
        }
    }
    // The wide read: both ports' outputs registered alike, the whole word moved.
    let ram = &cells[WIDE_RAM];
    for port in ["A", "B"] {
        assert_eq!(
            ram["parameters"][format!("REGMODE_{port}")],
            json!("OUTREG")
        );
        assert_eq!(ram["connections"][format!("OCE{port}")], json!(["1"]));
    }
    for (i, bit) in wide.iter().enumerate() {
        assert_eq!(ram["connections"][wide_pin(i)], json!([bit]), "wide[{i}]");
    }
    // The read through an adder is untouched.
    assert_eq!(cells["m2.0.0"]["parameters"]["REGMODE_B"], json!("NOREG"));
    assert_eq!(cells["m2.0.0"]["connections"]["OCEB"], json!(["1"]));
    // No name is left on the old, now unconnected, outputs.
    for (name, net) in m["netnames"].as_object().unwrap() {
        for bit in net["bits"].as_array().unwrap() {
            let connected = !bit.is_u64()
                || cells.values().any(|c| {
                    c["connections"]
                        .as_object()
                        .unwrap()
                        .values()
                        .any(|v| v.as_array().unwrap().contains(bit))
                })
                || m["ports"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|p| p["bits"].as_array().unwrap().contains(bit));
            assert!(connected, "netname {name} keeps unconnected bit {bit}");
        }
    }
}

#[test]
fn a_second_pass_changes_nothing() {
    let mut once = fixture();
    absorb_output_registers(&mut once).unwrap();
    let mut twice = once.clone();
    let again = absorb_output_registers(&mut twice).unwrap();
    assert_eq!(
        again,
        Absorbed {
            left: ALL.left,
            ..Absorbed::default()
        }
    );
    assert_eq!(once, twice);
}

type Breaker = fn(&mut Value, &str);

/// Ways in which the flip-flop `ff` behind an output of `block`, or the block itself,
/// stops being that block's output register, for either kind of block.
fn register_breakers() -> Vec<(&'static str, Breaker)> {
    vec![
        ("one flip-flop on an enable of its own", |m, ff| {
            m["cells"][ff]["parameters"]["CEMUX"] = json!("CE");
            m["cells"][ff]["connections"]["CE"] = json!([99997]);
        }),
        ("clock enable inverted", |m, ff| {
            m["cells"][ff]["parameters"]["CEMUX"] = json!("INV");
            m["cells"][ff]["connections"]["CE"] = json!(["1"]);
        }),
        ("clock enable unconnected", |m, ff| {
            m["cells"][ff]["parameters"]["CEMUX"] = json!("CE");
            m["cells"][ff]["connections"]
                .as_object_mut()
                .unwrap()
                .remove("CE");
        }),
        ("reset used", |m, ff| {
            m["cells"][ff]["connections"]["LSR"] = json!([5])
        }),
        ("reset inverted", |m, ff| {
            m["cells"][ff]["parameters"]["LSRMUX"] = json!("INV")
        }),
        ("preload", |m, ff| {
            m["cells"][ff]["parameters"]["LSRMODE"] = json!("PRLD")
        }),
        ("reset value 1", |m, ff| {
            m["cells"][ff]["parameters"]["REGSET"] = json!("SET")
        }),
        ("another clock", |m, ff| {
            m["cells"][ff]["connections"]["CLK"] = json!([5])
        }),
        ("inverted clock", |m, ff| {
            m["cells"][ff]["parameters"]["CLKMUX"] = json!("INV")
        }),
        ("another global reset setting", |m, ff| {
            m["cells"][ff]["parameters"]["GSR"] = json!("ENABLED")
        }),
        ("read into M, not DI", |m, ff| {
            let c = &mut m["cells"][ff]["connections"];
            let d = c["DI"].clone();
            c.as_object_mut().unwrap().remove("DI");
            c["M"] = d;
            m["cells"][ff]["port_directions"]["M"] = json!("input");
        }),
    ]
}

fn ram_breakers() -> Vec<(&'static str, Breaker)> {
    vec![
        ("output clock enable not tied", |m, _| {
            m["cells"][RAM]["connections"]["OCEB"] = json!([5])
        }),
        ("output reset not tied", |m, _| {
            m["cells"][RAM]["connections"]["RSTB"] = json!([5])
        }),
        ("block RAM clock inverted", |m, _| {
            m["cells"][RAM]["parameters"]["CLKBMUX"] = json!("INV")
        }),
        ("block RAM on another clock", |m, _| {
            m["cells"][RAM]["connections"]["CLKB"] = json!([5])
        }),
        ("a second load on a read bit", |m, _| {
            let bit = m["cells"][RAM]["connections"]["DOB3"].clone();
            add_probe(m, bit);
        }),
        ("a read bit is a module port", |m, _| {
            let bit = m["cells"][RAM]["connections"]["DOB7"].clone();
            m["ports"]["probe"] = json!({"direction": "output", "bits": bit});
        }),
    ]
}

fn dsp_breakers() -> Vec<(&'static str, Breaker)> {
    vec![
        ("an input register in use", |m, _| {
            m["cells"][DSP]["parameters"]["REG_INPUTA_CLK"] = json!("CLK0")
        }),
        ("CLK0 taken", |m, _| {
            m["cells"][DSP]["connections"]["CLK0"] = json!([5]);
            m["cells"][DSP]["port_directions"]["CLK0"] = json!("input");
        }),
        ("CE0 taken", |m, _| {
            m["cells"][DSP]["connections"]["CE0"] = json!([5]);
            m["cells"][DSP]["port_directions"]["CE0"] = json!("input");
        }),
        ("an output other than P read", |m, _| {
            m["cells"][DSP]["connections"]["SIGNEDP"] = json!([99998]);
            m["cells"][DSP]["port_directions"]["SIGNEDP"] = json!("output");
            add_probe(m, json!([99998]));
        }),
        ("a second load on a product bit", |m, _| {
            let bit = m["cells"][DSP]["connections"]["P9"].clone();
            add_probe(m, bit);
        }),
        ("a product bit is a module port", |m, _| {
            let bit = m["cells"][DSP]["connections"]["P20"].clone();
            m["ports"]["probe"] = json!({"direction": "output", "bits": bit});
        }),
    ]
}

/// A LUT4 reading `bit`.
fn add_probe(m: &mut Value, bit: Value) {
    m["cells"]["probe"] = json!({
        "hide_name": 0, "type": "LUT4", "parameters": {"INIT": "0000000000000010"},
        "attributes": {},
        "port_directions": {"A": "input", "B": "input", "C": "input", "D": "input", "Z": "output"},
        "connections": {"A": bit, "B": ["0"], "C": ["0"], "D": ["0"], "Z": [99999]}
    });
}

/// Applies each breaker to `block` (its flip-flop behind `pin`) and checks that exactly
/// that block stays as it was, with its flip-flop, and the other blocks are still absorbed.
fn check_kept_out(
    block: &str,
    pin: &str,
    breakers: Vec<(&'static str, Breaker)>,
    expected: Absorbed,
) {
    let pristine = fixture();
    let ff = flip_flop_behind(&pristine, block, pin);
    for (what, breaker) in breakers {
        let mut netlist = pristine.clone();
        breaker(top(&mut netlist), &ff);
        let before = top(&mut netlist).clone();
        let absorbed = absorb_output_registers(&mut netlist).unwrap();
        assert_eq!(absorbed, expected, "{block}: {what}");
        let m = top(&mut netlist);
        assert_eq!(
            m["cells"][block], before["cells"][block],
            "{block}: {what}: block untouched"
        );
        assert_eq!(
            m["cells"][&ff], before["cells"][&ff],
            "{block}: {what}: flip-flop kept"
        );
    }
}

/// [`ALL`] less one 16-bit read left unregistered.
const ONE_READ_LEFT: Absorbed = Absorbed {
    bram_ports: 2,
    dsp_outputs: 2,
    flip_flops: 112,
    left: 2,
};

/// [`ALL`] less the wide read left unregistered, both its ports.
const WIDE_READ_LEFT: Absorbed = Absorbed {
    bram_ports: 2,
    dsp_outputs: 2,
    flip_flops: 96,
    left: 2,
};

/// [`ALL`] less one product left unregistered.
const ONE_PRODUCT_LEFT: Absorbed = Absorbed {
    bram_ports: 3,
    dsp_outputs: 1,
    flip_flops: 96,
    left: 2,
};

#[test]
fn each_condition_that_would_change_behaviour_keeps_a_block_ram_register_out() {
    let mut breakers = register_breakers();
    breakers.extend(ram_breakers());
    check_kept_out(RAM, "DOB3", breakers, ONE_READ_LEFT);
    check_kept_out(GATED_RAM, "DOB3", register_breakers(), ONE_READ_LEFT);
}

/// A pseudo dual-port read is one register across `DOA` and `DOB`: a flaw on either half,
/// or on either port's controls, keeps the whole word out (never half of it registered).
#[test]
fn each_condition_that_would_change_behaviour_keeps_a_wide_read_out_whole() {
    check_kept_out(WIDE_RAM, "DOA3", register_breakers(), WIDE_READ_LEFT);
    check_kept_out(WIDE_RAM, "DOB3", register_breakers(), WIDE_READ_LEFT);
    let ports: Vec<(&'static str, Breaker)> = vec![
        ("write port's output enable on a net", |m, _| {
            m["cells"][WIDE_RAM]["connections"]["OCEA"] = json!([5])
        }),
        ("read port's output enable low", |m, _| {
            m["cells"][WIDE_RAM]["connections"]["OCEB"] = json!(["0"])
        }),
        ("write port's output reset not tied", |m, _| {
            m["cells"][WIDE_RAM]["connections"]["RSTA"] = json!([5])
        }),
        ("write port on another clock", |m, _| {
            m["cells"][WIDE_RAM]["connections"]["CLKA"] = json!([5])
        }),
        ("write port's clock inverted", |m, _| {
            m["cells"][WIDE_RAM]["parameters"]["CLKAMUX"] = json!("INV")
        }),
        ("read port on another clock", |m, _| {
            m["cells"][WIDE_RAM]["connections"]["CLKB"] = json!([5])
        }),
    ];
    check_kept_out(WIDE_RAM, "DOA3", ports, WIDE_READ_LEFT);
}

#[test]
fn each_condition_that_would_change_behaviour_keeps_a_product_register_out() {
    let mut breakers = register_breakers();
    breakers.extend(dsp_breakers());
    check_kept_out(DSP, "P9", breakers, ONE_PRODUCT_LEFT);
    check_kept_out(GATED_DSP, "P9", register_breakers(), ONE_PRODUCT_LEFT);
}

#[test]
fn a_netlist_without_modules_is_an_error_not_a_panic() {
    let err = absorb_output_registers(&mut json!({"creator": "yosys"})).unwrap_err();
    assert!(err.contains("modules"), "{err}");
}
