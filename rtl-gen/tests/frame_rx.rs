//! The host link's frame receiver in Icarus against `host_link::frame::Receiver`, event
//! for event, over a random stream of whole, damaged, over-long and cut frames between
//! noise and quiet spells. The module is lint-clean.

use host_link::frame::{Frame, Received, Receiver, SYNC};
use rtl_gen::blocks::frame_rx::{self, event};

#[path = "support/tools.rs"]
mod tools;

use tools::run_tool;

fn scratch_dir(tag: &str) -> std::path::PathBuf {
    tools::scratch_dir(&format!("frame-rx-{tag}"))
}

const MAX_PAYLOAD: usize = 48;

/// What the line carries: a byte, or a quiet spell (the UART's `line_idle`).
#[derive(Clone, Copy, Debug)]
enum Beat {
    Byte(u8),
    Idle,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Whole frames, frames with a flipped bit, over-long and cut frames, noise (sync bytes
/// included) and quiet spells, in random order.
fn stream(rng: &mut Rng, segments: usize) -> Vec<Beat> {
    let mut beats = Vec::new();
    for _ in 0..segments {
        let len = rng.below(MAX_PAYLOAD as u64 + 1) as usize;
        let frame = Frame {
            kind: rng.next() as u8,
            seq: rng.next() as u8,
            payload: (0..len).map(|_| rng.next() as u8).collect(),
        };
        let mut bytes = frame.encode();
        match rng.below(6) {
            0 | 1 => {}
            2 => {
                let i = 1 + rng.below(bytes.len() as u64 - 1) as usize;
                bytes[i] ^= 1 << rng.below(8);
            }
            3 => {
                let long = (MAX_PAYLOAD + 1 + rng.below(300) as usize) as u16;
                bytes[3..5].copy_from_slice(&long.to_le_bytes());
            }
            4 => {
                bytes.truncate(1 + rng.below(bytes.len() as u64 - 1) as usize);
                beats.extend(bytes.iter().map(|&b| Beat::Byte(b)));
                beats.push(Beat::Idle);
                continue;
            }
            _ => {
                bytes = (0..rng.below(6))
                    .map(|_| match rng.below(4) {
                        0 => SYNC,
                        _ => rng.next() as u8,
                    })
                    .collect();
            }
        }
        beats.extend(bytes.iter().map(|&b| Beat::Byte(b)));
        if rng.below(4) == 0 {
            beats.push(Beat::Idle);
        }
    }
    beats
}

/// The reference receiver's events, as the testbench prints them.
fn expected(beats: &[Beat]) -> Vec<String> {
    let mut rx = Receiver::new(MAX_PAYLOAD);
    beats
        .iter()
        .filter_map(|beat| match *beat {
            Beat::Byte(b) => rx.push(b),
            Beat::Idle => rx.line_idle(),
        })
        .map(|e| match e {
            Received::Frame(f) => {
                let payload: String = f.payload.iter().map(|b| format!("{b:02x}")).collect();
                format!("FRAME {:02x} {:02x} {payload}", f.kind, f.seq)
            }
            Received::BadCrc => "BADCRC".to_string(),
            Received::TooLong(n) => format!("TOOLONG {n}"),
            Received::Truncated => "TRUNCATED".to_string(),
        })
        .collect()
}

/// The RTL's events: the testbench prints each payload write and each event.
fn simulated(beats: &[Beat]) -> Vec<String> {
    let dir = scratch_dir("sim");
    let m = frame_rx::module("frame_rx", MAX_PAYLOAD);
    std::fs::write(dir.join("frame_rx.v"), m.to_verilog()).expect("write");
    let stim: String = beats
        .iter()
        .map(|b| match b {
            Beat::Byte(b) => format!("{b:03x}\n"),
            Beat::Idle => "100\n".to_string(),
        })
        .collect();
    std::fs::write(dir.join("stim.hex"), stim).expect("write");
    let tb = format!(
        r#"`timescale 1ns/1ns
module tb;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg [7:0] byte_in = 8'h00;
    reg byte_valid = 1'b0;
    reg line_idle = 1'b0;
    wire ev_valid, pay_we;
    wire [1:0] ev;
    wire [7:0] kind, seq, pay_data;
    wire [15:0] len;
    wire [5:0] pay_addr;
    frame_rx dut (.clk(clk), .rst(rst), .rx_byte(byte_in), .rx_valid(byte_valid),
        .line_idle(line_idle), .event_valid(ev_valid), .event_code(ev), .kind(kind), .seq(seq),
        .len(len), .pay_we(pay_we), .pay_addr(pay_addr), .pay_data(pay_data));
    reg [8:0] stim [0:{last}];
    integer i;
    always @(posedge clk) begin
        if (pay_we) $display("P %0d %h", pay_addr, pay_data);
        if (ev_valid) $display("E %0d %h %h %0d", ev, kind, seq, len);
    end
    initial begin
        $readmemh("stim.hex", stim);
        repeat (3) @(posedge clk);
        rst <= 1'b0;
        for (i = 0; i <= {last}; i = i + 1) begin
            @(posedge clk);
            byte_in <= stim[i][7:0];
            byte_valid <= !stim[i][8];
            line_idle <= stim[i][8];
            @(posedge clk);
            byte_valid <= 1'b0;
            line_idle <= 1'b0;
            repeat (2) @(posedge clk);
        end
        repeat (4) @(posedge clk);
        $finish;
    end
endmodule
"#,
        last = beats.len() - 1
    );
    std::fs::write(dir.join("tb.v"), tb).expect("write");
    run_tool(
        &dir,
        "iverilog",
        &["-g2005", "-o", "tb.vvp", "tb.v", "frame_rx.v"],
    );
    let out = run_tool(&dir, "vvp", &["-n", "tb.vvp"]);
    let mut payload = [0u8; MAX_PAYLOAD];
    let mut events = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["P", addr, data] => {
                payload[addr.parse::<usize>().expect("addr")] =
                    u8::from_str_radix(data, 16).expect("data");
            }
            ["E", code, kind, seq, len] => {
                let len: usize = len.parse().expect("len");
                events.push(match code.parse::<i128>().expect("code") {
                    event::FRAME => {
                        let p: String = payload[..len].iter().map(|b| format!("{b:02x}")).collect();
                        format!("FRAME {kind} {seq} {p}")
                    }
                    event::BAD_CRC => "BADCRC".to_string(),
                    event::TOO_LONG => format!("TOOLONG {len}"),
                    event::TRUNCATED => "TRUNCATED".to_string(),
                    other => panic!("event code {other}"),
                });
            }
            _ => {}
        }
    }
    events
}

#[test]
fn the_rtl_finds_the_frames_the_reference_receiver_finds() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let beats = stream(&mut rng, 400);
    let want = expected(&beats);
    // Every kind of event occurs.
    for tag in ["FRAME", "BADCRC", "TOOLONG", "TRUNCATED"] {
        assert!(
            want.iter().filter(|e| e.starts_with(tag)).count() >= 10,
            "{tag} is exercised"
        );
    }
    assert_eq!(simulated(&beats), want);
}

#[test]
fn the_receiver_is_lint_clean() {
    let dir = scratch_dir("lint");
    let m = frame_rx::module("frame_rx", MAX_PAYLOAD);
    std::fs::write(dir.join("frame_rx.v"), m.to_verilog()).expect("write");
    let out = run_tool(&dir, "verilator", &["--lint-only", "-Wall", "frame_rx.v"]);
    assert!(out.is_empty(), "{out}");
}
