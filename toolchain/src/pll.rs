//! PLL settings that turn a board's oscillator into the design clock: the divider search
//! `icepll` and `ecppll` do, kept to the frequency closest to the target from below (so a
//! design placed for the target meets timing at what the PLL gives).
//!
//! iCE40 `SB_PLL40_*`, simple feedback (iCE40 sysCLOCK PLL design guide, TN1251):
//! `f_out = f_in · (DIVF + 1) / ((DIVR + 1) · 2^DIVQ)`, the phase detector's
//! `f_in / (DIVR + 1)` in 10–133 MHz, the VCO's `f_in · (DIVF + 1) / (DIVR + 1)` in
//! 533–1,066 MHz, `FILTER_RANGE` from the phase detector's frequency.
//!
//! ECP5 `EHXPLLL`, CLKOP fed back (ECP5 sysCLOCK PLL guide, TN1263):
//! `f_out = f_in · CLKFB_DIV / CLKI_DIV`, the VCO `f_out · CLKOP_DIV` in 400–800 MHz, the
//! phase detector's `f_in / CLKI_DIV` at least 3.125 MHz.

use rtl_gen::verilog::ParamValue;

/// One PLL's settings and what they give.
#[derive(Clone, Debug, PartialEq)]
pub struct PllSettings {
    /// The primitive's parameter overrides.
    pub overrides: Vec<(String, ParamValue)>,
    /// The output clock they give, MHz.
    pub out_mhz: f64,
}

/// The iCE40 PLL nearest `target_mhz` at or below it from a `in_mhz` oscillator.
pub fn ice40(in_mhz: f64, target_mhz: f64) -> Option<PllSettings> {
    let mut best: Option<(f64, u32, u32, u32)> = None;
    for divr in 0..16u32 {
        let pfd = in_mhz / f64::from(divr + 1);
        if !(10.0..=133.0).contains(&pfd) {
            continue;
        }
        for divf in 0..128u32 {
            let vco = pfd * f64::from(divf + 1);
            if !(533.0..=1066.0).contains(&vco) {
                continue;
            }
            for divq in 1..7u32 {
                let out = vco / f64::from(1u32 << divq);
                let better = best.is_none_or(|(b, ..)| out > b + 1e-9);
                if out <= target_mhz + 1e-9 && better {
                    best = Some((out, divr, divf, divq));
                }
            }
        }
    }
    let (_, divr, divf, divq) = best?;
    let out_mhz = in_mhz * f64::from(divf + 1) / f64::from((divr + 1) << divq);
    let pfd = in_mhz / f64::from(divr + 1);
    // The loop filter's range by phase-detector frequency (icepll's table).
    let filter_range = match pfd {
        f if f < 17.0 => 1,
        f if f < 26.0 => 2,
        f if f < 44.0 => 3,
        f if f < 66.0 => 4,
        f if f < 101.0 => 5,
        _ => 6,
    };
    let int = |v: u32| ParamValue::Int(i64::from(v));
    Some(PllSettings {
        overrides: vec![
            ("FEEDBACK_PATH".into(), ParamValue::Str("SIMPLE".into())),
            ("DIVR".into(), int(divr)),
            ("DIVF".into(), int(divf)),
            ("DIVQ".into(), int(divq)),
            ("FILTER_RANGE".into(), int(filter_range)),
        ],
        out_mhz,
    })
}

/// The ECP5 PLL nearest `target_mhz` at or below it from a `in_mhz` oscillator.
pub fn ecp5(in_mhz: f64, target_mhz: f64) -> Option<PllSettings> {
    let mut best: Option<(f64, u32, u32, u32)> = None;
    for clki_div in 1..=128u32 {
        let pfd = in_mhz / f64::from(clki_div);
        if pfd < 3.125 {
            break;
        }
        for clkfb_div in 1..=80u32 {
            let out = pfd * f64::from(clkfb_div);
            if out > target_mhz + 1e-9 || best.is_some_and(|(b, ..)| out <= b + 1e-9) {
                continue;
            }
            // The smallest output divider that lifts the VCO into its range.
            let Some(clkop_div) = (1..=128u32).find(|d| out * f64::from(*d) >= 400.0) else {
                continue;
            };
            if out * f64::from(clkop_div) <= 800.0 {
                best = Some((out, clki_div, clkfb_div, clkop_div));
            }
        }
    }
    let (_, clki_div, clkfb_div, clkop_div) = best?;
    let out_mhz = in_mhz * f64::from(clkfb_div) / f64::from(clki_div);
    let int = |v: u32| ParamValue::Int(i64::from(v));
    let text = |s: &str| ParamValue::Str(s.into());
    Some(PllSettings {
        overrides: vec![
            ("CLKI_DIV".into(), int(clki_div)),
            ("CLKFB_DIV".into(), int(clkfb_div)),
            ("CLKOP_DIV".into(), int(clkop_div)),
            // Phase 0: the coarse phase steps are VCO periods, one output period is
            // CLKOP_DIV of them, and the step at CLKOP_DIV − 1 lines the edges up.
            ("CLKOP_CPHASE".into(), int(clkop_div - 1)),
            ("CLKOP_FPHASE".into(), int(0)),
            ("CLKOP_ENABLE".into(), text("ENABLED")),
            ("FEEDBK_PATH".into(), text("CLKOP")),
        ],
        out_mhz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &PllSettings, name: &str) -> i64 {
        match s.overrides.iter().find(|(n, _)| n == name) {
            Some((_, ParamValue::Int(v))) => *v,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn ice40_12_to_50_mhz_stays_below() {
        // icepll -i 12 -o 50 gives 50.25 MHz (DIVF 66, DIVQ 4), above the target; the next
        // below is 12 × 33 / 8.
        let s = ice40(12.0, 50.0).unwrap();
        assert_eq!(s.out_mhz, 49.5);
        let (divr, divf, divq) = (int(&s, "DIVR"), int(&s, "DIVF"), int(&s, "DIVQ"));
        let out = 12.0 * (divf + 1) as f64 / ((divr + 1) as f64 * (1 << divq) as f64);
        assert_eq!(out, s.out_mhz);
        let vco = 12.0 * (divf + 1) as f64 / (divr + 1) as f64;
        assert!((533.0..=1066.0).contains(&vco), "{vco}");
    }

    #[test]
    fn ice40_exact_multiples_are_found() {
        let s = ice40(12.0, 48.0).unwrap();
        assert_eq!(s.out_mhz, 48.0);
        assert_eq!(int(&s, "FILTER_RANGE"), 1);
    }

    #[test]
    fn ecp5_25_to_125_mhz_is_exact() {
        let s = ecp5(25.0, 125.0).unwrap();
        assert_eq!(s.out_mhz, 125.0);
        let (i, fb, op) = (
            int(&s, "CLKI_DIV"),
            int(&s, "CLKFB_DIV"),
            int(&s, "CLKOP_DIV"),
        );
        assert_eq!(25.0 * fb as f64 / i as f64, 125.0);
        let vco = 125.0 * op as f64;
        assert!((400.0..=800.0).contains(&vco), "{vco}");
        assert_eq!(int(&s, "CLKOP_CPHASE"), op - 1);
    }

    #[test]
    fn ecp5_odd_targets_stay_below() {
        let s = ecp5(25.0, 91.0).unwrap();
        assert!(s.out_mhz <= 91.0 && s.out_mhz > 90.0, "{}", s.out_mhz);
    }

    #[test]
    fn out_of_range_targets_have_no_settings() {
        assert!(ice40(12.0, 5.0).is_none());
        assert!(ecp5(25.0, 2.0).is_none());
    }
}
