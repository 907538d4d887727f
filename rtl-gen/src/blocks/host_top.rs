//! `<top>_host`: the trainer behind a UART, as a board runs it: the pin `uart_rx` feeds
//! [`super::uart::receiver`], whose bytes [`super::frame_rx`] frames; [`super::link`]
//! carries out each request on the trainer's ports and answers through
//! [`super::uart::transmitter`] on `uart_tx`. Two pins besides the clock and reset.

use super::{frame_rx, link, uart};
use crate::params::{addr_bits, DesignParams};
use crate::verilog::{Expr, Module, Ty};

/// The modules of `<top_name>_host` around `trainer` (the top `blocks::top::module`
/// builds for `p`): the host top first, then the UART, frame receiver and executor, each
/// headed with `header` (`verilog::header_lines` of the config).
pub fn modules(
    p: &DesignParams,
    trainer: &Module,
    config_hash: [u8; 8],
    clocks_per_bit: u32,
    header: &[String],
) -> Vec<Module> {
    let top = trainer.name();
    let rx = uart::receiver(&format!("{top}_uart_rx"), clocks_per_bit);
    let tx = uart::transmitter(&format!("{top}_uart_tx"), clocks_per_bit);
    let max_pay = link::max_payload(p);
    let frames = frame_rx::module(&format!("{top}_frame_rx"), max_pay);
    let exec = link::module(p, &format!("{top}_link"), config_hash);

    let mut m = Module::new(&format!("{top}_host"));
    m.doc(&format!(
        "{top} driven over a UART ({clocks_per_bit} clocks a bit) by the host link of \
         docs/host-link.md. See rtl-gen/src/blocks/host_top.rs."
    ));
    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let pin_rx = m.input("uart_rx", Ty::bit());
    let pin_tx = m.output_wire("uart_tx", Ty::bit());
    let w = |m: &mut Module, name: &str, width: u32| m.wire(name, Ty::u(width));
    let bit = |m: &mut Module, name: &str| m.wire(name, Ty::bit());

    let rx_byte = w(&mut m, "rx_byte", 8);
    let rx_valid = bit(&mut m, "rx_valid");
    let rx_stop_error = bit(&mut m, "rx_stop_error");
    let line_idle = bit(&mut m, "line_idle");
    m.instance_of(
        &rx,
        "u_uart_rx",
        vec![
            ("clk".into(), clk.clone()),
            ("rst".into(), rst.clone()),
            ("rx".into(), pin_rx),
            ("data".into(), rx_byte.clone()),
            ("valid".into(), rx_valid.clone()),
            ("stop_error".into(), rx_stop_error.clone()),
            ("line_idle".into(), line_idle.clone()),
        ],
    );
    // A byte with a bad stop bit is dropped; the frame it belonged to fails its CRC or
    // ends on the quiet line.
    m.mark_unused("rx_stop_error", vec![rx_stop_error]);

    let aw = addr_bits(max_pay);
    let ev_valid = bit(&mut m, "event_valid");
    let ev_code = w(&mut m, "event_code", 2);
    let kind = w(&mut m, "kind", 8);
    let seq = w(&mut m, "seq", 8);
    let len = w(&mut m, "len", 16);
    let pay_we = bit(&mut m, "pay_we");
    let pay_addr = w(&mut m, "pay_addr", aw);
    let pay_data = w(&mut m, "pay_data", 8);
    m.instance_of(
        &frames,
        "u_frame_rx",
        vec![
            ("clk".into(), clk.clone()),
            ("rst".into(), rst.clone()),
            ("rx_byte".into(), rx_byte),
            ("rx_valid".into(), rx_valid),
            ("line_idle".into(), line_idle),
            ("event_valid".into(), ev_valid.clone()),
            ("event_code".into(), ev_code.clone()),
            ("kind".into(), kind.clone()),
            ("seq".into(), seq.clone()),
            ("len".into(), len.clone()),
            ("pay_we".into(), pay_we.clone()),
            ("pay_addr".into(), pay_addr.clone()),
            ("pay_data".into(), pay_data.clone()),
        ],
    );

    let tx_data = w(&mut m, "tx_data", 8);
    let tx_valid = bit(&mut m, "tx_valid");
    let tx_ready = bit(&mut m, "tx_ready");
    m.instance_of(
        &tx,
        "u_uart_tx",
        vec![
            ("clk".into(), clk.clone()),
            ("rst".into(), rst.clone()),
            ("data".into(), tx_data.clone()),
            ("valid".into(), tx_valid.clone()),
            ("ready".into(), tx_ready.clone()),
            ("tx".into(), pin_tx),
        ],
    );

    // The trainer's ports but its clock and reset, as wires between it and the executor.
    let trainer_rst = bit(&mut m, "trainer_rst");
    let wires: Vec<(String, Expr)> = trainer
        .ports()
        .iter()
        .filter(|q| q.name != "clk" && q.name != "rst")
        .map(|q| (q.name.clone(), m.wire(&format!("t_{}", q.name), q.ty)))
        .collect();
    let mut exec_conns = vec![
        ("clk".to_string(), clk.clone()),
        ("rst".to_string(), rst),
        ("event_valid".to_string(), ev_valid),
        ("event_code".to_string(), ev_code),
        ("kind".to_string(), kind),
        ("seq".to_string(), seq),
        ("len".to_string(), len),
        ("pay_we".to_string(), pay_we),
        ("pay_addr".to_string(), pay_addr),
        ("pay_data".to_string(), pay_data),
        ("tx_ready".to_string(), tx_ready),
        ("tx_data".to_string(), tx_data),
        ("tx_valid".to_string(), tx_valid),
        ("trainer_rst".to_string(), trainer_rst.clone()),
    ];
    exec_conns.extend(wires.iter().cloned());
    m.instance_of(&exec, "u_link", exec_conns);
    let mut trainer_conns = vec![("clk".to_string(), clk), ("rst".to_string(), trainer_rst)];
    trainer_conns.extend(wires);
    m.instance_of(trainer, &format!("u_{top}"), trainer_conns);
    let mut modules = vec![m, rx, tx, frames, exec];
    for module in &mut modules {
        module.header(header.to_vec());
    }
    modules
}
