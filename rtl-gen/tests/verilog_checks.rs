//! The builder rejects generator bugs that would otherwise surface as lint
//! warnings or tool errors. Each test names the rule it pins down.

use rtl_gen::verilog::{
    assign, assign_bit, assign_slice, case, if_, if_else, Expr, LValue, Module, Stmt, Ty,
};

fn u(w: u32) -> Ty {
    Ty::u(w)
}

fn lit(v: i128, ty: Ty) -> Expr {
    Expr::lit(v, ty)
}

fn clocked() -> (Module, Expr) {
    let mut m = Module::new("m");
    let clk = m.input("clk", Ty::bit());
    (m, clk)
}

#[test]
#[should_panic(expected = "duplicate name \"a\"")]
fn duplicate_names() {
    let mut m = Module::new("m");
    m.input("a", u(8));
    m.wire("a", u(4));
}

#[test]
#[should_panic(expected = "keyword")]
fn keyword_as_name() {
    Module::new("m").reg("logic", u(8));
}

#[test]
#[should_panic(expected = "contains '$'")]
fn dollar_in_name() {
    Module::new("m").wire("a$b", u(8));
}

#[test]
#[should_panic(expected = "module name")]
fn bad_module_name() {
    Module::new("module");
}

#[test]
#[should_panic(expected = "zero-width")]
fn zero_width() {
    Ty::u(0);
}

#[test]
#[should_panic(expected = "assigning 9 bits to 8-bit a")]
fn assign_width_mismatch() {
    assign(&Expr::ident("a", u(8)), Expr::ident("b", u(9)));
}

#[test]
#[should_panic(expected = "assigning 8 bits to 4-bit a")]
fn slice_assign_width_mismatch() {
    assign_slice(&Expr::ident("a", u(8)), 3, 0, Expr::ident("b", u(8)));
}

#[test]
#[should_panic(expected = "assigning 9 bits to 8-bit y")]
fn continuous_assign_width_mismatch() {
    let mut m = Module::new("m");
    let a = m.input("a", u(9));
    let y = m.output_wire("y", u(8));
    m.assign(&y, a);
}

#[test]
#[should_panic(expected = "continuous assignment to non-wire r")]
fn continuous_assign_to_reg() {
    let mut m = Module::new("m");
    let r = m.reg("r", u(8));
    m.assign(&r, lit(0, u(8)));
}

#[test]
#[should_panic(expected = "continuous assignment to non-wire a")]
fn continuous_assign_to_input() {
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    m.assign(&a, lit(0, u(8)));
}

#[test]
#[should_panic(expected = "procedural assignment to non-reg w")]
fn procedural_assign_to_wire() {
    let (mut m, clk) = clocked();
    let w = m.wire("w", u(8));
    m.always_ff(&clk, vec![assign(&w, lit(0, u(8)))]);
}

#[test]
#[should_panic(expected = "w is driven by a continuous assign and by a continuous assign")]
fn wire_assigned_twice() {
    let mut m = Module::new("m");
    let w = m.wire("w", u(8));
    m.assign(&w, lit(0, u(8)));
    m.assign(&w, lit(1, u(8)));
}

#[test]
#[should_panic(expected = "r is driven by always block #0 and by always block #1")]
fn reg_assigned_from_two_blocks() {
    let (mut m, clk) = clocked();
    let r = m.reg("r", u(8));
    m.always_ff(&clk, vec![assign(&r, lit(0, u(8)))]);
    m.always_ff(&clk, vec![assign(&r, lit(1, u(8)))]);
}

#[test]
fn reg_assigned_twice_in_one_block_is_fine() {
    let (mut m, clk) = clocked();
    let r = m.reg("r", u(8));
    m.always_ff(
        &clk,
        vec![assign(&r, lit(0, u(8))), assign(&r, lit(1, u(8)))],
    );
}

#[test]
#[should_panic(expected = "does not assign all of y on every path (latch)")]
fn latch_in_comb_block() {
    let mut m = Module::new("m");
    let c = m.input("c", Ty::bit());
    let y = m.reg("y", u(8));
    m.always_comb(vec![if_(c, vec![assign(&y, lit(1, u(8)))])]);
}

#[test]
#[should_panic(expected = "does not assign all of y on every path (latch)")]
fn latch_from_case_without_default() {
    let mut m = Module::new("m");
    let s = m.input("s", u(2));
    let y = m.reg("y", u(8));
    m.always_comb(vec![case(
        s,
        vec![(vec![lit(0, u(2))], vec![assign(&y, lit(1, u(8)))])],
        vec![],
    )]);
}

#[test]
#[should_panic(expected = "does not assign all of y on every path (latch)")]
fn partial_write_in_comb_block() {
    let mut m = Module::new("m");
    let i = m.input("i", u(3));
    let y = m.reg("y", u(8));
    m.always_comb(vec![assign_bit(&y, i, Expr::bool(true))]);
}

#[test]
fn complete_comb_blocks_are_accepted() {
    let mut m = Module::new("m");
    let c = m.input("c", Ty::bit());
    let s = m.input("s", u(1));
    let y = m.reg("y", u(8));
    let z = m.reg("z", u(8));
    m.always_comb(vec![
        if_else(
            c,
            vec![assign(&y, lit(1, u(8)))],
            vec![assign(&y, lit(2, u(8)))],
        ),
        case(
            s,
            vec![(vec![lit(0, u(1))], vec![assign(&z, lit(1, u(8)))])],
            vec![assign(&z, lit(2, u(8)))],
        ),
        assign_slice(&z, 3, 0, lit(0, u(4))),
    ]);
}

#[test]
#[should_panic(expected = "memory mem written in always @*")]
fn memory_write_in_comb_block() {
    let mut m = Module::new("m");
    let a = m.input("a", u(2));
    let mem = m.memory("mem", u(8), 4, None);
    m.always_comb(vec![mem.write(a, lit(0, u(8)))]);
}

#[test]
#[should_panic(expected = "undeclared b")]
fn undeclared_signal() {
    let mut m = Module::new("m");
    let y = m.output_wire("y", u(8));
    m.assign(&y, Expr::ident("b", u(8)));
}

#[test]
#[should_panic(expected = "a is declared u8 but used as s8")]
fn identifier_with_wrong_type() {
    let mut m = Module::new("m");
    m.input("a", u(8));
    let y = m.output_wire("y", Ty::s(8));
    m.assign(&y, Expr::ident("a", Ty::s(8)));
}

#[test]
#[should_panic(expected = "mem is not a memory of this module")]
fn memory_from_another_module() {
    let mut other = Module::new("other");
    let mem = other.memory("mem", u(8), 4, None);
    let mut m = Module::new("m");
    let a = m.input("a", u(2));
    let y = m.output_wire("y", u(8));
    m.assign(&y, mem.read(a));
}

#[test]
#[should_panic(expected = "needs a u2 index, got u3")]
fn memory_address_width() {
    let mut m = Module::new("m");
    let a = m.input("a", u(3));
    let mem = m.memory("mem", u(8), 4, None);
    mem.read(a);
}

#[test]
#[should_panic(expected = "has value 1 twice")]
fn duplicate_case_items() {
    let (mut m, clk) = clocked();
    let s = m.input("s", u(2));
    let one = m.localparam("ONE", lit(1, u(2)));
    let y = m.reg("y", u(8));
    m.always_ff(
        &clk,
        vec![case(
            s,
            vec![
                (vec![lit(1, u(2))], vec![assign(&y, lit(1, u(8)))]),
                (vec![one], vec![assign(&y, lit(2, u(8)))]),
            ],
            vec![],
        )],
    );
}

#[test]
#[should_panic(expected = "`case` needs operands of the same type")]
fn case_item_width() {
    case(
        Expr::ident("s", u(2)),
        vec![(vec![lit(1, u(3))], vec![])],
        vec![],
    );
}

#[test]
#[should_panic(expected = "`if` needs a 1-bit operand")]
fn if_condition_width() {
    if_(Expr::ident("s", u(2)), vec![]);
}

#[test]
#[should_panic(expected = "`if` needs a 1-bit operand")]
fn direct_if_variant_is_rechecked() {
    let (mut m, clk) = clocked();
    let s = m.input("s", u(2));
    m.always_ff(
        &clk,
        vec![Stmt::If {
            cond: s,
            then_: vec![],
            else_: vec![],
        }],
    );
}

#[test]
#[should_panic(expected = "assigning 4 bits to 8-bit r")]
fn direct_assign_variant_is_rechecked() {
    let (mut m, clk) = clocked();
    m.reg("r", u(8));
    m.always_ff(
        &clk,
        vec![Stmt::Assign {
            lhs: LValue::Ident("r".into()),
            rhs: lit(0, u(4)),
        }],
    );
}

#[test]
#[should_panic(expected = "clock must be a 1-bit signal")]
fn clock_width() {
    let mut m = Module::new("m");
    let clk = m.input("clk", u(2));
    m.always_ff(&clk, vec![]);
}

#[test]
#[should_panic(expected = "localparam K is not constant: a")]
fn localparam_must_be_constant() {
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    m.localparam("K", a);
}

#[test]
#[should_panic(expected = "does not fit a 32-bit integer")]
fn param_range() {
    Module::new("m").param("N", 1 << 40);
}

#[test]
#[should_panic(expected = "header line is not a single `//` comment")]
fn header_must_be_comments() {
    Module::new("m").header(vec!["module evil;".into()]);
}

fn leaf() -> Module {
    let mut m = Module::new("leaf");
    let a = m.input("a", u(8));
    let y = m.output_wire("y", u(8));
    m.assign(&y, a);
    m
}

#[test]
#[should_panic(expected = "port y of leaf unconnected")]
fn instance_port_missing() {
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    m.instance_of(&leaf(), "u", vec![("a".into(), a)]);
}

#[test]
#[should_panic(expected = "port a is 8 bits, connected to 4 bits")]
fn instance_port_width() {
    let mut m = Module::new("m");
    let a = m.input("a", u(4));
    let w = m.wire("w", u(8));
    m.instance_of(&leaf(), "u", vec![("a".into(), a), ("y".into(), w)]);
}

#[test]
#[should_panic(expected = "output y must connect to a wire")]
fn instance_output_to_reg() {
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    let r = m.reg("r", u(8));
    m.instance_of(&leaf(), "u", vec![("a".into(), a), ("y".into(), r)]);
}

#[test]
#[should_panic(expected = "leaf has no port b")]
fn instance_extra_port() {
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    let w = m.wire("w", u(8));
    m.instance_of(
        &leaf(),
        "u",
        vec![("a".into(), a.clone()), ("y".into(), w), ("b".into(), a)],
    );
}

#[test]
#[should_panic(expected = "w is driven by instance u1 and by instance u2")]
fn two_instances_drive_one_wire() {
    let l = leaf();
    let mut m = Module::new("m");
    let a = m.input("a", u(8));
    let w = m.wire("w", u(8));
    m.instance_of(
        &l,
        "u1",
        vec![("a".into(), a.clone()), ("y".into(), w.clone())],
    );
    m.instance_of(&l, "u2", vec![("a".into(), a), ("y".into(), w)]);
}

#[test]
#[should_panic(expected = "duplicate name \"u\"")]
fn instance_name_shares_the_namespace() {
    let mut m = Module::new("m");
    m.wire("u", u(8));
    m.instance("leaf", "u", vec![]);
}
