//! The host link's request executor: what a board does with the frames
//! [`super::frame_rx`] finds (`host_link::device::DeviceLink` in hardware). It keeps the
//! payload in a buffer, carries out each request on the trainer's ports (samples onto the
//! input stream, the prediction back, readback words, weights loaded, a reset) and sends
//! the answer frame
//! through the UART transmitter, its CRC computed byte by byte as it goes out. A request
//! whose kind and sequence number are the last one answered gets that answer again
//! without being carried out; a read is carried out again (it changes nothing).
//! Requests and answers: `docs/host-link.md`.
//!
//! No answer is stored: its payload is composed byte by byte as it goes out, from what it
//! carries ([`answer`]): constants (hello), the counters (status, and a sample's count,
//! which only the next sample or a reset changes), the prediction and label kept from the
//! sample, or the read's words. A replay sends the same bytes; a repeated status reports
//! the counters as they are when it is sent. Every counter and address is as wide as what
//! it counts.

use host_link::command::{self, kind, Refusal, MAX_ANSWER_PAYLOAD, PROTOCOL, REFUSED, RESPONSE};
use host_link::frame::SYNC;

use super::frame_rx::{self, crc_next};
use crate::params::{addr_bits, DesignParams};
use crate::verilog::{assign, assign_slice, case, if_, if_else, Expr, Module, Ty};

/// The payload buffer's size: a sample (its label and pixels), a read's 7 bytes, or a
/// write of a whole word of the widest unit whose weights sit in banks (it writes whole
/// words only).
pub fn max_payload(p: &DesignParams) -> usize {
    let banked_word = p
        .layers
        .iter()
        .filter(|l| l.bank_stages() > 0)
        .map(|l| l.lanes)
        .max()
        .unwrap_or(1);
    command::max_request_payload(p.inputs, banked_word)
}

fn lit(v: i128, w: u32) -> Expr {
    Expr::lit(v, Ty::u(w))
}

/// The fields of a frame going out, in order (`docs/host-link.md`).
mod field {
    pub const SYNC: i128 = 0;
    pub const KIND: i128 = 1;
    pub const SEQ: i128 = 2;
    pub const LEN_LOW: i128 = 3;
    pub const LEN_HIGH: i128 = 4;
    pub const PAYLOAD: i128 = 5;
    pub const CRC_LOW: i128 = 6;
    pub const CRC_HIGH: i128 = 7;
}

/// What an answer's payload carries, composed as it goes out.
pub mod answer {
    /// Protocol, config hash, inputs, classes, units, learns: 14 constant bytes.
    pub const HELLO: i128 = 0;
    /// Idle, frame error, samples trained, frames dropped: 10 bytes.
    pub const STATUS: i128 = 1;
    /// Prediction, label, samples trained: 6 bytes.
    pub const SAMPLE: i128 = 2;
    /// The refused kind and the reason: 2 bytes.
    pub const REFUSAL: i128 = 3;
    /// A reset's and a write's: none.
    pub const EMPTY: i128 = 4;
    /// A read's words, 4 bytes each.
    pub const READ: i128 = 5;
    pub const BITS: u32 = 3;

    /// Payload bytes of an answer of a fixed length.
    pub const fn len(ty: i128) -> usize {
        match ty {
            HELLO => 14,
            STATUS => 10,
            SAMPLE => 6,
            REFUSAL => 2,
            _ => 0,
        }
    }
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
    let s_tdata = m.output_wire("s_axis_tdata", Ty::u(p.pixel_bits));
    let s_tvalid = m.output_reg("s_axis_tvalid", Ty::bit());
    let s_tready = m.input("s_axis_tready", Ty::bit());
    let s_tlast = m.output_reg("s_axis_tlast", Ty::bit());
    let s_tuser = m.output_reg("s_axis_tuser", Ty::u(p.tag_bits()));
    let m_tdata = m.input("m_axis_tdata", Ty::u(p.label_bits));
    let m_tuser = m.input("m_axis_tuser", Ty::u(p.label_bits));
    let m_tvalid = m.input("m_axis_tvalid", Ty::bit());
    let m_tready = m.output_reg("m_axis_tready", Ty::bit());
    let idle = m.input("idle", Ty::bit());
    let frame_error = m.input("frame_error", Ty::bit());
    let rb_layer = m.output_wire("rb_layer", Ty::u(p.rb_layer_bits));
    let rb_addr = m.output_wire("rb_addr", Ty::u(p.rb_addr_bits));
    let rb_data = m.input("rb_data", Ty::u(p.rb_data_bits));
    let trainer_rst = m.output_wire("trainer_rst", Ty::bit());
    let load_we = m.output_reg("load_we", Ty::bit());
    let load_data = m.output_wire("load_data", Ty::u(p.load_bits()));

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
    let (s_idle, s_dispatch, s_label, s_pixel, s_beat, s_pred, s_reset, s_args, s_fetch, s_tx) =
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    let (s_check, s_byte, s_put, s_next) = (10, 11, 12, 13);
    let sw = 4;
    let st = |v: i128| lit(v, sw);
    let state = m.reg("state", Ty::u(sw));
    // The request's length, as the three lengths a request may have.
    let len_zero = m.reg("len_zero", Ty::bit());
    let len_sample = m.reg("len_sample", Ty::bit());
    let len_read = m.reg("len_read", Ty::bit());
    let len_write = m.reg("len_write", Ty::bit());
    // The request's kind and sequence number: the one being carried out is the last one
    // (a repeat has the same).
    let req_kind = m.reg("req_kind", Ty::u(8));
    let req_seq = m.reg("req_seq", Ty::u(8));
    let last_valid = m.reg("last_valid", Ty::bit());
    let samples = m.reg("samples", Ty::u(32));
    let samples_next = m.wire_assign("samples_next", samples.clone().add(lit(1, 32)));
    let crc_errors = m.reg("crc_errors", Ty::u(32));
    // Counts a sample's beats (0..=inputs), a read's argument bytes (0..=7) and a write's
    // bytes (up to its length, `pay_len`).
    let cw = addr_bits(max_pay + 1);
    let pay_len = m.reg("pay_len", Ty::u(cw));
    let pix = m.reg("pixel", Ty::u(cw));
    let pix_next = m.wire_assign("pixel_next", pix.clone().add(lit(1, cw)));
    // Clocks to wait: a buffer read (1), the trainer's reset (3), a readback word.
    let ww = addr_bits(p.rb_latency as usize + 2).max(2);
    let wait = m.reg("countdown", Ty::u(ww));
    let wait_is = |v: i128| wait.clone().eq(lit(v, ww));
    let wait_less = wait.clone().sub(lit(1, ww));
    let reset_pulse = m.reg("reset_pulse", Ty::bit());
    m.assign(&trainer_rst, rst.clone().lor(reset_pulse.clone()));
    // A pixel goes out straight from the buffer's read register, which holds while the
    // beat waits for s_axis_tready (the read address moves on only after it).
    m.assign(&s_tdata, buf_q.clone().resize(p.pixel_bits));
    // The answer: refused or a response, what its payload carries, a refusal's reason, a
    // sample's prediction and label.
    let refused = m.reg("refused", Ty::bit());
    let ans_type = m.reg("ans_type", Ty::u(answer::BITS));
    let reason = m.reg("reason", Ty::u(3));
    let pred_q = m.reg("pred_q", Ty::u(p.label_bits));
    let label_q = m.reg("label_q", Ty::u(p.label_bits));
    // A read: the unit, the address within the readback span (`addr_over`: the request set
    // a bit above it), the count, the word going out.
    let rw = p.rb_addr_bits + 1;
    let reading = m.reg("reading", Ty::bit());
    let read_unit = m.reg("read_unit", Ty::u(p.rb_layer_bits));
    let unit_ok = m.reg("unit_ok", Ty::bit());
    let read_addr = m.reg("read_addr", Ty::u(rw));
    let addr_over = m.reg("addr_over", Ty::bit());
    // The words a read asks for (at most MAX_READ_WORDS, 256: `count_over` past it) or a
    // write carries (what its length says, at most `max_write_words`).
    let max_words = command::max_write_words(max_pay);
    let nw = addr_bits(max_words + 1).max(9);
    let word_count = m.reg("word_count", Ty::u(nw));
    let count_over = m.reg("count_over", Ty::bit());
    // The entry at the read address is presented all along and its word goes out straight
    // from rb_data (which holds while the trainer is idle and the address stays); the
    // address moves on once the word's last byte is sent.
    m.assign(&rb_layer, read_unit.clone());
    m.assign(&rb_addr, read_addr.clone().resize(p.rb_addr_bits));
    let word_ready = m.reg("word_ready", Ty::bit());
    // A write: its words (what its length leaves after the unit and address), the word
    // being assembled from the buffer, a byte at a time.
    let writing = m.reg("writing", Ty::bit());
    let load_word = m.reg("load_word", Ty::u(p.load_bits()));
    m.assign(&load_data, load_word.clone());
    // The frame going out: which field (`field`, below), the payload's length and the
    // bytes of it left, the CRC; the payload byte of a fixed answer and the byte of a
    // read's word.
    let fw = addr_bits(MAX_ANSWER_PAYLOAD + 1);
    let field = m.reg("tx_field", Ty::u(3));
    let ans_len = m.wire("ans_len", Ty::u(fw));
    let left = m.reg("tx_left", Ty::u(fw));
    let crc = m.reg("tx_crc", Ty::u(16));
    let ans_idx = m.reg("ans_idx", Ty::u(4));
    let byte_sel = m.reg("byte_sel", Ty::u(2));

    // Starts sending an answer carrying `ty`.
    let answer = |ty: i128| {
        vec![
            assign(&refused, Expr::bool(false)),
            assign(&ans_type, lit(ty, answer::BITS)),
            assign(&reading, Expr::bool(false)),
            assign(&last_valid, Expr::bool(true)),
            assign(&field, lit(field::SYNC, 3)),
            assign(&state, st(s_tx)),
        ]
    };
    let refuse = |r: Refusal| {
        let mut stmts = answer(answer::REFUSAL);
        stmts[0] = assign(&refused, Expr::bool(true));
        stmts.push(assign(&reason, lit(r as i128, 3)));
        stmts
    };
    let units = p.layers.len();
    let learns = p.learn;
    let sample_kind = i128::from(if learns { kind::TRAIN } else { kind::INFER });
    let other_sample_kind = i128::from(if learns { kind::INFER } else { kind::TRAIN });
    let wrong_design = if learns {
        Refusal::Learns
    } else {
        Refusal::NotLearning
    };
    // A read's and a write's bounds: the unit's entries.
    let ew = rw.max(nw) + 1;
    let per_unit = |value: &dyn Fn(&crate::params::LayerParams) -> Expr, zero: Expr| {
        p.layers.iter().enumerate().rev().fold(zero, |acc, (k, l)| {
            Expr::mux(
                read_unit.clone().eq(lit(k as i128, p.rb_layer_bits)),
                value(l),
                acc,
            )
        })
    };
    let end = read_addr
        .clone()
        .resize(ew)
        .add(word_count.clone().resize(ew));
    // A write is held to the unit's entries as a read is: the unit writes weights only
    // (an entry past them takes nothing).
    let span = end.le(per_unit(&|l| lit(l.rb_entries as i128, ew), lit(0, ew)));
    // Registered: the checks below wait a clock for it (a clock off the link's own paths).
    let span_ok = m.reg("span_ok", Ty::bit());
    m.always_ff(
        &clk,
        vec![assign(
            &span_ok,
            addr_over.clone().lnot().land(unit_ok.clone()).land(span),
        )],
    );
    // A unit whose weights sit in banks writes whole words: one a request, from lane 0.
    let whole_word = per_unit(
        &|l| {
            if l.bank_stages() == 0 {
                return Expr::bool(true);
            }
            let lane0 = match l.lane_bits() {
                0 => Expr::bool(true),
                b => read_addr.clone().resize(b).eq(lit(0, b)),
            };
            let lanes = word_count.clone().eq(lit(l.lanes as i128, nw));
            lane0.land(lanes)
        },
        Expr::bool(true),
    );
    let write_ok = span_ok.clone().land(whole_word);

    // A read and a write both start by parsing their unit and address from the buffer.
    let parse_args = |len_ok: Expr, write: bool| {
        vec![if_else(
            len_ok,
            vec![
                assign(&buf_raddr, lit(0, aw)),
                assign(&pix, lit(0, cw)),
                assign(&read_addr, lit(0, rw)),
                assign(&addr_over, Expr::bool(false)),
                assign(&writing, Expr::bool(write)),
                assign(&state, st(s_args)),
            ],
            refuse(Refusal::BadLength),
        )]
    };
    let dispatch = vec![case(
        req_kind.clone(),
        vec![
            (
                vec![lit(kind::HELLO.into(), 8)],
                vec![if_else(
                    len_zero.clone(),
                    answer(answer::HELLO),
                    refuse(Refusal::BadLength),
                )],
            ),
            (
                vec![lit(sample_kind, 8)],
                vec![if_else(
                    len_sample.clone(),
                    vec![
                        assign(&buf_raddr, lit(0, aw)),
                        assign(&wait, lit(1, ww)),
                        assign(&state, st(s_label)),
                    ],
                    refuse(Refusal::BadLength),
                )],
            ),
            (vec![lit(other_sample_kind, 8)], refuse(wrong_design)),
            (
                vec![lit(kind::READ.into(), 8)],
                parse_args(len_read.clone(), false),
            ),
            (
                vec![lit(kind::WRITE.into(), 8)],
                parse_args(len_write.clone(), true),
            ),
            (
                vec![lit(kind::RESET.into(), 8)],
                vec![if_else(
                    len_zero.clone(),
                    vec![
                        assign(&reset_pulse, Expr::bool(true)),
                        assign(&wait, lit(3, ww)),
                        assign(&state, st(s_reset)),
                    ],
                    refuse(Refusal::BadLength),
                )],
            ),
            (
                vec![lit(kind::STATUS.into(), 8)],
                vec![if_else(
                    len_zero.clone(),
                    answer(answer::STATUS),
                    refuse(Refusal::BadLength),
                )],
            ),
        ],
        refuse(Refusal::UnknownKind),
    )];

    m.section("the frame going out, composed byte by byte");
    let le_bytes = |e: &Expr, n: u32| -> Vec<Expr> {
        (0..n).map(|i| e.clone().slice(8 * i + 7, 8 * i)).collect()
    };
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
    // Status and a sample's answer share their bytes 2..=5 (samples); status's 6..=9 are
    // the dropped frames. Bytes 0 and 1 and the hello and refusal bytes are picked apart.
    let counter_byte = m.reg("counter_byte", Ty::u(8));
    let counters = [le_bytes(&samples, 4), le_bytes(&crc_errors, 4)].concat();
    m.always_comb(vec![
        assign(&counter_byte, lit(0, 8)),
        case(
            ans_idx.clone(),
            counters
                .into_iter()
                .enumerate()
                .map(|(i, b)| (vec![lit(2 + i as i128, 4)], vec![assign(&counter_byte, b)]))
                .collect(),
            vec![],
        ),
    ]);
    let hello_byte = m.reg("hello_byte", Ty::u(8));
    m.always_comb(vec![
        assign(&hello_byte, lit(0, 8)),
        case(
            ans_idx.clone(),
            hello
                .into_iter()
                .enumerate()
                .map(|(i, b)| (vec![lit(i as i128, 4)], vec![assign(&hello_byte, b)]))
                .collect(),
            vec![],
        ),
    ]);
    let is = |ty: i128| ans_type.clone().eq(lit(ty, answer::BITS));
    let first = ans_idx.clone().eq(lit(0, 4));
    let head_byte = Expr::mux(
        is(answer::STATUS),
        Expr::mux(first.clone(), idle.clone().resize(8), frame_error.resize(8)),
        Expr::mux(
            first.clone(),
            pred_q.clone().resize(8),
            label_q.clone().resize(8),
        ),
    );
    let fixed_byte = Expr::mux(
        is(answer::HELLO),
        hello_byte,
        Expr::mux(
            is(answer::REFUSAL),
            Expr::mux(first, req_kind.clone(), reason.clone().resize(8)),
            Expr::mux(ans_idx.clone().lt(lit(2, 4)), head_byte, counter_byte),
        ),
    );
    let at = |f: i128| field.clone().eq(lit(f, 3));
    let in_payload = m.wire_assign("in_payload", at(field::PAYLOAD));
    let word32 = m.wire_assign("word32", rb_data.resize(32));
    let word_byte = (0..4).rev().fold(lit(0, 8), |acc, i| {
        Expr::mux(
            byte_sel.clone().eq(lit(i, 2)),
            word32.clone().slice(8 * i as u32 + 7, 8 * i as u32),
            acc,
        )
    });
    let ans_kind = Expr::mux(
        refused.clone(),
        lit(i128::from(REFUSED), 8),
        req_kind.clone().or(lit(i128::from(RESPONSE), 8)),
    );
    // The payload's length: a read's 4 bytes a word, or what the answer carries.
    let read_len = Expr::concat(vec![word_count.clone().resize(fw - 2), lit(0, 2)]);
    let fixed_len = [
        answer::HELLO,
        answer::STATUS,
        answer::SAMPLE,
        answer::REFUSAL,
    ]
    .into_iter()
    .fold(lit(0, fw), |acc, ty| {
        Expr::mux(
            ans_type.clone().eq(lit(ty, answer::BITS)),
            lit(answer::len(ty) as i128, fw),
            acc,
        )
    });
    m.assign(&ans_len, Expr::mux(reading.clone(), read_len, fixed_len));
    let len16 = m.wire_assign("ans_len16", ans_len.clone().resize(16));
    let out_byte = m.reg("out_byte", Ty::u(8));
    let fields = [
        (field::SYNC, lit(i128::from(SYNC), 8)),
        (field::KIND, ans_kind),
        (field::SEQ, req_seq.clone()),
        (field::LEN_LOW, len16.clone().slice(7, 0)),
        (field::LEN_HIGH, len16.slice(15, 8)),
        (
            field::PAYLOAD,
            Expr::mux(reading.clone(), word_byte, fixed_byte),
        ),
        (field::CRC_LOW, crc.clone().slice(7, 0)),
        (field::CRC_HIGH, crc.clone().slice(15, 8)),
    ];
    m.always_comb(vec![
        assign(&out_byte, lit(0, 8)),
        case(
            field.clone(),
            fields
                .into_iter()
                .map(|(f, b)| (vec![lit(f, 3)], vec![assign(&out_byte, b)]))
                .collect(),
            vec![],
        ),
    ]);
    // The field after the one just sent: the payload only where there is one.
    let last_payload_byte = left.clone().eq(lit(1, fw));
    let next_field = Expr::mux(
        at(field::LEN_HIGH).land(ans_len.clone().eq(lit(0, fw))),
        lit(field::CRC_LOW, 3),
        Expr::mux(
            at(field::PAYLOAD).land(last_payload_byte.lnot()),
            lit(field::PAYLOAD, 3),
            field.clone().add(lit(1, 3)),
        ),
    );
    let frame_last = at(field::CRC_HIGH);
    // A read fetches each word before its first byte goes out.
    let needs_word = reading
        .clone()
        .land(in_payload.clone())
        .land(byte_sel.clone().eq(lit(0, 2)))
        .land(word_ready.clone().lnot())
        .land(wait_is(0));
    let word_sent = reading
        .clone()
        .land(in_payload.clone())
        .land(byte_sel.clone().eq(lit(3, 2)));

    // A read's argument bytes 2..=5: the address, little-endian; bits past the readback
    // span set `addr_over`.
    let address_byte = |k: u32| -> Vec<crate::verilog::Stmt> {
        let lo = 8 * k;
        let over = |bits: Expr| if_(bits.reduce_or(), vec![assign(&addr_over, Expr::bool(true))]);
        if lo >= rw {
            return vec![over(buf_q.clone())];
        }
        let bits = (rw - lo).min(8);
        let mut stmts = vec![assign_slice(
            &read_addr,
            lo + bits - 1,
            lo,
            buf_q.clone().slice(bits - 1, 0),
        )];
        if bits < 8 {
            stmts.push(over(buf_q.clone().slice(7, bits)));
        }
        stmts
    };
    let args = vec![
        assign(&buf_raddr, pix_next.clone().resize(aw)),
        assign(&pix, pix_next.clone()),
        case(
            pix.clone(),
            vec![
                (
                    vec![lit(1, cw)],
                    vec![
                        assign(&read_unit, buf_q.clone().resize(p.rb_layer_bits)),
                        assign(&unit_ok, buf_q.clone().lt(lit(units as i128, 8))),
                    ],
                ),
                (vec![lit(2, cw)], address_byte(0)),
                (vec![lit(3, cw)], address_byte(1)),
                (vec![lit(4, cw)], address_byte(2)),
                (
                    vec![lit(5, cw)],
                    [
                        address_byte(3),
                        vec![if_(
                            writing.clone(),
                            vec![assign(&state, st(s_check)), assign(&wait, lit(1, ww))],
                        )],
                    ]
                    .concat(),
                ),
                (
                    vec![lit(6, cw)],
                    vec![assign(&word_count, buf_q.clone().resize(nw))],
                ),
                (
                    // The count's high byte: 256 is the most, 0x01 0x00.
                    vec![lit(7, cw)],
                    vec![
                        assign_slice(&word_count, 8, 8, buf_q.clone().bit(0)),
                        assign(
                            &count_over,
                            buf_q.clone().slice(7, 1).reduce_or().lor(
                                buf_q
                                    .clone()
                                    .bit(0)
                                    .land(word_count.clone().slice(7, 0).reduce_or()),
                            ),
                        ),
                        assign(&state, st(s_fetch)),
                        assign(&wait, lit(1, ww)),
                    ],
                ),
            ],
            vec![],
        ),
    ];
    debug_assert_eq!(command::MAX_READ_WORDS, 256);
    debug_assert_eq!(command::WRITE_HEADER, 5);
    // Both wait a clock for the registered span check.
    let after_check = |stmts: Vec<crate::verilog::Stmt>| {
        vec![if_else(
            wait_is(0),
            stmts,
            vec![assign(&wait, wait_less.clone())],
        )]
    };
    let fetch = after_check(vec![if_else(
        count_over.clone(),
        refuse(Refusal::BadLength),
        vec![if_else(
            span_ok,
            vec![
                assign(&refused, Expr::bool(false)),
                assign(&ans_type, lit(answer::READ, answer::BITS)),
                assign(&reading, Expr::bool(true)),
                assign(&word_ready, Expr::bool(false)),
                assign(&field, lit(field::SYNC, 3)),
                assign(&state, st(s_tx)),
            ],
            refuse(Refusal::BadAddress),
        )],
    )]);
    // A write: check the unit and the span, then each word from the buffer (bytes 5 ..,
    // little-endian) onto load_data, written once the trainer is idle.
    let check = after_check(vec![if_else(
        write_ok,
        vec![
            assign(&buf_raddr, lit(command::WRITE_HEADER as i128, aw)),
            assign(&pix, lit(command::WRITE_HEADER as i128, cw)),
            assign(&byte_sel, lit(0, 2)),
            assign(&wait, lit(1, ww)),
            assign(&state, st(s_byte)),
        ],
        refuse(Refusal::BadAddress),
    )]);
    let take_byte = vec![if_else(
        wait_is(0),
        vec![
            case(
                byte_sel.clone(),
                // The word's bytes past the weights' width are dropped.
                (0..4u32)
                    .filter(|i| 8 * i < p.load_bits())
                    .map(|i| {
                        let (lo, hi) = (8 * i, (8 * i + 7).min(p.load_bits() - 1));
                        (
                            vec![lit(i.into(), 2)],
                            vec![assign_slice(
                                &load_word,
                                hi,
                                lo,
                                buf_q.clone().slice(hi - lo, 0),
                            )],
                        )
                    })
                    .collect(),
                vec![],
            ),
            assign(&pix, pix_next.clone()),
            assign(&buf_raddr, pix_next.clone().resize(aw)),
            assign(&byte_sel, byte_sel.clone().add(lit(1, 2))),
            if_else(
                byte_sel.clone().eq(lit(3, 2)),
                vec![assign(&state, st(s_put))],
                vec![assign(&wait, lit(1, ww))],
            ),
        ],
        vec![assign(&wait, wait_less.clone())],
    )];
    let put = vec![if_(
        idle.clone(),
        vec![
            assign(&load_we, Expr::bool(true)),
            assign(&state, st(s_next)),
        ],
    )];
    let next_word = vec![
        assign(&load_we, Expr::bool(false)),
        assign(&read_addr, read_addr.clone().add(lit(1, rw))),
        if_else(
            pix.clone().eq(pay_len.clone()),
            answer(answer::EMPTY),
            vec![assign(&wait, lit(1, ww)), assign(&state, st(s_byte))],
        ),
    ];
    let send = vec![if_else(
        needs_word,
        // Wait out the readback latency, take the word, move to the next address.
        vec![assign(&wait, lit(i128::from(p.rb_latency) + 1, ww))],
        vec![if_else(
            wait_is(0).lnot(),
            vec![
                assign(&wait, wait_less.clone()),
                if_(wait_is(1), vec![assign(&word_ready, Expr::bool(true))]),
            ],
            vec![if_else(
                tx_valid.clone(),
                vec![if_(
                    tx_ready,
                    vec![
                        assign(&tx_valid, Expr::bool(false)),
                        assign(&field, next_field),
                        if_else(
                            at(field::SYNC),
                            vec![
                                assign(&crc, lit(i128::from(host_link::crc::INIT), 16)),
                                assign(&left, ans_len.clone()),
                                assign(&ans_idx, lit(0, 4)),
                                assign(&byte_sel, lit(0, 2)),
                            ],
                            vec![if_(
                                field.clone().lt(lit(field::CRC_LOW, 3)),
                                vec![assign(&crc, crc_next(&crc, &tx_data))],
                            )],
                        ),
                        if_(
                            in_payload.clone(),
                            vec![
                                assign(&left, left.clone().sub(lit(1, fw))),
                                assign(&ans_idx, ans_idx.clone().add(lit(1, 4))),
                                assign(&byte_sel, byte_sel.clone().add(lit(1, 2))),
                            ],
                        ),
                        if_(
                            word_sent,
                            vec![
                                assign(&word_ready, Expr::bool(false)),
                                assign(&read_addr, read_addr.clone().add(lit(1, rw))),
                            ],
                        ),
                        if_(frame_last, vec![assign(&state, st(s_idle))]),
                    ],
                )],
                vec![
                    assign(&tx_data, out_byte),
                    assign(&tx_valid, Expr::bool(true)),
                ],
            )],
        )],
    )];

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
                            assign(&len_zero, ev_len.clone().eq(lit(0, 16))),
                            assign(&len_sample, ev_len.clone().eq(lit(n as i128 + 1, 16))),
                            assign(&len_read, ev_len.clone().eq(lit(7, 16))),
                            // 5 bytes and 4 a word, at least one: 4k + 1 with k >= 2.
                            assign(
                                &len_write,
                                ev_len
                                    .clone()
                                    .slice(15, 3)
                                    .reduce_or()
                                    .land(ev_len.clone().slice(1, 0).eq(lit(1, 2))),
                            ),
                            assign(&pay_len, ev_len.clone().resize(cw)),
                            // Its words: (len - 5) / 4, which for len = 4k + 1 is
                            // len[..2] - 1.
                            assign(&word_count, ev_len.clone().slice(nw + 1, 2).sub(lit(1, nw))),
                            if_else(
                                last_valid
                                    .clone()
                                    .land(ev_kind.clone().eq(req_kind.clone()))
                                    .land(ev_seq.eq(req_seq.clone()))
                                    .land(ev_kind.ne(lit(kind::READ.into(), 8))),
                                vec![
                                    assign(&field, lit(field::SYNC, 3)),
                                    assign(&state, st(s_tx)),
                                ],
                                vec![assign(&state, st(s_dispatch))],
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
                    wait_is(0),
                    vec![
                        assign(&s_tuser, buf_q.clone().resize(p.tag_bits())),
                        assign(&pix, lit(1, cw)),
                        assign(&buf_raddr, lit(1, aw)),
                        assign(&wait, lit(1, ww)),
                        assign(&state, st(s_pixel)),
                    ],
                    vec![assign(&wait, wait_less.clone())],
                )],
            ),
            (
                vec![st(s_pixel)],
                vec![if_else(
                    wait_is(0),
                    vec![
                        assign(&s_tvalid, Expr::bool(true)),
                        assign(&s_tlast, pix.clone().eq(lit(n as i128, cw))),
                        assign(&state, st(s_beat)),
                    ],
                    vec![assign(&wait, wait_less.clone())],
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
                            pix.clone().eq(lit(n as i128, cw)),
                            vec![
                                assign(&m_tready, Expr::bool(true)),
                                assign(&state, st(s_pred)),
                            ],
                            vec![
                                assign(&pix, pix_next.clone()),
                                assign(&buf_raddr, pix_next.clone().resize(aw)),
                                assign(&wait, lit(1, ww)),
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
                            assign(&pred_q, m_tdata),
                            assign(&label_q, m_tuser),
                        ],
                        answer(answer::SAMPLE),
                    ]
                    .concat(),
                )],
            ),
            (
                vec![st(s_reset)],
                vec![if_else(
                    wait_is(0),
                    [
                        vec![
                            assign(&reset_pulse, Expr::bool(false)),
                            assign(&samples, lit(0, 32)),
                        ],
                        answer(answer::EMPTY),
                    ]
                    .concat(),
                    vec![assign(&wait, wait_less)],
                )],
            ),
            // A read's unit, address and count: buffer bytes 0..7, one a cycle, each a
            // cycle after its address.
            (vec![st(s_args)], args),
            // The arguments in: check them, then answer with the words.
            (vec![st(s_fetch)], fetch),
            (vec![st(s_check)], check),
            (vec![st(s_byte)], take_byte),
            (vec![st(s_put)], put),
            (vec![st(s_next)], next_word),
            (vec![st(s_tx)], send),
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
                assign(&load_we, Expr::bool(false)),
                assign(&wait, lit(0, ww)),
            ],
            fsm,
        )],
    );
    m
}
