//! The flow's files on disk: how a tool is given a path, and how an artifact is written so
//! that a reader never sees half of it. Every stage module writes through here.

use std::path::{Path, PathBuf};

use crate::FlowError;

/// Writes `text` to `path` through a temporary file.
pub fn write(path: &Path, text: &str) -> Result<(), FlowError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| FlowError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| FlowError::io(path, e))
}

/// `path` as seen from `base`, the tool's working directory: `base/x` → `x`, a sibling of
/// `base` → `../x`, anything else unchanged. The tools get relative paths because YoWASP
/// builds see the host file system through WASI preopens that hide the host's `/tmp`.
///
/// ```
/// use std::path::Path;
/// use toolchain::artifacts::relative;
/// assert_eq!(relative(Path::new("/b/d/synth.json"), Path::new("/b/d/rtl")), Path::new("../synth.json"));
/// assert_eq!(relative(Path::new("/b/d/pnr.asc"), Path::new("/b/d")), Path::new("pnr.asc"));
/// assert_eq!(relative(Path::new("/x/y"), Path::new("/b/d")), Path::new("/x/y"));
/// ```
pub fn relative(path: &Path, base: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix(base) {
        return rest.to_path_buf();
    }
    match base
        .parent()
        .and_then(|parent| path.strip_prefix(parent).ok())
    {
        Some(rest) => Path::new("..").join(rest),
        None => path.to_path_buf(),
    }
}
