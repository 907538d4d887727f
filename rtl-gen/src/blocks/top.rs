//! The top: an AXI4-Stream-style pixel input, the chain of learning units, the
//! prediction output and the weight/error readback.
//!
//! Input: one beat per pixel (`s_axis_tdata`, 8 bits), `s_axis_tlast` on the last pixel,
//! the label in `s_axis_tuser` (sampled on the last beat; above it the sample's
//! learning-rate halvings where the design has a schedule: `DesignParams::sample_tag`).
//! A frame is exactly `inputs` beats; a `tlast` that disagrees with the count sets the
//! sticky `frame_error`.
//! Output: the predicted class on `m_axis_tdata` (and the sample's label on
//! `m_axis_tuser`, so a consumer can score the stream) when `m_axis_tvalid`, held until
//! `m_axis_tready`. Readback: `rb_data` shows entry `rb_addr` of layer `rb_layer`
//! `DesignParams::rb_latency` clocks after both are presented (`READBACK_LATENCY`, 4,
//! plus 2 where a unit banks its weights), a new address every clock
//! (the weights at their packed addresses, `LaneMap::packed` of the row-major index, then
//! the C errors, the modulation and the LFSR states: `LayerParams::rb_first_error` /
//! `rb_first_modulation` / `rb_first_lfsr`). Weight load, while `idle`: `load_we` for a
//! clock writes `load_data` (a weight, two's complement, the low `weight_bits` a unit's) into the
//! weight at entry `rb_addr` of layer `rb_layer`; a unit whose weights sit in banks takes
//! a word's lanes in order, lane 0 first, and writes the word after its last lane.

use crate::params::{addr_bits, DesignParams};
use crate::verilog::{assign, case, if_, if_else, Expr, Module, Ty};

use super::widen;

pub fn module(p: &DesignParams, top_name: &str, header: &[String]) -> Module {
    let mut m = Module::new(top_name);
    m.header(header.to_vec());
    m.doc(&format!(
        "LLS on-chip training of {} ({} -> {}), {} learning unit(s).",
        p.name,
        p.inputs,
        p.classes,
        p.layers.len()
    ));
    let io = Ports::declare(&mut m, p);
    let n = p.layers.len();
    let busy: Vec<Expr> = (0..n)
        .map(|k| m.wire(&format!("busy{k}"), Ty::bit()))
        .collect();
    // `full`: a unit's spare input bank holds a waiting sample.
    let full: Vec<Expr> = (0..n)
        .map(|k| m.wire(&format!("full{k}"), Ty::bit()))
        .collect();
    let feed = input_stream(&mut m, p, &io, &full[0]);
    let rb_data_k = units(&mut m, p, &io, &busy, &full, feed);
    let all_idle = busy
        .iter()
        .chain(&full)
        .skip(1)
        .fold(busy[0].clone().lnot(), |acc, b| acc.land(b.clone().lnot()));
    m.assign(&io.idle, all_idle);
    readback_select(&mut m, p, &io, &rb_data_k);
    m
}

/// The top's ports: the input stream, the prediction stream, `idle`, `frame_error` and
/// readback.
struct Ports {
    clk: Expr,
    rst: Expr,
    tdata: Expr,
    tvalid: Expr,
    tready: Expr,
    tlast: Expr,
    tuser: Expr,
    m_data: Expr,
    m_valid: Expr,
    m_user: Expr,
    m_ready: Expr,
    idle: Expr,
    frame_error: Expr,
    rb_layer: Expr,
    rb_addr: Expr,
    rb_data: Expr,
    load_we: Expr,
    load_data: Expr,
}

impl Ports {
    fn declare(m: &mut Module, p: &DesignParams) -> Ports {
        Ports {
            clk: m.input("clk", Ty::bit()),
            rst: m.input("rst", Ty::bit()),
            tdata: m.input("s_axis_tdata", Ty::u(p.pixel_bits)),
            tvalid: m.input("s_axis_tvalid", Ty::bit()),
            tready: m.output_wire("s_axis_tready", Ty::bit()),
            tlast: m.input("s_axis_tlast", Ty::bit()),
            tuser: m.input("s_axis_tuser", Ty::u(p.tag_bits())),
            m_data: m.output_wire("m_axis_tdata", Ty::u(p.label_bits)),
            m_valid: m.output_wire("m_axis_tvalid", Ty::bit()),
            m_user: m.output_wire("m_axis_tuser", Ty::u(p.label_bits)),
            m_ready: m.input("m_axis_tready", Ty::bit()),
            idle: m.output_wire("idle", Ty::bit()),
            frame_error: m.output_reg("frame_error", Ty::bit()),
            rb_layer: m.input("rb_layer", Ty::u(p.rb_layer_bits)),
            rb_addr: m.input("rb_addr", Ty::u(p.rb_addr_bits)),
            rb_data: m.output_wire("rb_data", Ty::s(p.rb_data_bits)),
            load_we: m.input("load_we", Ty::bit()),
            load_data: m.input("load_data", Ty::u(p.load_bits())),
        }
    }
}

/// What feeds a unit's input: its buffer's write port and the start handshake (write
/// enable, address, data, start, label).
type Feed = (Expr, Expr, Expr, Expr, Expr);

/// The pixel stream into layer 0's input buffer: a beat per pixel, counted, the frame's
/// last beat starting the unit; a `tlast` off the count sets `frame_error`.
fn input_stream(m: &mut Module, p: &DesignParams, io: &Ports, full0: &Expr) -> Feed {
    let a = p.layers[0].act_bits;
    m.section("input stream -> layer 0 input buffer");
    let in_aw = addr_bits(p.inputs);
    let count = m.reg("pixel_count", Ty::u(in_aw));
    m.assign(&io.tready, full0.clone().lnot());
    let beat_value = io.tvalid.clone().land(io.tready.clone());
    let beat = if p.keep_input_beat {
        m.wire_assign_kept("beat", beat_value)
    } else {
        m.wire_assign("beat", beat_value)
    };
    // Whether the next beat is a frame's last: a register kept with the count, so that
    // the start handshake behind it is one LUT on flops.
    let last = m.reg("beat_last", Ty::bit());
    let one_pixel = Expr::bool(p.inputs == 1);
    let next_is_last = if p.inputs >= 2 {
        count
            .clone()
            .eq(Expr::lit(p.inputs as i128 - 2, Ty::u(in_aw)))
    } else {
        Expr::bool(false)
    };
    // The pixel, zero-extended to a signed value, less the offset (in a bit more than a
    // pixel where the activation is no wider: the difference fits the activation, the
    // config checks).
    let w = a.max(p.pixel_bits + 1);
    let unsigned_pixel = Expr::concat(vec![
        Expr::lit(0, Ty::u(w - p.pixel_bits)),
        io.tdata.clone(),
    ])
    .as_signed();
    let centred = match p.input_offset {
        0 => unsigned_pixel,
        offset => unsigned_pixel.sub(Expr::lit(offset as i128, Ty::s(w))),
    };
    let centred = if w == a {
        centred
    } else {
        let wide = m.wire_assign("pixel_centred", centred);
        m.mark_unused("pixel_centred", vec![wide.clone().slice(w - 1, a)]);
        wide.resize(a)
    };
    let pixel = m.wire_assign("pixel", centred.shl(p.input_shift));
    let start0 = m.wire_assign("start0", beat.clone().land(last.clone()));
    let frame_error = &io.frame_error;
    m.always_ff(
        &io.clk,
        vec![if_else(
            io.rst.clone(),
            vec![
                assign(&count, Expr::lit(0, Ty::u(in_aw))),
                assign(&last, one_pixel.clone()),
                assign(frame_error, Expr::bool(false)),
            ],
            vec![if_(
                beat.clone(),
                vec![
                    if_else(
                        last.clone(),
                        vec![
                            assign(&count, Expr::lit(0, Ty::u(in_aw))),
                            assign(&last, one_pixel),
                        ],
                        vec![
                            assign(&count, count.clone().add(Expr::lit(1, Ty::u(in_aw)))),
                            assign(&last, next_is_last),
                        ],
                    ),
                    if_(
                        io.tlast.clone().ne(last),
                        vec![assign(frame_error, Expr::bool(true))],
                    ),
                ],
            )],
        )],
    );
    (beat, count, pixel, start0, io.tuser.clone())
}

/// The learning units in a chain, each feeding the next (the classifier feeds the
/// prediction stream), and the shared multiplier pool; each unit's readback data.
fn units(
    m: &mut Module,
    p: &DesignParams,
    io: &Ports,
    busy: &[Expr],
    full: &[Expr],
    mut feed: Feed,
) -> Vec<Expr> {
    m.section("learning units");
    let rb_data_k: Vec<Expr> = (0..p.layers.len())
        .map(|k| m.wire(&format!("rb_data{k}"), Ty::s(p.rb_data_bits)))
        .collect();
    let pool = p.mul_pool.map(|lanes| MulPool::wires(m, p, lanes));
    for (k, l) in p.layers.iter().enumerate() {
        let mut conns: Vec<(String, Expr)> = vec![
            ("clk".into(), io.clk.clone()),
            ("rst".into(), io.rst.clone()),
            ("in_we".into(), feed.0.clone()),
            ("in_addr".into(), feed.1.clone()),
            ("in_data".into(), feed.2.clone()),
            ("start".into(), feed.3.clone()),
            ("start_label".into(), feed.4.clone()),
            ("busy".into(), busy[k].clone()),
            ("full".into(), full[k].clone()),
        ];
        if l.classifier {
            conns.push(("pred_valid".into(), io.m_valid.clone()));
            conns.push(("pred".into(), io.m_data.clone()));
            conns.push(("pred_label".into(), io.m_user.clone()));
            conns.push(("pred_ready".into(), io.m_ready.clone()));
        } else {
            let we = m.wire(&format!("link{k}_we"), Ty::bit());
            let addr = m.wire(&format!("link{k}_addr"), Ty::u(addr_bits(l.outputs)));
            let data = m.wire(&format!("link{k}_data"), Ty::s(l.act_bits));
            let start = m.wire(&format!("link{k}_start"), Ty::bit());
            let label = m.wire(&format!("link{k}_label"), Ty::u(p.tag_bits()));
            conns.push(("out_we".into(), we.clone()));
            conns.push(("out_addr".into(), addr.clone()));
            conns.push(("out_data".into(), data.clone()));
            conns.push(("out_start".into(), start.clone()));
            conns.push(("out_label".into(), label.clone()));
            conns.push(("down_full".into(), full[k + 1].clone()));
            feed = (we, addr, data, start, label);
        }
        if let Some(pool) = &pool {
            conns.extend(pool.unit_ports(k, l.lanes));
        }
        conns.push(("rb_addr".into(), io.rb_addr.clone().resize(l.rb_addr_bits)));
        conns.push(("rb_data".into(), rb_data_k[k].clone()));
        let here = io
            .rb_layer
            .clone()
            .eq(Expr::lit(k as i128, Ty::u(p.rb_layer_bits)));
        let load_we = m.wire_assign(&format!("load_we{k}"), io.load_we.clone().land(here));
        conns.push(("load_we".into(), load_we));
        let load_data = m.wire_assign(
            &format!("load_data{k}"),
            io.load_data.clone().resize(l.weight_bits).as_signed(),
        );
        conns.push(("load_data".into(), load_data));
        m.instance(&l.name, &format!("u_{}", l.name), conns);
    }
    if let Some(pool) = &pool {
        pool.build(m, p, &io.clk);
    }
    rb_data_k
}

/// `rb_data`: the unit `rb_layer` names, the layer delayed to match the units' stages,
/// registered.
fn readback_select(m: &mut Module, p: &DesignParams, io: &Ports, rb_data_k: &[Expr]) {
    m.section("readback select: the layer delayed to match the units' stages, registered");
    let rb_layer_d = super::delay(
        m,
        &io.clk,
        "rb_layer_q",
        io.rb_layer.clone(),
        p.rb_latency - 1,
    );
    let rb_sel = m.reg("rb_sel", Ty::s(p.rb_data_bits));
    m.always_ff(
        &io.clk,
        vec![
            assign(&rb_sel, rb_data_k[0].clone()),
            case(
                rb_layer_d,
                (1..rb_data_k.len())
                    .map(|k| {
                        (
                            vec![Expr::lit(k as i128, Ty::u(p.rb_layer_bits))],
                            vec![assign(&rb_sel, rb_data_k[k].clone())],
                        )
                    })
                    .collect(),
                vec![],
            ),
        ],
    );
    m.assign(&io.rb_data, rb_sel);
}

/// `hardware.share_multipliers`: one pool of multipliers for all units. A unit takes the
/// whole pool for a pass: it raises `pool_req`, and the arbiter grants it once no other
/// unit holds the pool (`pool_hold`: an item of its pass before or at its operand stage)
/// and no later unit asks too (the later one drains the pipeline sooner: it goes first).
/// Every signal the grant reads is a register in the units, so the arbiter is one LUT
/// level. The operands of the unit whose item is at its operand stage (`pool_valid`; at
/// most one, by the grant rule) are registered, multiplied, and the product registered
/// back to every unit: the DSP's input and output registers. A unit that waits is not
/// stalled mid-pass: passes never share the pool, so the cycle model stays exact.
struct MulPool {
    lanes: usize,
    units: Vec<PoolUser>,
    products: Vec<Expr>,
}

/// One unit's wires to its `pool_*` ports.
struct PoolUser {
    req: Expr,
    grant: Expr,
    hold: Expr,
    valid: Expr,
    /// Per lane it uses: (a, x).
    operands: Vec<(Expr, Expr)>,
}

impl MulPool {
    fn wires(m: &mut Module, p: &DesignParams, lanes: usize) -> MulPool {
        let (a_bits, x_bits) = p.mul_pool_operand_bits();
        let units = p
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                let bit =
                    |m: &mut Module, name: &str| m.wire(&format!("pool_{name}{k}"), Ty::bit());
                let operands = (0..l.lanes)
                    .map(|ln| {
                        (
                            m.wire(&format!("pool_a{k}_{ln}"), Ty::s(l.mul_a_bits)),
                            m.wire(&format!("pool_x{k}_{ln}"), Ty::s(l.act_bits)),
                        )
                    })
                    .collect();
                PoolUser {
                    req: bit(m, "req"),
                    grant: bit(m, "grant"),
                    hold: bit(m, "hold"),
                    valid: bit(m, "valid"),
                    operands,
                }
            })
            .collect();
        let products = (0..lanes)
            .map(|ln| m.reg(&format!("pool_p{ln}"), Ty::s(a_bits + x_bits)))
            .collect();
        MulPool {
            lanes,
            units,
            products,
        }
    }

    fn unit_ports(&self, k: usize, lanes: usize) -> Vec<(String, Expr)> {
        let u = &self.units[k];
        let mut conns = vec![
            ("pool_req".to_string(), u.req.clone()),
            ("pool_grant".to_string(), u.grant.clone()),
            ("pool_valid".to_string(), u.valid.clone()),
            ("pool_hold".to_string(), u.hold.clone()),
        ];
        for (ln, (a, x)) in u.operands.iter().enumerate().take(lanes) {
            conns.push((format!("pool_a{ln}"), a.clone()));
            conns.push((format!("pool_x{ln}"), x.clone()));
            conns.push((format!("pool_p{ln}"), self.products[ln].clone()));
        }
        conns
    }

    fn build(&self, m: &mut Module, p: &DesignParams, clk: &Expr) {
        m.section("shared multipliers: the arbiter, the operand multiplexers, the products");
        let n = self.units.len();
        for (k, u) in self.units.iter().enumerate() {
            let others_hold = (0..n)
                .filter(|&j| j != k)
                .map(|j| self.units[j].hold.clone());
            let later_ask = (k + 1..n).map(|j| self.units[j].req.clone());
            let blocked = others_hold
                .chain(later_ask)
                .reduce(|acc, e| acc.lor(e))
                .unwrap_or(Expr::bool(false));
            m.assign(&u.grant, u.req.clone().land(blocked.lnot()));
        }
        let (a_bits, x_bits) = p.mul_pool_operand_bits();
        let mut ff = Vec::new();
        for ln in 0..self.lanes {
            let a_q = m.reg(&format!("pool_a_q{ln}"), Ty::s(a_bits));
            let x_q = m.reg(&format!("pool_x_q{ln}"), Ty::s(x_bits));
            // The units that use this lane, the first one the default.
            let users: Vec<(Expr, Expr, Expr)> = self
                .units
                .iter()
                .enumerate()
                .filter(|(_, u)| ln < u.operands.len())
                .map(|(k, u)| {
                    let (a, x) = &u.operands[ln];
                    let a = widen(m, &format!("pool_a{k}_{ln}_ext"), a.clone(), a_bits);
                    let x = widen(m, &format!("pool_x{k}_{ln}_ext"), x.clone(), x_bits);
                    (u.valid.clone(), a, x)
                })
                .collect();
            let (first, rest) = users
                .split_first()
                .expect("the pool has as many lanes as its widest unit");
            let (a, x) = rest.iter().cloned().fold(
                (first.1.clone(), first.2.clone()),
                |(a, x), (valid, ak, xk)| {
                    (Expr::mux(valid.clone(), ak, a), Expr::mux(valid, xk, x))
                },
            );
            // Loaded only while an item is there: both enables are the DSP's own.
            let any_valid = rest
                .iter()
                .fold(first.0.clone(), |acc, (valid, _, _)| acc.lor(valid.clone()));
            ff.push(if_(any_valid, vec![assign(&a_q, a), assign(&x_q, x)]));
            ff.push(assign(&self.products[ln], a_q.mul(x_q)));
        }
        m.always_ff(clk, ff);
    }
}
