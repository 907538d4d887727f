//! The UART blocks in Icarus: the receiver against line waveforms built here (senders 3 %
//! fast and slow, a glitch, a bad stop bit, a quiet line), the transmitter decoded here
//! bit by bit, and the two back to back. Both modules are lint-clean.

use rtl_gen::blocks::uart::{self, BITS_PER_BYTE, IDLE_BYTES};

#[path = "support/tools.rs"]
mod tools;
#[path = "support/uart_line.rs"]
mod uart_line;

use tools::run_tool;

fn scratch_dir(tag: &str) -> std::path::PathBuf {
    tools::scratch_dir(&format!("uart-{tag}"))
}

const CLOCKS_PER_BIT: u32 = 16;

/// The line levels of `bytes` sent 8N1 by a sender whose bit lasts `clocks_per_bit ×
/// rate` receiver clocks (rounded as a real sender's edges fall), each byte followed by
/// `gap` idle clocks.
fn line(bytes: &[u8], rate: f64, gap: u32) -> Vec<(bool, u32)> {
    let mut levels = Vec::new();
    let mut t = 0.0_f64;
    let mut edge = 0u32;
    let mut push = |level: bool, bits: f64, levels: &mut Vec<(bool, u32)>| {
        t += bits * f64::from(CLOCKS_PER_BIT) * rate;
        let next = t.round() as u32;
        levels.push((level, next - edge));
        edge = next;
    };
    for &b in bytes {
        push(false, 1.0, &mut levels);
        for i in 0..8 {
            push(b >> i & 1 == 1, 1.0, &mut levels);
        }
        push(true, 1.0, &mut levels);
        if gap > 0 {
            levels.push((true, gap));
        }
    }
    levels
}

/// Runs the testbench with `rx_levels` on the receiver's pin and `tx_bytes` offered to the
/// transmitter; the simulator's event lines.
fn simulate(tag: &str, rx_levels: &[(bool, u32)], tx_bytes: &[u8]) -> Vec<String> {
    let dir = scratch_dir(tag);
    let rx = uart::receiver("uart_rx", CLOCKS_PER_BIT);
    let tx = uart::transmitter("uart_tx", CLOCKS_PER_BIT);
    std::fs::write(dir.join("uart_rx.v"), rx.to_verilog()).expect("write");
    std::fs::write(dir.join("uart_tx.v"), tx.to_verilog()).expect("write");
    let drive: String = rx_levels
        .iter()
        .map(|(level, n)| {
            format!(
                "        rx <= 1'b{}; repeat ({n}) @(posedge clk);\n",
                u8::from(*level)
            )
        })
        .collect();
    let rom: String = tx_bytes
        .iter()
        .enumerate()
        .map(|(i, b)| format!("        tx_rom[{i}] = 8'h{b:02x};\n"))
        .collect();
    let n_tx = tx_bytes.len().max(1);
    let tb = format!(
        r#"`timescale 1ns/1ns
module tb;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg rx = 1'b1;
    integer cycle = 0;
    always @(posedge clk) cycle <= cycle + 1;
    wire [7:0] r_data;
    wire r_valid, r_err, r_idle;
    uart_rx u_rx (.clk(clk), .rst(rst), .rx(rx), .data(r_data), .valid(r_valid), .stop_error(r_err), .line_idle(r_idle));
    reg [7:0] tx_rom [0:{last}];
    integer ti = 0;
    reg [7:0] t_data = 8'h00;
    reg t_valid = 1'b0;
    wire t_ready, tx;
    uart_tx u_tx (.clk(clk), .rst(rst), .data(t_data), .valid(t_valid), .ready(t_ready), .tx(tx));
    wire [7:0] l_data;
    wire l_valid, l_err, l_idle;
    uart_rx u_lb (.clk(clk), .rst(rst), .rx(tx), .data(l_data), .valid(l_valid), .stop_error(l_err), .line_idle(l_idle));
    reg tx_prev = 1'b1;
    always @(posedge clk) begin
        if (r_valid) $display("RX %h", r_data);
        if (r_err) $display("RXERR");
        if (r_idle) $display("IDLE %0d", cycle);
        if (l_valid) $display("LB %h", l_data);
        if (l_err) $display("LBERR");
        tx_prev <= tx;
        if (!rst && tx !== tx_prev) $display("TX %0d %0d", cycle, tx);
        if (!rst && (!t_valid || t_ready)) begin
            if (ti < {n_tx_real}) begin
                t_data <= tx_rom[ti];
                t_valid <= 1'b1;
                ti <= ti + 1;
            end else begin
                t_valid <= 1'b0;
            end
        end
    end
    initial begin
{rom}        repeat (4) @(posedge clk);
        rst <= 1'b0;
        repeat (8) @(posedge clk);
{drive}        repeat ({tail}) @(posedge clk);
        $display("END %0d", cycle);
        $finish;
    end
endmodule
"#,
        last = n_tx - 1,
        n_tx_real = tx_bytes.len(),
        tail = (tx_bytes.len() as u32 + IDLE_BYTES + 2) * BITS_PER_BYTE * CLOCKS_PER_BIT,
    );
    std::fs::write(dir.join("tb.v"), tb).expect("write");
    run_tool(
        &dir,
        "iverilog",
        &["-g2005", "-o", "tb.vvp", "tb.v", "uart_rx.v", "uart_tx.v"],
    );
    let out = run_tool(&dir, "vvp", &["-n", "tb.vvp"]);
    out.lines()
        .filter(|l| !l.starts_with("VCD") && !l.contains("$finish"))
        .map(str::to_string)
        .collect()
}

fn with_prefix<'a>(events: &'a [String], prefix: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter_map(|e| e.strip_prefix(prefix))
        .collect()
}

#[test]
fn both_modules_are_lint_clean() {
    for m in [
        uart::receiver("uart_rx", CLOCKS_PER_BIT),
        uart::transmitter("uart_tx", CLOCKS_PER_BIT),
        uart::receiver("uart_rx_odd", 25),
    ] {
        let dir = scratch_dir(&format!("lint-{}", m.name()));
        std::fs::write(dir.join(m.file_name()), m.to_verilog()).expect("write");
        let out = run_tool(&dir, "verilator", &["--lint-only", "-Wall", &m.file_name()]);
        assert!(out.is_empty(), "{}:\n{out}", m.name());
    }
}

#[test]
fn the_receiver_takes_fast_and_slow_senders_and_drops_what_is_wrong() {
    let bytes: Vec<u8> = vec![0x00, 0xFF, 0x5A, 0xA5, 0x01, 0x80, 0x3C];
    let mut levels = Vec::new();
    // Back to back from a sender 3 % fast, then 3 % slow.
    levels.extend(line(&bytes, 0.97, 0));
    levels.extend(line(&bytes, 1.03, 0));
    // A glitch shorter than half a bit: no byte.
    levels.extend([(true, 40), (false, 5), (true, 40)]);
    // A byte whose stop bit is low: dropped and reported.
    let mut bad = line(&[0x42], 1.0, 0);
    bad.last_mut().expect("the stop bit").0 = false;
    levels.extend(bad);
    levels.push((true, 3 * BITS_PER_BYTE * CLOCKS_PER_BIT));
    // One more byte after the quiet spell.
    levels.extend(line(&[0x99], 1.0, 0));
    let events = simulate("rx", &levels, &[]);
    let mut expected: Vec<String> = bytes
        .iter()
        .chain(&bytes)
        .map(|b| format!("{b:02x}"))
        .collect();
    expected.push("99".to_string());
    assert_eq!(with_prefix(&events, "RX "), expected, "{events:?}");
    assert_eq!(
        events.iter().filter(|e| *e == "RXERR").count(),
        1,
        "{events:?}"
    );
    // Quiet spells of two bytes' time: after the low stop bit, and at the end.
    assert_eq!(with_prefix(&events, "IDLE ").len(), 2, "{events:?}");
}

#[test]
fn the_transmitter_sends_back_to_back_bytes_a_receiver_takes() {
    let bytes: Vec<u8> = (0..=255u8).step_by(7).chain([0x00, 0xFF, 0x5A]).collect();
    let events = simulate("tx", &[], &bytes);
    // The line, clock by clock, from its transitions.
    let edges: Vec<(u32, bool)> = with_prefix(&events, "TX ")
        .iter()
        .map(|e| {
            let (c, v) = e.split_once(' ').expect("cycle level");
            (c.parse().expect("cycle"), v == "1")
        })
        .collect();
    let end = edges.last().expect("the line moved").0 + 2 * BITS_PER_BYTE * CLOCKS_PER_BIT;
    let (starts, decoded): (Vec<u32>, Vec<u8>) = uart_line::decode(&edges, CLOCKS_PER_BIT, end)
        .into_iter()
        .unzip();
    assert_eq!(decoded, bytes);
    // No idle bit between bytes: the transmitter keeps up with a stream.
    for w in starts.windows(2) {
        assert_eq!(w[1] - w[0], BITS_PER_BYTE * CLOCKS_PER_BIT);
    }
    let looped: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(with_prefix(&events, "LB "), looped);
    assert!(!events.iter().any(|e| e == "LBERR"));
}
