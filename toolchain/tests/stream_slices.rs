//! The board wrapper's stream register slices (`board::slice_chain`): simulated on their
//! own under random stalls at both ends, and linted inside a sliced wrapper.

use std::path::Path;

use golden_model::config::Config;
use rtl_gen::verilog::{Module, Ty};
use toolchain::board;

/// Words the testbench sends through the slices.
const WORDS: u32 = 2000;

/// A module of `n` slices on a 16-bit stream, for the testbench below.
fn slices(n: usize) -> Module {
    let mut m = Module::new("slices");
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let in_valid = m.input("in_valid", Ty::bit());
    let in_data = m.input("in_data", Ty::u(16));
    let in_ready = m.output_wire("in_ready", Ty::bit());
    let out_valid = m.output_wire("out_valid", Ty::bit());
    let out_data = m.output_wire("out_data", Ty::u(16));
    let out_ready = m.input("out_ready", Ty::bit());
    let (ready, valid, data) =
        board::slice_chain(&mut m, &clk, &rst, "s", n, in_valid, in_data, out_ready);
    m.assign(&in_ready, ready);
    m.assign(&out_valid, valid);
    m.assign(&out_data, data);
    m
}

/// Sends 0, 1, … under random upstream gaps (`GAP`%) and downstream stalls (`STALL`%);
/// every word must come out once, in order; prints the cycles it took.
const TESTBENCH: &str = r#"
module tb;
    reg clk = 0, rst = 1, in_valid = 0, out_ready = 0;
    reg [15:0] in_data = 0;
    wire in_ready, out_valid;
    wire [15:0] out_data;
    integer sent = 0, got = 0, cycles = 0, errors = 0, seed = 7;
    slices dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_data(in_data),
                .in_ready(in_ready), .out_valid(out_valid), .out_data(out_data),
                .out_ready(out_ready));
    always #5 clk = !clk;
    always @(posedge clk) if (!rst) begin
        cycles <= cycles + 1;
        if (out_valid && out_ready) begin
            if (out_data !== got[15:0]) errors = errors + 1;
            got = got + 1;
        end
        // A word stays on the bus until it is taken (AXI-Stream).
        if (in_valid && in_ready) begin
            sent = sent + 1;
            in_data <= in_data + 1;
        end
        if (!(in_valid && !in_ready))
            in_valid <= (sent + (in_valid && in_ready) < `WORDS) && ($unsigned($random(seed)) % 100 >= `GAP);
        out_ready <= $unsigned($random(seed)) % 100 >= `STALL;
        if (got == `WORDS || cycles > 20 * `WORDS) begin
            $display("RESULT got=%0d errors=%0d cycles=%0d", got, errors, cycles);
            $finish;
        end
    end
    initial begin
        repeat (3) @(posedge clk);
        rst <= 0;
    end
endmodule
"#;

/// (words out, errors, cycles) of the testbench on `n` slices.
fn simulate(dir: &Path, n: usize, gap: u32, stall: u32) -> (u32, u32, u32) {
    std::fs::write(dir.join("slices.v"), slices(n).to_verilog()).unwrap();
    std::fs::write(dir.join("tb.v"), TESTBENCH).unwrap();
    let flags = [
        format!("-DWORDS={WORDS}"),
        format!("-DGAP={gap}"),
        format!("-DSTALL={stall}"),
    ];
    let text = toolchain::simulate_icarus(dir, &flags, &["tb.v", "slices.v"]).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .unwrap_or_else(|| panic!("no RESULT line in:\n{text}"));
    let field = |key: &str| -> u32 {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {line}"))
    };
    (field("got="), field("errors="), field("cycles="))
}

#[test]
fn stream_slices_pass_every_word_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for n in [1, 2, 3] {
        for (gap, stall) in [(30, 30), (0, 50), (50, 0), (10, 80)] {
            let (got, errors, _) = simulate(dir.path(), n, gap, stall);
            assert_eq!(
                (got, errors),
                (WORDS, 0),
                "{n} slices, {gap}% gaps, {stall}% stalls"
            );
        }
    }
}

/// With neither end stalling, a word a cycle: only the slices' latency is added.
#[test]
fn stream_slices_keep_full_throughput() {
    let dir = tempfile::tempdir().unwrap();
    for n in [1, 2, 3] {
        let (got, errors, cycles) = simulate(dir.path(), n, 0, 0);
        assert_eq!((got, errors), (WORDS, 0));
        assert!(
            cycles <= WORDS + n as u32 + 2,
            "{n} slices: {cycles} cycles for {WORDS} words"
        );
    }
}

/// The ECP5's wrapper (two slices a stream) around the tiny design: Verilator `-Wall`
/// lint of the wrapper with the design, and a snapshot.
#[test]
fn sliced_board_wrapper_lints_clean() {
    let cfg_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rtl-gen/tests/configs/tiny-square.toml"
    ))
    .unwrap();
    let cfg = Config::from_toml_str(&cfg_text, "tiny-square.toml").unwrap();
    let design = rtl_gen::generate(&cfg, &cfg_text, true).unwrap();
    let w = board::wrapper(
        &design.manifest,
        vec!["// header".to_string()],
        toolchain::device::ECP5_85K.stream_slices,
    );
    let dir = tempfile::tempdir().unwrap();
    design.write(dir.path()).unwrap();
    std::fs::write(dir.path().join(w.file_name()), w.to_verilog()).unwrap();
    let mut args = vec![
        "--lint-only".to_string(),
        "-Wall".into(),
        "--top-module".into(),
        w.name.clone(),
        w.file_name(),
    ];
    args.extend(design.files.keys().filter(|f| f.ends_with(".v")).cloned());
    toolchain::verilator()
        .unwrap()
        .run(&args, dir.path())
        .unwrap_or_else(|e| panic!("verilator lint of {}: {e}", w.name));
    insta::assert_snapshot!("tiny_top_board_sliced.v", w.to_verilog());
}
