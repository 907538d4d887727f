//! The narrowing policies in Verilog: the twin of `golden_model::spec::numeric::policy`,
//! the only place where datapath values lose bits. [`shift_round`] takes the config's
//! [`Rounding`] as it is; [`verilog_form`] states what each policy emits, and
//! `docs/fixed-point-spec.md` states the same (a test below holds the two together).

use golden_model::config::Rounding;
use golden_model::spec::numeric::width::{max_signed, min_signed};

use crate::verilog::{Expr, Module, Ty};

use super::{discard, named, widen};

/// The Verilog a policy emits for `x >> s` of a `w`-bit signed `x`, as the spec's table
/// states it. The result is always a part select of a signed wire, `w + 1` bits wide where
/// a bias is added first (so the add cannot overflow); the dropped bits go to an `unused_`
/// wire.
pub fn verilog_form(rounding: Rounding) -> &'static str {
    match rounding {
        // The arithmetic shift is the part select (`>>>`, then truncate).
        Rounding::Floor => "x[w-1:s]",
        // Half an output LSB added in w + 1 bits.
        Rounding::HalfUp => "x_rnd = x + (1 << (s-1)) in w+1 bits, then x_rnd[w:s]",
        // The lane's LFSR state before its step, low s bits, zero-extended.
        Rounding::Stochastic => "x_rnd = x + {0, lfsrN[s-1:0]} in w+1 bits, then x_rnd[w:s]",
    }
}

/// What [`saturate`] emits for clamping a `w`-bit signed `x` to `b` bits: `x` fits iff
/// the bits above the kept sign equal the sign, a few LUTs on the top bits instead of two
/// compares with carry chains.
pub const SATURATE_FORM: &str =
    "over = x[w-1] ? ~&x[w-2:b-1] : |x[w-2:b-1]; over ? (x[w-1] ? MIN : MAX) : x[b-1:0]";

/// `x >> shift` rounded by `rounding` (the spec's `shift_round(x, shift, rounding,
/// random)`), as a signed wire `name`; `random` is the lane's LFSR state, which only
/// `Stochastic` reads and must then be given. See [`verilog_form`].
pub(crate) fn shift_round(
    m: &mut Module,
    name: &str,
    x: Expr,
    shift: u32,
    rounding: Rounding,
    random: Option<&Expr>,
) -> Expr {
    assert!(x.ty().signed, "shift_round of unsigned {name}");
    if shift == 0 {
        return x;
    }
    let x = named(m, &format!("{name}_x"), x);
    let w = x.width() + 1;
    let xr = match rounding {
        Rounding::Floor => x,
        Rounding::HalfUp => m.wire_assign(
            &format!("{name}_rnd"),
            x.resize(w).add(Expr::lit(1i128 << (shift - 1), Ty::s(w))),
        ),
        Rounding::Stochastic => {
            let state = random.unwrap_or_else(|| panic!("{name}: stochastic needs an LFSR"));
            assert!(state.width() >= shift, "{name}: {shift} random bits needed");
            let r = m.wire_assign(
                &format!("{name}_rand"),
                state.clone().slice(shift - 1, 0).resize(w).as_signed(),
            );
            m.wire_assign(&format!("{name}_rnd"), x.resize(w).add(r))
        }
    };
    let w = xr.width();
    assert!(w > shift, "{name}: shift {shift} of a {w}-bit value");
    discard(m, name, xr.clone().slice(shift - 1, 0));
    m.wire_assign(name, xr.slice(w - 1, shift).as_signed())
}

/// Clamps a signed identifier to `bits` (the model's `saturate`), as [`SATURATE_FORM`].
pub(crate) fn saturate(m: &mut Module, name: &str, x: Expr, bits: u32) -> Expr {
    let w = x.width();
    if w <= bits {
        return widen(m, name, x, bits);
    }
    let x = named(m, &format!("{name}_wide"), x);
    // x fits iff the bits above the kept sign equal the sign: a few LUTs on the top bits
    // instead of two compares with carry chains. Above the range when x ≥ 0, below
    // otherwise.
    let sign = x.clone().bit(w - 1);
    let upper = x.clone().slice(w - 2, bits - 1);
    let over = m.wire_assign(
        &format!("{name}_over"),
        Expr::mux(
            sign.clone(),
            upper.clone().reduce_and().lnot(),
            upper.reduce_or(),
        ),
    );
    let fits = x.resize(bits);
    m.wire_assign(
        name,
        Expr::mux(
            over,
            Expr::mux(
                sign,
                Expr::lit(min_signed(bits) as i128, Ty::s(bits)),
                Expr::lit(max_signed(bits) as i128, Ty::s(bits)),
            ),
            fits,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec doc's row for a policy: its Verilog column.
    fn spec_row(policy: &str) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/fixed-point-spec.md");
        let doc = std::fs::read_to_string(path).expect("the fixed-point spec");
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| {policy} |")))
            .unwrap_or_else(|| panic!("no row for {policy} in {path}"));
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").collect();
        // A `|` inside a table cell is escaped.
        let cell = cells.last().expect("a Verilog column").trim();
        cell.replace("\\|", "|")
    }

    #[test]
    fn the_spec_states_the_form_each_policy_emits() {
        for (policy, rounding) in [
            ("`floor`", Rounding::Floor),
            ("`half-up`", Rounding::HalfUp),
            ("`stochastic` (weight updates only)", Rounding::Stochastic),
        ] {
            assert_eq!(spec_row(policy), format!("`{}`", verilog_form(rounding)));
        }
        assert_eq!(
            spec_row("saturate to `b` bits"),
            format!("`{SATURATE_FORM}`")
        );
    }

    /// `y = x >> 3` of a 12-bit x under `rounding`, as Verilog.
    fn emitted(rounding: Rounding) -> String {
        let mut m = Module::new("t");
        let x = m.input("x", Ty::s(12));
        let lfsr = m.input("lfsr0", Ty::u(32));
        let y = shift_round(&mut m, "y", x, 3, rounding, Some(&lfsr));
        let out = m.output_wire("out", y.ty());
        m.assign(&out, y);
        m.to_verilog()
    }

    #[test]
    fn each_policy_emits_its_stated_form() {
        // w = 12, s = 3.
        let floor = emitted(Rounding::Floor);
        assert!(floor.contains("y = $signed(x[11:3]);"), "{floor}");
        assert!(!floor.contains("y_rnd"));
        let half_up = emitted(Rounding::HalfUp);
        assert!(
            half_up.contains("y_rnd = $signed({x[11], x}) + 13'sd4;"),
            "{half_up}"
        );
        assert!(half_up.contains("y = $signed(y_rnd[12:3]);"), "{half_up}");
        let stochastic = emitted(Rounding::Stochastic);
        assert!(
            stochastic.contains("y_rand = $signed({10'd0, lfsr0[2:0]});"),
            "{stochastic}"
        );
        assert!(
            stochastic.contains("y_rnd = $signed({x[11], x}) + y_rand;"),
            "{stochastic}"
        );
        assert!(
            stochastic.contains("y = $signed(y_rnd[12:3]);"),
            "{stochastic}"
        );
    }

    #[test]
    fn saturate_emits_its_stated_form() {
        let mut m = Module::new("t");
        let x = m.input("x", Ty::s(12));
        let y = saturate(&mut m, "y", x, 8);
        let out = m.output_wire("out", y.ty());
        m.assign(&out, y);
        let text = m.to_verilog();
        assert!(
            text.contains("y_over = x[11] ? !(&x[10:7]) : (|x[10:7]);"),
            "{text}"
        );
        assert!(
            text.contains("y = y_over ? (x[11] ? 8'sh80 : 8'sd127) : $signed(x[7:0]);"),
            "{text}"
        );
    }

    /// The emitted policies, simulated in Icarus over every 14-bit x (and a spread of
    /// LFSR states), agree with the spec's `shift_round` and `saturate` bit for bit.
    #[test]
    fn simulated_policies_match_the_spec_on_every_input() {
        use golden_model::spec::numeric::QFormat;
        use golden_model::spec::numeric::{saturate as spec_saturate, shift_round as spec_round};

        const W: u32 = 14;
        const S: u32 = 4;
        const B: u32 = 8;
        let mut m = Module::new("policies");
        let x = m.input("x", Ty::s(W));
        let r = m.input("r", Ty::u(32));
        let outs: Vec<(&str, Expr)> = vec![
            (
                "floor",
                shift_round(&mut m, "y_floor", x.clone(), S, Rounding::Floor, None),
            ),
            (
                "half_up",
                shift_round(&mut m, "y_half", x.clone(), S, Rounding::HalfUp, None),
            ),
            (
                "stochastic",
                shift_round(
                    &mut m,
                    "y_stoch",
                    x.clone(),
                    S,
                    Rounding::Stochastic,
                    Some(&r),
                ),
            ),
            ("saturate", saturate(&mut m, "y_sat", x.clone(), B)),
        ];
        for (name, e) in &outs {
            let port = m.output_wire(&format!("o_{name}"), e.ty());
            m.assign(&port, e.clone());
        }
        let tb = format!(
            "module tb;\nreg signed [{w1}:0] x; reg [31:0] r; integer i;\n\
             wire signed [31:0] f, h, s, t;\n\
             policies dut(.x(x), .r(r), .o_floor(f), .o_half_up(h), .o_stochastic(s), \
             .o_saturate(t));\n\
             initial begin\n  for (i = 0; i < {n}; i = i + 1) begin\n    \
             x = i - {half}; r = i * 2654435761;\n    #1 $display(\"%0d %0d %0d %0d %0d\", \
             x, f, h, s, t);\n  end\n  $finish;\nend\nendmodule\n",
            w1 = W - 1,
            n = 1 << W,
            half = 1 << (W - 1),
        );
        let dir = std::env::temp_dir().join(format!("rtl-gen-narrowing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        std::fs::write(dir.join("dut.v"), m.to_verilog()).expect("write dut");
        std::fs::write(dir.join("tb.v"), tb).expect("write tb");
        let text = toolchain::simulate_icarus(&dir, &[], &["dut.v", "tb.v"])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_dir_all(&dir).ok();
        let fmt = QFormat::new(B, 0);
        let mut checked = 0;
        for (i, line) in text.lines().enumerate() {
            let v: Vec<i64> = line
                .split_whitespace()
                .map(|w| w.parse().expect("int"))
                .collect();
            let (x, r) = (v[0], (i as u64).wrapping_mul(2654435761) & 0xffff_ffff);
            assert_eq!(x, i as i64 - (1 << (W - 1)));
            assert_eq!(v[1], spec_round(x, S, Rounding::Floor, 0), "floor x={x}");
            assert_eq!(v[2], spec_round(x, S, Rounding::HalfUp, 0), "half-up x={x}");
            assert_eq!(
                v[3],
                spec_round(x, S, Rounding::Stochastic, r),
                "stochastic x={x} r={r}"
            );
            assert_eq!(v[4], spec_saturate(x, fmt), "saturate x={x}");
            checked += 1;
        }
        assert_eq!(checked, 1 << W, "{text}");
    }
}
