//! Running the HDL tools from a test: a scratch folder, and a tool that must succeed.
#![allow(dead_code)] // each including test uses its own share

use std::path::{Path, PathBuf};
use std::process::Command;

/// An empty folder `<tag>` under the test target's temp folder.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `tool` in `dir`: whether it succeeded, and its stdout and stderr. A missing tool is
/// a failure, not a skip.
pub fn try_tool(dir: &Path, tool: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}); install the HDL tools with scripts/install-deps.sh")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `tool` in `dir`; its stdout and stderr, or a panic with them when it fails.
pub fn run_tool(dir: &Path, tool: &str, args: &[&str]) -> String {
    let (ok, text) = try_tool(dir, tool, args);
    assert!(ok, "{tool} failed:\n{text}");
    text
}
