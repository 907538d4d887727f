//! Locating and running one external tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use thiserror::Error;

/// How many characters of a failing tool's output an error keeps.
const TAIL: usize = 4000;

#[derive(Debug, Error)]
pub enum ToolError {
    #[error("{tool} not found on PATH; run scripts/install-deps.sh or set {env_var} to its path")]
    NotFound { tool: String, env_var: String },
    #[error("{tool} {found} is too old (need ≥ {need}); run scripts/install-deps.sh or set {env_var}")]
    TooOld {
        tool: String,
        found: String,
        need: String,
        env_var: String,
    },
    #[error("{tool} failed ({status}) running `{command}`:\n{tail}")]
    Failed {
        tool: String,
        status: String,
        command: String,
        tail: String,
    },
    #[error("{tool}: cannot start `{command}`: {reason}")]
    Spawn {
        tool: String,
        command: String,
        reason: String,
    },
}

#[derive(Clone, Debug)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    pub version: (u32, u32),
}

/// First `X.Y` number pair in a version banner (`Verilator 5.006 2023-01-22`, `Yosys 0.23 …`,
/// `Icarus Verilog version 11.0 (stable)`).
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| {
            let mut it = w.split('.');
            let major = it.next()?.parse().ok()?;
            let minor = it.next()?.parse().ok()?;
            Some((major, minor))
        })
        .next()
}

fn tail(text: &str) -> String {
    let start = text.len().saturating_sub(TAIL);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].to_string()
}

impl Tool {
    /// Finds `name` (or `$env_var`), runs it with `version_args` and checks the version.
    pub fn locate(name: &str, env_var: &str, version_args: &[&str], min: (u32, u32)) -> Result<Tool, ToolError> {
        let path = match std::env::var_os(env_var) {
            Some(p) => PathBuf::from(p),
            None => find_on_path(name).ok_or_else(|| ToolError::NotFound {
                tool: name.to_string(),
                env_var: env_var.to_string(),
            })?,
        };
        let out = Command::new(&path).args(version_args).output().map_err(|_| ToolError::NotFound {
            tool: name.to_string(),
            env_var: env_var.to_string(),
        })?;
        let banner = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let version = parse_version(&banner).unwrap_or((0, 0));
        if version < min {
            return Err(ToolError::TooOld {
                tool: name.to_string(),
                found: format!("{}.{}", version.0, version.1),
                need: format!("{}.{}", min.0, min.1),
                env_var: env_var.to_string(),
            });
        }
        Ok(Tool {
            name: name.to_string(),
            path,
            version,
        })
    }

    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// Runs to completion in `cwd`; a non-zero exit becomes [`ToolError::Failed`] with the
    /// tail of stdout and stderr.
    pub fn run(&self, args: &[String], cwd: &Path) -> Result<Output, ToolError> {
        let command = format!("{} {}", self.name, args.join(" "));
        let out = self
            .command()
            .args(args)
            .current_dir(cwd)
            .output()
            .map_err(|e| ToolError::Spawn {
                tool: self.name.clone(),
                command: command.clone(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            return Err(ToolError::Failed {
                tool: self.name.clone(),
                status: out.status.to_string(),
                command,
                tail: tail(&text),
            });
        }
        Ok(out)
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"), Some((5, 6)));
        assert_eq!(parse_version("Yosys 0.23 (git sha1 7ce5011c24b)"), Some((0, 23)));
        assert_eq!(parse_version("Icarus Verilog version 11.0 (stable) ()"), Some((11, 0)));
        assert_eq!(parse_version("nothing"), None);
    }

    #[test]
    fn missing_tool_names_the_env_var() {
        let e = Tool::locate("no-such-tool-lls", "LLS_NO_SUCH", &["-V"], (1, 0)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no-such-tool-lls not found on PATH; run scripts/install-deps.sh or set LLS_NO_SUCH to its path"
        );
    }
}
