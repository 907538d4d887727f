//! A UART (8 data bits, no parity, one stop bit, least significant bit first) for the
//! board's USB-serial link (`docs/host-link.md`): a receiver and a transmitter, each one
//! module, timed by `clocks_per_bit` system clocks a bit.
//!
//! The receiver synchronises the pin through two flip-flops, waits half a bit after a
//! falling edge to check the start bit, then samples each bit at its middle. It leaves the
//! stop bit at its middle too, so that a sender up to about 4 % faster than the receiver
//! (10 bits of drift within half a bit) never has its next start bit missed. It also tells
//! the frame receiver when the line has been idle for two bytes' time (`line_idle`, once
//! per quiet spell): a frame cut short by a lost byte then ends there.

use crate::params::addr_bits;
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

/// Bits a byte takes on the line: start, 8 data, stop.
pub const BITS_PER_BYTE: u32 = 10;
/// Bytes' time of a quiet line after which the receiver reports `line_idle`.
pub const IDLE_BYTES: u32 = 2;

/// The receiver `<name>`: `data` with a one-cycle `valid` per byte, `stop_error` for a
/// byte whose stop bit was low (dropped), `line_idle` after [`IDLE_BYTES`] quiet bytes.
///
/// Panics (a generator bug) for fewer than 4 clocks a bit.
pub fn receiver(name: &str, clocks_per_bit: u32) -> Module {
    assert!(clocks_per_bit >= 4, "a UART bit needs at least 4 clocks");
    let mut m = Module::new(name);
    m.doc(&format!(
        "UART receiver, 8N1, {clocks_per_bit} clocks a bit. See rtl-gen/src/blocks/uart.rs."
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let rx = m.input("rx", Ty::bit());
    let data = m.output_reg("data", Ty::u(8));
    let valid = m.output_reg("valid", Ty::bit());
    let stop_error = m.output_reg("stop_error", Ty::bit());
    let line_idle = m.output_reg("line_idle", Ty::bit());

    let (idle, start, bits, stop) = (0, 1, 2, 3);
    let st = |v: i128| Expr::lit(v, Ty::u(2));
    let cnt_w = addr_bits(clocks_per_bit as usize);
    let cnt_lit = |v: u32| Expr::lit(i128::from(v), Ty::u(cnt_w));

    m.section("the pin, synchronised");
    let rx_meta = m.reg("rx_meta", Ty::bit());
    let rx_sync = m.reg("rx_sync", Ty::bit());
    m.always_ff(
        &clk,
        vec![if_else(
            rst.clone(),
            vec![
                assign(&rx_meta, Expr::bool(true)),
                assign(&rx_sync, Expr::bool(true)),
            ],
            vec![assign(&rx_meta, rx), assign(&rx_sync, rx_meta.clone())],
        )],
    );

    m.section("start bit, 8 data bits, stop bit, each sampled at its middle");
    let state = m.reg("state", Ty::u(2));
    let cnt = m.reg("cnt", Ty::u(cnt_w));
    let bit_idx = m.reg("bit_idx", Ty::u(3));
    let shift = m.reg("shift", Ty::u(8));
    let counted = cnt.clone().eq(cnt_lit(0));
    let count_down = assign(&cnt, cnt.clone().sub(cnt_lit(1)));
    let next_bit = assign(&cnt, cnt_lit(clocks_per_bit - 1));
    let arms = vec![
        (
            vec![st(idle)],
            vec![if_(
                rx_sync.clone().lnot(),
                vec![
                    assign(&state, st(start)),
                    assign(&cnt, cnt_lit(clocks_per_bit / 2 - 1)),
                ],
            )],
        ),
        (
            vec![st(start)],
            vec![if_else(
                counted.clone(),
                // A start bit gone high by its middle was a glitch.
                vec![if_else(
                    rx_sync.clone(),
                    vec![assign(&state, st(idle))],
                    vec![
                        assign(&state, st(bits)),
                        next_bit.clone(),
                        assign(&bit_idx, Expr::lit(0, Ty::u(3))),
                    ],
                )],
                vec![count_down.clone()],
            )],
        ),
        (
            vec![st(bits)],
            vec![if_else(
                counted.clone(),
                vec![
                    assign(
                        &shift,
                        Expr::concat(vec![rx_sync.clone(), shift.clone().slice(7, 1)]),
                    ),
                    next_bit,
                    assign(&bit_idx, bit_idx.clone().add(Expr::lit(1, Ty::u(3)))),
                    if_(
                        bit_idx.clone().eq(Expr::lit(7, Ty::u(3))),
                        vec![assign(&state, st(stop))],
                    ),
                ],
                vec![count_down.clone()],
            )],
        ),
        (
            vec![st(stop)],
            vec![if_else(
                counted,
                vec![
                    assign(&state, st(idle)),
                    if_else(
                        rx_sync.clone(),
                        vec![
                            assign(&data, shift.clone()),
                            assign(&valid, Expr::bool(true)),
                        ],
                        vec![assign(&stop_error, Expr::bool(true))],
                    ),
                ],
                vec![count_down],
            )],
        ),
    ];
    m.always_ff(
        &clk,
        vec![
            assign(&valid, Expr::bool(false)),
            assign(&stop_error, Expr::bool(false)),
            if_else(
                rst.clone(),
                vec![
                    assign(&state, st(idle)),
                    assign(&cnt, cnt_lit(0)),
                    assign(&bit_idx, Expr::lit(0, Ty::u(3))),
                    assign(&shift, Expr::lit(0, Ty::u(8))),
                    assign(&data, Expr::lit(0, Ty::u(8))),
                ],
                vec![case(state.clone(), arms, vec![])],
            ),
        ],
    );

    m.section("a quiet line: IDLE_BYTES bytes' time high with no byte in progress");
    let idle_clocks = IDLE_BYTES * BITS_PER_BYTE * clocks_per_bit;
    let idle_w = addr_bits(idle_clocks as usize);
    let quiet = m.reg("quiet", Ty::u(idle_w));
    let armed = m.reg("idle_armed", Ty::bit());
    let busy = state.ne(st(idle)).lor(rx_sync.lnot());
    m.always_ff(
        &clk,
        vec![
            assign(&line_idle, Expr::bool(false)),
            if_else(
                rst.lor(busy),
                vec![
                    assign(&quiet, Expr::lit(0, Ty::u(idle_w))),
                    // After a reset too: a frame may have been cut by it.
                    assign(&armed, Expr::bool(true)),
                ],
                vec![if_else(
                    quiet
                        .clone()
                        .eq(Expr::lit(i128::from(idle_clocks - 1), Ty::u(idle_w))),
                    vec![
                        assign(&line_idle, armed.clone()),
                        assign(&armed, Expr::bool(false)),
                    ],
                    vec![assign(
                        &quiet,
                        quiet.clone().add(Expr::lit(1, Ty::u(idle_w))),
                    )],
                )],
            ),
        ],
    );
    m
}

/// The transmitter `<name>`: takes `data` when `valid` and `ready` are both high, and
/// sends it; `ready` again once its stop bit has lasted a whole bit.
///
/// Panics (a generator bug) for fewer than 4 clocks a bit.
pub fn transmitter(name: &str, clocks_per_bit: u32) -> Module {
    assert!(clocks_per_bit >= 4, "a UART bit needs at least 4 clocks");
    let mut m = Module::new(name);
    m.doc(&format!(
        "UART transmitter, 8N1, {clocks_per_bit} clocks a bit. See rtl-gen/src/blocks/uart.rs."
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let data = m.input("data", Ty::u(8));
    let valid = m.input("valid", Ty::bit());
    let ready = m.output_wire("ready", Ty::bit());
    let tx = m.output_reg("tx", Ty::bit());

    let cnt_w = addr_bits(clocks_per_bit as usize);
    let cnt_lit = |v: u32| Expr::lit(i128::from(v), Ty::u(cnt_w));
    // The bits still to send after the one on the line: 8 data and the stop bit.
    let left = m.reg("left", Ty::u(4));
    let cnt = m.reg("cnt", Ty::u(cnt_w));
    let shift = m.reg("shift", Ty::u(9));
    let bit_done = cnt.clone().eq(cnt_lit(0));
    let idle = left.clone().eq(Expr::lit(0, Ty::u(4)));
    m.assign(&ready, idle.clone().land(bit_done.clone()));
    m.always_ff(
        &clk,
        vec![if_else(
            rst,
            vec![
                assign(&tx, Expr::bool(true)),
                assign(&left, Expr::lit(0, Ty::u(4))),
                assign(&cnt, cnt_lit(0)),
                assign(&shift, Expr::lit(0x1FF, Ty::u(9))),
            ],
            vec![if_else(
                bit_done,
                vec![if_else(
                    idle,
                    vec![if_(
                        valid,
                        vec![
                            // The start bit now; the data and the stop bit after it.
                            assign(&tx, Expr::bool(false)),
                            assign(&shift, Expr::concat(vec![Expr::bool(true), data])),
                            assign(&left, Expr::lit(9, Ty::u(4))),
                            assign(&cnt, cnt_lit(clocks_per_bit - 1)),
                        ],
                    )],
                    vec![
                        assign(&tx, shift.clone().bit(0)),
                        assign(
                            &shift,
                            Expr::concat(vec![Expr::bool(true), shift.clone().slice(8, 1)]),
                        ),
                        assign(&left, left.clone().sub(Expr::lit(1, Ty::u(4)))),
                        assign(&cnt, cnt_lit(clocks_per_bit - 1)),
                    ],
                )],
                vec![assign(&cnt, cnt.clone().sub(cnt_lit(1)))],
            )],
        )],
    );
    m
}
