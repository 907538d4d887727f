//! Snapshots of the files the flow feeds the tools (constraints, yosys scripts, the board
//! wrapper) and the report parsers on captured nextpnr output. No tool runs here.

use std::path::Path;

use golden_model::config::Config;
use toolchain::device::{BOARDS, ICE40_UP5K};
use toolchain::host_board::{self, BoardTopError};
use toolchain::nextpnr::{overflows, parse_report, unplaceable_type, utilisation_from_log, Usage};
use toolchain::{board, yosys, Family};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn constraint_files() {
    for b in BOARDS {
        insta::assert_snapshot!(b.name, b.text);
    }
}

#[test]
fn constraint_files_start_with_the_board_and_have_the_sections() {
    for b in BOARDS {
        let first = b.text.lines().next().unwrap();
        assert!(
            first.starts_with("# ") && first.contains(" v"),
            "{}: {first}",
            b.path
        );
        for section in ["# Clock", "# Host link"] {
            assert!(
                b.text.lines().any(|l| l.starts_with(section)),
                "{}: no {section}",
                b.path
            );
        }
    }
    let ulx3s = BOARDS.iter().find(|b| b.name == "ulx3s").unwrap();
    assert!(ulx3s.text.contains("LOCATE COMP \"clk\" SITE \"G2\";"));
    assert!(ulx3s.text.contains("FREQUENCY PORT \"clk\" 25 MHZ;"));
}

#[test]
fn yosys_scripts() {
    insta::assert_snapshot!("ice40.ys", yosys::ICE40_SCRIPT);
    insta::assert_snapshot!("ecp5.ys", yosys::ECP5_SCRIPT);
    let files = ["tiny_top.v".to_string(), "tiny_top_board.v".to_string()];
    insta::assert_snapshot!(
        "synth.ys",
        yosys::synth_script(
            Family::Ice40,
            &files,
            "tiny_top_board",
            false,
            "../synth.stat.json",
            "../synth.json"
        )
    );
}

fn tiny() -> (Config, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut text = std::fs::read_to_string(root.join("configs/digits-mlp.toml")).unwrap();
    for (from, to) in [
        ("name = \"digits-mlp\"", "name = \"tiny\""),
        ("inputs = 64", "inputs = 16"),
        ("hidden = [32]", "hidden = [8]"),
        ("classes = 10", "classes = 4"),
        // One lane a unit.
        ("lanes = 4\nclassifier_lanes = 1", "lanes = 1"),
    ] {
        assert!(
            text.contains(from),
            "configs/digits-mlp.toml no longer has `{from}`"
        );
        text = text.replace(from, to);
    }
    (Config::from_toml_str(&text, "tiny.toml").unwrap(), text)
}

#[test]
fn board_wrapper_of_the_tiny_design() {
    let (cfg, text) = tiny();
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    let w = board::wrapper(&design.manifest, vec!["// header".to_string()], 0);
    assert_eq!(w.name, "tiny_top_board");
    assert!(w.pins.len() as u32 <= ICE40_UP5K.io_pins);
    insta::assert_snapshot!("tiny_top_board.v", w.to_verilog());
}

#[test]
fn board_tops_of_the_tiny_design() {
    let (cfg, text) = tiny();
    let design = rtl_gen::generate(&cfg, &text, true).unwrap();
    for b in BOARDS {
        let top = host_board::build(&design, &text, &b, 50.0, 1_000_000).unwrap();
        assert_eq!(top.name(), format!("tiny_top_{}", b.name));
        // Every pin the board top has is placed by the board's file, and nothing else.
        let pins: Vec<String> = top.modules[0]
            .ports()
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert!(
            toolchain::flow::unconstrained(&pins, &b).is_empty(),
            "{}",
            b.name
        );
        assert_eq!(pins.len(), b.pins().len(), "{}", b.name);
        // The PLL's clock at or under the target, the UART timed from it.
        assert!(
            top.clock_mhz <= 50.0 && top.clock_mhz > 49.0,
            "{}",
            top.clock_mhz
        );
        assert_eq!(top.clocks_per_bit, top.clock_mhz.round() as u32);
        // The host link's parts follow the top.
        let names: Vec<&str> = top.modules.iter().map(|m| m.name()).collect();
        assert!(names.contains(&"tiny_top_host") && names.contains(&"tiny_top_link"));
    }
    let icebreaker = BOARDS.iter().find(|b| b.name == "icebreaker").unwrap();
    let top = host_board::build(&design, &text, icebreaker, 50.0, 1_000_000).unwrap();
    insta::assert_snapshot!("tiny_top_icebreaker.v", top.modules[0].to_verilog());
    // No PLL setting reaches 5 MHz from 12; 3 Mbaud is not 4 clocks a bit at 10 MHz.
    let err = |mhz, baud| host_board::build(&design, &text, icebreaker, mhz, baud).err();
    assert!(matches!(
        err(5.0, 1_000_000),
        Some(BoardTopError::Clock { .. })
    ));
    assert!(matches!(
        err(10.0, 3_000_000),
        Some(BoardTopError::Baud { .. })
    ));
}

#[test]
fn nextpnr_report_of_a_routed_ice40_design() {
    let r = parse_report(&data("nextpnr-ice40-report.json"), "clk").unwrap();
    assert_eq!(r.clock, "clk$SB_IO_IN_$glb_clk");
    assert!((r.fmax_mhz - 19.83).abs() < 0.01, "{}", r.fmax_mhz);
    assert_eq!(r.constraint_mhz, 50.0);
    assert_eq!(
        r.utilisation["ICESTORM_LC"],
        Usage {
            used: 2667,
            available: 5280
        }
    );
    assert_eq!(
        r.utilisation["ICESTORM_DSP"],
        Usage {
            used: 4,
            available: 8
        }
    );
    let path = r.critical_path.unwrap();
    assert!((1000.0 / path.delay_ns - r.fmax_mhz).abs() < 0.1);
    insta::assert_json_snapshot!("critical_path", path);
}

#[test]
fn nextpnr_overflow_logs() {
    let ice40 = data("nextpnr-ice40-overflow.log");
    let o = overflows(&utilisation_from_log(&ice40));
    let text: Vec<String> = o.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        text,
        [
            "ICESTORM_DSP (SB_MAC16 DSP tiles) needs 16, available 8",
            "ICESTORM_LC (logic cells: LUT4 + carry + FF) needs 5915, available 5280",
        ]
    );
    assert_eq!(unplaceable_type(&ice40).as_deref(), Some("ICESTORM_DSP"));

    let ecp5 = data("nextpnr-ecp5-overflow.log");
    let table = utilisation_from_log(&ecp5);
    assert_eq!(
        table["TRELLIS_COMB"],
        Usage {
            used: 15242,
            available: 83640
        }
    );
    let o = overflows(&table);
    assert_eq!(o.len(), 1);
    assert_eq!(
        o[0].to_string(),
        "DP16KD (DP16KD 18 Kib block RAMs) needs 227, available 208"
    );
}
