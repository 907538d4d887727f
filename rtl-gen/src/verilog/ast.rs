//! Typed Verilog-2005 syntax tree and the [`Module`] builder.
//!
//! Every constructor checks widths and signedness, so a generator that runs
//! without panicking emits code that `verilator --lint-only -Wall` accepts,
//! except for unused or undriven signals, which only the design can avoid
//! (see [`Module::mark_unused`]). A failed check is a generator bug, not a
//! user error, so it panics with a message naming the construct.
//!
//! The typing rules mirror Verilog's self-determined expression sizing. Binary
//! operators need operands of identical [`Ty`], so context-determined
//! extension never changes a value and Verilator never sees mixed widths.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::names::check_identifier;
use super::pretty::Pretty;

/// Width and signedness of a value, as Verilog sees it (self-determined).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Ty {
    pub width: u32,
    pub signed: bool,
}

impl Ty {
    /// Unsigned vector of `width` bits.
    pub fn u(width: u32) -> Ty {
        Ty::new(width, false)
    }

    /// Signed (two's complement) vector of `width` bits.
    pub fn s(width: u32) -> Ty {
        Ty::new(width, true)
    }

    /// A single unsigned bit: conditions, flags, clocks.
    pub fn bit() -> Ty {
        Ty::u(1)
    }

    fn new(width: u32, signed: bool) -> Ty {
        let ty = Ty { width, signed };
        ty.check();
        ty
    }

    /// Same signedness, another width.
    pub fn with_width(self, width: u32) -> Ty {
        Ty::new(width, self.signed)
    }

    /// The fields are public, so re-check wherever a `Ty` enters the tree.
    fn check(self) {
        assert!(self.width > 0, "verilog: zero-width type");
    }
}

/// Diagnostic form used in panic messages (`u8`, `s16`); never emitted as Verilog.
impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.signed { 's' } else { 'u' }, self.width)
    }
}

/// Index width Verilator wants for selecting among `n` elements: exactly
/// `ceil(log2 n)`, at least 1 (it warns on both narrower and wider indices).
pub fn index_width(n: u32) -> u32 {
    if n <= 2 {
        1
    } else {
        u32::BITS - (n - 1).leading_zeros()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum UnaryOp {
    /// `~x`
    Not,
    /// `-x`
    Neg,
    /// `!x`
    LNot,
    /// `&x`
    RedAnd,
    /// `|x`
    RedOr,
    /// `^x`
    RedXor,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    /// Operands are already extended to the product width by [`Expr::mul`].
    Mul,
    And,
    Or,
    Xor,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LAnd,
    LOr,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ShiftOp {
    /// `<<`
    Shl,
    /// `>>` (logical)
    Shr,
    /// `>>>` (arithmetic; operand is signed)
    Sar,
}

/// Expression node. Read it through [`Expr::kind`]; build it through the
/// [`Expr`] constructors, which enforce the typing rules.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Ident(String),
    /// Value of a sized literal; its width and signedness are the `Expr`'s type.
    Lit(i128),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Shift(ShiftOp, Box<Expr>, u32),
    /// `x[i]` on an identifier.
    Bit(Box<Expr>, u32),
    /// `x[hi:lo]` on an identifier.
    Slice(Box<Expr>, u32, u32),
    /// `x[idx]` with a run-time index on a vector identifier.
    DynBit(Box<Expr>, Box<Expr>),
    /// `mem[addr]`.
    MemRead {
        mem: String,
        depth: u32,
        addr: Box<Expr>,
    },
    /// `cond ? a : b`.
    Mux(Box<Expr>, Box<Expr>, Box<Expr>),
    Concat(Vec<Expr>),
    Repeat(u32, Box<Expr>),
    Signed(Box<Expr>),
    Unsigned(Box<Expr>),
    /// Widen to the node's width: sign extension of an identifier when
    /// signed, zero extension of any expression otherwise.
    Extend(Box<Expr>),
    /// Keep the low bits of an identifier.
    Truncate(Box<Expr>),
}

/// A typed expression: `ty` is its Verilog self-determined type.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    kind: ExprKind,
    ty: Ty,
}

fn same_ty(op: &str, a: &Expr, b: &Expr) {
    assert!(
        a.ty == b.ty,
        "verilog: `{op}` needs operands of the same type, got {} and {} \
         (resize/as_signed/as_unsigned explicitly): {} {op} {}",
        a.ty,
        b.ty,
        a.pretty(),
        b.pretty(),
    );
}

fn one_bit(op: &str, e: &Expr) {
    assert!(
        e.ty.width == 1,
        "verilog: `{op}` needs a 1-bit operand, got {}: {}",
        e.ty,
        e.pretty()
    );
}

/// Whether `value` is representable in `ty`.
fn fits(value: i128, ty: Ty) -> bool {
    let w = ty.width;
    if ty.signed {
        w >= 128 || {
            let half = 1i128 << (w - 1);
            (-half..half).contains(&value)
        }
    } else {
        value >= 0 && (w >= 127 || value < (1i128 << w))
    }
}

/// `value` reduced modulo 2^width and read back with `ty`'s signedness.
fn wrap(value: i128, ty: Ty) -> i128 {
    if fits(value, ty) {
        return value;
    }
    // Only reachable for width < 128: every i128 fits a wider signed type.
    let mask = (1u128 << ty.width) - 1;
    let low = value as u128 & mask;
    let negative = ty.signed && (low >> (ty.width - 1)) & 1 == 1;
    if negative {
        (low | !mask) as i128
    } else {
        low as i128
    }
}

// Named methods rather than `std::ops` impls: every operator can panic on a
// type mismatch, and `a.add(b)` keeps that visible at the call site.
#[allow(clippy::should_implement_trait)]
impl Expr {
    fn new(kind: ExprKind, ty: Ty) -> Expr {
        ty.check();
        Expr { kind, ty }
    }

    pub fn ty(&self) -> Ty {
        self.ty
    }

    pub fn width(&self) -> u32 {
        self.ty.width
    }

    pub fn kind(&self) -> &ExprKind {
        &self.kind
    }

    /// The name if this is a bare identifier.
    pub fn ident_name(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::Ident(n) => Some(n),
            _ => None,
        }
    }

    /// The value if this is a literal.
    pub fn lit_value(&self) -> Option<i128> {
        match self.kind {
            ExprKind::Lit(v) => Some(v),
            _ => None,
        }
    }

    /// A reference to a declared signal. Prefer the `Expr` returned by the
    /// [`Module`] declaration methods; the module re-checks the name and type
    /// when the expression is used.
    pub fn ident(name: &str, ty: Ty) -> Expr {
        if let Err(e) = check_identifier(name) {
            panic!("verilog: {e}");
        }
        Expr::new(ExprKind::Ident(name.to_string()), ty)
    }

    /// Sized literal. Unsigned prints as `8'd5` (`1'b1` for one bit), signed
    /// as `16'sd5`, negative signed as two's complement hex `16'shfffb`,
    /// because a unary minus on a sized literal is not lint-clean everywhere.
    ///
    /// Panics if `value` does not fit `ty`.
    pub fn lit(value: i128, ty: Ty) -> Expr {
        ty.check();
        assert!(
            fits(value, ty),
            "verilog: literal {value} does not fit {ty}"
        );
        Expr::new(ExprKind::Lit(value), ty)
    }

    /// `1'b0` / `1'b1`.
    pub fn bool(b: bool) -> Expr {
        Expr::lit(i128::from(b), Ty::bit())
    }

    fn unary(op: UnaryOp, e: Expr, ty: Ty) -> Expr {
        Expr::new(ExprKind::Unary(op, Box::new(e)), ty)
    }

    fn binary(op: BinaryOp, a: Expr, b: Expr, ty: Ty) -> Expr {
        Expr::new(ExprKind::Binary(op, Box::new(a), Box::new(b)), ty)
    }

    fn arith(self, op: BinaryOp, sym: &str, rhs: Expr) -> Expr {
        same_ty(sym, &self, &rhs);
        let ty = self.ty;
        Expr::binary(op, self, rhs, ty)
    }

    fn compare(self, op: BinaryOp, sym: &str, rhs: Expr) -> Expr {
        same_ty(sym, &self, &rhs);
        Expr::binary(op, self, rhs, Ty::bit())
    }

    /// `a + b`, wrapping at the operands' width (resize first for a carry).
    pub fn add(self, rhs: Expr) -> Expr {
        self.arith(BinaryOp::Add, "+", rhs)
    }

    /// `a - b`, wrapping at the operands' width.
    pub fn sub(self, rhs: Expr) -> Expr {
        self.arith(BinaryOp::Sub, "-", rhs)
    }

    /// Full product, `a.width + b.width` bits wide. Each operand is first
    /// extended to the product width (see [`Expr::resize`]) so Verilator sees
    /// equal widths; for signed operands that needs a bit select of the sign,
    /// so they must be identifiers or literals. Unsigned operands may be any
    /// expression. Both operands must have the same signedness.
    pub fn mul(self, rhs: Expr) -> Expr {
        assert!(
            self.ty.signed == rhs.ty.signed,
            "verilog: `*` needs operands of the same signedness, got {} and {}",
            self.ty,
            rhs.ty
        );
        let width = self
            .ty
            .width
            .checked_add(rhs.ty.width)
            .expect("verilog: product width overflows u32");
        if self.ty.signed {
            for e in [&self, &rhs] {
                assert!(
                    e.is_selectable() || e.lit_value().is_some(),
                    "verilog: signed `*` operand must be an identifier or literal \
                     (assign it to a wire first): {}",
                    e.pretty()
                );
            }
        }
        let ty = self.ty.with_width(width);
        Expr::binary(BinaryOp::Mul, self.resize(width), rhs.resize(width), ty)
    }

    /// `a & b`
    pub fn and(self, rhs: Expr) -> Expr {
        self.arith(BinaryOp::And, "&", rhs)
    }

    /// `a | b`
    pub fn or(self, rhs: Expr) -> Expr {
        self.arith(BinaryOp::Or, "|", rhs)
    }

    /// `a ^ b`
    pub fn xor(self, rhs: Expr) -> Expr {
        self.arith(BinaryOp::Xor, "^", rhs)
    }

    /// `~a`
    pub fn not(self) -> Expr {
        let ty = self.ty;
        Expr::unary(UnaryOp::Not, self, ty)
    }

    /// `-a` (two's complement, same width).
    pub fn neg(self) -> Expr {
        let ty = self.ty;
        Expr::unary(UnaryOp::Neg, self, ty)
    }

    /// `&a`, 1 bit.
    pub fn reduce_and(self) -> Expr {
        Expr::unary(UnaryOp::RedAnd, self, Ty::bit())
    }

    /// `|a`, 1 bit.
    pub fn reduce_or(self) -> Expr {
        Expr::unary(UnaryOp::RedOr, self, Ty::bit())
    }

    /// `^a`, 1 bit.
    pub fn reduce_xor(self) -> Expr {
        Expr::unary(UnaryOp::RedXor, self, Ty::bit())
    }

    fn shift(self, op: ShiftOp, n: u32) -> Expr {
        assert!(
            n < self.ty.width,
            "verilog: shift by {n} of a {}-bit value always yields a constant",
            self.ty.width
        );
        if n == 0 {
            return self;
        }
        let ty = self.ty;
        Expr::new(ExprKind::Shift(op, Box::new(self), n), ty)
    }

    /// `a << n`, width unchanged.
    pub fn shl(self, n: u32) -> Expr {
        self.shift(ShiftOp::Shl, n)
    }

    /// `a >> n` (logical), width unchanged.
    pub fn shr(self, n: u32) -> Expr {
        self.shift(ShiftOp::Shr, n)
    }

    /// `a >>> n` (arithmetic), width unchanged. `a` must be signed, otherwise
    /// Verilog silently shifts in zeros.
    pub fn sar(self, n: u32) -> Expr {
        assert!(
            self.ty.signed,
            "verilog: `>>>` on unsigned {} is a logical shift; use shr or as_signed",
            self.pretty()
        );
        self.shift(ShiftOp::Sar, n)
    }

    /// `a == b`
    pub fn eq(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Eq, "==", rhs)
    }

    /// `a != b`
    pub fn ne(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Ne, "!=", rhs)
    }

    /// `a < b` (signed comparison iff both are signed, which `Ty` equality guarantees).
    pub fn lt(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Lt, "<", rhs)
    }

    /// `a <= b`
    pub fn le(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Le, "<=", rhs)
    }

    /// `a > b`
    pub fn gt(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Gt, ">", rhs)
    }

    /// `a >= b`
    pub fn ge(self, rhs: Expr) -> Expr {
        self.compare(BinaryOp::Ge, ">=", rhs)
    }

    /// `a && b` on 1-bit operands.
    pub fn land(self, rhs: Expr) -> Expr {
        one_bit("&&", &self);
        one_bit("&&", &rhs);
        Expr::binary(BinaryOp::LAnd, self, rhs, Ty::bit())
    }

    /// `a || b` on 1-bit operands.
    pub fn lor(self, rhs: Expr) -> Expr {
        one_bit("||", &self);
        one_bit("||", &rhs);
        Expr::binary(BinaryOp::LOr, self, rhs, Ty::bit())
    }

    /// `!a` on a 1-bit operand.
    pub fn lnot(self) -> Expr {
        one_bit("!", &self);
        Expr::unary(UnaryOp::LNot, self, Ty::bit())
    }

    /// Verilog-2005 allows bit and part selects only on names.
    fn is_selectable(&self) -> bool {
        matches!(self.kind, ExprKind::Ident(_))
    }

    fn require_selectable(&self, what: &str) {
        assert!(
            self.is_selectable(),
            "verilog: {what} is only legal on an identifier (assign it to a wire first): {}",
            self.pretty()
        );
    }

    /// `x[i]`, 1 bit unsigned. Only on identifiers. On a 1-bit signal it is
    /// the signal itself, since selecting from a scalar is illegal.
    pub fn bit(self, i: u32) -> Expr {
        self.require_selectable("bit select");
        assert!(
            i < self.ty.width,
            "verilog: bit {i} out of range for {} ({})",
            self.pretty(),
            self.ty
        );
        if self.ty.width == 1 {
            return self.as_unsigned();
        }
        Expr::new(ExprKind::Bit(Box::new(self), i), Ty::bit())
    }

    /// `x[hi:lo]`, unsigned. Only on identifiers.
    pub fn slice(self, hi: u32, lo: u32) -> Expr {
        self.require_selectable("part select");
        assert!(
            hi >= lo && hi < self.ty.width,
            "verilog: part select [{hi}:{lo}] out of range for {} ({})",
            self.pretty(),
            self.ty
        );
        if hi == lo {
            return self.bit(hi);
        }
        Expr::new(ExprKind::Slice(Box::new(self), hi, lo), Ty::u(hi - lo + 1))
    }

    /// `x[idx]` with a run-time index: 1 bit of a vector identifier. `idx`
    /// must be unsigned and exactly [`index_width`]`(x.width)` bits, as
    /// Verilator demands. Memory words are read with [`Memory::read`].
    pub fn index(self, idx: Expr) -> Expr {
        self.require_selectable("dynamic bit select");
        assert!(
            self.ty.width > 1,
            "verilog: dynamic bit select of 1-bit {}",
            self.pretty()
        );
        check_index("bit select", self.ty.width, &idx);
        Expr::new(ExprKind::DynBit(Box::new(self), Box::new(idx)), Ty::bit())
    }

    /// `cond ? a : b`; `cond` is 1 bit, `a` and `b` have the same type.
    pub fn mux(cond: Expr, a: Expr, b: Expr) -> Expr {
        one_bit("?:", &cond);
        same_ty("?:", &a, &b);
        let ty = a.ty;
        Expr::new(ExprKind::Mux(Box::new(cond), Box::new(a), Box::new(b)), ty)
    }

    /// `{a, b, ...}`, most significant first; unsigned, width is the sum.
    pub fn concat(parts: Vec<Expr>) -> Expr {
        assert!(!parts.is_empty(), "verilog: empty concatenation");
        let width = parts
            .iter()
            .try_fold(0u32, |acc, p| acc.checked_add(p.ty.width))
            .expect("verilog: concatenation width overflows u32");
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one part").as_unsigned();
        }
        Expr::new(ExprKind::Concat(parts), Ty::u(width))
    }

    /// `{n{e}}`; unsigned. `n` must be at least 1 (zero is illegal in Verilog-2005).
    pub fn repeat(n: u32, e: Expr) -> Expr {
        assert!(n >= 1, "verilog: zero replication of {}", e.pretty());
        let width = n
            .checked_mul(e.ty.width)
            .expect("verilog: replication width overflows u32");
        Expr::new(ExprKind::Repeat(n, Box::new(e)), Ty::u(width))
    }

    /// `$signed(x)`; no-op when already signed.
    pub fn as_signed(self) -> Expr {
        if self.ty.signed {
            return self;
        }
        let ty = Ty::s(self.ty.width);
        Expr::new(ExprKind::Signed(Box::new(self)), ty)
    }

    /// `$unsigned(x)`; no-op when already unsigned.
    pub fn as_unsigned(self) -> Expr {
        if !self.ty.signed {
            return self;
        }
        let ty = Ty::u(self.ty.width);
        Expr::new(ExprKind::Unsigned(Box::new(self)), ty)
    }

    /// Change the width, keeping signedness and (when it fits) the value:
    /// sign extension `$signed({{k{x[msb]}}, x})` for signed, zero extension
    /// `{k'd0, x}` for unsigned, truncation `x[w-1:0]` (wrapped in `$signed`
    /// if signed). Sign extension and truncation need bit selects, so they
    /// only work on identifiers; literals are re-made at the new width
    /// (truncation wraps). Zero extension works on any expression.
    pub fn resize(self, width: u32) -> Expr {
        let ty = self.ty.with_width(width);
        if width == self.ty.width {
            return self;
        }
        if let Some(v) = self.lit_value() {
            return Expr::lit(wrap(v, ty), ty);
        }
        if width > self.ty.width {
            if self.ty.signed {
                self.require_selectable("sign extension");
            }
            Expr::new(ExprKind::Extend(Box::new(self)), ty)
        } else {
            self.require_selectable("truncation");
            Expr::new(ExprKind::Truncate(Box::new(self)), ty)
        }
    }

    /// Visits this node and all sub-expressions, parents first.
    pub fn walk(&self, visit: &mut dyn FnMut(&Expr)) {
        visit(self);
        match &self.kind {
            ExprKind::Ident(_) | ExprKind::Lit(_) => {}
            ExprKind::Unary(_, e)
            | ExprKind::Shift(_, e, _)
            | ExprKind::Bit(e, _)
            | ExprKind::Slice(e, _, _)
            | ExprKind::MemRead { addr: e, .. }
            | ExprKind::Repeat(_, e)
            | ExprKind::Signed(e)
            | ExprKind::Unsigned(e)
            | ExprKind::Extend(e)
            | ExprKind::Truncate(e) => e.walk(visit),
            ExprKind::Binary(_, a, b) | ExprKind::DynBit(a, b) => {
                a.walk(visit);
                b.walk(visit);
            }
            ExprKind::Mux(c, a, b) => {
                c.walk(visit);
                a.walk(visit);
                b.walk(visit);
            }
            ExprKind::Concat(parts) => parts.iter().for_each(|p| p.walk(visit)),
        }
    }
}

fn check_index(what: &str, n: u32, idx: &Expr) {
    let want = index_width(n);
    assert!(
        !idx.ty.signed && idx.ty.width == want,
        "verilog: {what} among {n} elements needs a u{want} index, got {}: {}",
        idx.ty,
        idx.pretty()
    );
}

/// Target of a procedural assignment.
#[derive(Clone, Debug, PartialEq)]
pub enum LValue {
    Ident(String),
    /// `mem[i]` or `vec[i]`.
    Index(String, Expr),
    /// `vec[hi:lo]`.
    Slice(String, u32, u32),
}

impl LValue {
    pub fn name(&self) -> &str {
        match self {
            LValue::Ident(n) | LValue::Index(n, _) | LValue::Slice(n, _, _) => n,
        }
    }
}

/// Procedural statement. `Assign` prints as `<=` inside [`Module::always_ff`]
/// and `=` inside [`Module::always_comb`]. Building variants directly is
/// allowed; the module re-checks them when the block is added.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Assign {
        lhs: LValue,
        rhs: Expr,
    },
    If {
        cond: Expr,
        then_: Vec<Stmt>,
        else_: Vec<Stmt>,
    },
    /// `default` is always printed (empty as `default: ;`) so no tool sees an
    /// incomplete case.
    Case {
        subject: Expr,
        arms: Vec<(Vec<Expr>, Vec<Stmt>)>,
        default: Vec<Stmt>,
    },
    Comment(String),
    /// `` `ifdef NAME `` … `` `endif ``: statements only a tool that defines the macro sees
    /// (simulation-only checks; synthesis never defines it).
    IfDef {
        name: String,
        body: Vec<Stmt>,
    },
}

fn check_assign_width(lhs: &str, width: u32, rhs: &Expr) {
    assert!(
        rhs.ty.width == width,
        "verilog: assigning {} bits to {width}-bit {lhs}: {}",
        rhs.ty.width,
        rhs.pretty()
    );
}

/// `lhs = rhs` / `lhs <= rhs` to a whole signal; widths must match
/// (signedness may differ: the bits are the same).
pub fn assign(lhs: &Expr, rhs: Expr) -> Stmt {
    let name = lhs.ident_name().unwrap_or_else(|| {
        panic!(
            "verilog: assignment target is not a signal: {}",
            lhs.pretty()
        )
    });
    check_assign_width(name, lhs.ty.width, &rhs);
    Stmt::Assign {
        lhs: LValue::Ident(name.to_string()),
        rhs,
    }
}

/// `mem[idx] <= rhs`; same as [`Memory::write`].
pub fn assign_index(mem: &Memory, idx: Expr, rhs: Expr) -> Stmt {
    mem.write(idx, rhs)
}

/// `vec[idx] <= bit` with a run-time index.
pub fn assign_bit(lhs: &Expr, idx: Expr, rhs: Expr) -> Stmt {
    let name = lhs.ident_name().unwrap_or_else(|| {
        panic!(
            "verilog: assignment target is not a signal: {}",
            lhs.pretty()
        )
    });
    assert!(
        lhs.ty.width > 1,
        "verilog: dynamic bit select of 1-bit {name}"
    );
    check_index("bit select", lhs.ty.width, &idx);
    check_assign_width(name, 1, &rhs);
    Stmt::Assign {
        lhs: LValue::Index(name.to_string(), idx),
        rhs,
    }
}

/// `vec[hi:lo] <= rhs`.
pub fn assign_slice(lhs: &Expr, hi: u32, lo: u32, rhs: Expr) -> Stmt {
    let name = lhs.ident_name().unwrap_or_else(|| {
        panic!(
            "verilog: assignment target is not a signal: {}",
            lhs.pretty()
        )
    });
    assert!(
        lhs.ty.width > 1 && hi >= lo && hi < lhs.ty.width,
        "verilog: part select [{hi}:{lo}] out of range for {name} ({})",
        lhs.ty
    );
    check_assign_width(name, hi - lo + 1, &rhs);
    Stmt::Assign {
        lhs: LValue::Slice(name.to_string(), hi, lo),
        rhs,
    }
}

/// `if (cond) begin ... end`; `cond` is 1 bit.
pub fn if_(cond: Expr, then_: Vec<Stmt>) -> Stmt {
    if_else(cond, then_, Vec::new())
}

/// `if (cond) begin ... end else begin ... end`; an `else_` holding a single
/// `If` prints as `else if`.
pub fn if_else(cond: Expr, then_: Vec<Stmt>, else_: Vec<Stmt>) -> Stmt {
    one_bit("if", &cond);
    Stmt::If { cond, then_, else_ }
}

/// `case (subject) ... default: ... endcase`; every item has the subject's type.
pub fn case(subject: Expr, arms: Vec<(Vec<Expr>, Vec<Stmt>)>, default: Vec<Stmt>) -> Stmt {
    for (items, _) in &arms {
        assert!(!items.is_empty(), "verilog: case arm without items");
        for item in items {
            same_ty("case", &subject, item);
        }
    }
    Stmt::Case {
        subject,
        arms,
        default,
    }
}

/// `` `ifdef name `` … `` `endif `` around `body`.
pub fn ifdef(name: &str, body: Vec<Stmt>) -> Stmt {
    if let Err(e) = check_identifier(name) {
        panic!("verilog: ifdef {name}: {e}");
    }
    Stmt::IfDef {
        name: name.to_string(),
        body,
    }
}

/// `// text`, one line per line of `text`.
pub fn comment(text: &str) -> Stmt {
    Stmt::Comment(text.to_string())
}

/// An unpacked array `reg [w-1:0] name [0:depth-1]`, from [`Module::memory`].
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    name: String,
    elem: Ty,
    depth: u32,
    init_hex_file: Option<String>,
    /// yosys' `ram_style` attribute (`"distributed"`, `"block"`), when set.
    style: Option<String>,
    /// yosys' `nomem2reg`: keep the array a memory (with its `$readmemh` image) even
    /// where every access uses a constant index.
    keep_as_memory: bool,
    /// yosys' `no_rw_check`: a read of the address written in the same cycle is never used,
    /// so synthesis adds no read-first emulation around the block RAM.
    no_rw_check: bool,
}

impl Memory {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn elem_ty(&self) -> Ty {
        self.elem
    }

    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Width an address must have: [`index_width`]`(depth)`.
    pub fn addr_width(&self) -> u32 {
        index_width(self.depth)
    }

    pub fn init_hex_file(&self) -> Option<&str> {
        self.init_hex_file.as_deref()
    }

    /// The `ram_style` attribute printed before the declaration, if any.
    pub fn style(&self) -> Option<&str> {
        self.style.as_deref()
    }

    /// Whether the `nomem2reg` attribute is printed (see [`Module::keep_as_memory`]).
    pub fn no_rw_check(&self) -> bool {
        self.no_rw_check
    }

    pub fn keeps_as_memory(&self) -> bool {
        self.keep_as_memory
    }

    /// `name[addr]`; `addr` is unsigned, [`Memory::addr_width`] bits.
    pub fn read(&self, addr: Expr) -> Expr {
        check_index(&format!("read of memory {}", self.name), self.depth, &addr);
        Expr::new(
            ExprKind::MemRead {
                mem: self.name.clone(),
                depth: self.depth,
                addr: Box::new(addr),
            },
            self.elem,
        )
    }

    /// `name[addr] <= data`, for an [`Module::always_ff`] body.
    pub fn write(&self, addr: Expr, data: Expr) -> Stmt {
        check_index(&format!("write of memory {}", self.name), self.depth, &addr);
        check_assign_width(&self.name, self.elem.width, &data);
        Stmt::Assign {
            lhs: LValue::Index(self.name.clone(), addr),
            rhs: data,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PortDir {
    Input,
    Output,
}

/// A port of a [`Module`], as listed by [`Module::ports`].
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    pub name: String,
    pub dir: PortDir,
    /// `output reg` rather than `wire`.
    pub is_reg: bool,
    pub ty: Ty,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum NetKind {
    Wire,
    /// `(* keep *) wire`: synthesis keeps the net, so the logic that drives it is not
    /// merged into the logic of its other readers (see [`Module::wire_assign_kept`]).
    KeptWire,
    Reg,
}

/// What a name in the module namespace refers to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SymKind {
    Param,
    LocalParam,
    Input,
    OutputWire,
    OutputReg,
    Wire,
    Reg,
    Memory { depth: u32 },
    Instance,
}

impl SymKind {
    fn is_wire(self) -> bool {
        matches!(self, SymKind::Wire | SymKind::OutputWire)
    }

    fn is_reg(self) -> bool {
        matches!(
            self,
            SymKind::Reg | SymKind::OutputReg | SymKind::Memory { .. }
        )
    }
}

/// What drives a wire or reg; one driver per signal (a process may assign
/// a reg several times, but is recorded once).
#[derive(Clone, Debug, PartialEq)]
enum Driver {
    Continuous,
    Block(usize),
    Instance(String),
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Driver::Continuous => write!(f, "a continuous assign"),
            Driver::Block(i) => write!(f, "always block #{i}"),
            Driver::Instance(n) => write!(f, "instance {n}"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Process {
    Ff,
    Comb,
}

/// Module body item, printed in insertion order.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Item {
    Section(String),
    Comment(String),
    /// `value` on wires: a net declaration assignment `wire x = e;`; on regs: the
    /// power-up value `reg x = literal;`.
    Net {
        kind: NetKind,
        name: String,
        ty: Ty,
        value: Option<Expr>,
    },
    LocalParam {
        name: String,
        value: Expr,
    },
    Memory(Memory),
    Assign {
        lhs: String,
        rhs: Expr,
    },
    AlwaysFf {
        clock: String,
        body: Vec<Stmt>,
        /// yosys' `keep` on the process: its flip-flops are never merged with identical
        /// ones (see [`Module::always_ff_kept`]).
        keep: bool,
    },
    AlwaysComb {
        body: Vec<Stmt>,
    },
    Instance {
        module: String,
        name: String,
        /// `#(.NAME(value), ...)`: a vendor primitive's settings.
        overrides: Vec<(String, ParamValue)>,
        conns: Vec<(String, Expr)>,
    },
}

/// A parameter override's value: a vendor primitive takes integers and strings.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    Int(i64),
    Str(String),
}

/// A Verilog module under construction.
///
/// Declaration methods return the [`Expr`] to use the signal; every use is
/// re-checked against the declaration (name, type, kind), so expressions from
/// another module or hand-made with a wrong type are caught. Misuse panics.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    pub(super) name: String,
    pub(super) header: Vec<String>,
    pub(super) doc: Vec<String>,
    pub(super) params: Vec<(String, i32)>,
    pub(super) ports: Vec<Port>,
    pub(super) items: Vec<Item>,
    symbols: BTreeMap<String, (SymKind, Ty)>,
    drivers: BTreeMap<String, Driver>,
    localparam_values: BTreeMap<String, i128>,
    blocks: usize,
}

impl Module {
    /// Name the file `<name>.v` (see [`Module::file_name`]): Verilator's
    /// DECLFILENAME warns otherwise.
    pub fn new(name: &str) -> Module {
        if let Err(e) = check_identifier(name) {
            panic!("verilog: module name: {e}");
        }
        Module {
            name: name.to_string(),
            header: Vec::new(),
            doc: Vec::new(),
            params: Vec::new(),
            ports: Vec::new(),
            items: Vec::new(),
            symbols: BTreeMap::new(),
            drivers: BTreeMap::new(),
            localparam_values: BTreeMap::new(),
            blocks: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>.v`.
    pub fn file_name(&self) -> String {
        format!("{}.v", self.name)
    }

    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    /// The memories declared with [`Module::memory`], in declaration order.
    pub fn memories(&self) -> impl Iterator<Item = &Memory> {
        self.items.iter().filter_map(|item| match item {
            Item::Memory(m) => Some(m),
            _ => None,
        })
    }

    #[track_caller]
    fn bug(&self, msg: impl fmt::Display) -> ! {
        panic!("verilog: module {}: {msg}", self.name)
    }

    /// Comment lines printed verbatim before everything else, e.g. from
    /// [`super::header_lines`]. Each must start with `//` and be one line.
    pub fn header(&mut self, lines: Vec<String>) {
        for l in &lines {
            if !l.starts_with("//") || l.contains(['\n', '\r']) {
                self.bug(format!("header line is not a single `//` comment: {l:?}"));
            }
        }
        self.header.extend(lines);
    }

    /// Free text printed as `//` comment lines after the header.
    pub fn doc(&mut self, text: &str) {
        self.doc.extend(text.lines().map(str::to_string));
    }

    fn declare(&mut self, name: &str, kind: SymKind, ty: Ty) {
        if let Err(e) = check_identifier(name) {
            self.bug(e);
        }
        ty.check();
        if self.symbols.contains_key(name) {
            self.bug(format!("duplicate name {name:?}"));
        }
        self.symbols.insert(name.to_string(), (kind, ty));
    }

    /// `parameter integer NAME = value` in the `#(...)` list. Integer
    /// parameters are 32-bit signed, so `value` must fit in i32 and the
    /// returned identifier has type `s32`.
    pub fn param(&mut self, name: &str, value: i64) -> Expr {
        let Ok(v) = i32::try_from(value) else {
            self.bug(format!(
                "parameter {name} = {value} does not fit a 32-bit integer"
            ));
        };
        self.declare(name, SymKind::Param, Ty::s(32));
        self.params.push((name.to_string(), v));
        Expr::ident(name, Ty::s(32))
    }

    /// `localparam [signed] [w-1:0] NAME = value;` with the value's type.
    /// The value may only refer to parameters and localparams.
    pub fn localparam(&mut self, name: &str, value: Expr) -> Expr {
        self.check_expr(&value, "localparam value");
        value.walk(&mut |e| {
            let bad = match &e.kind {
                ExprKind::Ident(n) => !matches!(
                    self.symbols.get(n.as_str()),
                    Some((SymKind::Param | SymKind::LocalParam, _))
                ),
                ExprKind::MemRead { .. } => true,
                _ => false,
            };
            if bad {
                self.bug(format!("localparam {name} is not constant: {}", e.pretty()));
            }
        });
        let ty = value.ty;
        self.declare(name, SymKind::LocalParam, ty);
        if let Some(v) = self.const_value(&value) {
            self.localparam_values.insert(name.to_string(), v);
        }
        self.items.push(Item::LocalParam {
            name: name.to_string(),
            value,
        });
        Expr::ident(name, ty)
    }

    fn port(&mut self, name: &str, dir: PortDir, is_reg: bool, ty: Ty) -> Expr {
        let kind = match (dir, is_reg) {
            (PortDir::Input, _) => SymKind::Input,
            (PortDir::Output, false) => SymKind::OutputWire,
            (PortDir::Output, true) => SymKind::OutputReg,
        };
        self.declare(name, kind, ty);
        self.ports.push(Port {
            name: name.to_string(),
            dir,
            is_reg,
            ty,
        });
        Expr::ident(name, ty)
    }

    /// `input wire [signed] [w-1:0] name`.
    pub fn input(&mut self, name: &str, ty: Ty) -> Expr {
        self.port(name, PortDir::Input, false, ty)
    }

    /// `output wire ...`; drive it with [`Module::assign`] or an instance.
    pub fn output_wire(&mut self, name: &str, ty: Ty) -> Expr {
        self.port(name, PortDir::Output, false, ty)
    }

    /// `output reg ...`; drive it from one always block.
    pub fn output_reg(&mut self, name: &str, ty: Ty) -> Expr {
        self.port(name, PortDir::Output, true, ty)
    }

    fn net(&mut self, kind: NetKind, name: &str, ty: Ty) -> Expr {
        let sym = match kind {
            NetKind::Wire | NetKind::KeptWire => SymKind::Wire,
            NetKind::Reg => SymKind::Reg,
        };
        self.declare(name, sym, ty);
        self.items.push(Item::Net {
            kind,
            name: name.to_string(),
            ty,
            value: None,
        });
        Expr::ident(name, ty)
    }

    /// `wire ... name;`
    pub fn wire(&mut self, name: &str, ty: Ty) -> Expr {
        self.net(NetKind::Wire, name, ty)
    }

    /// `reg ... name;`
    pub fn reg(&mut self, name: &str, ty: Ty) -> Expr {
        self.net(NetKind::Reg, name, ty)
    }

    /// `wire [w-1:0] name = value;`: a wire of `value`'s type, driven by it.
    /// The way to name an intermediate so that it can be bit-selected,
    /// sign-extended or multiplied.
    pub fn wire_assign(&mut self, name: &str, value: Expr) -> Expr {
        self.wire_net(NetKind::Wire, name, value)
    }

    /// [`Module::wire_assign`] marked `(* keep *)`: the net survives synthesis, so the
    /// function that drives it stays one cell of its own, placed near its readers, rather
    /// than merged into the logic of a far reader that shares an input.
    pub fn wire_assign_kept(&mut self, name: &str, value: Expr) -> Expr {
        self.wire_net(NetKind::KeptWire, name, value)
    }

    fn wire_net(&mut self, kind: NetKind, name: &str, value: Expr) -> Expr {
        self.check_expr(&value, &format!("wire {name}"));
        let ty = value.ty;
        self.declare(name, SymKind::Wire, ty);
        self.set_driver(name, Driver::Continuous);
        self.items.push(Item::Net {
            kind,
            name: name.to_string(),
            ty,
            value: Some(value),
        });
        Expr::ident(name, ty)
    }

    /// `reg [w-1:0] name [0:depth-1];` plus `initial $readmemh("file", name);`
    /// when `init_hex_file` is given (resolved by the tools relative to their
    /// working directory).
    pub fn memory(
        &mut self,
        name: &str,
        elem: Ty,
        depth: u32,
        init_hex_file: Option<&str>,
    ) -> Memory {
        if depth == 0 {
            self.bug(format!("memory {name} has depth 0"));
        }
        if let Some(file) = init_hex_file {
            if file.is_empty()
                || file
                    .chars()
                    .any(|c| c == '"' || c == '\\' || c.is_control())
            {
                self.bug(format!("memory {name}: unprintable file name {file:?}"));
            }
        }
        self.declare(name, SymKind::Memory { depth }, elem);
        let mem = Memory {
            name: name.to_string(),
            elem,
            depth,
            init_hex_file: init_hex_file.map(str::to_string),
            style: None,
            keep_as_memory: false,
            no_rw_check: false,
        };
        self.items.push(Item::Memory(mem.clone()));
        mem
    }

    /// Asks synthesis for a memory style through yosys' `(* ram_style = "…" *)`, e.g.
    /// `"distributed"` to keep a small memory out of the block RAMs.
    pub fn set_ram_style(&mut self, mem: &Memory, style: &str) {
        self.declared_memory(mem, "set_ram_style").style = Some(style.to_string());
    }

    /// Marks a small register array that is only ever indexed by constants (so that
    /// yosys would turn it into plain registers, with a warning) `(* nomem2reg *)`: it
    /// still becomes flip-flops, now silently, initialised from its `$readmemh` image.
    pub fn keep_as_memory(&mut self, mem: &Memory) {
        self.declared_memory(mem, "keep_as_memory").keep_as_memory = true;
    }

    /// Tells synthesis that a read of the address being written in the same cycle is never
    /// used (yosys' `(* no_rw_check *)`): the block RAM then needs no read-first emulation
    /// (address and data registers, a compare and a bypass multiplexer). The claim is the
    /// caller's to prove: see `blocks::ram_port`, which poisons such reads in simulation.
    pub fn assume_no_rw_collision(&mut self, mem: &Memory) {
        self.declared_memory(mem, "assume_no_rw_collision")
            .no_rw_check = true;
    }

    fn declared_memory(&mut self, mem: &Memory, what: &str) -> &mut Memory {
        let at = self
            .items
            .iter()
            .position(|item| matches!(item, Item::Memory(m) if m.name == mem.name));
        match at {
            Some(k) => match &mut self.items[k] {
                Item::Memory(m) => m,
                _ => unreachable!("position matched a memory"),
            },
            None => self.bug(format!("{what}: no memory {}", mem.name)),
        }
    }

    /// `// ---- title ----` between items, preceded by a blank line.
    pub fn section(&mut self, title: &str) {
        assert!(
            !title.contains(['\n', '\r']),
            "verilog: multi-line section title"
        );
        self.items.push(Item::Section(title.to_string()));
    }

    /// `// text` lines between items.
    pub fn comment(&mut self, text: &str) {
        self.items.push(Item::Comment(text.to_string()));
    }

    /// Declares `wire unused_<name> = &{1'b0, parts...};`. Verilator's default
    /// `-Wunused-regexp` (`*unused*`) exempts it, and it marks `parts` as
    /// used: the idiom for bits a design deliberately drops, e.g. the low half
    /// of a fixed-point product.
    pub fn mark_unused(&mut self, name: &str, parts: Vec<Expr>) {
        let mut all = vec![Expr::bool(false)];
        all.extend(parts);
        self.wire_assign(&format!("unused_{name}"), Expr::concat(all).reduce_and());
    }

    /// Checks that every signal `e` uses is declared here with that type.
    fn check_expr(&self, e: &Expr, ctx: &str) {
        e.walk(&mut |n| match &n.kind {
            ExprKind::Ident(name) => match self.symbols.get(name.as_str()) {
                None => self.bug(format!("{ctx}: undeclared {name}")),
                Some((SymKind::Memory { .. } | SymKind::Instance, _)) => {
                    self.bug(format!("{ctx}: {name} is not a value"))
                }
                Some((_, ty)) if *ty != n.ty => self.bug(format!(
                    "{ctx}: {name} is declared {ty} but used as {}",
                    n.ty
                )),
                Some(_) => {}
            },
            ExprKind::MemRead { mem, depth, .. } => match self.symbols.get(mem.as_str()) {
                Some((SymKind::Memory { depth: d }, ty)) if d == depth && *ty == n.ty => {}
                _ => self.bug(format!("{ctx}: {mem} is not a memory of this module")),
            },
            _ => {}
        });
    }

    fn const_value(&self, e: &Expr) -> Option<i128> {
        match &e.kind {
            ExprKind::Lit(v) => Some(*v),
            ExprKind::Ident(n) => self.localparam_values.get(n).copied(),
            _ => None,
        }
    }

    fn set_driver(&mut self, name: &str, driver: Driver) {
        if let Some(old) = self.drivers.get(name) {
            self.bug(format!("{name} is driven by {old} and by {driver}"));
        }
        self.drivers.insert(name.to_string(), driver);
    }

    /// `assign lhs = rhs;` to a wire or output wire of the same width.
    pub fn assign(&mut self, lhs: &Expr, rhs: Expr) {
        let Some(name) = lhs.ident_name() else {
            self.bug(format!("continuous assignment to {}", lhs.pretty()));
        };
        self.check_expr(lhs, "assign target");
        self.check_expr(&rhs, &format!("assign {name}"));
        if !self.symbols[name].0.is_wire() {
            self.bug(format!("continuous assignment to non-wire {name}"));
        }
        check_assign_width(name, lhs.ty.width, &rhs);
        self.set_driver(name, Driver::Continuous);
        self.items.push(Item::Assign {
            lhs: name.to_string(),
            rhs,
        });
    }

    fn check_clock(&self, clock: &Expr) -> String {
        self.check_expr(clock, "clock");
        match clock.ident_name() {
            Some(n) if clock.ty.width == 1 => n.to_string(),
            _ => self.bug(format!("clock must be a 1-bit signal: {}", clock.pretty())),
        }
    }

    /// `always @(posedge clock) begin ... end` with nonblocking assignments.
    /// Each reg may be assigned from one always block only.
    pub fn always_ff(&mut self, clock: &Expr, body: Vec<Stmt>) {
        self.push_always_ff(clock, body, false);
    }

    /// [`Module::always_ff`] marked `(* keep *)`: yosys keeps its flip-flops even where
    /// another process registers the same value. Copies of a register, each placed near
    /// the loads it drives, split a net that would otherwise cross the die.
    pub fn always_ff_kept(&mut self, clock: &Expr, body: Vec<Stmt>) {
        self.push_always_ff(clock, body, true);
    }

    fn push_always_ff(&mut self, clock: &Expr, body: Vec<Stmt>, keep: bool) {
        let clock = self.check_clock(clock);
        let mut targets = BTreeSet::new();
        self.check_stmts(&body, Process::Ff, &mut targets);
        self.claim(targets);
        self.items.push(Item::AlwaysFf { clock, body, keep });
    }

    /// `always @* begin ... end` with blocking assignments. Every reg it
    /// assigns must be assigned on all paths (give defaults at the top),
    /// otherwise a latch would be inferred.
    pub fn always_comb(&mut self, body: Vec<Stmt>) {
        let mut targets = BTreeSet::new();
        self.check_stmts(&body, Process::Comb, &mut targets);
        let definite = definitely_assigned(&body);
        if let Some(n) = targets.iter().find(|t| !definite.contains(*t)) {
            self.bug(format!(
                "always @* does not assign all of {n} on every path (latch); assign a default first"
            ));
        }
        self.claim(targets);
        self.items.push(Item::AlwaysComb { body });
    }

    fn claim(&mut self, targets: BTreeSet<String>) {
        let block = self.blocks;
        self.blocks += 1;
        for t in targets {
            self.set_driver(&t, Driver::Block(block));
        }
    }

    fn check_stmts(&self, stmts: &[Stmt], process: Process, targets: &mut BTreeSet<String>) {
        for s in stmts {
            match s {
                Stmt::Assign { lhs, rhs } => {
                    let name = lhs.name();
                    let Some(&(kind, ty)) = self.symbols.get(name) else {
                        self.bug(format!("assignment to undeclared {name}"));
                    };
                    if !kind.is_reg() {
                        self.bug(format!("procedural assignment to non-reg {name}"));
                    }
                    let width = match (lhs, kind) {
                        (LValue::Ident(_), SymKind::Memory { .. }) => {
                            self.bug(format!("assignment to whole memory {name}"))
                        }
                        (LValue::Ident(_), _) => ty.width,
                        (LValue::Index(_, idx), SymKind::Memory { depth }) => {
                            if process == Process::Comb {
                                self.bug(format!("memory {name} written in always @*"));
                            }
                            self.check_expr(idx, &format!("index of {name}"));
                            check_index(&format!("write of memory {name}"), depth, idx);
                            ty.width
                        }
                        (LValue::Index(_, idx), _) => {
                            self.check_expr(idx, &format!("index of {name}"));
                            assert!(ty.width > 1, "verilog: dynamic bit select of 1-bit {name}");
                            check_index(&format!("bit select of {name}"), ty.width, idx);
                            1
                        }
                        (LValue::Slice(_, _, _), SymKind::Memory { .. }) => {
                            self.bug(format!("part select of memory {name}"))
                        }
                        (LValue::Slice(_, hi, lo), _) => {
                            if !(ty.width > 1 && hi >= lo && *hi < ty.width) {
                                self.bug(format!("part select [{hi}:{lo}] of {name} ({ty})"));
                            }
                            hi - lo + 1
                        }
                    };
                    self.check_expr(rhs, &format!("assignment to {name}"));
                    check_assign_width(name, width, rhs);
                    targets.insert(name.to_string());
                }
                Stmt::If { cond, then_, else_ } => {
                    self.check_expr(cond, "if condition");
                    one_bit("if", cond);
                    self.check_stmts(then_, process, targets);
                    self.check_stmts(else_, process, targets);
                }
                Stmt::Case {
                    subject,
                    arms,
                    default,
                } => {
                    self.check_expr(subject, "case subject");
                    let mut seen = BTreeSet::new();
                    for (items, body) in arms {
                        if items.is_empty() {
                            self.bug("case arm without items");
                        }
                        for item in items {
                            self.check_expr(item, "case item");
                            same_ty("case", subject, item);
                            if let Some(v) = self.const_value(item) {
                                if !seen.insert(v) {
                                    self.bug(format!(
                                        "case on {} has value {v} twice",
                                        subject.pretty()
                                    ));
                                }
                            }
                        }
                        self.check_stmts(body, process, targets);
                    }
                    self.check_stmts(default, process, targets);
                }
                Stmt::Comment(_) => {}
                Stmt::IfDef { body, .. } => self.check_stmts(body, process, targets),
            }
        }
    }

    /// Instance of a module not built here, with named connections in the
    /// given order. Directions and widths are unknown, so nothing is checked
    /// beyond the expressions themselves; prefer [`Module::instance_of`].
    pub fn instance(&mut self, module: &str, name: &str, conns: Vec<(String, Expr)>) {
        self.primitive(module, name, Vec::new(), conns);
    }

    /// Instance of a vendor primitive (`SB_PLL40_PAD`, `EHXPLLL`) with its parameter
    /// overrides, unchecked like [`Module::instance`].
    pub fn primitive(
        &mut self,
        module: &str,
        name: &str,
        overrides: Vec<(String, ParamValue)>,
        conns: Vec<(String, Expr)>,
    ) {
        for (param, value) in &overrides {
            if let Err(err) = check_identifier(param) {
                self.bug(format!("instance {name}: {err}"));
            }
            if let ParamValue::Str(text) = value {
                if text.contains(['"', '\\', '\n']) {
                    self.bug(format!("instance {name}: parameter {param}: {text:?}"));
                }
            }
        }
        if let Err(e) = check_identifier(module) {
            self.bug(format!("instance {name}: {e}"));
        }
        let mut seen = BTreeSet::new();
        for (port, e) in &conns {
            if let Err(err) = check_identifier(port) {
                self.bug(format!("instance {name}: {err}"));
            }
            if !seen.insert(port.as_str()) {
                self.bug(format!("instance {name}: port {port} connected twice"));
            }
            self.check_expr(e, &format!("instance {name} port {port}"));
        }
        self.declare(name, SymKind::Instance, Ty::bit());
        self.items.push(Item::Instance {
            module: module.to_string(),
            name: name.to_string(),
            overrides,
            conns,
        });
    }

    /// Instance of `module`: every port connected exactly once with the same
    /// width, outputs to wires of this module (which they then drive).
    /// Connections print in `module`'s port order.
    pub fn instance_of(&mut self, module: &Module, name: &str, conns: Vec<(String, Expr)>) {
        let mut by_port: BTreeMap<&str, &Expr> = BTreeMap::new();
        for (port, e) in &conns {
            if by_port.insert(port, e).is_some() {
                self.bug(format!("instance {name}: port {port} connected twice"));
            }
        }
        let mut ordered = Vec::new();
        let mut outputs = Vec::new();
        for p in &module.ports {
            let Some(e) = by_port.remove(p.name.as_str()) else {
                self.bug(format!(
                    "instance {name}: port {} of {} unconnected",
                    p.name, module.name
                ));
            };
            if e.ty.width != p.ty.width {
                self.bug(format!(
                    "instance {name}: port {} is {} bits, connected to {} bits: {}",
                    p.name,
                    p.ty.width,
                    e.ty.width,
                    e.pretty()
                ));
            }
            if p.dir == PortDir::Output {
                let target = e
                    .ident_name()
                    .filter(|n| self.symbols.get(*n).is_some_and(|(k, _)| k.is_wire()));
                match target {
                    Some(n) => outputs.push(n.to_string()),
                    None => self.bug(format!(
                        "instance {name}: output {} must connect to a wire, got {}",
                        p.name,
                        e.pretty()
                    )),
                }
            }
            ordered.push((p.name.clone(), e.clone()));
        }
        if let Some(extra) = by_port.keys().next() {
            self.bug(format!(
                "instance {name}: {} has no port {extra}",
                module.name
            ));
        }
        self.instance(&module.name, name, ordered);
        for o in outputs {
            self.set_driver(&o, Driver::Instance(name.to_string()));
        }
    }

    /// The module as Verilog text, via [`Pretty`].
    pub fn to_verilog(&self) -> String {
        self.pretty()
    }
}

/// Names assigned as a whole on every path through `stmts`.
fn definitely_assigned(stmts: &[Stmt]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for s in stmts {
        match s {
            Stmt::Assign {
                lhs: LValue::Ident(n),
                ..
            } => {
                set.insert(n.clone());
            }
            // What only some tools see assigns nothing for certain.
            Stmt::Assign { .. } | Stmt::Comment(_) | Stmt::IfDef { .. } => {}
            Stmt::If { then_, else_, .. } => {
                let t = definitely_assigned(then_);
                set.extend(definitely_assigned(else_).intersection(&t).cloned());
            }
            Stmt::Case { arms, default, .. } => {
                let mut common = definitely_assigned(default);
                for (_, body) in arms {
                    let b = definitely_assigned(body);
                    common.retain(|n| b.contains(n));
                }
                set.extend(common);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_at_the_edges() {
        assert!(fits(255, Ty::u(8)) && !fits(256, Ty::u(8)) && !fits(-1, Ty::u(8)));
        assert!(fits(127, Ty::s(8)) && !fits(128, Ty::s(8)));
        assert!(fits(-128, Ty::s(8)) && !fits(-129, Ty::s(8)));
        assert!(fits(i128::MAX, Ty::u(127)) && fits(i128::MIN, Ty::s(128)));
        assert!(!fits(i128::MIN, Ty::s(127)));
    }

    #[test]
    fn wrap_keeps_low_bits() {
        assert_eq!(wrap(200, Ty::u(4)), 8);
        assert_eq!(wrap(-3, Ty::s(2)), 1);
        assert_eq!(wrap(2, Ty::s(2)), -2);
        assert_eq!(wrap(-1, Ty::u(127)), i128::MAX);
        assert_eq!(wrap(i128::MIN, Ty::s(127)), 0);
    }

    #[test]
    fn index_widths() {
        let got: Vec<u32> = [1, 2, 3, 4, 5, 8, 9, 16, 17, 1024]
            .map(index_width)
            .to_vec();
        assert_eq!(got, [1, 1, 2, 2, 3, 3, 4, 4, 5, 10]);
        assert_eq!(index_width(u32::MAX), 32);
    }

    #[test]
    fn definite_assignment() {
        let a = Expr::ident("a", Ty::bit());
        let b = Expr::ident("b", Ty::bit());
        let c = Expr::ident("c", Ty::bit());
        let body = vec![
            if_else(
                c.clone(),
                vec![assign(&a, Expr::bool(true)), assign(&b, Expr::bool(true))],
                vec![assign(&a, Expr::bool(false))],
            ),
            if_(c, vec![assign(&b, Expr::bool(false))]),
        ];
        let got: Vec<String> = definitely_assigned(&body).into_iter().collect();
        assert_eq!(got, ["a"]);
    }

    #[test]
    fn expressions_walk_in_preorder() {
        let a = Expr::ident("a", Ty::u(4));
        let e = Expr::mux(Expr::bool(true), a.clone(), a.not());
        let mut kinds = Vec::new();
        e.walk(&mut |n| kinds.push(std::mem::discriminant(n.kind())));
        assert_eq!(kinds.len(), 5);
        assert_eq!(kinds[0], std::mem::discriminant(e.kind()));
    }
}
