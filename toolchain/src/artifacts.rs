//! The flow's files on disk: how a tool is given a path, and how an artifact is written so
//! that a reader never sees half of it. Every stage module writes through here.

use std::path::{Path, PathBuf};

use crate::FlowError;

/// Writes `text` to `path` through `.<name>.tmp` beside it and a rename, so that a reader
/// sees the old file or the new one; the temporary file never stays behind, and a folder
/// at `path` is refused rather than written beside.
pub fn write(path: &Path, text: &str) -> Result<(), FlowError> {
    let refuse = |reason: &str| FlowError::Io {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let name = path
        .file_name()
        .ok_or_else(|| refuse("not a file name; give a file path"))?;
    if path.is_dir() {
        return Err(refuse("is a folder; give a file path"));
    }
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, text)
        .map_err(|e| FlowError::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| FlowError::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replaces_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("synth.ys");
        write(&path, "old").expect("write");
        write(&path, "new").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        let err = write(&sub, "x").unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
