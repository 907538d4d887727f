//! Option groups and helpers shared by the subcommands: the config argument, the data
//! folder, and the checks and writers every output goes through.
//!
//! A command checks its outputs before any long work ([`check_output_file`],
//! [`check_output_dir`], [`check_output_not_input`]), writes single files with
//! [`write_file`] / [`write_json`] and whole folders with [`replace_dir`], so that a
//! failure or an interrupt never leaves half an output or a stale one beside a new one.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use golden_model::checkpoint::{sha256_hex, Checkpoint, ConfigMatch, Progress};
use golden_model::config::Config;
use golden_model::data::{self, DataError, Dataset, DatasetKind};
use golden_model::spec::fixed::FixedNet;

pub type CmdResult = Result<(), String>;

/// Folder of the preset configs, relative to the working directory.
pub const PRESETS_DIR: &str = "configs";

/// `--config`'s value parser: a TOML file, or a preset name as `lls presets` lists it
/// (`digits-mlp` → `configs/digits-mlp.toml`, looked up in the working directory, then in
/// the workspace this binary was built from).
pub fn config_path(arg: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(arg);
    if path.exists() {
        return Ok(path);
    }
    let bare = !arg.is_empty()
        && path.components().count() == 1
        && path.extension().is_none_or(|e| e != "toml");
    if !bare {
        return Err(format!(
            "{arg}: no such file; give a config TOML or a preset name from `lls presets`"
        ));
    }
    let file = format!("{arg}.toml");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join(PRESETS_DIR));
    let dirs: Vec<PathBuf> = [Some(PathBuf::from(PRESETS_DIR)), workspace]
        .into_iter()
        .flatten()
        .collect();
    if let Some(found) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let known = dirs
        .iter()
        .map(|d| preset_names(d))
        .find(|names| !names.is_empty())
        .unwrap_or_default();
    Err(format!(
        "{arg}: no such file and no preset {PRESETS_DIR}/{file}; the presets (`lls presets`): {}",
        if known.is_empty() {
            "none here, run from the repository root".to_string()
        } else {
            known.join(", ")
        }
    ))
}

/// File stems of the `*.toml` files in `dir`, sorted.
fn preset_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The config at `path`, validated, for a command that generates or runs it: dense layers
/// only.
pub fn load_config(path: &Path) -> Result<Config, String> {
    let cfg = load_config_with_conv(path)?;
    cfg.require_dense("this command")
        .map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// The config at `path`, validated, convolutional blocks and all (for `lls costs` and `lls
/// train`, which check what they do with them).
pub fn load_config_with_conv(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

/// The config's TOML text, for manifests and checkpoints (which hash it).
pub fn config_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

/// A command's `--dataset` applied to its config, which is then held to that data set
/// (`Config::check_dataset`) before any data loads.
pub fn use_dataset(cfg: &mut Config, dataset: Option<DatasetKind>) -> CmdResult {
    if let Some(d) = dataset {
        cfg.data.dataset = d;
    }
    cfg.check_dataset(cfg.data.dataset)
        .map_err(|e| e.to_string())
}

/// A checkpoint of `cfg` (whose file text is `text`) at `path`: its net, its progress and
/// the sha256 of its file. The checkpoint must have been saved with this very config text,
/// or, with `allow_config_change`, with a config of the same name (shapes and values are
/// checked either way).
pub fn load_checkpoint(
    path: &Path,
    cfg: &Config,
    text: &str,
    allow_config_change: bool,
) -> Result<(FixedNet, Progress, String), String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "--checkpoint {}: cannot read it ({e}); give a checkpoint `lls train --save` or \
             `lls board train --save` wrote",
            path.display()
        )
    })?;
    let ck = Checkpoint::from_json(&bytes, path).map_err(|e| e.to_string())?;
    let matching = if allow_config_change {
        ConfigMatch::SameName
    } else {
        ConfigMatch::Exact
    };
    let net = ck
        .restore(cfg, text, matching, path)
        .map_err(|e| e.to_string())?;
    Ok((net, ck.progress, sha256_hex(&bytes)))
}

/// A `--json` report path: a file, and never the `--config` it reads.
pub fn check_json_output(config: &Path, json: Option<&Path>) -> CmdResult {
    let Some(json) = json else {
        return Ok(());
    };
    check_output_file("--json", json)?;
    check_output_not_input(&[("--config", config)], &[("--json", json)])
}

/// `LLS_DATA_DIR` when set and not empty, else `./data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os(data::DATA_DIR_ENV)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// Loads a data set from [`data_dir`]; a missing file names the folder to fetch into.
pub fn load_dataset(kind: DatasetKind) -> Result<Dataset, String> {
    let dir = data_dir();
    data::load(kind, &dir).map_err(|e| match e {
        DataError::NotFound { path, .. } => format!(
            "{}: not found; run `scripts/fetch-data {}` to download MNIST and Fashion-MNIST \
             into {} (the folder {} names, default data/)",
            path.display(),
            dir.display(),
            dir.display(),
            data::DATA_DIR_ENV
        ),
        e => e.to_string(),
    })
}

/// `path` made absolute, with symlinks and `.`/`..` resolved as far as it exists; the
/// missing rest is appended as given. Two spellings of one file give the same result.
fn resolved(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other.as_os_str()),
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Refuses an output that is one of the command's inputs, or a folder that holds one (a
/// folder output is replaced as a whole), or two outputs on one path. Each entry is
/// `(flag, path)`; paths are compared after resolving symlinks, `./` and `..`.
///
/// `lls train --config c.toml --save c.toml` would overwrite the config with a checkpoint.
pub fn check_output_not_input(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> CmdResult {
    let inputs: Vec<(&str, &Path, PathBuf)> =
        inputs.iter().map(|&(f, p)| (f, p, resolved(p))).collect();
    let outputs: Vec<(&str, &Path, PathBuf)> =
        outputs.iter().map(|&(f, p)| (f, p, resolved(p))).collect();
    for (flag, path, out) in &outputs {
        for (input_flag, input, real) in &inputs {
            if real == out {
                return Err(format!(
                    "{flag} {}: is the {input_flag} file {}; writing there would destroy \
                     it, give {flag} another path",
                    path.display(),
                    input.display()
                ));
            }
            if real.starts_with(out) {
                return Err(format!(
                    "{flag} {}: holds the {input_flag} file {}, and the output replaces \
                     that folder; move the input out or give {flag} another folder",
                    path.display(),
                    input.display()
                ));
            }
        }
    }
    for (i, (flag, path, out)) in outputs.iter().enumerate() {
        for (other_flag, _, other) in &outputs[i + 1..] {
            if other == out || other.starts_with(out) || out.starts_with(other) {
                return Err(format!(
                    "{flag} {} and {other_flag}: one output would overwrite the other; give \
                     them separate paths",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The nearest existing ancestor of `path` (itself excluded) must be a folder, so that
/// the folders up to `path` can be created.
fn check_ancestors(flag: &str, path: &Path) -> CmdResult {
    for ancestor in path.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            return Ok(());
        }
        if let Ok(meta) = std::fs::metadata(ancestor) {
            if meta.is_dir() {
                return Ok(());
            }
            return Err(format!(
                "{flag} {}: {} is a file, not a folder; remove it or give {flag} another path",
                path.display(),
                ancestor.display()
            ));
        }
    }
    Ok(())
}

/// Checks, before any long work, that `path` can be written as a file: it is not a folder,
/// and its folder exists or can be created.
pub fn check_output_file(flag: &str, path: &Path) -> CmdResult {
    if path.file_name().is_none() {
        return Err(format!(
            "{flag} {}: not a file name; give a file path such as build/report.json",
            path.display()
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "{flag} {}: is a folder; give a file path such as {}",
            path.display(),
            path.join("report.json").display()
        ));
    }
    check_ancestors(flag, path)
}

/// Checks, before any long work, that `path` can be a folder that outputs go into: it
/// is not a file, and its parent exists or can be created.
pub fn check_build_root(flag: &str, path: &Path) -> CmdResult {
    if path.exists() && !path.is_dir() {
        return Err(format!(
            "{flag} {}: is a file, not a folder; remove it or give {flag} a folder path",
            path.display()
        ));
    }
    check_ancestors(flag, path)
}

/// Checks, before any long work, that `path` can be made the output folder: as
/// [`check_build_root`], and it is not the working directory or one above it (the folder
/// is replaced as a whole, see [`replace_dir`]).
pub fn check_output_dir(flag: &str, path: &Path) -> CmdResult {
    if path.file_name().is_none() {
        return Err(format!(
            "{flag} {}: name a folder of its own, such as build/out",
            path.display()
        ));
    }
    check_build_root(flag, path)?;
    if let Ok(cwd) = std::env::current_dir().and_then(|c| c.canonicalize()) {
        if cwd.starts_with(resolved(path)) {
            return Err(format!(
                "{flag} {}: is the working folder or holds it, and the output replaces that \
                 folder; give {flag} a folder of its own, such as build/out",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Creates the folder `path` is in, naming it on error.
pub fn create_parent(path: &Path) -> CmdResult {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent)
            .map_err(|e| format!("{}: cannot create the folder: {e}", parent.display())),
        None => Ok(()),
    }
}

/// Writes `bytes` to `path` through `.<name>.tmp` beside it and a rename, so a reader sees
/// the old file or the new one, never half of one; no temporary file stays behind on
/// failure, and a folder at `path` is refused rather than written beside.
pub fn write_file(path: &Path, bytes: &[u8]) -> CmdResult {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    if path.is_dir() {
        return Err(format!(
            "{}: is a folder; give a file path such as {}",
            path.display(),
            path.join("report.json").display()
        ));
    }
    create_parent(path)?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = std::fs::write(&tmp, bytes)
        .map_err(|e| format!("{}: cannot write: {e}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`write_file`] of `value` as pretty JSON.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> CmdResult {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    write_file(path, (text + "\n").as_bytes())
}

/// `.<name>.<what>` beside `out`.
/// The output folders a [`replace_dir`] is building right now, for the interrupt handler.
static BUILDING: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// On Ctrl-C or SIGTERM: the output folders being built are removed and the earlier ones
/// put back where the swap had moved them aside, then the process exits 130. Set once at
/// start-up; a kill that cannot be caught leaves the same to the next run ([`recover`]).
pub fn clean_up_on_interrupt() {
    let handler = ctrlc::set_handler(|| {
        let outs = BUILDING.lock().map(|b| b.clone()).unwrap_or_default();
        for out in outs {
            let _ = std::fs::remove_dir_all(sibling(&out, "new"));
            let old = sibling(&out, "old");
            if old.is_dir() && out.symlink_metadata().is_err() {
                let _ = std::fs::rename(&old, &out);
            }
        }
        eprintln!("interrupted: earlier outputs are left as they were");
        std::process::exit(130);
    });
    if let Err(e) = handler {
        eprintln!("warning: no interrupt handler ({e}); an interrupted run leaves its partial output to the next run to clear");
    }
}

/// `out` is listed in [`BUILDING`] while this lives.
struct Building(PathBuf);

impl Building {
    fn new(out: &Path) -> Building {
        if let Ok(mut b) = BUILDING.lock() {
            b.push(out.to_path_buf());
        }
        Building(out.to_path_buf())
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        if let Ok(mut b) = BUILDING.lock() {
            b.retain(|p| p != &self.0);
        }
    }
}

fn sibling(out: &Path, what: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(out.file_name().unwrap_or(OsStr::new("out")));
    name.push(format!(".lls-{what}"));
    out.with_file_name(name)
}

/// Which entries of an earlier output folder the command wrote (and now replaces);
/// the others (files of other commands, the user's) are moved into the new folder.
pub type Owned<'a> = &'a dyn Fn(&Path, &OsStr) -> bool;

/// Moves the entries of `old` that `owned` does not claim into `out` (an entry `out`
/// already has stays the new one), then removes `old`.
fn carry_over(old: &Path, out: &Path, owned: Owned) -> CmdResult {
    let entries = std::fs::read_dir(old).map_err(|e| format!("{}: {e}", old.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", old.display()))?;
        let name = entry.file_name();
        if owned(old, &name) || out.join(&name).symlink_metadata().is_ok() {
            continue;
        }
        std::fs::rename(entry.path(), out.join(&name)).map_err(|e| {
            format!(
                "{}: cannot move into {}: {e}",
                entry.path().display(),
                out.display()
            )
        })?;
    }
    std::fs::remove_dir_all(old).map_err(|e| format!("{}: cannot remove: {e}", old.display()))
}

/// Puts right what an interrupted [`replace_dir`] left: a half-built `.<name>.lls-new`
/// is removed; a `.<name>.lls-old` is put back when `out` is missing, else finished.
fn recover(out: &Path, owned: Owned) -> CmdResult {
    let new = sibling(out, "new");
    let old = sibling(out, "old");
    if new.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(&new)
            .map_err(|e| format!("{}: cannot remove the leftover: {e}", new.display()))?;
    }
    if old.is_dir() {
        if out.symlink_metadata().is_err() {
            std::fs::rename(&old, out).map_err(|e| {
                format!(
                    "{}: cannot restore to {}: {e}",
                    old.display(),
                    out.display()
                )
            })?;
        } else {
            carry_over(&old, out, owned)?;
        }
    }
    Ok(())
}

/// Builds the folder `out` all or nothing: `fill` writes into a fresh sibling
/// `.<name>.lls-new`, which replaces `out` (two renames) only when `fill` succeeds. On
/// failure `out` stays as it was and the sibling is removed; an interrupt leaves `out` as it
/// was and a sibling that the next call removes. Entries of the earlier `out` that `owned`
/// does not claim are kept (moved into the new folder).
pub fn replace_dir<T>(
    out: &Path,
    owned: Owned,
    fill: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<T, String> {
    recover(out, owned)?;
    let new = sibling(out, "new");
    let old = sibling(out, "old");
    create_parent(out)?;
    let _building = Building::new(out);
    std::fs::create_dir(&new).map_err(|e| format!("{}: cannot create: {e}", new.display()))?;
    let value = match fill(&new) {
        Ok(value) => value,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&new);
            return Err(e);
        }
    };
    let had_old = out.symlink_metadata().is_ok();
    if had_old {
        std::fs::rename(out, &old).map_err(|e| {
            let _ = std::fs::remove_dir_all(&new);
            format!("{}: cannot move aside: {e}", out.display())
        })?;
    }
    if let Err(e) = std::fs::rename(&new, out) {
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&new);
        return Err(format!(
            "{}: cannot put the new output in place: {e}",
            out.display()
        ));
    }
    if had_old {
        carry_over(&old, out, owned)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owns_all(_: &Path, _: &OsStr) -> bool {
        true
    }

    #[test]
    fn replace_dir_keeps_the_old_folder_on_failure_and_leaves_no_sibling() {
        let root = tempfile::tempdir().expect("temp dir");
        let out = root.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("old.txt"), "old").expect("write");
        let err = replace_dir(&out, &owns_all, |dir| {
            std::fs::write(dir.join("new.txt"), "new").expect("write");
            Err::<(), _>("failed".to_string())
        })
        .unwrap_err();
        assert_eq!(err, "failed");
        assert_eq!(
            std::fs::read_to_string(out.join("old.txt")).expect("old"),
            "old"
        );
        assert!(!out.join("new.txt").exists());
        let names: Vec<_> = std::fs::read_dir(root.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [OsString::from("out")]);
    }

    #[test]
    fn replace_dir_swaps_in_the_new_folder_and_keeps_foreign_entries() {
        let root = tempfile::tempdir().expect("temp dir");
        let out = root.path().join("out");
        std::fs::create_dir(&out).expect("mkdir");
        std::fs::write(out.join("stale.v"), "old").expect("write");
        std::fs::write(out.join("notes.txt"), "mine").expect("write");
        let owned = |_: &Path, name: &OsStr| name != "notes.txt";
        replace_dir(&out, &owned, |dir| {
            std::fs::write(dir.join("top.v"), "new").map_err(|e| e.to_string())
        })
        .expect("replace");
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [OsString::from("notes.txt"), OsString::from("top.v")]
        );
        assert_eq!(std::fs::read_dir(root.path()).expect("ls").count(), 1);
    }

    #[test]
    fn replace_dir_recovers_from_an_interrupt_between_the_renames() {
        let root = tempfile::tempdir().expect("temp dir");
        let out = root.path().join("out");
        // As left by a kill after `out` was moved aside and before the new one went in.
        let old = sibling(&out, "old");
        let new = sibling(&out, "new");
        std::fs::create_dir(&old).expect("mkdir");
        std::fs::write(old.join("a.v"), "old").expect("write");
        std::fs::create_dir(&new).expect("mkdir");
        recover(&out, &owns_all).expect("recover");
        assert_eq!(
            std::fs::read_to_string(out.join("a.v")).expect("a.v"),
            "old"
        );
        assert!(!old.exists() && !new.exists());
    }

    #[test]
    fn resolved_sees_through_dot_segments_and_symlinks() {
        let root = tempfile::tempdir().expect("temp dir");
        let file = root.path().join("c.toml");
        std::fs::write(&file, "").expect("write");
        let link = root.path().join("link.toml");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        let dotted = root.path().join(".").join("sub").join("..").join("c.toml");
        assert_eq!(resolved(&link), resolved(&file));
        assert_eq!(resolved(&dotted), resolved(&file));
        assert_eq!(
            resolved(&root.path().join("missing").join("x.json")),
            resolved(root.path()).join("missing").join("x.json")
        );
    }

    #[test]
    fn write_file_refuses_a_folder_and_leaves_no_temporary() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("d");
        std::fs::create_dir(&dir).expect("mkdir");
        let err = write_file(&dir, b"{}").unwrap_err();
        assert!(err.contains("is a folder"), "{err}");
        assert_eq!(std::fs::read_dir(root.path()).expect("ls").count(), 1);
    }
}
