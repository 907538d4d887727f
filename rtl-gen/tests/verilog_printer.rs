//! Exact-text tests for each construct of the Verilog printer, and a full
//! module checked by Verilator (-Wall), Yosys and Icarus.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "support/tools.rs"]
mod tools;

use rtl_gen::verilog::{
    assign, assign_bit, assign_index, assign_slice, case, comment, header_lines, if_, if_else,
    Expr, Module, Pretty, Stmt, Ty,
};

fn u(w: u32) -> Ty {
    Ty::u(w)
}

fn s(w: u32) -> Ty {
    Ty::s(w)
}

fn id(name: &str, ty: Ty) -> Expr {
    Expr::ident(name, ty)
}

fn lit(v: i128, ty: Ty) -> Expr {
    Expr::lit(v, ty)
}

// ---- expressions ----

#[test]
fn literals() {
    let cases = [
        (lit(5, u(8)), "8'd5"),
        (lit(255, u(8)), "8'd255"),
        (lit(0, u(1)), "1'b0"),
        (Expr::bool(true), "1'b1"),
        (lit(5, s(16)), "16'sd5"),
        (lit(0, s(16)), "16'sd0"),
        (lit(-5, s(16)), "16'shfffb"),
        (lit(-1, s(16)), "16'shffff"),
        (lit(-32768, s(16)), "16'sh8000"),
        (lit(-5, s(10)), "10'sh3fb"),
        (lit(-1, s(1)), "1'sh1"),
        (lit(-2, s(3)), "3'sh6"),
        (lit(-1, s(130)), "130'sh3ffffffffffffffffffffffffffffffff"),
        (lit(1 << 40, u(48)), "48'd1099511627776"),
    ];
    for (e, want) in cases {
        assert_eq!(e.pretty(), want, "{e:?}");
    }
}

#[test]
#[should_panic(expected = "does not fit")]
fn literal_must_fit() {
    lit(256, u(8));
}

#[test]
#[should_panic(expected = "does not fit")]
fn negative_literal_must_be_signed() {
    lit(-1, u(8));
}

#[test]
fn arithmetic_and_logic() {
    let a = id("a", u(8));
    let b = id("b", u(8));
    let c = id("c", Ty::bit());
    assert_eq!(a.clone().add(b.clone()).pretty(), "a + b");
    assert_eq!(a.clone().sub(b.clone()).pretty(), "a - b");
    assert_eq!(
        a.clone()
            .and(b.clone())
            .or(a.clone().xor(b.clone()))
            .pretty(),
        "(a & b) | (a ^ b)"
    );
    assert_eq!(a.clone().not().pretty(), "~a");
    assert_eq!(a.clone().add(b.clone()).neg().pretty(), "-(a + b)");
    assert_eq!(a.clone().eq(b.clone()).pretty(), "a == b");
    assert_eq!(a.clone().ne(b.clone()).pretty(), "a != b");
    assert_eq!(a.clone().lt(b.clone()).pretty(), "a < b");
    assert_eq!(a.clone().le(b.clone()).pretty(), "a <= b");
    assert_eq!(a.clone().gt(b.clone()).pretty(), "a > b");
    assert_eq!(a.clone().ge(b.clone()).pretty(), "a >= b");
    assert_eq!(
        c.clone()
            .land(a.clone().lt(b.clone()))
            .lor(c.clone().lnot())
            .pretty(),
        "(c && (a < b)) || !c"
    );
    assert_eq!(a.clone().and(b.clone().not()).pretty(), "a & ~b");
    assert_eq!(a.clone().neg().not().pretty(), "~(-a)");
    assert_eq!(a.clone().sub(b.clone().neg()).pretty(), "a - (-b)");
    assert_eq!(c.clone().and(a.clone().reduce_and()).pretty(), "c & (&a)");
    assert_eq!(a.clone().reduce_or().pretty(), "|a");
    assert_eq!(a.clone().reduce_and().pretty(), "&a");
    assert_eq!(a.clone().reduce_xor().pretty(), "^a");
    assert_eq!(a.clone().eq(b.clone()).ty(), Ty::bit());
}

#[test]
fn shifts() {
    let a = id("a", u(8));
    let x = id("x", s(16));
    assert_eq!(a.clone().shl(3).pretty(), "a << 3");
    assert_eq!(a.clone().shr(1).pretty(), "a >> 1");
    assert_eq!(x.clone().sar(4).pretty(), "x >>> 4");
    assert_eq!(x.clone().sar(4).ty(), s(16));
    assert_eq!(a.clone().shl(0), a);
}

#[test]
#[should_panic(expected = "logical shift")]
fn sar_needs_signed() {
    id("a", u(8)).sar(1);
}

#[test]
fn multiply_extends_operands_to_the_product_width() {
    let x = id("x", s(16));
    let w = id("w", s(8));
    let p = x.clone().mul(w.clone());
    assert_eq!(p.ty(), s(24));
    assert_eq!(
        p.pretty(),
        "$signed({{8{x[15]}}, x}) * $signed({{16{w[7]}}, w})"
    );
    // Literal operands are re-made at the product width.
    assert_eq!(
        x.clone().mul(lit(-3, s(4))).pretty(),
        "$signed({{4{x[15]}}, x}) * 20'shffffd"
    );
    // Unsigned operands zero-extend, so any expression is fine.
    let a = id("a", u(8));
    let b = id("b", u(4));
    assert_eq!(
        a.clone().add(a.clone()).mul(b.clone()).pretty(),
        "{4'd0, a + a} * {8'd0, b}"
    );
    // 1-bit signed: a scalar is its own sign bit.
    let t = id("t", s(1));
    assert_eq!(
        t.clone().mul(t.clone()).pretty(),
        "$signed({t, t}) * $signed({t, t})"
    );
}

#[test]
#[should_panic(expected = "signed `*` operand must be an identifier or literal")]
fn signed_multiply_needs_identifiers() {
    let x = id("x", s(16));
    x.clone().add(x.clone()).mul(x);
}

#[test]
#[should_panic(expected = "same signedness")]
fn multiply_needs_same_signedness() {
    id("x", s(16)).mul(id("a", u(16)));
}

#[test]
fn resize() {
    let x = id("x", s(16));
    let a = id("a", u(8));
    assert_eq!(x.clone().resize(20).pretty(), "$signed({{4{x[15]}}, x})");
    assert_eq!(x.clone().resize(17).pretty(), "$signed({x[15], x})");
    assert_eq!(x.clone().resize(20).ty(), s(20));
    assert_eq!(x.clone().resize(8).pretty(), "$signed(x[7:0])");
    assert_eq!(x.clone().resize(1).pretty(), "$signed(x[0])");
    assert_eq!(a.clone().resize(12).pretty(), "{4'd0, a}");
    assert_eq!(a.clone().resize(9).pretty(), "{1'b0, a}");
    assert_eq!(a.clone().resize(4).pretty(), "a[3:0]");
    assert_eq!(a.clone().resize(4).ty(), u(4));
    assert_eq!(a.clone().resize(8), a);
    assert_eq!(a.clone().add(a.clone()).resize(9).pretty(), "{1'b0, a + a}");
    // Literals: value kept when it fits, wrapped when truncated.
    assert_eq!(lit(-3, s(4)).resize(8).pretty(), "8'shfd");
    assert_eq!(lit(200, u(8)).resize(4).pretty(), "4'd8");
    assert_eq!(lit(-3, s(8)).resize(2).pretty(), "2'sd1");
    assert_eq!(lit(2, s(8)).resize(2).pretty(), "2'sh2");
    assert_eq!(lit(2, s(8)).resize(2).lit_value(), Some(-2));
    let t = id("t", s(1));
    assert_eq!(t.resize(3).pretty(), "$signed({{2{t}}, t})");
}

#[test]
#[should_panic(expected = "sign extension is only legal on an identifier")]
fn sign_extension_needs_identifier() {
    let x = id("x", s(16));
    x.clone().add(x).resize(17);
}

#[test]
fn selects_concat_and_casts() {
    let a = id("a", u(8));
    let x = id("x", s(16));
    let i = id("i", u(3));
    assert_eq!(a.clone().bit(7).pretty(), "a[7]");
    assert_eq!(x.clone().bit(15).ty(), Ty::bit());
    assert_eq!(x.clone().slice(11, 4).pretty(), "x[11:4]");
    assert_eq!(x.clone().slice(11, 4).ty(), u(8));
    assert_eq!(x.clone().slice(3, 3).pretty(), "x[3]");
    assert_eq!(a.clone().index(i).pretty(), "a[i]");
    assert_eq!(
        Expr::concat(vec![a.clone(), x.clone().slice(3, 0), Expr::bool(false)]).pretty(),
        "{a, x[3:0], 1'b0}"
    );
    assert_eq!(Expr::concat(vec![a.clone(), x.clone()]).ty(), u(24));
    assert_eq!(Expr::repeat(3, a.clone().bit(0)).pretty(), "{3{a[0]}}");
    assert_eq!(Expr::repeat(3, a.clone()).ty(), u(24));
    assert_eq!(a.clone().as_signed().pretty(), "$signed(a)");
    assert_eq!(x.clone().as_unsigned().pretty(), "$unsigned(x)");
    assert_eq!(x.clone().as_signed(), x);
    // A scalar cannot be selected: bit 0 of it is itself.
    assert_eq!(id("c", Ty::bit()).bit(0).pretty(), "c");
}

#[test]
#[should_panic(expected = "needs a u3 index")]
fn dynamic_index_width_is_exact() {
    id("a", u(8)).index(id("i", u(4)));
}

#[test]
#[should_panic(expected = "part select is only legal on an identifier")]
fn slice_needs_identifier() {
    let a = id("a", u(8));
    a.clone().add(a).slice(3, 0);
}

#[test]
fn mux() {
    let c = id("c", Ty::bit());
    let a = id("a", u(8));
    let b = id("b", u(8));
    assert_eq!(
        Expr::mux(c.clone(), a.clone(), b.clone()).pretty(),
        "c ? a : b"
    );
    assert_eq!(
        Expr::mux(a.clone().eq(b.clone()), a.clone().add(b.clone()), b.clone()).pretty(),
        "(a == b) ? (a + b) : b"
    );
}

#[test]
#[should_panic(expected = "`?:` needs operands of the same type, got u8 and s8")]
fn mux_branches_must_agree() {
    Expr::mux(Expr::bool(true), id("a", u(8)), id("x", s(8)));
}

#[test]
#[should_panic(expected = "`<` needs operands of the same type, got s16 and u16")]
fn signed_unsigned_comparison_is_rejected() {
    id("x", s(16)).lt(id("a", u(16)));
}

#[test]
#[should_panic(expected = "`+` needs operands of the same type, got u8 and u9")]
fn width_mismatch_is_rejected() {
    id("a", u(8)).add(id("b", u(9)));
}

// ---- statements ----

#[test]
fn statements_blocking_and_nonblocking() {
    let a = id("a", u(8));
    let c = id("c", Ty::bit());
    let st = if_else(
        c.clone(),
        vec![assign(&a, lit(1, u(8)))],
        vec![assign_slice(&a, 3, 0, lit(2, u(4)))],
    );
    assert_eq!(
        st.pretty(),
        "if (c) begin\n    a = 8'd1;\nend else begin\n    a[3:0] = 4'd2;\nend\n"
    );
    let mut m = Module::new("m");
    let clk = m.input("clk", Ty::bit());
    let c = m.input("c", Ty::bit());
    let d = m.input("d", Ty::bit());
    let i = m.input("i", u(3));
    let a = m.reg("a", u(8));
    m.always_ff(
        &clk,
        vec![
            comment("two\nlines"),
            if_else(
                c.clone(),
                vec![assign(&a, lit(0, u(8)))],
                vec![if_else(
                    d.clone(),
                    vec![assign_bit(&a, i, c.clone())],
                    vec![if_(c, vec![assign(&a, a.clone().add(lit(1, u(8))))])],
                )],
            ),
        ],
    );
    let text = m.to_verilog();
    let body = &text[text.find("    always").unwrap()..text.find("\nendmodule").unwrap()];
    assert_eq!(
        body,
        "    always @(posedge clk) begin
        // two
        // lines
        if (c) begin
            a <= 8'd0;
        end else if (d) begin
            a[i] <= c;
        end else if (c) begin
            a <= a + 8'd1;
        end
    end
"
    );
}

#[test]
fn case_statement() {
    let st = id("st", u(2));
    let y = id("y", u(4));
    let stmt = case(
        st.clone(),
        vec![
            (vec![lit(0, u(2))], vec![assign(&y, lit(1, u(4)))]),
            (vec![lit(1, u(2)), lit(2, u(2))], vec![]),
        ],
        vec![],
    );
    assert_eq!(
        stmt.pretty(),
        "case (st)
    2'd0: begin
        y = 4'd1;
    end
    2'd1, 2'd2: ;
    default: ;
endcase
"
    );
    let with_default = case(st, vec![], vec![assign(&y, lit(0, u(4)))]);
    assert_eq!(
        with_default.pretty(),
        "case (st)\n    default: begin\n        y = 4'd0;\n    end\nendcase\n"
    );
}

// ---- module-level constructs ----

#[test]
fn memory_with_readmemh() {
    let mut m = Module::new("rom");
    let addr = m.input("addr", u(4));
    let q = m.output_wire("q", s(16));
    let rom = m.memory("coef", s(16), 10, Some("coef.hex"));
    assert_eq!(rom.addr_width(), 4);
    m.assign(&q, rom.read(addr));
    assert_eq!(
        m.to_verilog(),
        "module rom (
    input  wire        [3:0]  addr,
    output wire signed [15:0] q
);

    reg signed [15:0] coef [0:9];
    initial $readmemh(\"coef.hex\", coef);
    assign q = coef[addr];

endmodule // rom
"
    );
}

#[test]
fn memory_write() {
    let mut m = Module::new("ram");
    let clk = m.input("clk", Ty::bit());
    let we = m.input("we", Ty::bit());
    let addr = m.input("addr", u(3));
    let d = m.input("d", u(8));
    let q = m.output_reg("q", u(8));
    let ram = m.memory("mem", u(8), 8, None);
    m.always_ff(
        &clk,
        vec![
            if_(we, vec![assign_index(&ram, addr.clone(), d)]),
            assign(&q, ram.read(addr)),
        ],
    );
    assert_eq!(
        m.to_verilog(),
        "module ram (
    input  wire       clk,
    input  wire       we,
    input  wire [2:0] addr,
    input  wire [7:0] d,
    output reg  [7:0] q
);

    reg [7:0] mem [0:7];

    always @(posedge clk) begin
        if (we) begin
            mem[addr] <= d;
        end
        q <= mem[addr];
    end

endmodule // ram
"
    );
}

fn adder() -> Module {
    let mut m = Module::new("adder");
    let a = m.input("a", u(8));
    let b = m.input("b", u(8));
    let y = m.output_wire("y", u(8));
    m.assign(&y, a.add(b));
    m
}

#[test]
fn instances() {
    let sub = adder();
    let mut m = Module::new("top");
    let a = m.input("a", u(8));
    let y = m.output_wire("y", u(8));
    let t = m.wire("t", u(8));
    // Connections print in the submodule's port order.
    m.instance_of(
        &sub,
        "u_add",
        vec![
            ("y".into(), t.clone()),
            ("b".into(), lit(1, u(8))),
            ("a".into(), a.clone()),
        ],
    );
    m.instance(
        "adder",
        "u_raw",
        vec![("a".into(), t), ("b".into(), a), ("y".into(), y)],
    );
    assert_eq!(
        m.to_verilog(),
        "module top (
    input  wire [7:0] a,
    output wire [7:0] y
);

    wire [7:0] t;

    adder u_add (
        .a (a),
        .b (8'd1),
        .y (t)
    );

    adder u_raw (
        .a (t),
        .b (a),
        .y (y)
    );

endmodule // top
"
    );
}

#[test]
fn params_localparams_sections_and_alignment() {
    let mut m = Module::new("p");
    m.header(vec!["// hdr".into()]);
    m.doc("first\nsecond");
    let n = m.param("N", -4);
    m.param("M", 7);
    let clk = m.input("clk", Ty::bit());
    let o = m.output_reg("o", s(8));
    m.section("constants");
    let k = m.localparam("K", lit(-5, s(16)));
    m.localparam("LOW", n.slice(3, 0));
    m.localparam("ONE", Expr::bool(true));
    let r = m.reg("r", s(16));
    m.comment("free comment");
    m.section("logic");
    m.always_ff(&clk, vec![assign(&r, k), assign(&o, r.clone().resize(8))]);
    assert_eq!(
        m.to_verilog(),
        "// hdr
// first
// second
module p #(
    parameter integer N = -4,
    parameter integer M = 7
) (
    input  wire              clk,
    output reg  signed [7:0] o
);

    // ---- constants ----
    localparam signed [15:0] K = 16'shfffb;
    localparam        [3:0]  LOW = N[3:0];
    localparam               ONE = 1'b1;
    reg        signed [15:0] r;
    // free comment

    // ---- logic ----
    always @(posedge clk) begin
        r <= K;
        o <= $signed(r[7:0]);
    end

endmodule // p
"
    );
}

#[test]
fn wire_assign_and_mark_unused() {
    let mut m = Module::new("w");
    let a = m.input("a", s(16));
    let y = m.output_wire("y", s(8));
    let hi = m.wire_assign("hi", a.clone().sar(8));
    m.assign(&y, hi.clone().resize(8));
    m.mark_unused("hi", vec![hi.slice(15, 8)]);
    let t = m.wire("t", u(8));
    m.assign(&t, a.slice(7, 0));
    m.mark_unused("t", vec![t]);
    assert_eq!(
        m.to_verilog(),
        "module w (
    input  wire signed [15:0] a,
    output wire signed [7:0]  y
);

    wire signed [15:0] hi = a >>> 8;
    assign y = $signed(hi[7:0]);
    wire       unused_hi = &{1'b0, hi[15:8]};
    wire [7:0] t;
    assign t = a[7:0];
    wire unused_t = &{1'b0, t};

endmodule // w
"
    );
}

#[test]
fn empty_modules() {
    assert_eq!(Module::new("e").to_verilog(), "module e;\nendmodule // e\n");
    let mut m = Module::new("e");
    m.param("N", 1);
    assert_eq!(
        m.to_verilog(),
        "module e #(\n    parameter integer N = 1\n) ();\nendmodule // e\n"
    );
}

#[test]
fn header_line() {
    assert_eq!(
        header_lines("tiny", b"abc"),
        vec![format!(
            "// Generated by lls-rtl-gen {} from config \"tiny\" (sha256:ba7816bf8f01cfea). Do not edit.",
            env!("CARGO_PKG_VERSION")
        )]
    );
}

#[test]
fn output_is_deterministic() {
    assert_eq!(mac_top().0.to_verilog(), mac_top().0.to_verilog());
}

// ---- full design through the tools ----

/// Saturates a signed 32-bit value to 16 bits.
fn mac_sat() -> Module {
    let mut m = Module::new("mac_sat");
    m.header(header_lines("tiny", b"[model]\nwidth = 16\n"));
    m.doc("Saturate a signed 32-bit accumulator to 16 bits.");
    let v = m.input("value", s(32));
    let y = m.output_wire("sat", s(16));
    let hi = m.localparam("SAT_MAX", lit(32767, s(32)));
    let lo = m.localparam("SAT_MIN", lit(-32768, s(32)));
    let max16 = m.localparam("MAX16", lit(32767, s(16)));
    let min16 = m.localparam("MIN16", lit(-32768, s(16)));
    m.assign(
        &y,
        Expr::mux(
            v.clone().gt(hi),
            max16,
            Expr::mux(v.clone().lt(lo), min16, v.resize(16)),
        ),
    );
    m
}

/// Registered signed MAC over a coefficient ROM, with a counter, a case FSM,
/// a scratch RAM and an instance: every construct the builder offers.
fn mac_top() -> (Module, Module) {
    let sat = mac_sat();
    let mut m = Module::new("mac_top");
    m.header(header_lines("tiny", b"[model]\nwidth = 16\n"));
    m.doc("Multiply-accumulate x by a ROM of coefficients.");
    let last_index = m.param("LAST_INDEX", 15);

    let clk = m.input("clk", Ty::bit());
    let rst = m.input("rst", Ty::bit());
    let start = m.input("start", Ty::bit());
    let x = m.input("x", s(16));
    let addr = m.input("addr", u(4));
    let wr_en = m.input("wr_en", Ty::bit());
    let sel = m.input("sel", u(4));
    let acc_sat = m.output_wire("acc_sat", s(16));
    let busy = m.output_reg("busy", Ty::bit());
    let state_o = m.output_wire("state", u(2));
    let flag = m.output_wire("flag", Ty::bit());

    m.section("constants");
    let s_idle = m.localparam("S_IDLE", lit(0, u(2)));
    let s_run = m.localparam("S_RUN", lit(1, u(2)));
    let s_done = m.localparam("S_DONE", lit(2, u(2)));
    let last = m.localparam("LAST", last_index.slice(3, 0));
    let bias = m.localparam("BIAS", lit(-5, s(16)));

    m.section("state");
    let state_q = m.reg("state_q", u(2));
    let state_d = m.reg("state_d", u(2));
    let cnt = m.reg("cnt", u(4));
    let x_q = m.reg("x_q", s(16));
    let acc = m.reg("acc", s(32));
    let flags = m.reg("flags", u(16));

    m.section("memories");
    let rom = m.memory("coef_rom", s(16), 16, Some("coef_rom.hex"));
    let ram = m.memory("scratch", u(8), 16, None);

    m.section("datapath");
    let coef = m.wire_assign("coef", rom.read(cnt.clone()));
    let prod = m.wire_assign("prod", x_q.clone().mul(coef));
    let prod_scaled = m.wire_assign("prod_scaled", prod.clone().sar(2));
    let acc_next = m.wire_assign("acc_next", acc.clone().add(prod_scaled));
    let x_biased = m.wire_assign("x_biased", x_q.clone().add(bias.clone()));
    let x_wide = m.wire_assign("x_wide", x_biased.resize(32));
    let cnt_wide = m.wire_assign("cnt_wide", cnt.clone().resize(8));
    let x_byte = m.wire_assign("x_byte", x_q.clone().resize(8));
    let scratch_rd = m.wire_assign("scratch_rd", ram.read(addr.clone()));
    let remaining = m.wire_assign("remaining", last.clone().sub(cnt.clone()));
    let is_small = x_q
        .clone()
        .le(bias)
        .lor(x_q.clone().ge(lit(100, s(16))))
        .land(rst.clone().lnot())
        .lor(cnt.clone().as_signed().lt(lit(-1, s(4))));
    let misc = m.wire_assign(
        "misc",
        Expr::concat(vec![
            Expr::repeat(2, start.clone()),
            x_q.clone()
                .slice(3, 0)
                .not()
                .and(lit(0xa, u(4)))
                .or(cnt.clone().shl(1))
                .xor(cnt.clone().shr(1))
                .xor(remaining),
            Expr::mux(is_small, lit(1, u(2)), lit(2, u(2))),
        ]),
    );
    m.mark_unused("prod", vec![prod.clone().slice(1, 0)]);
    m.assign(&state_o, state_q.clone());
    m.assign(
        &flag,
        flags
            .clone()
            .index(sel)
            .xor(flags.clone().slice(7, 0).reduce_or()),
    );

    m.section("saturation");
    m.instance_of(
        &sat,
        "u_sat",
        vec![("value".into(), acc.clone()), ("sat".into(), acc_sat)],
    );

    m.section("control");
    m.always_comb(vec![
        comment("stay unless told otherwise"),
        assign(&state_d, state_q.clone()),
        case(
            state_q.clone(),
            vec![
                (
                    vec![s_idle.clone()],
                    vec![if_(start.clone(), vec![assign(&state_d, s_run.clone())])],
                ),
                (
                    vec![s_run.clone()],
                    vec![if_(
                        cnt.clone().eq(last),
                        vec![assign(&state_d, s_done.clone())],
                    )],
                ),
                (
                    vec![s_done, lit(3, u(2))],
                    vec![assign(&state_d, s_idle.clone())],
                ),
            ],
            vec![],
        ),
    ]);

    m.always_ff(
        &clk,
        vec![if_else(
            rst,
            vec![
                assign(&state_q, s_idle.clone()),
                assign(&busy, Expr::bool(false)),
                assign(&cnt, lit(0, u(4))),
                assign(&x_q, lit(0, s(16))),
                assign(&acc, lit(0, s(32))),
                assign(&flags, lit(0, u(16))),
            ],
            vec![
                assign(&state_q, state_d.clone()),
                assign(&busy, state_d.clone().ne(s_idle.clone())),
                assign(&x_q, x),
                if_else(
                    state_q.clone().eq(s_run),
                    vec![
                        assign(&cnt, cnt.clone().add(lit(1, u(4)))),
                        assign(&acc, acc_next),
                    ],
                    vec![if_(
                        state_q.clone().eq(s_idle).land(start),
                        vec![assign(&cnt, lit(0, u(4))), assign(&acc, x_wide)],
                    )],
                ),
                assign_bit(&flags, cnt.clone(), prod.bit(31)),
                assign_slice(&flags, 15, 8, scratch_rd.xor(cnt_wide).xor(misc.neg())),
                if_(wr_en, vec![assign_index(&ram, addr, x_byte.as_unsigned())]),
            ],
        )],
    );
    (m, sat)
}

static DIR_SEQ: AtomicU32 = AtomicU32::new(0);

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rtl-gen-{tag}-{}-{}",
        std::process::id(),
        DIR_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Writes each module to `<name>.v` plus `files`, then requires
/// `verilator --lint-only -Wall` to be silent and Yosys synthesis and Icarus
/// (Verilog-2005 mode) to succeed. `modules[0]` is the top.
fn check_with_tools(tag: &str, modules: &[&Module], files: &[(&str, String)]) {
    let dir = scratch_dir(tag);
    let mut sources = Vec::new();
    for m in modules {
        let text = m.to_verilog();
        for l in text.lines() {
            assert_eq!(l, l.trim_end(), "trailing whitespace in {}", m.name());
        }
        assert!(text.ends_with(&format!("endmodule // {}\n", m.name())));
        std::fs::write(dir.join(m.file_name()), text).expect("write .v");
        sources.push(m.file_name());
    }
    for (name, body) in files {
        std::fs::write(dir.join(name), body).expect("write data file");
    }
    let all_text: String = modules.iter().map(|m| m.to_verilog()).collect();
    let top = modules[0].name();
    let srcs: Vec<&str> = sources.iter().map(String::as_str).collect();

    let mut args = vec!["--lint-only", "-Wall"];
    args.extend(&srcs);
    let (ok, out) = tools::try_tool(&dir, "verilator", &args);
    assert!(ok && out.is_empty(), "verilator -Wall:\n{out}\n{all_text}");

    let script = format!("read_verilog {}; synth -top {top}", srcs.join(" "));
    let (ok, out) = tools::try_tool(&dir, "yosys", &["-q", "-p", &script]);
    assert!(ok, "yosys:\n{out}\n{all_text}");

    let mut args = vec!["-g2005", "-o", "/dev/null"];
    args.extend(&srcs);
    let (ok, out) = tools::try_tool(&dir, "iverilog", &args);
    assert!(ok, "iverilog:\n{out}\n{all_text}");

    std::fs::remove_dir_all(&dir).ok();
}

fn hex_lines(n: u32, digits: usize) -> String {
    (0..n)
        .map(|i| format!("{:0digits$x}\n", (i * 0x1111) % (1 << (4 * digits))))
        .collect()
}

#[test]
fn full_design_is_lint_clean_and_synthesizes() {
    let (top, sat) = mac_top();
    check_with_tools(
        "verilog-mac",
        &[&top, &sat],
        &[("coef_rom.hex", hex_lines(16, 4))],
    );
}

fn edge_leaf() -> Module {
    let mut m = Module::new("edge_leaf");
    let d = m.input("din", u(8));
    let q = m.output_wire("dout", u(8));
    m.assign(&q, d.not());
    m
}

/// Corner cases: 1-bit signed values, memory depth that is not a power of
/// two, multiplies by literals and by unsigned expressions, dynamic bit
/// writes in `always @*`, a plain (unchecked) instance.
fn edge_cases() -> Module {
    let mut m = Module::new("edge_cases");
    let clk = m.input("clk", Ty::bit());
    let t = m.input("t", s(1));
    let v = m.input("v", s(8));
    let a = m.input("a", u(8));
    let i3 = m.input("i3", u(3));
    let k = m.input("k", u(4));
    let o_sext = m.output_wire("o_sext", s(4));
    let o_trunc = m.output_wire("o_trunc", s(1));
    let o_tmul = m.output_wire("o_tmul", s(2));
    let o_lmul = m.output_wire("o_lmul", s(12));
    let o_umul = m.output_wire("o_umul", u(12));
    let o_bits = m.output_wire("o_bits", Ty::bit());
    let o_lut = m.output_wire("o_lut", u(8));
    let o_cm = m.output_wire("o_cm", u(8));
    let o_leaf = m.output_wire("o_leaf", u(8));
    let o_rep = m.output_wire("o_rep", u(8));
    let o_q = m.output_reg("o_q", s(8));

    let lut = m.memory("lut", u(8), 10, Some("lut.hex"));
    let cm = m.reg("cm", u(8));
    let leaf_out = m.wire("leaf_out", u(8));

    m.assign(&o_sext, t.clone().resize(4));
    m.assign(&o_trunc, v.clone().resize(1));
    m.assign(&o_tmul, t.clone().mul(t.clone()));
    m.assign(&o_lmul, v.clone().mul(lit(-3, s(4))));
    m.assign(&o_umul, a.clone().add(lit(3, u(8))).mul(k.clone()));
    m.assign(&o_bits, a.clone().index(i3.clone()).xor(a.clone().bit(7)));
    m.assign(&o_lut, lut.read(k.clone()));
    m.assign(&o_rep, Expr::repeat(4, a.clone().slice(1, 0)));
    m.always_comb(vec![
        assign(&cm, a.clone()),
        if_(
            v.clone().lt(lit(-100, s(8))),
            vec![assign_bit(&cm, i3, t.clone())],
        ),
    ]);
    m.assign(&o_cm, cm);
    m.instance(
        "edge_leaf",
        "u_leaf",
        vec![("din".into(), a), ("dout".into(), leaf_out.clone())],
    );
    m.assign(&o_leaf, leaf_out);
    m.always_ff(&clk, vec![assign(&o_q, v.clone().sar(1).sub(v.neg()))]);
    m
}

#[test]
fn edge_cases_are_lint_clean_and_synthesize() {
    let top = edge_cases();
    let leaf = edge_leaf();
    check_with_tools(
        "verilog-edge",
        &[&top, &leaf],
        &[("lut.hex", hex_lines(10, 2))],
    );
}

#[test]
fn stmt_variants_can_be_built_directly() {
    // Public enum variants are re-checked by the module.
    let mut m = Module::new("d");
    let clk = m.input("clk", Ty::bit());
    let r = m.output_reg("r", u(4));
    m.always_ff(
        &clk,
        vec![Stmt::Assign {
            lhs: rtl_gen::verilog::LValue::Ident("r".into()),
            rhs: r.clone().add(lit(1, u(4))),
        }],
    );
    assert!(m.to_verilog().contains("r <= r + 4'd1;"));
}
