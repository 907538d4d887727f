//! `<top>_<board>`: the design as a board runs it. The board's oscillator feeds a PLL that
//! makes the design clock ([`crate::pll`]), the trainer is held in reset until the PLL
//! locks, and `<top>_host` (`rtl_gen::blocks::host_top`: the trainer behind its UART host
//! link, docs/host-link.md) takes the board's USB-serial pins. Three pins: `clk`,
//! `uart_rx`, `uart_tx`.

use golden_model::config::{uart_clocks_per_bit, uart_timing_fits};
use rtl_gen::verilog::{assign, Expr, Module, Ty};
use rtl_gen::Design;

use crate::device::{Board, BoardClock};
use crate::pll::{self, PllSettings};

/// Pins of every board top, as constraint files name them.
pub const PINS: [&str; 3] = ["clk", "uart_rx", "uart_tx"];

/// The board top and the modules under it, and the clocks they run at.
pub struct BoardTop {
    /// The board top first, then `<top>_host` and its parts.
    pub modules: Vec<Module>,
    /// The design clock the PLL makes, MHz.
    pub clock_mhz: f64,
    /// The PLL's settings.
    pub pll: PllSettings,
    /// The host link's rate and the clocks a bit lasts.
    pub baud: u32,
    pub clocks_per_bit: u32,
}

impl BoardTop {
    pub fn name(&self) -> &str {
        self.modules[0].name()
    }
}

/// Why a board top cannot be made for a clock target and rate.
#[derive(Debug, PartialEq)]
pub enum BoardTopError {
    /// No PLL setting reaches `target_mhz` or below from the board's oscillator.
    Clock {
        board: String,
        in_mhz: f64,
        target_mhz: f64,
    },
    /// The PLL's clock does not time `baud` (too few clocks a bit, or too far off).
    Baud { baud: u32, clock_mhz: f64, off: f64 },
}

impl std::fmt::Display for BoardTopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoardTopError::Clock {
                board,
                in_mhz,
                target_mhz,
            } => write!(
                f,
                "the {board}'s {in_mhz} MHz oscillator gives no PLL clock at or below \
                 {target_mhz} MHz: give --freq between 10 and 400"
            ),
            BoardTopError::Baud {
                baud,
                clock_mhz,
                off,
            } => write!(
                f,
                "hardware.baud {baud} is {:.1} % off at the PLL's {clock_mhz:.3} MHz: use a \
                 rate the clock divides within 2 %, at most a quarter of it",
                100.0 * off
            ),
        }
    }
}

/// The PLL settings and clocks a bit for `board` at `target_mhz` (or the nearest below it)
/// and `baud`: what [`build`] uses, checked before any work.
pub fn plan(
    board: &Board,
    target_mhz: f64,
    baud: u32,
) -> Result<(PllSettings, u32), BoardTopError> {
    let settings = match board.clock {
        BoardClock::Ice40Pad | BoardClock::Ice40Core => pll::ice40(board.clock_mhz, target_mhz),
        BoardClock::Ecp5 => pll::ecp5(board.clock_mhz, target_mhz),
    }
    .ok_or_else(|| BoardTopError::Clock {
        board: board.name.to_string(),
        in_mhz: board.clock_mhz,
        target_mhz,
    })?;
    let (clocks_per_bit, off) = uart_clocks_per_bit(settings.out_mhz, baud);
    if !uart_timing_fits(clocks_per_bit, off) {
        return Err(BoardTopError::Baud {
            baud,
            clock_mhz: settings.out_mhz,
            off,
        });
    }
    Ok((settings, clocks_per_bit))
}

/// The board top of `design` (whose config text is `config_toml`) for `board`, clocked as
/// near `target_mhz` as its PLL reaches from below, its host link at `baud`.
pub fn build(
    design: &Design,
    config_toml: &str,
    board: &Board,
    target_mhz: f64,
    baud: u32,
) -> Result<BoardTop, BoardTopError> {
    let (settings, clocks_per_bit) = plan(board, target_mhz, baud)?;
    let header = rtl_gen::verilog::header_lines(&design.manifest.config, config_toml.as_bytes());
    let trainer = rtl_gen::blocks::top::module(&design.params, &design.top, &header);
    let host = rtl_gen::blocks::host_top::modules(
        &design.params,
        &trainer,
        rtl_gen::config_hash(config_toml),
        clocks_per_bit,
        &header,
    );
    let top = top_module(design, board, &settings, &host[0], clocks_per_bit, header);
    let mut modules = vec![top];
    modules.extend(host);
    Ok(BoardTop {
        modules,
        clock_mhz: settings.out_mhz,
        pll: settings,
        baud,
        clocks_per_bit,
    })
}

fn top_module(
    design: &Design,
    board: &Board,
    pll: &PllSettings,
    host: &Module,
    clocks_per_bit: u32,
    header: Vec<String>,
) -> Module {
    let mut m = Module::new(&format!("{}_{}", design.top, board.name));
    m.header(header);
    m.doc(&format!(
        "{} on the {}: its {} MHz oscillator through a PLL to {:.3} MHz, the host link \
         on the USB-serial pins ({clocks_per_bit} clocks a bit). See \
         toolchain/src/host_board.rs.",
        design.top, board.name, board.clock_mhz, pll.out_mhz
    ));
    let osc = m.input("clk", Ty::bit());
    let rx = m.input("uart_rx", Ty::bit());
    let tx = m.output_wire("uart_tx", Ty::bit());
    let clk = m.wire("clk_pll", Ty::bit());
    let lock = m.wire("pll_lock", Ty::bit());
    m.section("the design clock");
    let one = Expr::bool(true);
    let zero = Expr::bool(false);
    // The iCE40's two PLLs differ only in where the reference comes from.
    let ice40 = |primitive, reference_port| {
        (
            primitive,
            vec![
                (reference_port, osc.clone()),
                ("PLLOUTGLOBAL", clk.clone()),
                ("LOCK", lock.clone()),
                ("RESETB", one.clone()),
                ("BYPASS", zero.clone()),
            ],
        )
    };
    let (primitive, conns) = match board.clock {
        BoardClock::Ice40Pad => ice40("SB_PLL40_PAD", "PACKAGEPIN"),
        BoardClock::Ice40Core => ice40("SB_PLL40_CORE", "REFERENCECLK"),
        BoardClock::Ecp5 => (
            "EHXPLLL",
            vec![
                ("CLKI", osc.clone()),
                ("CLKOP", clk.clone()),
                ("CLKFB", clk.clone()),
                ("LOCK", lock.clone()),
                ("RST", zero.clone()),
                ("STDBY", zero.clone()),
                ("PHASESEL0", zero.clone()),
                ("PHASESEL1", zero.clone()),
                ("PHASEDIR", zero.clone()),
                ("PHASESTEP", zero.clone()),
                ("PHASELOADREG", zero.clone()),
                ("PLLWAKESYNC", zero.clone()),
                ("ENCLKOP", zero),
            ],
        ),
    };
    m.primitive(
        primitive,
        "u_pll",
        pll.overrides.clone(),
        conns
            .into_iter()
            .map(|(port, e)| (port.to_string(), e))
            .collect(),
    );
    m.section("reset: held until the PLL locks, released on the design clock");
    let lock_sync = m.reg("lock_sync", Ty::u(2));
    m.always_ff(
        &clk,
        vec![assign(
            &lock_sync,
            Expr::concat(vec![lock_sync.clone().bit(0), lock]),
        )],
    );
    let rst = m.wire_assign("rst", lock_sync.bit(1).lnot());
    m.instance_of(
        host,
        "u_host",
        vec![
            ("clk".into(), clk),
            ("rst".into(), rst),
            ("uart_rx".into(), rx),
            ("uart_tx".into(), tx),
        ],
    );
    m
}
