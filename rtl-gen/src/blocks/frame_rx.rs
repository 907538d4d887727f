//! The host link's frame receiver (`host_link::frame::Receiver` in hardware, event for
//! event): it takes the UART's bytes, hunts for the sync byte, reads the header, refuses
//! a length above the buffer, hands each payload byte to the parent's buffer as it comes,
//! and checks the CRC-16 at the end. A line gone idle in the middle of a frame ends it.
//! The CRC advances a byte a cycle through [`crc_next`], the XOR network of
//! `host_link::crc::update`.

use host_link::crc;
use host_link::frame::SYNC;

use crate::params::addr_bits;
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

/// Event codes on `event_code` when `event_valid`: the `host_link::frame::Received` variants.
pub mod event {
    pub const FRAME: i128 = 0;
    pub const BAD_CRC: i128 = 1;
    pub const TOO_LONG: i128 = 2;
    pub const TRUNCATED: i128 = 3;
}

/// For each bit of the next CRC register, the bits of (register, byte) it XORs: indices
/// 0–15 the register's, 16–23 the byte's. The update is linear over GF(2), so each
/// output bit is the XOR of the outputs of the inputs it depends on.
fn crc_taps() -> [Vec<usize>; 16] {
    let image = |i: usize| -> u16 {
        if i < 16 {
            crc::update(1 << i, 0)
        } else {
            crc::update(0, 1 << (i - 16))
        }
    };
    std::array::from_fn(|out| (0..24).filter(|&i| image(i) >> out & 1 == 1).collect())
}

/// The CRC register after `byte`: `host_link::crc::update` as a network of XORs.
pub fn crc_next(reg: &Expr, byte: &Expr) -> Expr {
    let bits: Vec<Expr> = crc_taps()
        .iter()
        .rev()
        .map(|taps| {
            taps.iter()
                .map(|&i| match i {
                    0..=15 => reg.clone().bit(i as u32),
                    _ => byte.clone().bit(i as u32 - 16),
                })
                .reduce(Expr::xor)
                .expect("every CRC bit depends on some input")
        })
        .collect();
    Expr::concat(bits)
}

/// The receiver `<name>` for payloads of up to `max_payload` bytes, fed `rx_byte` when
/// `rx_valid` and told of a quiet line by `line_idle`: `pay_we` / `pay_addr` / `pay_data`
/// write each payload byte as it arrives; `event_valid` pulses with `event_code` once a
/// frame ends, `kind`, `seq` and `len` holding its header.
pub fn module(name: &str, max_payload: usize) -> Module {
    let mut m = Module::new(name);
    m.doc(&format!(
        "Host-link frame receiver, payloads up to {max_payload} bytes. See \
         rtl-gen/src/blocks/frame_rx.rs and docs/host-link.md."
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let byte = m.input("rx_byte", Ty::u(8));
    let byte_valid = m.input("rx_valid", Ty::bit());
    let line_idle = m.input("line_idle", Ty::bit());
    let event_valid = m.output_reg("event_valid", Ty::bit());
    let event_code = m.output_reg("event_code", Ty::u(2));
    let kind = m.output_reg("kind", Ty::u(8));
    let seq = m.output_reg("seq", Ty::u(8));
    let len = m.output_reg("len", Ty::u(16));
    let aw = addr_bits(max_payload.max(1));
    let pay_we = m.output_wire("pay_we", Ty::bit());
    let pay_addr = m.output_wire("pay_addr", Ty::u(aw));
    let pay_data = m.output_wire("pay_data", Ty::u(8));

    let (hunt, k, s, len_lo, len_hi, payload, crc_lo, crc_hi) = (0, 1, 2, 3, 4, 5, 6, 7);
    let st = |v: i128| Expr::lit(v, Ty::u(3));
    let state = m.reg("state", Ty::u(3));
    let crc_reg = m.reg("crc", Ty::u(16));
    let crc_low = m.reg("crc_low", Ty::u(8));
    let count = m.reg("count", Ty::u(16));

    m.assign(
        &pay_we,
        byte_valid.clone().land(state.clone().eq(st(payload))),
    );
    m.assign(&pay_addr, count.clone().resize(aw));
    m.assign(&pay_data, byte.clone());

    let ev = |code: i128| {
        vec![
            assign(&event_valid, Expr::bool(true)),
            assign(&event_code, Expr::lit(code, Ty::u(2))),
        ]
    };
    let next_crc = crc_next(&crc_reg, &byte);
    let full_len = Expr::concat(vec![byte.clone(), len.clone().slice(7, 0)]);
    let max_len = Expr::lit(max_payload as i128, Ty::u(16));
    let arms = vec![
        (
            vec![st(hunt)],
            vec![if_(
                byte.clone().eq(Expr::lit(i128::from(SYNC), Ty::u(8))),
                vec![
                    assign(&crc_reg, Expr::lit(i128::from(crc::INIT), Ty::u(16))),
                    assign(&state, st(k)),
                ],
            )],
        ),
        (
            vec![st(k)],
            vec![
                assign(&kind, byte.clone()),
                assign(&crc_reg, next_crc.clone()),
                assign(&state, st(s)),
            ],
        ),
        (
            vec![st(s)],
            vec![
                assign(&seq, byte.clone()),
                assign(&crc_reg, next_crc.clone()),
                assign(&state, st(len_lo)),
            ],
        ),
        (
            vec![st(len_lo)],
            vec![
                assign(
                    &len,
                    Expr::concat(vec![Expr::lit(0, Ty::u(8)), byte.clone()]),
                ),
                assign(&crc_reg, next_crc.clone()),
                assign(&state, st(len_hi)),
            ],
        ),
        (
            vec![st(len_hi)],
            vec![
                assign(&len, full_len.clone()),
                assign(&crc_reg, next_crc.clone()),
                assign(&count, Expr::lit(0, Ty::u(16))),
                if_else(
                    full_len.clone().gt(max_len),
                    [ev(event::TOO_LONG), vec![assign(&state, st(hunt))]].concat(),
                    vec![if_else(
                        full_len.eq(Expr::lit(0, Ty::u(16))),
                        vec![assign(&state, st(crc_lo))],
                        vec![assign(&state, st(payload))],
                    )],
                ),
            ],
        ),
        (
            vec![st(payload)],
            vec![
                assign(&crc_reg, next_crc),
                assign(&count, count.clone().add(Expr::lit(1, Ty::u(16)))),
                if_(
                    count.add(Expr::lit(1, Ty::u(16))).eq(len.clone()),
                    vec![assign(&state, st(crc_lo))],
                ),
            ],
        ),
        (
            vec![st(crc_lo)],
            vec![assign(&crc_low, byte.clone()), assign(&state, st(crc_hi))],
        ),
        (
            vec![st(crc_hi)],
            vec![
                assign(&state, st(hunt)),
                if_else(
                    Expr::concat(vec![byte, crc_low]).eq(crc_reg),
                    ev(event::FRAME),
                    ev(event::BAD_CRC),
                ),
            ],
        ),
    ];
    m.always_ff(
        &clk,
        vec![
            assign(&event_valid, Expr::bool(false)),
            if_else(
                rst,
                vec![
                    assign(&state, st(hunt)),
                    assign(&event_code, Expr::lit(0, Ty::u(2))),
                ],
                vec![if_else(
                    byte_valid,
                    vec![case(state.clone(), arms, vec![])],
                    vec![if_(
                        line_idle.land(state.clone().ne(st(hunt))),
                        [ev(event::TRUNCATED), vec![assign(&state, st(hunt))]].concat(),
                    )],
                )],
            ),
        ],
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The taps reproduce `crc::update` on every register value's low byte patterns.
    #[test]
    fn the_taps_are_the_crc_update() {
        let taps = crc_taps();
        for reg in (0..=u16::MAX).step_by(251) {
            for byte in 0..=u8::MAX {
                let input = u32::from(reg) | u32::from(byte) << 16;
                let out = taps.iter().enumerate().fold(0u16, |acc, (j, t)| {
                    let bit = t.iter().fold(0, |b, &i| b ^ (input >> i & 1)) as u16;
                    acc | bit << j
                });
                assert_eq!(out, crc::update(reg, byte), "{reg:#06x} {byte:#04x}");
            }
        }
    }
}
