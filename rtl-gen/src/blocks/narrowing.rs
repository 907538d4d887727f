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
}
