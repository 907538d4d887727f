//! Bitstream packers: `icepack` (iCE40 `.asc` → `.bin`) and `ecppack` (ECP5 textual
//! `.config` → `.bit`).

use std::path::Path;

use crate::artifacts::relative;
use crate::device::Family;
use crate::tool::Tool;
use crate::FlowError;

/// The packer's command line for `family`.
///
/// ```
/// use std::path::Path;
/// use toolchain::{pack::args, Family};
/// assert_eq!(args(Family::Ice40, Path::new("a.asc"), Path::new("a.bin")), ["a.asc", "a.bin"]);
/// assert_eq!(args(Family::Ecp5, Path::new("a.config"), Path::new("a.bit")),
///            ["--input", "a.config", "--bit", "a.bit"]);
/// ```
pub fn args(family: Family, placed: &Path, bitstream: &Path) -> Vec<String> {
    let (i, o) = (
        placed.display().to_string(),
        bitstream.display().to_string(),
    );
    match family {
        Family::Ice40 => vec![i, o],
        Family::Ecp5 => vec!["--input".to_string(), i, "--bit".to_string(), o],
    }
}

/// The bitstream's file extension.
pub fn extension(family: Family) -> &'static str {
    match family {
        Family::Ice40 => "bin",
        Family::Ecp5 => "bit",
    }
}

/// Packs `placed` into `bitstream`, logging to `log`.
pub fn run(
    tool: &Tool,
    family: Family,
    placed: &Path,
    bitstream: &Path,
    log: &Path,
    cwd: &Path,
) -> Result<(), FlowError> {
    let (i, o) = (relative(placed, cwd), relative(bitstream, cwd));
    tool.run_logged(&args(family, &i, &o), cwd, log)?.ok()?;
    if !bitstream.is_file() {
        return Err(FlowError::Missing {
            what: format!("{} output", tool.name),
            path: bitstream.display().to_string(),
        });
    }
    Ok(())
}
