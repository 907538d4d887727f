//! The host link's request executor: what a board does with the frames
//! [`super::frame_rx`] finds (`host_link::device::DeviceLink` in hardware). It keeps the
//! payload in a buffer, carries out each request on the trainer's ports (samples onto the
//! input stream, the prediction back, readback words, a reset) and sends the answer frame
//! through the UART transmitter, its CRC computed byte by byte as it goes out. A request
//! whose kind and sequence number are the last one answered gets that answer again
//! without being carried out; a read is carried out again (it changes nothing).
//! Requests and answers: `docs/host-link.md`.

use host_link::command::{self, kind, Refusal, PROTOCOL, REFUSED, RESPONSE};
use host_link::frame::SYNC;

use super::frame_rx::{self, crc_next};
use crate::params::{addr_bits, DesignParams};
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

/// Bytes of the longest answer the executor keeps for a replay (hello's).
const ANSWER_BYTES: usize = 14;

/// The payload buffer's size: a sample (its label and pixels) or a read's 7 bytes.
pub fn max_payload(p: &DesignParams) -> usize {
    (p.inputs + 1).max(7)
}

fn lit(v: i128, w: u32) -> Expr {
    Expr::lit(v, Ty::u(w))
}

/// The executor `<name>` for the design of `p`, whose config text hashes to
/// `config_hash` (the first 8 bytes of its SHA-256).
pub fn module(p: &DesignParams, name: &str, config_hash: [u8; 8]) -> Module {
    let mut m = Module::new(name);
    m.doc(
        "Host-link request executor: payload buffer, requests carried out on the \
         trainer's ports, answers framed for the UART. See rtl-gen/src/blocks/link.rs and \
         docs/host-link.md.",
    );
    let n = p.inputs;
    let max_pay = max_payload(p);
    let aw = addr_bits(max_pay);
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    // From the frame receiver.
    let ev_valid = m.input("event_valid", Ty::bit());
    let ev_code = m.input("event_code", Ty::u(2));
    let ev_kind = m.input("kind", Ty::u(8));
    let ev_seq = m.input("seq", Ty::u(8));
    let ev_len = m.input("len", Ty::u(16));
    let pay_we = m.input("pay_we", Ty::bit());
    let pay_addr = m.input("pay_addr", Ty::u(aw));
    let pay_data = m.input("pay_data", Ty::u(8));
    // To the UART transmitter.
    let tx_ready = m.input("tx_ready", Ty::bit());
    let tx_data = m.output_reg("tx_data", Ty::u(8));
    let tx_valid = m.output_reg("tx_valid", Ty::bit());
    // The trainer's ports.
    let s_tdata = m.output_reg("s_axis_tdata", Ty::u(p.pixel_bits));
    let s_tvalid = m.output_reg("s_axis_tvalid", Ty::bit());
    let s_tready = m.input("s_axis_tready", Ty::bit());
    let s_tlast = m.output_reg("s_axis_tlast", Ty::bit());
    let s_tuser = m.output_reg("s_axis_tuser", Ty::u(p.label_bits));
    let m_tdata = m.input("m_axis_tdata", Ty::u(p.label_bits));
    let m_tuser = m.input("m_axis_tuser", Ty::u(p.label_bits));
    let m_tvalid = m.input("m_axis_tvalid", Ty::bit());
    let m_tready = m.output_reg("m_axis_tready", Ty::bit());
    let idle = m.input("idle", Ty::bit());
    let frame_error = m.input("frame_error", Ty::bit());
    let rb_layer = m.output_reg("rb_layer", Ty::u(p.rb_layer_bits));
    let rb_addr = m.output_reg("rb_addr", Ty::u(p.rb_addr_bits));
    let rb_data = m.input("rb_data", Ty::u(p.rb_data_bits));
    let trainer_rst = m.output_wire("trainer_rst", Ty::bit());

    m.section("the payload buffer");
    let buf = m.memory("payload", Ty::u(8), max_pay as u32, None);
    let buf_raddr = m.reg("buf_raddr", Ty::u(aw));
    let buf_q = m.reg("buf_q", Ty::u(8));
    m.always_ff(
        &clk,
        vec![
            if_(pay_we, vec![buf.write(pay_addr, pay_data)]),
            assign(&buf_q, buf.read(buf_raddr.clone())),
        ],
    );

    m.section("request state");
    // States.
    let (s_idle, s_dispatch, s_label, s_pixel, s_beat, s_pred, s_reset, s_args, s_fetch, s_tx) =
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    let sw = 4;
    let st = |v: i128| lit(v, sw);
    let state = m.reg("state", Ty::u(sw));
    let req_kind = m.reg("req_kind", Ty::u(8));
    let req_seq = m.reg("req_seq", Ty::u(8));
    let req_len = m.reg("req_len", Ty::u(16));
    let last_kind = m.reg("last_kind", Ty::u(8));
    let last_seq = m.reg("last_seq", Ty::u(8));
    let last_valid = m.reg("last_valid", Ty::bit());
    let samples = m.reg("samples", Ty::u(32));
    let samples_next = m.wire_assign("samples_next", samples.clone().add(lit(1, 32)));
    let crc_errors = m.reg("crc_errors", Ty::u(32));
    let pix = m.reg("pixel", Ty::u(16));
    let pix_next = m.wire_assign("pixel_next", pix.clone().add(lit(1, 16)));
    let wait = m.reg("countdown", Ty::u(8));
    let reset_pulse = m.reg("reset_pulse", Ty::bit());
    m.assign(&trainer_rst, rst.clone().lor(reset_pulse.clone()));
    // The answer: its kind and payload (kept for a replay), or a read's words.
    let ans_kind = m.reg("ans_kind", Ty::u(8));
    let ans_len = m.reg("ans_len", Ty::u(16));
    let ans: Vec<Expr> = (0..ANSWER_BYTES)
        .map(|i| m.reg(&format!("ans{i}"), Ty::u(8)))
        .collect();
    let reading = m.reg("reading", Ty::bit());
    let read_unit = m.reg("read_unit", Ty::u(8));
    let read_addr = m.reg("read_addr", Ty::u(32));
    let read_count = m.reg("read_count", Ty::u(16));
    let word = m.reg("word", Ty::u(32));
    let word_ready = m.reg("word_ready", Ty::bit());
    // The frame going out: position, where its CRC goes (5 + the payload), CRC; the byte
    // of a small answer and the byte of a read's word the payload is at.
    let pos = m.reg("tx_pos", Ty::u(16));
    let crc_at = m.reg("tx_crc_at", Ty::u(16));
    let crc = m.reg("tx_crc", Ty::u(16));
    let ans_idx = m.reg("ans_idx", Ty::u(4));
    let byte_sel = m.reg("byte_sel", Ty::u(2));

    // Loads an answer of `kind` with `bytes` (at most ANSWER_BYTES) and starts sending it.
    let answer = |kind: Expr, bytes: Vec<Expr>| {
        let mut s = vec![
            assign(&ans_kind, kind),
            assign(&ans_len, lit(bytes.len() as i128, 16)),
            assign(&crc_at, lit(5 + bytes.len() as i128, 16)),
            assign(&reading, Expr::bool(false)),
            assign(&last_valid, Expr::bool(true)),
            assign(&pos, lit(0, 16)),
            assign(&state, st(s_tx)),
        ];
        for (i, b) in bytes.into_iter().enumerate() {
            s.push(assign(&ans[i], b));
        }
        s
    };
    let refuse = |reason: Refusal| {
        answer(
            lit(i128::from(REFUSED), 8),
            vec![req_kind.clone(), lit(reason as i128, 8)],
        )
    };
    let le_bytes = |e: &Expr, n: u32| -> Vec<Expr> {
        (0..n).map(|i| e.clone().slice(8 * i + 7, 8 * i)).collect()
    };
    let response_kind = req_kind.clone().or(lit(i128::from(RESPONSE), 8));
    let units = p.layers.len();
    let learns = p.learn;
    let hello: Vec<Expr> = [i128::from(PROTOCOL)]
        .into_iter()
        .chain(config_hash.iter().map(|&b| i128::from(b)))
        .chain([
            (n & 0xFF) as i128,
            (n >> 8) as i128,
            p.classes as i128,
            units as i128,
            i128::from(learns),
        ])
        .map(|v| lit(v, 8))
        .collect();
    let len_is = |v: usize| req_len.clone().eq(lit(v as i128, 16));
    let sample_kind = i128::from(if learns { kind::TRAIN } else { kind::INFER });
    let other_sample_kind = i128::from(if learns { kind::INFER } else { kind::TRAIN });
    let wrong_design = if learns {
        Refusal::Learns
    } else {
        Refusal::NotLearning
    };
    let status: Vec<Expr> = [
        vec![idle.resize(8), frame_error.resize(8)],
        le_bytes(&samples, 4),
        le_bytes(&crc_errors, 4),
    ]
    .concat();
    // A read's bounds: the unit's entries.
    let entries_of = |unit: &Expr| -> Expr {
        p.layers
            .iter()
            .enumerate()
            .rev()
            .fold(lit(0, 33), |acc, (k, l)| {
                Expr::mux(
                    unit.clone().eq(lit(k as i128, 8)),
                    lit(l.rb_entries as i128, 33),
                    acc,
                )
            })
    };
    let read_end = read_addr
        .clone()
        .resize(33)
        .add(read_count.clone().resize(33));
    let read_ok = read_unit
        .clone()
        .lt(lit(units as i128, 8))
        .land(read_end.le(entries_of(&read_unit)));

    let dispatch = vec![case(
        req_kind.clone(),
        vec![
            (
                vec![lit(kind::HELLO.into(), 8)],
                vec![if_else(
                    len_is(0),
                    answer(response_kind.clone(), hello),
                    refuse(Refusal::BadLength),
                )],
            ),
            (
                vec![lit(sample_kind, 8)],
                vec![if_else(
                    len_is(n + 1),
                    vec![
                        assign(&buf_raddr, lit(0, aw)),
                        assign(&wait, lit(1, 8)),
                        assign(&state, st(s_label)),
                    ],
                    refuse(Refusal::BadLength),
                )],
            ),
            (vec![lit(other_sample_kind, 8)], refuse(wrong_design)),
            (
                vec![lit(kind::READ.into(), 8)],
                vec![if_else(
                    len_is(7),
                    vec![
                        assign(&buf_raddr, lit(0, aw)),
                        assign(&pix, lit(0, 16)),
                        assign(&state, st(s_args)),
                    ],
                    refuse(Refusal::BadLength),
                )],
            ),
            (
                vec![lit(kind::RESET.into(), 8)],
                vec![if_else(
                    len_is(0),
                    vec![
                        assign(&reset_pulse, Expr::bool(true)),
                        assign(&wait, lit(3, 8)),
                        assign(&state, st(s_reset)),
                    ],
                    refuse(Refusal::BadLength),
                )],
            ),
            (
                vec![lit(kind::STATUS.into(), 8)],
                vec![if_else(
                    len_is(0),
                    answer(response_kind.clone(), status),
                    refuse(Refusal::BadLength),
                )],
            ),
        ],
        refuse(Refusal::UnknownKind),
    )];

    // The byte at `pos` of the frame going out.
    let in_payload = m.wire_assign(
        "in_payload",
        pos.clone()
            .ge(lit(5, 16))
            .land(pos.clone().lt(crc_at.clone())),
    );
    let ans_byte = (0..ANSWER_BYTES).rev().fold(lit(0, 8), |acc, i| {
        Expr::mux(ans_idx.clone().eq(lit(i as i128, 4)), ans[i].clone(), acc)
    });
    let word_byte = (0..4).rev().fold(lit(0, 8), |acc, i| {
        Expr::mux(
            byte_sel.clone().eq(lit(i, 2)),
            word.clone().slice(8 * i as u32 + 7, 8 * i as u32),
            acc,
        )
    });
    let header_byte = |k: i128| pos.clone().eq(lit(k, 16));
    let out_byte = Expr::mux(
        in_payload.clone(),
        Expr::mux(reading.clone(), word_byte, ans_byte),
        Expr::mux(
            header_byte(0),
            lit(i128::from(SYNC), 8),
            Expr::mux(
                header_byte(1),
                ans_kind.clone(),
                Expr::mux(
                    header_byte(2),
                    req_seq.clone(),
                    Expr::mux(
                        header_byte(3),
                        ans_len.clone().slice(7, 0),
                        Expr::mux(
                            header_byte(4),
                            ans_len.clone().slice(15, 8),
                            Expr::mux(
                                pos.clone().eq(crc_at.clone()),
                                crc.clone().slice(7, 0),
                                crc.clone().slice(15, 8),
                            ),
                        ),
                    ),
                ),
            ),
        ),
    );
    let frame_last = pos.clone().gt(crc_at.clone());
    // A read fetches each word before its first byte goes out.
    let needs_word = reading
        .clone()
        .land(in_payload.clone())
        .land(byte_sel.clone().eq(lit(0, 2)))
        .land(word_ready.clone().lnot())
        .land(wait.clone().eq(lit(0, 8)));
    let word_sent = reading
        .clone()
        .land(in_payload.clone())
        .land(byte_sel.clone().eq(lit(3, 2)));

    let fsm = vec![case(
        state.clone(),
        vec![
            (
                vec![st(s_idle)],
                vec![if_(
                    ev_valid,
                    vec![if_else(
                        ev_code.eq(lit(frame_rx::event::FRAME, 2)),
                        vec![
                            assign(&req_kind, ev_kind.clone()),
                            assign(&req_seq, ev_seq.clone()),
                            assign(&req_len, ev_len),
                            if_else(
                                last_valid
                                    .clone()
                                    .land(ev_kind.clone().eq(last_kind.clone()))
                                    .land(ev_seq.clone().eq(last_seq.clone()))
                                    .land(ev_kind.clone().ne(lit(kind::READ.into(), 8))),
                                vec![assign(&pos, lit(0, 16)), assign(&state, st(s_tx))],
                                vec![
                                    assign(&last_kind, ev_kind),
                                    assign(&last_seq, ev_seq),
                                    assign(&state, st(s_dispatch)),
                                ],
                            ),
                        ],
                        vec![assign(&crc_errors, crc_errors.clone().add(lit(1, 32)))],
                    )],
                )],
            ),
            (vec![st(s_dispatch)], dispatch),
            (
                // The label: buffer byte 0, read a cycle after its address.
                vec![st(s_label)],
                vec![if_else(
                    wait.clone().eq(lit(0, 8)),
                    vec![
                        assign(&s_tuser, buf_q.clone().resize(p.label_bits)),
                        assign(&pix, lit(1, 16)),
                        assign(&buf_raddr, lit(1, aw)),
                        assign(&wait, lit(1, 8)),
                        assign(&state, st(s_pixel)),
                    ],
                    vec![assign(&wait, wait.clone().sub(lit(1, 8)))],
                )],
            ),
            (
                vec![st(s_pixel)],
                vec![if_else(
                    wait.clone().eq(lit(0, 8)),
                    vec![
                        assign(&s_tdata, buf_q.clone().resize(p.pixel_bits)),
                        assign(&s_tvalid, Expr::bool(true)),
                        assign(&s_tlast, pix.clone().eq(lit(n as i128, 16))),
                        assign(&state, st(s_beat)),
                    ],
                    vec![assign(&wait, wait.clone().sub(lit(1, 8)))],
                )],
            ),
            (
                vec![st(s_beat)],
                vec![if_(
                    s_tready,
                    vec![
                        assign(&s_tvalid, Expr::bool(false)),
                        assign(&s_tlast, Expr::bool(false)),
                        if_else(
                            pix.clone().eq(lit(n as i128, 16)),
                            vec![
                                assign(&m_tready, Expr::bool(true)),
                                assign(&state, st(s_pred)),
                            ],
                            vec![
                                assign(&pix, pix_next.clone()),
                                assign(&buf_raddr, pix_next.clone().resize(aw)),
                                assign(&wait, lit(1, 8)),
                                assign(&state, st(s_pixel)),
                            ],
                        ),
                    ],
                )],
            ),
            (
                vec![st(s_pred)],
                vec![if_(
                    m_tvalid,
                    [
                        vec![
                            assign(&m_tready, Expr::bool(false)),
                            assign(&samples, samples_next.clone()),
                        ],
                        answer(
                            response_kind.clone(),
                            [
                                vec![m_tdata.resize(8), m_tuser.resize(8)],
                                le_bytes(&samples_next, 4),
                            ]
                            .concat(),
                        ),
                    ]
                    .concat(),
                )],
            ),
            (
                vec![st(s_reset)],
                vec![if_else(
                    wait.clone().eq(lit(0, 8)),
                    [
                        vec![
                            assign(&reset_pulse, Expr::bool(false)),
                            assign(&samples, lit(0, 32)),
                        ],
                        answer(response_kind.clone(), vec![]),
                    ]
                    .concat(),
                    vec![assign(&wait, wait.clone().sub(lit(1, 8)))],
                )],
            ),
            (
                // A read's unit, address and count: buffer bytes 0..7, one a cycle, each
                // a cycle after its address.
                vec![st(s_args)],
                vec![
                    assign(&buf_raddr, pix_next.clone().resize(aw)),
                    assign(&pix, pix_next.clone()),
                    case(
                        pix.clone(),
                        vec![
                            (vec![lit(1, 16)], vec![assign(&read_unit, buf_q.clone())]),
                            (
                                vec![lit(2, 16)],
                                vec![assign(
                                    &read_addr,
                                    Expr::concat(vec![
                                        read_addr.clone().slice(31, 8),
                                        buf_q.clone(),
                                    ]),
                                )],
                            ),
                            (
                                vec![lit(3, 16)],
                                vec![assign(
                                    &read_addr,
                                    Expr::concat(vec![
                                        read_addr.clone().slice(31, 16),
                                        buf_q.clone(),
                                        read_addr.clone().slice(7, 0),
                                    ]),
                                )],
                            ),
                            (
                                vec![lit(4, 16)],
                                vec![assign(
                                    &read_addr,
                                    Expr::concat(vec![
                                        read_addr.clone().slice(31, 24),
                                        buf_q.clone(),
                                        read_addr.clone().slice(15, 0),
                                    ]),
                                )],
                            ),
                            (
                                vec![lit(5, 16)],
                                vec![assign(
                                    &read_addr,
                                    Expr::concat(vec![
                                        buf_q.clone(),
                                        read_addr.clone().slice(23, 0),
                                    ]),
                                )],
                            ),
                            (
                                vec![lit(6, 16)],
                                vec![assign(
                                    &read_count,
                                    Expr::concat(vec![lit(0, 8), buf_q.clone()]),
                                )],
                            ),
                            (
                                vec![lit(7, 16)],
                                vec![
                                    assign(
                                        &read_count,
                                        Expr::concat(vec![
                                            buf_q.clone(),
                                            read_count.clone().slice(7, 0),
                                        ]),
                                    ),
                                    assign(&state, st(s_fetch)),
                                    assign(&wait, lit(0, 8)),
                                ],
                            ),
                        ],
                        vec![],
                    ),
                ],
            ),
            (
                // The arguments in: check them, then answer with the words.
                vec![st(s_fetch)],
                vec![if_else(
                    read_count
                        .clone()
                        .gt(lit(i128::from(command::MAX_READ_WORDS), 16)),
                    refuse(Refusal::BadLength),
                    vec![if_else(
                        read_ok,
                        vec![
                            assign(&ans_kind, response_kind.clone()),
                            assign(
                                &ans_len,
                                Expr::concat(vec![read_count.clone().slice(13, 0), lit(0, 2)]),
                            ),
                            assign(
                                &crc_at,
                                Expr::concat(vec![read_count.clone().slice(13, 0), lit(0, 2)])
                                    .add(lit(5, 16)),
                            ),
                            assign(&reading, Expr::bool(true)),
                            assign(&word_ready, Expr::bool(false)),
                            assign(&pos, lit(0, 16)),
                            assign(&state, st(s_tx)),
                        ],
                        refuse(Refusal::BadAddress),
                    )],
                )],
            ),
            (
                vec![st(s_tx)],
                vec![if_else(
                    needs_word,
                    // Present the entry, wait out the readback latency, take the word.
                    vec![
                        assign(&rb_layer, read_unit.clone().resize(p.rb_layer_bits)),
                        assign(&rb_addr, read_addr.clone().resize(p.rb_addr_bits)),
                        assign(&read_addr, read_addr.clone().add(lit(1, 32))),
                        assign(&wait, lit(i128::from(p.rb_latency) + 1, 8)),
                    ],
                    vec![if_else(
                        wait.clone().ne(lit(0, 8)),
                        vec![
                            assign(&wait, wait.clone().sub(lit(1, 8))),
                            if_(
                                wait.clone().eq(lit(1, 8)),
                                vec![
                                    assign(&word, rb_data.resize(32)),
                                    assign(&word_ready, Expr::bool(true)),
                                ],
                            ),
                        ],
                        vec![if_else(
                            tx_valid.clone(),
                            vec![if_(
                                tx_ready,
                                vec![
                                    assign(&tx_valid, Expr::bool(false)),
                                    assign(&pos, pos.clone().add(lit(1, 16))),
                                    if_else(
                                        header_byte(0),
                                        vec![
                                            assign(&crc, lit(i128::from(host_link::crc::INIT), 16)),
                                            assign(&ans_idx, lit(0, 4)),
                                            assign(&byte_sel, lit(0, 2)),
                                        ],
                                        vec![if_(
                                            pos.clone().lt(crc_at.clone()),
                                            vec![assign(&crc, crc_next(&crc, &tx_data))],
                                        )],
                                    ),
                                    if_(
                                        in_payload.clone(),
                                        vec![
                                            assign(&ans_idx, ans_idx.clone().add(lit(1, 4))),
                                            assign(&byte_sel, byte_sel.clone().add(lit(1, 2))),
                                        ],
                                    ),
                                    if_(word_sent, vec![assign(&word_ready, Expr::bool(false))]),
                                    if_(frame_last, vec![assign(&state, st(s_idle))]),
                                ],
                            )],
                            vec![
                                assign(&tx_data, out_byte),
                                assign(&tx_valid, Expr::bool(true)),
                            ],
                        )],
                    )],
                )],
            ),
        ],
        vec![assign(&state, st(s_idle))],
    )];
    m.always_ff(
        &clk,
        vec![if_else(
            rst,
            vec![
                assign(&state, st(s_idle)),
                assign(&last_valid, Expr::bool(false)),
                assign(&samples, lit(0, 32)),
                assign(&crc_errors, lit(0, 32)),
                assign(&tx_valid, Expr::bool(false)),
                assign(&s_tvalid, Expr::bool(false)),
                assign(&s_tlast, Expr::bool(false)),
                assign(&m_tready, Expr::bool(false)),
                assign(&reset_pulse, Expr::bool(false)),
                assign(&wait, lit(0, 8)),
            ],
            fsm,
        )],
    );
    m
}
