//! The FPGAs the flow targets and the boards it has constraint files for.
//!
//! Capacities are what nextpnr reports as available for the part (logic cells / LUT4s,
//! DSP tiles, block RAMs) and the user I/O count of the package from the Lattice data
//! sheets: iCE40 UltraPlus SG48 has 39 user I/Os (FPGA-DS-02008), ECP5 CABGA381 has 197
//! (LFE5U-25F) or 205 (LFE5U-85F) (FPGA-DS-02012). nextpnr's own `SB_IO`/`TRELLIS_IO` count
//! is the die's, not the package's, so the flow checks pins against these numbers itself.

use serde::Serialize;

use crate::FlowError;

/// FPGA family: picks the yosys script, the nextpnr binary and the packer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Ice40,
    Ecp5,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Ice40 => "ice40",
            Family::Ecp5 => "ecp5",
        }
    }
}

/// One target part in one package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// The config's `hardware.target` spelling (`ice40-up5k`).
    pub name: &'static str,
    pub family: Family,
    /// Lattice ordering part, without speed grade and temperature.
    pub part: &'static str,
    /// nextpnr's device flag (`--up5k`, `--25k`, `--85k`).
    pub nextpnr_device: &'static str,
    /// nextpnr's `--package` value.
    pub package: &'static str,
    /// User I/O pins of the package.
    pub io_pins: u32,
    /// Logic cells (iCE40 `ICESTORM_LC`) or LUT4s (ECP5 `TRELLIS_COMB`).
    pub luts: u32,
    /// `SB_MAC16` or `MULT18X18D`.
    pub dsps: u32,
    /// `SB_RAM40_4K` (4 Kib) or `DP16KD` (18 Kib).
    pub brams: u32,
    /// Boards in `constraints/` for this part; the first is the default for `--board`.
    pub boards: &'static [&'static str],
    /// Register slices the board wrapper puts on each stream between its pins and the
    /// top (`board::sliced_streams`): none on the UP5K, whose 20 ns period absorbs a pin's
    /// route; two on the ECP5, where a route across the die takes most of 8 ns.
    pub stream_slices: usize,
}

pub const ICE40_UP5K: Device = Device {
    name: "ice40-up5k",
    family: Family::Ice40,
    part: "iCE40UP5K-SG48",
    nextpnr_device: "--up5k",
    package: "sg48",
    io_pins: 39,
    luts: 5280,
    dsps: 8,
    brams: 30,
    boards: &["icebreaker", "upduino"],
    stream_slices: 0,
};

pub const ECP5_25K: Device = Device {
    name: "ecp5-25k",
    family: Family::Ecp5,
    part: "LFE5U-25F-CABGA381",
    nextpnr_device: "--25k",
    package: "CABGA381",
    io_pins: 197,
    luts: 24288,
    dsps: 28,
    brams: 56,
    boards: &["ulx3s"],
    stream_slices: 2,
};

pub const ECP5_85K: Device = Device {
    name: "ecp5-85k",
    family: Family::Ecp5,
    part: "LFE5U-85F-CABGA381",
    nextpnr_device: "--85k",
    package: "CABGA381",
    io_pins: 205,
    luts: 83640,
    dsps: 156,
    brams: 208,
    boards: &["ulx3s"],
    stream_slices: 2,
};

pub const DEVICES: [Device; 3] = [ICE40_UP5K, ECP5_25K, ECP5_85K];

impl Device {
    /// The device named like the config's `hardware.target`.
    ///
    /// ```
    /// let d = toolchain::Device::from_name("ecp5-85k").unwrap();
    /// assert_eq!((d.nextpnr_device, d.package, d.brams), ("--85k", "CABGA381", 208));
    /// assert!(toolchain::Device::from_name("ice40-hx8k").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Device, FlowError> {
        DEVICES
            .iter()
            .find(|d| d.name == name)
            .copied()
            .ok_or_else(|| FlowError::UnknownTarget {
                name: name.to_string(),
                known: DEVICES.map(|d| d.name).join(", "),
            })
    }

    /// The board's constraint file, checked against the boards this part has.
    pub fn board(&self, name: &str) -> Result<Board, FlowError> {
        BOARDS
            .iter()
            .find(|b| b.name == name && self.boards.contains(&b.name))
            .copied()
            .ok_or_else(|| FlowError::UnknownBoard {
                board: name.to_string(),
                target: self.name.to_string(),
                known: self.boards.join(", "),
            })
    }
}

/// Syntax of a constraint file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstraintKind {
    /// iCE40 physical constraints (`set_io NAME PIN`).
    Pcf,
    /// Lattice preference file (`LOCATE COMP "NAME" SITE "PIN";`).
    Lpf,
}

/// How a board's oscillator reaches the PLL that makes the design clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardClock {
    /// On an iCE40 PLL's own pad (`SB_PLL40_PAD`): that pin can feed nothing else.
    Ice40Pad,
    /// On another iCE40 pin, through the global network (`SB_PLL40_CORE`).
    Ice40Core,
    /// Any ECP5 clock pin (`EHXPLLL`).
    Ecp5,
}

/// A board and its constraint file, compiled in from `constraints/`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Board {
    pub name: &'static str,
    /// Path relative to the repository root.
    pub path: &'static str,
    pub kind: ConstraintKind,
    pub text: &'static str,
    /// The oscillator on the `clk` pin, MHz.
    pub clock_mhz: f64,
    pub clock: BoardClock,
}

pub const BOARDS: [Board; 3] = [
    Board {
        name: "icebreaker",
        path: "constraints/ice40-up5k/icebreaker.pcf",
        kind: ConstraintKind::Pcf,
        text: include_str!("../../constraints/ice40-up5k/icebreaker.pcf"),
        clock_mhz: 12.0,
        clock: BoardClock::Ice40Pad,
    },
    Board {
        name: "upduino",
        path: "constraints/ice40-up5k/upduino.pcf",
        kind: ConstraintKind::Pcf,
        text: include_str!("../../constraints/ice40-up5k/upduino.pcf"),
        clock_mhz: 12.0,
        clock: BoardClock::Ice40Core,
    },
    Board {
        name: "ulx3s",
        path: "constraints/ecp5/ulx3s.lpf",
        kind: ConstraintKind::Lpf,
        text: include_str!("../../constraints/ecp5/ulx3s.lpf"),
        clock_mhz: 25.0,
        clock: BoardClock::Ecp5,
    },
];

impl Board {
    /// File extension nextpnr expects.
    pub fn extension(&self) -> &'static str {
        match self.kind {
            ConstraintKind::Pcf => "pcf",
            ConstraintKind::Lpf => "lpf",
        }
    }

    /// Port bits the file places (`s_axis_tdata[3]`, `clk`), in file order.
    ///
    /// ```
    /// let b = toolchain::device::BOARDS[0];
    /// assert!(b.pins().iter().any(|(port, pin)| port == "clk" && pin == "35"));
    /// ```
    pub fn pins(&self) -> Vec<(String, String)> {
        match self.kind {
            ConstraintKind::Pcf => pcf_pins(self.text),
            ConstraintKind::Lpf => lpf_pins(self.text),
        }
    }
}

/// `set_io [-nowarn] [-pullup yes|no] [-pullup_resistor R] NAME PIN` lines.
pub fn pcf_pins(text: &str) -> Vec<(String, String)> {
    let mut pins = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("set_io") {
            continue;
        }
        let mut rest = Vec::new();
        while let Some(w) = words.next() {
            if w.starts_with('-') {
                if matches!(w, "-pullup" | "-pullup_resistor") {
                    words.next();
                }
            } else {
                rest.push(w);
            }
        }
        if let [name, pin] = rest[..] {
            pins.push((name.to_string(), pin.to_string()));
        }
    }
    pins
}

/// `LOCATE COMP "NAME" SITE "PIN";` lines.
pub fn lpf_pins(text: &str) -> Vec<(String, String)> {
    let mut pins = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("LOCATE COMP") else {
            continue;
        };
        let quoted: Vec<&str> = rest.split('"').skip(1).step_by(2).collect();
        if let [name, pin, ..] = quoted[..] {
            pins.push((name.to_string(), pin.to_string()));
        }
    }
    pins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcf_options_are_skipped() {
        let pins =
            pcf_pins("set_io -nowarn -pullup yes rst 10 # button\n# set_io x 1\nset_io clk 35\n");
        assert_eq!(
            pins,
            [
                ("rst".to_string(), "10".to_string()),
                ("clk".to_string(), "35".to_string())
            ]
        );
    }

    #[test]
    fn lpf_locates() {
        let pins = lpf_pins(
            "LOCATE COMP \"clk\" SITE \"G2\"; # 25 MHz\nIOBUF PORT \"clk\" IO_TYPE=LVCMOS33;\n",
        );
        assert_eq!(pins, [("clk".to_string(), "G2".to_string())]);
    }

    #[test]
    fn every_board_belongs_to_a_device_and_places_the_board_top_s_pins_once() {
        for b in BOARDS {
            assert!(
                DEVICES.iter().any(|d| d.boards.contains(&b.name)),
                "{}",
                b.name
            );
            let pins = b.pins();
            let mut ports: Vec<&str> = pins.iter().map(|(port, _)| port.as_str()).collect();
            ports.sort();
            let mut expected = crate::host_board::PINS.to_vec();
            expected.sort();
            assert_eq!(ports, expected, "{}", b.name);
            let mut sites: Vec<&String> = pins.iter().map(|(_, p)| p).collect();
            sites.sort();
            sites.dedup();
            assert_eq!(sites.len(), pins.len(), "{}: a pin is used twice", b.name);
        }
    }
}
