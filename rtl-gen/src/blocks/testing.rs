//! Shared by the blocks' unit tests: a test config's design parameters, and a
//! declaration read back from emitted Verilog.

use golden_model::config::Config;

use crate::params::DesignParams;

/// The learning design of a test config.
pub(crate) fn params(toml: &str) -> DesignParams {
    let cfg = Config::from_toml_str(toml, "test").expect("test config parses");
    DesignParams::new(&cfg, true).expect("test config generates")
}

/// The declaration line of `name` in `text` (e.g. `reg [3:0] cnt;`), whitespace
/// collapsed.
pub(crate) fn decl(text: &str, name: &str) -> Option<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| {
            (l.starts_with("reg ") || l.starts_with("wire ") || l.starts_with("localparam "))
                && l.split([' ', ';', '=']).any(|w| w == name)
        })
}
