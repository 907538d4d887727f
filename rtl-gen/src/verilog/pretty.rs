//! The one place that turns the syntax tree into Verilog text.
//!
//! Layout: 4-space indent, `begin`/`end` on every block, ports and runs of
//! declarations aligned in columns, no trailing whitespace, trailing newline.
//! Expressions are parenthesised whenever an operand is itself an operator
//! application, so precedence never matters to a reader or a tool.

use super::ast::{
    BinaryOp, Expr, ExprKind, Item, LValue, Memory, Module, NetKind, ParamValue, PortDir, ShiftOp,
    Stmt, Ty, UnaryOp,
};

/// Which assignment operator [`Stmt::Assign`] prints as.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum AssignStyle {
    /// `=`, for `always @*`.
    #[default]
    Blocking,
    /// `<=`, for `always @(posedge clk)`.
    NonBlocking,
}

/// Line-oriented text sink with indentation.
#[derive(Debug, Default)]
pub struct Formatter {
    out: String,
    indent: usize,
    at_line_start: bool,
    style: AssignStyle,
}

impl Formatter {
    pub const INDENT: &'static str = "    ";

    pub fn new() -> Formatter {
        Formatter {
            at_line_start: true,
            ..Formatter::default()
        }
    }

    /// Appends to the current line, indenting it first if it is new.
    pub fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.at_line_start {
            for _ in 0..self.indent {
                self.out.push_str(Self::INDENT);
            }
            self.at_line_start = false;
        }
        self.out.push_str(text);
    }

    /// Ends the current line, dropping trailing spaces.
    pub fn newline(&mut self) {
        let kept = self.out.trim_end_matches(' ').len();
        self.out.truncate(kept);
        self.out.push('\n');
        self.at_line_start = true;
    }

    /// A whole line.
    pub fn line(&mut self, text: &str) {
        self.write(text);
        self.newline();
    }

    /// One empty line, never two in a row and never at the start.
    pub fn blank_line(&mut self) {
        if !self.at_line_start {
            self.newline();
        }
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    pub fn indent(&mut self) {
        self.indent += 1;
    }

    pub fn dedent(&mut self) {
        self.indent = self
            .indent
            .checked_sub(1)
            .expect("Formatter::dedent below zero");
    }

    pub fn assign_style(&self) -> AssignStyle {
        self.style
    }

    pub fn set_assign_style(&mut self, style: AssignStyle) {
        self.style = style;
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Something that prints as Verilog.
pub trait Pretty {
    fn pretty_print(&self, f: &mut Formatter);

    fn pretty(&self) -> String {
        let mut f = Formatter::new();
        self.pretty_print(&mut f);
        f.finish()
    }
}

/// `[w-1:0]`, or `None` for a single bit (printed without a range).
fn range(ty: Ty) -> Option<String> {
    (ty.width > 1).then(|| format!("[{}:0]", ty.width - 1))
}

/// Sized literal text; see [`Expr::lit`] for the forms.
pub fn lit_text(value: i128, ty: Ty) -> String {
    let w = ty.width;
    if !ty.signed {
        if w == 1 {
            return format!("1'b{value}");
        }
        return format!("{w}'d{value}");
    }
    if value >= 0 {
        return format!("{w}'sd{value}");
    }
    // Two's complement of a negative value, nibble by nibble so widths above
    // 128 bits extend the sign.
    let bits = value as u128;
    let digits = w.div_ceil(4);
    let mut hex = String::with_capacity(digits as usize);
    for k in (0..digits).rev() {
        let mut nibble = if 4 * k < 128 {
            (bits >> (4 * k)) & 0xf
        } else {
            0xf
        };
        if k == digits - 1 && w % 4 != 0 {
            nibble &= (1 << (w % 4)) - 1;
        }
        hex.push(char::from_digit(nibble as u32, 16).expect("nibble"));
    }
    format!("{w}'sh{hex}")
}

fn unary_op(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Not => "~",
        UnaryOp::Neg => "-",
        UnaryOp::LNot => "!",
        UnaryOp::RedAnd => "&",
        UnaryOp::RedOr => "|",
        UnaryOp::RedXor => "^",
    }
}

fn binary_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::And => "&",
        BinaryOp::Or => "|",
        BinaryOp::Xor => "^",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::LAnd => "&&",
        BinaryOp::LOr => "||",
    }
}

fn shift_op(op: ShiftOp) -> &'static str {
    match op {
        ShiftOp::Shl => "<<",
        ShiftOp::Shr => ">>",
        ShiftOp::Sar => ">>>",
    }
}

fn ident_of(e: &Expr) -> &str {
    e.ident_name()
        .expect("select base is an identifier (checked by the builder)")
}

/// Operators bind looser than selects and calls; wrap them when nested.
/// `~x`, `-x` and `!x` read unambiguously next to a binary operator, but
/// reductions (`a & (&b)`) and stacked unaries (`~(-a)`) keep parentheses.
fn needs_parens(e: &Expr, under_unary: bool) -> bool {
    match e.kind() {
        ExprKind::Unary(UnaryOp::Not | UnaryOp::LNot, _) => under_unary,
        ExprKind::Unary(..) | ExprKind::Binary(..) | ExprKind::Shift(..) | ExprKind::Mux(..) => {
            true
        }
        _ => false,
    }
}

fn operand_of(f: &mut Formatter, e: &Expr, under_unary: bool) {
    if needs_parens(e, under_unary) {
        f.write("(");
        e.pretty_print(f);
        f.write(")");
    } else {
        e.pretty_print(f);
    }
}

fn operand(f: &mut Formatter, e: &Expr) {
    operand_of(f, e, false)
}

fn comma_list(f: &mut Formatter, parts: &[Expr]) {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            f.write(", ");
        }
        p.pretty_print(f);
    }
}

impl Pretty for Expr {
    fn pretty_print(&self, f: &mut Formatter) {
        let ty = self.ty();
        match self.kind() {
            ExprKind::Ident(n) => f.write(n),
            ExprKind::Lit(v) => f.write(&lit_text(*v, ty)),
            ExprKind::Unary(op, e) => {
                f.write(unary_op(*op));
                operand_of(f, e, true);
            }
            ExprKind::Binary(op, a, b) => {
                operand(f, a);
                f.write(&format!(" {} ", binary_op(*op)));
                operand(f, b);
            }
            ExprKind::Shift(op, e, n) => {
                operand(f, e);
                f.write(&format!(" {} {n}", shift_op(*op)));
            }
            ExprKind::Bit(e, i) => f.write(&format!("{}[{i}]", ident_of(e))),
            ExprKind::Slice(e, hi, lo) => f.write(&format!("{}[{hi}:{lo}]", ident_of(e))),
            ExprKind::DynBit(e, idx) => {
                f.write(&format!("{}[", ident_of(e)));
                idx.pretty_print(f);
                f.write("]");
            }
            ExprKind::MemRead { mem, addr, .. } => {
                f.write(&format!("{mem}["));
                addr.pretty_print(f);
                f.write("]");
            }
            ExprKind::Mux(c, a, b) => {
                operand(f, c);
                f.write(" ? ");
                operand(f, a);
                f.write(" : ");
                operand(f, b);
            }
            ExprKind::Concat(parts) => {
                f.write("{");
                comma_list(f, parts);
                f.write("}");
            }
            ExprKind::Repeat(n, e) => {
                f.write(&format!("{{{n}{{"));
                e.pretty_print(f);
                f.write("}}");
            }
            ExprKind::Signed(e) => {
                f.write("$signed(");
                e.pretty_print(f);
                f.write(")");
            }
            ExprKind::Unsigned(e) => {
                f.write("$unsigned(");
                e.pretty_print(f);
                f.write(")");
            }
            ExprKind::Extend(e) => {
                let k = ty.width - e.width();
                if ty.signed {
                    let name = ident_of(e);
                    // A scalar cannot be bit-selected: it is its own sign bit.
                    let msb = if e.width() == 1 {
                        name.to_string()
                    } else {
                        format!("{name}[{}]", e.width() - 1)
                    };
                    let fill = if k == 1 {
                        msb
                    } else {
                        format!("{{{k}{{{msb}}}}}")
                    };
                    f.write(&format!("$signed({{{fill}, {name}}})"));
                } else {
                    f.write(&format!("{{{}, ", lit_text(0, Ty::u(k))));
                    e.pretty_print(f);
                    f.write("}");
                }
            }
            ExprKind::Truncate(e) => {
                let name = ident_of(e);
                let sel = if ty.width == 1 {
                    format!("{name}[0]")
                } else {
                    format!("{name}[{}:0]", ty.width - 1)
                };
                if ty.signed {
                    f.write(&format!("$signed({sel})"));
                } else {
                    f.write(&sel);
                }
            }
        }
    }
}

impl Pretty for LValue {
    fn pretty_print(&self, f: &mut Formatter) {
        match self {
            LValue::Ident(n) => f.write(n),
            LValue::Index(n, idx) => {
                f.write(&format!("{n}["));
                idx.pretty_print(f);
                f.write("]");
            }
            LValue::Slice(n, hi, lo) if hi == lo => f.write(&format!("{n}[{hi}]")),
            LValue::Slice(n, hi, lo) => f.write(&format!("{n}[{hi}:{lo}]")),
        }
    }
}

fn comment_lines(f: &mut Formatter, text: &str) {
    for l in text.lines() {
        f.line(&format!("// {l}"));
    }
    if text.is_empty() {
        f.line("//");
    }
}

/// `begin`-`end` body after a header already written on the current line.
fn block(f: &mut Formatter, body: &[Stmt]) {
    f.write(" begin");
    f.newline();
    f.indent();
    for s in body {
        s.pretty_print(f);
    }
    f.dedent();
    f.write("end");
}

/// A case arm's body: `;` when empty, else `begin ... end`.
fn arm_body(f: &mut Formatter, body: &[Stmt]) {
    if body.is_empty() {
        f.line(" ;");
    } else {
        block(f, body);
        f.newline();
    }
}

impl Pretty for Stmt {
    fn pretty_print(&self, f: &mut Formatter) {
        match self {
            Stmt::Assign { lhs, rhs } => {
                lhs.pretty_print(f);
                f.write(match f.assign_style() {
                    AssignStyle::Blocking => " = ",
                    AssignStyle::NonBlocking => " <= ",
                });
                rhs.pretty_print(f);
                f.line(";");
            }
            Stmt::If { cond, then_, else_ } => {
                f.write("if (");
                cond.pretty_print(f);
                f.write(")");
                block(f, then_);
                let mut rest = else_;
                loop {
                    match rest.as_slice() {
                        [] => break,
                        // `else if` chains instead of nesting ever deeper.
                        [Stmt::If { cond, then_, else_ }] => {
                            f.write(" else if (");
                            cond.pretty_print(f);
                            f.write(")");
                            block(f, then_);
                            rest = else_;
                        }
                        other => {
                            f.write(" else");
                            block(f, other);
                            break;
                        }
                    }
                }
                f.newline();
            }
            Stmt::Case {
                subject,
                arms,
                default,
            } => {
                f.write("case (");
                subject.pretty_print(f);
                f.line(")");
                f.indent();
                for (items, body) in arms {
                    comma_list(f, items);
                    f.write(":");
                    arm_body(f, body);
                }
                f.write("default:");
                arm_body(f, default);
                f.dedent();
                f.line("endcase");
            }
            Stmt::Comment(text) => comment_lines(f, text),
            Stmt::IfDef { name, body } => {
                f.line(&format!("`ifdef {name}"));
                for s in body {
                    s.pretty_print(f);
                }
                f.line("`endif");
            }
        }
    }
}

/// Pads every column but the last to its widest cell; empty columns vanish.
fn aligned(rows: &[Vec<String>]) -> Vec<String> {
    let ncol = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                if c + 1 == r.len() {
                    line.push_str(cell);
                } else if widths[c] > 0 {
                    line.push_str(&format!("{cell:<w$} ", w = widths[c]));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

fn type_cells(ty: Ty) -> [String; 2] {
    [
        if ty.signed {
            "signed".to_string()
        } else {
            String::new()
        },
        range(ty).unwrap_or_default(),
    ]
}

/// Declaration row: keyword, signedness, range, rest (name and terminator).
fn decl_row(item: &Item) -> Option<Vec<String>> {
    let (kw, ty, rest) = match item {
        Item::Net {
            kind,
            name,
            ty,
            value,
        } => {
            let kw = match kind {
                NetKind::Wire => "wire",
                NetKind::KeptWire => "(* keep *) wire",
                NetKind::Reg => "reg",
            };
            let rest = match value {
                Some(v) => format!("{name} = {};", v.pretty()),
                None => format!("{name};"),
            };
            (kw, *ty, rest)
        }
        Item::LocalParam { name, value } => (
            "localparam",
            value.ty(),
            format!("{name} = {};", value.pretty()),
        ),
        _ => return None,
    };
    let [signed, range] = type_cells(ty);
    Some(vec![kw.to_string(), signed, range, rest])
}

fn memory_decl(f: &mut Formatter, m: &Memory) {
    let mut attributes = Vec::new();
    if let Some(style) = m.style() {
        attributes.push(format!("ram_style = \"{style}\""));
    }
    if m.keeps_as_memory() {
        attributes.push("nomem2reg".to_string());
    }
    if m.no_rw_check() {
        attributes.push("no_rw_check".to_string());
    }
    if !attributes.is_empty() {
        f.line(&format!("(* {} *)", attributes.join(", ")));
    }
    let [signed, range] = type_cells(m.elem_ty());
    let prefix: Vec<&str> = ["reg", &signed, &range]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    f.line(&format!(
        "{} {} [0:{}];",
        prefix.join(" "),
        m.name(),
        m.depth() - 1
    ));
    if let Some(file) = m.init_hex_file() {
        f.line(&format!("initial $readmemh(\"{file}\", {});", m.name()));
    }
}

/// Items set off by blank lines on both sides.
fn is_block(item: &Item) -> bool {
    matches!(
        item,
        Item::AlwaysFf { .. } | Item::AlwaysComb { .. } | Item::Instance { .. }
    )
}

fn process(f: &mut Formatter, header: &str, style: AssignStyle, body: &[Stmt]) {
    let saved = f.assign_style();
    f.set_assign_style(style);
    f.write(header);
    block(f, body);
    f.newline();
    f.set_assign_style(saved);
}

fn instance(
    f: &mut Formatter,
    module: &str,
    name: &str,
    overrides: &[(String, ParamValue)],
    conns: &[(String, Expr)],
) {
    let module = if overrides.is_empty() {
        module.to_string()
    } else {
        f.line(&format!("{module} #("));
        f.indent();
        let pad = overrides.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        for (i, (param, value)) in overrides.iter().enumerate() {
            let value = match value {
                ParamValue::Int(v) => v.to_string(),
                ParamValue::Str(s) => format!("\"{s}\""),
            };
            let end = if i + 1 == overrides.len() { "" } else { "," };
            f.line(&format!(".{param:<pad$} ({value}){end}"));
        }
        f.dedent();
        ")".to_string()
    };
    if conns.is_empty() {
        f.line(&format!("{module} {name} ();"));
        return;
    }
    f.line(&format!("{module} {name} ("));
    f.indent();
    let pad = conns.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    for (i, (port, e)) in conns.iter().enumerate() {
        f.write(&format!(".{port:<pad$} ("));
        e.pretty_print(f);
        f.line(if i + 1 == conns.len() { ")" } else { ")," });
    }
    f.dedent();
    f.line(");");
}

impl Pretty for Module {
    fn pretty_print(&self, f: &mut Formatter) {
        for l in &self.header {
            f.line(l);
        }
        for l in &self.doc {
            comment_lines(f, l);
        }
        f.write(&format!("module {}", self.name));
        if !self.params.is_empty() {
            f.line(" #(");
            f.indent();
            for (i, (name, value)) in self.params.iter().enumerate() {
                let sep = if i + 1 == self.params.len() { "" } else { "," };
                f.line(&format!("parameter integer {name} = {value}{sep}"));
            }
            f.dedent();
            f.write(")");
        }
        if self.ports.is_empty() {
            // `module m;` is fine, but after a parameter list the port list
            // must be present, if empty.
            f.line(if self.params.is_empty() { ";" } else { " ();" });
        } else {
            f.line(" (");
            f.indent();
            let rows: Vec<Vec<String>> = self
                .ports
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let dir = match p.dir {
                        PortDir::Input => "input",
                        PortDir::Output => "output",
                    };
                    let kind = if p.is_reg { "reg" } else { "wire" };
                    let [signed, range] = type_cells(p.ty);
                    let sep = if i + 1 == self.ports.len() { "" } else { "," };
                    vec![
                        dir.to_string(),
                        kind.to_string(),
                        signed,
                        range,
                        format!("{}{sep}", p.name),
                    ]
                })
                .collect();
            for l in aligned(&rows) {
                f.line(&l);
            }
            f.dedent();
            f.line(");");
        }

        f.indent();
        let mut prev: Option<&Item> = None;
        let mut i = 0;
        while i < self.items.len() {
            let item = &self.items[i];
            let gap = match prev {
                None => true,
                Some(Item::Section(_)) => false,
                Some(p) => matches!(item, Item::Section(_)) || is_block(item) || is_block(p),
            };
            if gap {
                f.blank_line();
            }
            if decl_row(item).is_some() {
                // Align a run of consecutive declarations as one table.
                let run: Vec<Vec<String>> = self.items[i..].iter().map_while(decl_row).collect();
                for l in aligned(&run) {
                    f.line(&l);
                }
                i += run.len();
                prev = Some(&self.items[i - 1]);
                continue;
            }
            match item {
                Item::Section(title) => f.line(&format!("// ---- {title} ----")),
                Item::Comment(text) => comment_lines(f, text),
                Item::Net { .. } | Item::LocalParam { .. } => unreachable!("handled above"),
                Item::Memory(m) => memory_decl(f, m),
                Item::Assign { lhs, rhs } => {
                    f.write(&format!("assign {lhs} = "));
                    rhs.pretty_print(f);
                    f.line(";");
                }
                Item::AlwaysFf { clock, body, keep } => {
                    if *keep {
                        f.line("(* keep *)");
                    }
                    process(
                        f,
                        &format!("always @(posedge {clock})"),
                        AssignStyle::NonBlocking,
                        body,
                    )
                }
                Item::AlwaysComb { body } => process(f, "always @*", AssignStyle::Blocking, body),
                Item::Instance {
                    module,
                    name,
                    overrides,
                    conns,
                } => instance(f, module, name, overrides, conns),
            }
            prev = Some(item);
            i += 1;
        }
        f.dedent();
        if !self.items.is_empty() {
            f.blank_line();
        }
        f.line(&format!("endmodule // {}", self.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_forms() {
        assert_eq!(lit_text(5, Ty::u(8)), "8'd5");
        assert_eq!(lit_text(1, Ty::u(1)), "1'b1");
        assert_eq!(lit_text(5, Ty::s(16)), "16'sd5");
        assert_eq!(lit_text(-5, Ty::s(16)), "16'shfffb");
        assert_eq!(lit_text(-5, Ty::s(5)), "5'sh1b");
        assert_eq!(
            lit_text(i128::MIN, Ty::s(128)),
            format!("128'sh8{}", "0".repeat(31))
        );
        assert_eq!(
            lit_text(-1, Ty::s(129)),
            format!("129'sh1{}", "f".repeat(32))
        );
    }

    #[test]
    fn formatter_layout() {
        let mut f = Formatter::new();
        f.blank_line();
        f.line("a  ");
        f.indent();
        f.write("b");
        f.blank_line();
        f.blank_line();
        f.line("c");
        f.dedent();
        f.newline();
        assert_eq!(f.finish(), "a\n    b\n\n    c\n\n");
    }

    #[test]
    fn alignment_drops_empty_columns() {
        let rows = vec![
            vec!["wire".into(), String::new(), "[7:0]".into(), "a;".into()],
            vec!["reg".into(), String::new(), String::new(), "bb;".into()],
        ];
        assert_eq!(aligned(&rows), ["wire [7:0] a;", "reg        bb;"]);
    }

    #[test]
    fn statement_defaults_to_blocking() {
        let a = Expr::ident("a", Ty::bit());
        let s = crate::verilog::assign(&a, Expr::bool(true));
        assert_eq!(s.pretty(), "a = 1'b1;\n");
        let mut f = Formatter::new();
        f.set_assign_style(AssignStyle::NonBlocking);
        s.pretty_print(&mut f);
        assert_eq!(f.finish(), "a <= 1'b1;\n");
    }
}
