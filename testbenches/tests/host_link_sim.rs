//! The digits trainer behind its UART host link, in Icarus: request frames go in on the
//! `uart_rx` pin bit by bit, answers are decoded from the `uart_tx` pin, and every answer
//! is held to what the protocol and the golden model say: the identity, each training
//! sample's prediction, a repeated request answered from memory without training again,
//! a damaged frame dropped and counted, readback words equal to the model's weights, and
//! refusals.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use host_link::command::{Identity, Refusal, Request, Response, Status, MAX_ANSWER_PAYLOAD};
use host_link::frame::{Frame, Received, Receiver};

// The rtl-gen tests' helpers: the HDL tool runner and the UART line decoder.
#[path = "../../rtl-gen/tests/support/tools.rs"]
mod tools;
#[path = "../../rtl-gen/tests/support/uart_line.rs"]
mod uart_line;

use tools::run_tool;

const CLOCKS_PER_BIT: u32 = 8;
const SAMPLES: usize = 10;

/// One request on the line and the quiet clocks after it (its answer's time).
struct Sent {
    bytes: Vec<u8>,
    gap: u32,
}

fn frame(request: &Request, seq: u8) -> Vec<u8> {
    Frame {
        kind: request.kind(),
        seq,
        payload: request.payload(),
    }
    .encode()
}

/// Clocks an answer of `payload` bytes takes on the line, plus room for the work.
fn gap(payload: usize, work: u32) -> u32 {
    (payload as u32 + 7) * 10 * CLOCKS_PER_BIT + work + 400
}

#[test]
fn the_trainer_answers_over_its_uart_as_the_protocol_and_the_model_say() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("configs/digits-mlp.toml")).expect("preset");
    let cfg = Config::from_toml_str(&text, "digits-mlp.toml").expect("valid");
    let data = load(DatasetKind::Digits, &default_data_dir())
        .unwrap_or_else(|e| panic!("{e} (the test command runs scripts/fetch-data first)"));
    let design = rtl_gen::generate(&cfg, &text, true).expect("generates");
    let hash: [u8; 8] = {
        let hex = rtl_gen::config_sha256(&text);
        std::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex"))
    };
    let header = rtl_gen::verilog::header_lines(&cfg.name, text.as_bytes());
    let trainer = rtl_gen::blocks::top::module(&design.params, &design.top, &header);
    let host =
        rtl_gen::blocks::host_top::modules(&design.params, &trainer, hash, CLOCKS_PER_BIT, &header);

    // The requests: hello; the samples (the fourth sent twice with its sequence number, as
    // after a lost answer); a damaged frame; status; two reads; four refused reads.
    let px = data.train.pixels;
    let sample = |k: usize| Request::Train {
        label: data.train.labels[k],
        pixels: data.train.images[k * px..(k + 1) * px].to_vec(),
    };
    let train_work = 4 * (px as u32 + 2) + design.manifest.cycles_per_sample as u32;
    let mut sent = vec![Sent {
        bytes: frame(&Request::Hello, 1),
        gap: gap(14, 0),
    }];
    let mut seq = 1u8;
    for k in 0..SAMPLES {
        seq += 1;
        sent.push(Sent {
            bytes: frame(&sample(k), seq),
            gap: gap(6, train_work),
        });
        if k == 3 {
            sent.push(Sent {
                bytes: frame(&sample(k), seq),
                gap: gap(6, train_work),
            });
        }
    }
    let mut damaged = frame(&Request::Status, seq + 1);
    damaged[5] ^= 0x40;
    sent.push(Sent {
        bytes: damaged,
        gap: gap(0, 0),
    });
    let reads = [(0u8, 0u32, 8u16), (1, 37, 4)];
    let mut requests = vec![Request::Status];
    requests.extend(
        reads
            .iter()
            .map(|&(unit, addr, count)| Request::Read { unit, addr, count }),
    );
    let entries = design.params.layers[1].rb_entries as u32;
    // Refused: past the end, no such unit, an address bit far above the span, too many.
    let refused = [
        (1, entries - 2, 3, Refusal::BadAddress),
        (7, 0, 1, Refusal::BadAddress),
        (0, 1 << 24, 1, Refusal::BadAddress),
        (
            0,
            0,
            host_link::command::MAX_READ_WORDS + 1,
            Refusal::BadLength,
        ),
    ];
    requests.extend(refused.iter().map(|&(unit, addr, count, _)| Request::Read {
        unit,
        addr,
        count,
    }));
    // Weights loaded into unit 0 (a negative one among them) and read back; a write whose
    // second word falls past unit 0's weights (on its first softmax error, which takes
    // nothing: its word address would wrap to word 0); a write of unit 1 whose first
    // words are weights but whose end is past its entries refused, nothing written, and
    // one to no unit refused.
    let written: [i32; 3] = [
        -5,
        1234,
        -32768 >> (16 - design.params.layers[0].weight_bits),
    ];
    let write = |unit: u8, addr: u32, values: &[i32]| Request::Write {
        unit,
        addr,
        words: values.iter().map(|&v| v as u32).collect(),
    };
    let weight_entries = design.params.layers[0].rb_weight_entries() as u32;
    requests.extend([
        write(0, 4, &written),
        Request::Read {
            unit: 0,
            addr: 0,
            count: 8,
        },
        write(0, weight_entries - 1, &[1, 2]),
        write(1, entries - 12, &[3; 13]),
        write(2, 0, &[5]),
        Request::Read {
            unit: 0,
            addr: weight_entries - 1,
            count: 1,
        },
        Request::Read {
            unit: 0,
            addr: 0,
            count: 1,
        },
        Request::Read {
            unit: 1,
            addr: entries - 12,
            count: 2,
        },
    ]);
    let send = |sent: &mut Vec<Sent>, bytes: Vec<u8>, words: usize| {
        sent.push(Sent {
            bytes,
            gap: gap(4 * words, 8 * words as u32 * (design.params.rb_latency + 3)),
        })
    };
    for r in &requests {
        seq += 1;
        let words = match r {
            Request::Read { count, .. } => usize::from(*count),
            Request::Write { words, .. } => 4 * words.len(),
            _ => 3,
        };
        send(&mut sent, frame(r, seq), words);
    }
    // A write sent twice with its sequence number (its answer lost), answered both times;
    // a write of 8 bytes (no whole word) refused; the written weight read back.
    let again = write(0, 8, &[77]);
    seq += 1;
    send(&mut sent, frame(&again, seq), 4);
    send(&mut sent, frame(&again, seq), 4);
    seq += 1;
    let short = Frame {
        kind: host_link::command::kind::WRITE,
        seq,
        payload: vec![0; 8],
    };
    send(&mut sent, short.encode(), 3);
    seq += 1;
    send(
        &mut sent,
        frame(
            &Request::Read {
                unit: 0,
                addr: 8,
                count: 1,
            },
            seq,
        ),
        1,
    );

    // The testbench: each byte sent 8N1 on uart_rx, then the request's quiet gap;
    // uart_tx's transitions printed.
    let dir = tools::scratch_dir("host-link-sim");
    let mut sources = Vec::new();
    for (name, body) in &design.files {
        std::fs::write(dir.join(name), body).expect("write");
        if name.ends_with(".v") {
            sources.push(name.clone());
        }
    }
    for m in &host {
        std::fs::write(dir.join(m.file_name()), m.to_verilog()).expect("write");
        sources.push(m.file_name());
    }
    let stim: String = sent
        .iter()
        .flat_map(|s| {
            let last = s.bytes.len() - 1;
            s.bytes.iter().enumerate().map(move |(i, b)| {
                let gap = if i == last { s.gap } else { 0 };
                format!("{:06x}{b:02x}\n", gap)
            })
        })
        .collect();
    let n_stim = stim.lines().count();
    std::fs::write(dir.join("stim.hex"), stim).expect("write");
    let top = format!("{}_host", design.top);
    let tb = format!(
        r#"`timescale 1ns/1ns
module tb;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;
    reg rx = 1'b1;
    wire tx;
    {top} dut (.clk(clk), .rst(rst), .uart_rx(rx), .uart_tx(tx));
    reg [31:0] stim [0:{last}];
    integer cycle = 0;
    integer i, b;
    reg tx_prev = 1'b1;
    always @(posedge clk) begin
        cycle <= cycle + 1;
        tx_prev <= tx;
        if (!rst && tx !== tx_prev) $display("TX %0d %0d", cycle, tx);
    end
    task send_bit(input v);
        begin
            rx <= v;
            repeat ({cpb}) @(posedge clk);
        end
    endtask
    initial begin
        $readmemh("stim.hex", stim);
        repeat (4) @(posedge clk);
        rst <= 1'b0;
        repeat (40) @(posedge clk);
        for (i = 0; i <= {last}; i = i + 1) begin
            send_bit(1'b0);
            for (b = 0; b < 8; b = b + 1) send_bit(stim[i][b]);
            send_bit(1'b1);
            repeat (stim[i][31:8]) @(posedge clk);
        end
        $display("END %0d", cycle);
        $finish;
    end
endmodule
"#,
        last = n_stim - 1,
        cpb = CLOCKS_PER_BIT,
    );
    let mut lint = vec!["--lint-only", "-Wall", "--top-module", top.as_str()];
    lint.extend(sources.iter().map(String::as_str));
    let warnings = run_tool(&dir, "verilator", &lint);
    assert!(warnings.is_empty(), "verilator -Wall:\n{warnings}");
    std::fs::write(dir.join("tb.v"), tb).expect("write");
    sources.push("tb.v".to_string());
    let mut args = vec!["-g2005", "-o", "tb.vvp"];
    args.extend(sources.iter().map(String::as_str));
    run_tool(&dir, "iverilog", &args);
    let out = run_tool(&dir, "vvp", &["-n", "tb.vvp"]);

    // The answers, decoded from the pin: the line level at the middle of each bit.
    let edges: Vec<(u32, bool)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("TX "))
        .map(|e| {
            let (c, v) = e.split_once(' ').expect("cycle level");
            (c.parse().expect("cycle"), v == "1")
        })
        .collect();
    let end: u32 = out
        .lines()
        .find_map(|l| l.strip_prefix("END "))
        .expect("the testbench ends")
        .parse()
        .expect("cycle");
    let bytes: Vec<u8> = uart_line::decode(&edges, CLOCKS_PER_BIT, end)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let mut rx = Receiver::new(MAX_ANSWER_PAYLOAD);
    let frames: Vec<Frame> = bytes
        .iter()
        .filter_map(|&b| rx.push(b))
        .map(|e| match e {
            Received::Frame(f) => f,
            other => panic!("a damaged answer: {other:?}"),
        })
        .collect();

    // What each answer must be.
    let mut net = FixedNet::new(&cfg);
    let mut expected: Vec<(u8, Response)> = vec![(
        0x01,
        Response::Hello(Identity {
            protocol: host_link::command::PROTOCOL,
            config_hash: hash,
            inputs: px as u16,
            classes: 10,
            units: 2,
            learns: true,
        }),
    )];
    for k in 0..SAMPLES {
        let label = data.train.labels[k];
        let trace = net.train_step(&data.train.images[k * px..(k + 1) * px], label.into());
        let answer = Response::Prediction {
            class: trace.prediction as u8,
            label,
            samples: k as u32 + 1,
        };
        expected.push((0x02, answer.clone()));
        if k == 3 {
            expected.push((0x02, answer));
        }
    }
    expected.push((
        0x06,
        Response::Status(Status {
            idle: true,
            frame_error: false,
            samples: SAMPLES as u32,
            crc_errors: 1,
        }),
    ));
    let mask = (1u64 << design.params.rb_data_bits) - 1;
    for &(unit, addr, count) in &reads {
        let layer = &net.layers[usize::from(unit)];
        let words = (addr..addr + u32::from(count))
            .map(|a| {
                let (j, i) = (a as usize / layer.inputs, a as usize % layer.inputs);
                (i64::from(layer.weight(j, i)) as u64 & mask) as u32
            })
            .collect();
        expected.push((0x04, Response::Words(words)));
    }
    for &(.., reason) in &refused {
        expected.push((0x04, Response::Refused { kind: 0x04, reason }));
    }
    expected.push((0x07, Response::Written));
    let mut weights = net.layers[0].weights().to_vec();
    weights[4..7].copy_from_slice(&written);
    let word = |w: i32| (i64::from(w) as u64 & mask) as u32;
    expected.push((
        0x04,
        Response::Words(weights[..8].iter().map(|&w| word(w)).collect()),
    ));
    expected.push((0x07, Response::Written));
    for _ in 0..2 {
        expected.push((
            0x07,
            Response::Refused {
                kind: 0x07,
                reason: Refusal::BadAddress,
            },
        ));
    }
    expected.push((0x04, Response::Words(vec![word(1)])));
    let first = net.layers[0].weights()[0];
    expected.push((0x04, Response::Words(vec![word(first)])));
    let classifier = net.layers[1].weights();
    let kept = &classifier[entries as usize - 12..entries as usize - 10];
    expected.push((
        0x04,
        Response::Words(kept.iter().map(|&w| word(w)).collect()),
    ));
    expected.push((0x07, Response::Written));
    expected.push((0x07, Response::Written));
    expected.push((
        0x07,
        Response::Refused {
            kind: 0x07,
            reason: Refusal::BadLength,
        },
    ));
    expected.push((0x04, Response::Words(vec![word(77)])));
    let got: Vec<(u8, Response)> = frames
        .iter()
        .zip(&expected)
        .map(|(f, (kind, _))| {
            let r = Response::parse(*kind, f.kind, &f.payload).expect("parses");
            (*kind, r)
        })
        .collect();
    assert_eq!(frames.len(), expected.len(), "answers: {got:?}");
    assert_eq!(got, expected);
}
