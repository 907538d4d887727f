//! Option groups and helpers shared by the subcommands.

use std::path::{Path, PathBuf};

use golden_model::config::Config;
use golden_model::data::{self, Dataset, DatasetKind};

pub type CmdResult = Result<(), String>;

pub fn load_config(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

/// `LLS_DATA_DIR` or `./data`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("LLS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

pub fn load_dataset(kind: DatasetKind) -> Result<Dataset, String> {
    data::load(kind, &data_dir()).map_err(|e| e.to_string())
}

pub fn write_json(path: &Path, value: &impl serde::Serialize) -> CmdResult {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.tmp");
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&tmp, text + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
