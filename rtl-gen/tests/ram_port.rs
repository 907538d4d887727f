//! `blocks::ram_port`: the memory is marked `no_rw_check`, so yosys builds the block RAM
//! without read-first emulation, and under `LLS_POISON_RW_COLLISIONS` (which every
//! co-simulation defines) a read of the address written in the same cycle returns the word
//! inverted. Here a testbench makes exactly that collision and reads the result with Icarus,
//! with and without the macro: the check the co-simulations rely on can fail.

use std::path::{Path, PathBuf};

use rtl_gen::blocks::{ram_port, POISON_COLLISIONS};
use rtl_gen::verilog::{Module, Ty};

/// `ram_probe`: a 16 × 8-bit memory, all words 0x3c at power-up, one write and one
/// registered read port.
fn probe_module() -> Module {
    let mut m = Module::new("ram_probe");
    let clk = m.input("clk", Ty::bit());
    let we = m.input("we", Ty::bit());
    let waddr = m.input("waddr", Ty::u(4));
    let wdata = m.input("wdata", Ty::u(8));
    let raddr = m.input("raddr", Ty::u(4));
    let q = m.output_reg("q", Ty::u(8));
    let mem = m.memory("mem", Ty::u(8), 16, Some("ram_probe.hex"));
    let port = ram_port(&mut m, &mem, we, waddr, wdata, &q, raddr);
    m.always_ff(&clk, port);
    m
}

/// Writes 0xa5 to word 3 while reading word 3 (the collision), then reads word 3 and word
/// 4 with no write: prints the three words read, in hex.
const TESTBENCH: &str = r#"
module tb;
    reg clk = 0, we = 0;
    reg [3:0] waddr = 0, raddr = 0;
    reg [7:0] wdata = 0;
    wire [7:0] q;
    ram_probe dut (.clk(clk), .we(we), .waddr(waddr), .wdata(wdata), .raddr(raddr), .q(q));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        we = 1; waddr = 3; wdata = 8'ha5; raddr = 3; tick;
        $display("collision %h", q);
        we = 0; raddr = 3; tick;
        $display("after %h", q);
        raddr = 4; tick;
        $display("other %h", q);
        $finish;
    end
endmodule
"#;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtl-gen-ram-port-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn write_design(dir: &Path) -> String {
    let text = probe_module().to_verilog();
    std::fs::write(dir.join("ram_probe.v"), &text).expect("write ram_probe.v");
    std::fs::write(dir.join("ram_probe.hex"), "3c\n".repeat(16)).expect("write image");
    std::fs::write(dir.join("tb.v"), TESTBENCH).expect("write tb.v");
    text
}

/// The three words the testbench prints, simulated with or without the poison macro.
fn simulate(poison: bool) -> Vec<String> {
    let dir = scratch(if poison { "poison" } else { "plain" });
    write_design(&dir);
    let flags: Vec<String> = poison
        .then(|| format!("-D{POISON_COLLISIONS}"))
        .into_iter()
        .collect();
    let text = toolchain::simulate_icarus(&dir, &flags, &["ram_probe.v", "tb.v"])
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_dir_all(&dir).ok();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[test]
fn a_colliding_read_is_poisoned_only_under_the_macro() {
    // Plain Verilog semantics: the colliding read returns the old word (read-first).
    assert_eq!(simulate(false), ["3c", "a5", "3c"]);
    // Poisoned: the colliding read returns it inverted; every other read is unchanged.
    assert_eq!(simulate(true), ["c3", "a5", "3c"]);
}

#[test]
fn the_memory_is_marked_so_yosys_adds_no_read_first_emulation() {
    let dir = scratch("yosys");
    let text = write_design(&dir);
    assert!(text.contains("(* no_rw_check *)"), "{text}");
    let yosys = toolchain::yosys().unwrap_or_else(|e| panic!("{e}"));
    let script = "read_verilog ram_probe.v; synth_ice40 -top ram_probe; stat".to_string();
    let out = yosys
        .run(&["-p".into(), script], &dir)
        .unwrap_or_else(|e| panic!("yosys: {e}"));
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(log.contains("SB_RAM40_4K"), "no block RAM inferred:\n{log}");
    assert!(
        !log.contains("emulate_read_first") && !log.contains("emulate_transparency"),
        "yosys emulated read-first behaviour:\n{log}"
    );
}
