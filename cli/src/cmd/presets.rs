//! `lls presets`: the configs in `configs/` with their name, data set, shape, target and
//! lanes, so a preset can be picked without opening the TOML files.

use std::path::{Path, PathBuf};

use golden_model::config::Config;
use serde::Serialize;

use super::opts::{check_output_file, check_output_not_input, write_json, CmdResult};

#[derive(clap::Args)]
#[command(after_help = "Examples:
  lls presets
  lls presets --dir rtl-gen/tests/configs
  lls presets --json build/presets.json")]
pub struct Args {
    /// Folder of config TOML files.
    #[arg(long, default_value = "configs")]
    pub dir: PathBuf,
    /// Also write the list as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Serialize)]
struct Preset {
    file: String,
    name: String,
    description: String,
    dataset: String,
    /// Layer widths from input to classes, `64-32-10`.
    shape: String,
    rule: String,
    target: String,
    lanes: usize,
}

impl Preset {
    fn new(path: &Path, cfg: &Config) -> Preset {
        // Convolutional blocks show as c<channels>.
        let n = &cfg.network;
        let mut widths = vec![n.inputs.to_string()];
        widths.extend(n.conv.iter().map(|c| format!("c{}", c.channels)));
        widths.extend(n.hidden.iter().map(usize::to_string));
        widths.push(n.classes.to_string());
        Preset {
            file: path.display().to_string(),
            name: cfg.name.clone(),
            description: cfg.description.clone(),
            dataset: cfg.data.dataset.name().to_string(),
            shape: widths.join("-"),
            rule: cfg.learning.rule.name().to_string(),
            target: cfg.hardware.target.name().to_string(),
            lanes: cfg.hardware.lanes,
        }
    }
}

/// `*.toml` in `dir`, sorted by file name.
fn config_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "{}: cannot list presets: {e}; run from the repository root or pass --dir",
            dir.display()
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

pub fn run(args: Args) -> CmdResult {
    let files = config_files(&args.dir)?;
    if let Some(json) = &args.json {
        check_output_file("--json", json)?;
        let inputs: Vec<(&str, &Path)> = files.iter().map(|f| ("--dir", f.as_path())).collect();
        check_output_not_input(&inputs, &[("--json", json)])?;
    }
    if files.is_empty() {
        return Err(format!(
            "{}: no *.toml configs; run from the repository root or pass --dir",
            args.dir.display()
        ));
    }
    let mut presets = Vec::new();
    let mut broken = Vec::new();
    for path in &files {
        match Config::load(path) {
            Ok(cfg) => presets.push(Preset::new(path, &cfg)),
            Err(e) => broken.push(e.to_string()),
        }
    }
    let columns = [
        "name",
        "dataset",
        "shape",
        "rule",
        "target",
        "lanes",
        "description",
    ];
    let rows: Vec<[String; 7]> = presets
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.dataset.clone(),
                p.shape.clone(),
                p.rule.clone(),
                p.target.clone(),
                p.lanes.to_string(),
                p.description.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([columns[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&columns);
    for r in &rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    if let Some(path) = &args.json {
        write_json(path, &presets)?;
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} configs do not load:\n  {}",
            broken.len(),
            files.len(),
            broken.join("\n  ")
        ))
    }
}
