//! rtl-gen: Verilog-2005 for the layer-local learning datapath, from the same config the
//! golden model trains with.
//!
//! Pipeline: [`Config`] → [`params::DesignParams`] (every width, derived once with the
//! golden model's bit-growth rules) → one typed [`verilog::Module`] per block
//! ([`blocks`]) → text through the one printer, plus `$readmemh` images written from the
//! golden model's own tables ([`mem`]) and a [`cycles`] model of the schedule.
#![deny(unsafe_code)]

pub mod blocks;
pub mod cycles;
pub mod fusesoc;
pub mod mem;
pub mod params;
pub mod verilog;

use std::collections::BTreeMap;
use std::path::Path;

use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;
use serde::Serialize;
use thiserror::Error;

use crate::params::DesignParams;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum GenError {
    #[error("{field}: {what}; {fix}")]
    Unsupported {
        field: String,
        what: String,
        fix: String,
    },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    /// A `$readmemh` image that cannot be read back (see [`mem::read_state_images`]).
    #[error("{path}: {problem}; {fix}")]
    Image {
        path: String,
        problem: String,
        fix: String,
    },
    /// One line of a `$readmemh` image is wrong.
    #[error("{path}: line {line}: {problem}; {fix}")]
    ImageLine {
        path: String,
        line: usize,
        problem: String,
        fix: String,
    },
}

/// What `lls gen` writes: Verilog, memory images and the manifest, by file name.
#[derive(Clone, Debug)]
pub struct Design {
    pub top: String,
    pub params: DesignParams,
    pub files: BTreeMap<String, String>,
    pub manifest: Manifest,
}

#[derive(Clone, Debug, Serialize)]
pub struct PortInfo {
    pub name: String,
    pub direction: String,
    pub width: u32,
    pub signed: bool,
}

/// One memory (`reg [w-1:0] name [0:words-1]`) as a generated module declares it.
#[derive(Clone, Debug, Serialize)]
pub struct MemoryInfo {
    /// The module that declares it; each generated module is instantiated once.
    pub module: String,
    pub name: String,
    pub words: u64,
    pub width: u32,
    pub bits: u64,
    /// The `$readmemh` image that initialises it, if any.
    pub image: Option<String>,
}

impl MemoryInfo {
    fn of(module: &verilog::Module, m: &verilog::Memory) -> MemoryInfo {
        let words = u64::from(m.depth());
        let width = m.elem_ty().width;
        MemoryInfo {
            module: module.name().to_string(),
            name: m.name().to_string(),
            words,
            width,
            bits: words * u64::from(width),
            image: m.init_hex_file().map(str::to_string),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub generator: String,
    pub config: String,
    pub config_sha256: String,
    pub top: String,
    pub learn: bool,
    pub files: Vec<String>,
    pub ports: Vec<PortInfo>,
    pub memories: Vec<MemoryInfo>,
    pub memory_bits: u64,
    /// MAC lanes of each hidden unit.
    pub mac_lanes: usize,
    /// MAC lanes (multipliers) of all units together, the classifier's included.
    pub mac_lanes_total: u64,
    pub macs_per_sample: u64,
    /// Lock step: one sample in flight (`cycles::CycleModel::sample_cycles`).
    pub cycles_per_sample: u64,
    /// Streaming: the steady-state period of samples back to back
    /// (`cycles::CycleModel::steady_cycles`).
    pub steady_cycles_per_sample: u64,
    pub ideal_cycles_per_sample: u64,
    /// Where the memory images' learned state comes from.
    pub state: StateSource,
    pub params: DesignParams,
}

/// Where a design's memory images take the learned state (weights, modulation, LFSR
/// states) from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum StateSource {
    /// The golden model's initial state for the config.
    Config,
    /// A checkpoint's: the sha256 of its file.
    Checkpoint { sha256: String },
}

/// sha256 of the config text, hex.
pub fn config_sha256(config_toml: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(config_toml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first 8 bytes of the config text's SHA-256: what the host link's `hello` reports,
/// and what the host compares with its own config's.
pub fn config_hash(config_toml: &str) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(config_toml.as_bytes());
    std::array::from_fn(|i| digest[i])
}

/// Module-name prefix from the config name (`digits-mlp` → `digits_mlp`).
pub fn prefix(cfg: &Config) -> String {
    let s = cfg.name.replace('-', "_");
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("lls_{s}")
    } else {
        s
    }
}

/// Builds the whole design. `config_toml` is the config's text, hashed into every header.
/// Its memory images hold the config's initial state.
pub fn generate(cfg: &Config, config_toml: &str, learn: bool) -> Result<Design, GenError> {
    // What rtl-gen refuses, it refuses before building the initial state.
    DesignParams::new(cfg, learn)?;
    generate_with_state(
        cfg,
        config_toml,
        learn,
        &FixedNet::new(cfg),
        StateSource::Config,
    )
}

/// [`generate`] with the learned state of `net` in the memory images (say, a checkpoint's,
/// named by `source`), so that the design starts from it.
pub fn generate_with_state(
    cfg: &Config,
    config_toml: &str,
    learn: bool,
    net: &FixedNet,
    source: StateSource,
) -> Result<Design, GenError> {
    let mut params = DesignParams::new(cfg, learn)?;
    mem::check_shapes(&params.layers, net, "the state")?;
    let prefix = prefix(cfg);
    for l in &mut params.layers {
        l.name = format!("{prefix}_{}", l.name);
    }
    let top = format!("{prefix}_top");
    let header = verilog::header_lines(&cfg.name, config_toml.as_bytes());
    let mut modules = vec![blocks::top::module(&params, &top, &header)];
    for l in &params.layers {
        modules.push(blocks::layer::module(&params, l, &header));
        if learn {
            modules.push(blocks::softmax::module(&params, l, &header));
        }
        if let Some(mp) = &l.modulation {
            modules.push(blocks::modulation::module(&params, l, mp, &header));
        }
    }
    let mut files = BTreeMap::new();
    for module in &modules {
        files.insert(module.file_name(), module.to_verilog());
    }
    // The memories the modules declare, so that the list cannot drift from the RTL.
    let memories: Vec<MemoryInfo> = modules
        .iter()
        .flat_map(|module| module.memories().map(|m| MemoryInfo::of(module, m)))
        .collect();
    // Memory images from the state and the golden model's tables.
    files.extend(mem::layer_state_images(&params.layers, net));
    for (l, layer) in params.layers.iter().zip(&net.layers) {
        if let Some(basis) = &layer.basis {
            files.insert(blocks::layer::basis_file(l), mem::basis_image(l, basis));
        }
    }
    if learn {
        files.insert(
            blocks::softmax::exp_rom_file().to_string(),
            mem::exp_image(&params),
        );
    }
    let core = fusesoc::core_file(&prefix, &top, &header, &files);
    files.insert(format!("{top}.core"), core);
    let ports = modules[0]
        .ports()
        .iter()
        .map(|p| PortInfo {
            name: p.name.clone(),
            direction: match p.dir {
                verilog::PortDir::Input => "input".to_string(),
                verilog::PortDir::Output => "output".to_string(),
            },
            width: p.ty.width,
            signed: p.ty.signed,
        })
        .collect();
    let cycles = cycles::CycleModel::new(&params);
    let manifest = Manifest {
        generator: format!("lls-rtl-gen {}", env!("CARGO_PKG_VERSION")),
        config: cfg.name.clone(),
        config_sha256: config_sha256(config_toml),
        top: top.clone(),
        learn,
        files: files
            .keys()
            .cloned()
            .chain(["manifest.json".to_string()])
            .collect(),
        ports,
        memory_bits: memories.iter().map(|m| m.bits).sum(),
        memories,
        mac_lanes: cfg.hardware.lanes,
        mac_lanes_total: cycles.total_lanes(),
        macs_per_sample: cycles.macs_per_sample(),
        cycles_per_sample: cycles.sample_cycles(),
        steady_cycles_per_sample: cycles.steady_cycles(),
        ideal_cycles_per_sample: cycles.ideal_cycles(),
        state: source,
        params: params.clone(),
    };
    Ok(Design {
        top,
        params,
        files,
        manifest,
    })
}

impl Design {
    /// Writes every file (and manifest.json) into `dir`, each through a temp file + rename.
    pub fn write(&self, dir: &Path) -> Result<(), GenError> {
        let io = |path: &Path, e: std::io::Error| GenError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let manifest =
            serde_json::to_string_pretty(&self.manifest).expect("manifest serialises") + "\n";
        for (name, text) in self
            .files
            .iter()
            .chain([(&"manifest.json".to_string(), &manifest)])
        {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        }
        Ok(())
    }
}
