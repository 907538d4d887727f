//! Checkpoints: the whole training state of a [`FixedNet`] in one versioned, checksummed
//! file, so training can stop and resume bit for bit.
//!
//! The state is what `FixedNet::train_step` reads and writes: every layer's weights
//! (row-major `outputs × inputs`, raw Q·weight_frac), the LLS-M/MxM modulation (raw
//! Q·mod_frac), each MAC lane's LFSR state, and the MAC counters; plus where the training
//! loop stood ([`Progress`]) and which config it belongs to (name and sha256 of the TOML
//! text). The basis, the exp table and the formats are not stored: they follow from the
//! config, which must be passed again to [`Checkpoint::restore`].
//!
//! File format (version [`VERSION`]), one JSON object on one line:
//! ```text
//! {"format":"lls-checkpoint","version":1,"sha256":"<64 hex>","payload":{…}}
//! ```
//! `sha256` covers the payload in canonical form: compact JSON with every object's keys
//! sorted, which is also how the writer lays it out. A reader re-canonicalises what it
//! parsed, so a change to any value (a flipped digit, a cut-off array) fails the checksum,
//! while the envelope is checked first so that a file from another version says so instead
//! of failing on its payload.
//!
//! Loading never panics and never applies part of a file: [`Checkpoint::load`] checks the
//! envelope, the checksum and the payload's schema; [`Checkpoint::apply`] checks the config,
//! every shape and every value range before it changes the net. Each [`CheckpointError`]
//! names the file, the problem and the fix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::cost::MacCount;
use crate::spec::fixed::{FixedNet, Modulation};
use crate::spec::numeric::Lfsr;

/// The `format` tag every checkpoint starts with.
pub const FORMAT: &str = "lls-checkpoint";
/// The payload layout this build writes and reads.
pub const VERSION: u64 = 1;

/// Why a checkpoint cannot be read, written or applied. Every message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error(
        "{}: cannot read checkpoint: {source}; check the path (`lls train --save` and \
         `lls weights import` write checkpoints)",
        .path.display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{}: cannot write checkpoint: {source}; check that the folder exists and is writable",
        .path.display()
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The JSON ends before the checkpoint does (an interrupted copy or a full disk).
    #[error(
        "{}: truncated at line {line}, column {column}: the file ends inside the checkpoint; \
         restore a complete copy or save it again",
        .path.display()
    )]
    Truncated {
        path: PathBuf,
        line: usize,
        column: usize,
    },

    /// Not JSON, or JSON without the checkpoint envelope.
    #[error(
        "{}: not an lls checkpoint: {reason}; pass a file written by `lls train --save` or \
         `lls weights import`",
        .path.display()
    )]
    NotCheckpoint { path: PathBuf, reason: String },

    #[error(
        "{}: checkpoint format version {found} is not supported (this lls reads version \
         {supported}); load it with the lls that wrote it, or train again",
        .path.display()
    )]
    Version {
        path: PathBuf,
        found: String,
        supported: u64,
    },

    #[error(
        "{}: checksum mismatch: the payload hashes to sha256:{actual} but the file records \
         sha256:{recorded}; the file is corrupt or was edited, restore a good copy or save it \
         again",
        .path.display()
    )]
    Checksum {
        path: PathBuf,
        recorded: String,
        actual: String,
    },

    /// The checksum holds but the payload does not have this version's schema.
    #[error(
        "{}: payload does not match checkpoint version {VERSION}: {reason}; the file was \
         written by another tool, save it again with `lls train --save`",
        .path.display()
    )]
    Payload { path: PathBuf, reason: String },

    #[error(
        "{}: saved for config \"{found}\", not \"{expected}\"; pass the config it was saved \
         with (--config)",
        .path.display()
    )]
    ConfigName {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error(
        "{}: saved for config \"{name}\" with sha256:{found}, but the config given has \
         sha256:{expected}; the config changed since: pass the original config, or accept \
         the change explicitly (ConfigMatch::SameName, `--allow-config-change`)",
        .path.display()
    )]
    ConfigChanged {
        path: PathBuf,
        name: String,
        found: String,
        expected: String,
    },

    /// A count in the file disagrees with the network the config builds.
    #[error(
        "{}: {field}: the checkpoint has {found}, the config needs {expected}; the \
         checkpoint is for another network, pass the config it was saved with",
        .path.display()
    )]
    Shape {
        path: PathBuf,
        field: String,
        expected: String,
        found: String,
    },

    /// Where the training stood (`progress`) or a counter does not fit the checkpoint's
    /// own counts or the run resuming from it.
    #[error("{}: {problem}; {fix}", .path.display())]
    Progress {
        path: PathBuf,
        problem: String,
        fix: String,
    },

    /// A value that the config's formats cannot hold.
    #[error(
        "{}: {field} = {value} is outside {min}..={max} ({what}); the checkpoint is corrupt \
         or for other formats, pass the config it was saved with",
        .path.display()
    )]
    Range {
        path: PathBuf,
        field: String,
        value: i64,
        min: i64,
        max: i64,
        what: String,
    },
}

/// Where the training loop stood when the state was captured.
///
/// `samples` counts training steps since the start; at an epoch boundary it is
/// `epoch × train_len`. A loop that resumes mid-epoch replays the epoch's shuffle and skips
/// `samples − epoch × train_len` samples. `lls train` saves and resumes at epoch
/// boundaries only, so a checkpoint it resumes from must have exactly
/// `epoch × train_len` samples ([`Progress::check_resume`]).
///
/// Every file is held to what any training could have reached: each completed epoch saw at
/// least one sample (`samples ≥ epoch`), and no count exceeds [`MAX_COUNT`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: u64,
    /// Training samples seen in total.
    pub samples: u64,
}

/// The largest count (`progress.epoch`, `progress.samples`, each MAC counter) a checkpoint
/// may carry: 2^53, the largest integer every JSON reader holds exactly. A run of a
/// billion samples a second reaches it after more than 100 days.
pub const MAX_COUNT: u64 = 1 << 53;

impl Progress {
    /// Checks that a run training to `epochs` epochs over `train_len` samples an epoch can
    /// resume from here: the checkpoint's epoch is not beyond the run's (training on would
    /// train nothing and save later weights under an earlier epoch), and its samples are
    /// `epoch × train_len` (a different count means another data set, another `--limit`,
    /// or a checkpoint taken inside an epoch, none of which replays the same order).
    ///
    /// ```
    /// use golden_model::checkpoint::Progress;
    /// let done = Progress { epoch: 2, samples: 200 };
    /// assert!(done.check_resume(100, 3, "ck.json".as_ref()).is_ok());
    /// let err = done.check_resume(100, 1, "ck.json".as_ref()).unwrap_err().to_string();
    /// assert!(err.starts_with("ck.json: progress.epoch = 2 is beyond the 1 epochs"));
    /// let err = done.check_resume(50, 3, "ck.json".as_ref()).unwrap_err().to_string();
    /// assert!(err.starts_with("ck.json: progress.samples = 200 but 2 epochs of 50"));
    /// ```
    pub fn check_resume(
        &self,
        train_len: usize,
        epochs: usize,
        path: &Path,
    ) -> Result<(), CheckpointError> {
        self.check_epochs(epochs, path)?;
        let expected = (train_len as u64).checked_mul(self.epoch);
        if expected != Some(self.samples) {
            return Err(CheckpointError::Progress {
                path: path.to_path_buf(),
                problem: format!(
                    "progress.samples = {} but {} epochs of {train_len} training samples are \
                     {}",
                    self.samples,
                    self.epoch,
                    expected.map_or("more than 2^64".to_string(), |n| n.to_string())
                ),
                fix: "resume with the data set and --limit the checkpoint was trained with \
                      (`lls train` saves at the end of an epoch)"
                    .to_string(),
            });
        }
        Ok(())
    }

    /// Checks that a run training to `epochs` epochs can resume from here (see
    /// [`Progress::check_resume`]).
    pub fn check_epochs(&self, epochs: usize, path: &Path) -> Result<(), CheckpointError> {
        if self.epoch > epochs as u64 {
            return Err(CheckpointError::Progress {
                path: path.to_path_buf(),
                problem: format!(
                    "progress.epoch = {} is beyond the {epochs} epochs this run trains to \
                     (learning.epochs, or --epochs); resuming would train nothing and save \
                     the checkpoint's weights under epoch {epochs}",
                    self.epoch
                ),
                fix: format!(
                    "resume with --epochs {} or more (the total), or from a checkpoint of an \
                     earlier epoch",
                    self.epoch
                ),
            });
        }
        Ok(())
    }
}

/// A layer's learnable modulation as stored (see [`Modulation`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModulationState {
    None,
    Vector(Vec<i64>),
    Matrix(Vec<i64>),
}

/// One layer's mutable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerState {
    pub inputs: usize,
    pub outputs: usize,
    /// Row-major `outputs × inputs`, raw Q·weight_frac.
    pub weights: Vec<i32>,
    pub modulation: ModulationState,
    /// One state per MAC lane.
    pub lfsr: Vec<u32>,
}

/// MAC counters (see [`MacCount`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Macs {
    pub forward: u64,
    pub learning: u64,
    pub update: u64,
}

/// The payload: everything needed to resume, bound to one config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub config_name: String,
    /// sha256 of the config's TOML text, hex.
    pub config_sha256: String,
    pub progress: Progress,
    pub macs: Macs,
    pub layers: Vec<LayerState>,
}

/// How closely the config given on restore must match the one saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigMatch {
    /// Same name and same TOML text (sha256): the default.
    Exact,
    /// Same name; the text may differ (say, more epochs). Shapes and ranges are still checked.
    SameName,
}

/// sha256 of `text`, lower-case hex.
///
/// ```
/// assert_eq!(
///     &golden_model::checkpoint::sha256_hex(b"abc")[..16],
///     "ba7816bf8f01cfea"
/// );
/// ```
pub fn sha256_hex(text: &[u8]) -> String {
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compact JSON with object keys sorted at every level: the checksummed form.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn canonical_text(value: &Value) -> String {
    let mut out = String::new();
    canonical(value, &mut out);
    out
}

impl From<ModulationState> for Modulation {
    fn from(m: ModulationState) -> Modulation {
        match m {
            ModulationState::None => Modulation::None,
            ModulationState::Vector(v) => Modulation::Vector(v),
            ModulationState::Matrix(v) => Modulation::Matrix(v),
        }
    }
}

impl From<&Modulation> for ModulationState {
    fn from(m: &Modulation) -> ModulationState {
        match m {
            Modulation::None => ModulationState::None,
            Modulation::Vector(v) => ModulationState::Vector(v.clone()),
            Modulation::Matrix(v) => ModulationState::Matrix(v.clone()),
        }
    }
}

fn kind(m: &ModulationState) -> &'static str {
    match m {
        ModulationState::None => "no modulation",
        ModulationState::Vector(_) => "a modulation vector (lls-m)",
        ModulationState::Matrix(_) => "a modulation matrix (lls-mxm)",
    }
}

impl Checkpoint {
    /// The state of `net`, trained with `cfg` (whose file text is `config_toml`).
    ///
    /// ```
    /// use golden_model::checkpoint::{Checkpoint, Progress};
    /// use golden_model::{config::Config, spec::fixed::FixedNet};
    /// let text = include_str!("../../configs/digits-mlp.toml");
    /// let cfg = Config::from_toml_str(text, "digits-mlp.toml").unwrap();
    /// let ck = Checkpoint::capture(&FixedNet::new(&cfg), &cfg, text, Progress::default());
    /// assert_eq!(ck.layers[0].weights.len(), 64 * 32);
    /// ```
    pub fn capture(
        net: &FixedNet,
        cfg: &Config,
        config_toml: &str,
        progress: Progress,
    ) -> Checkpoint {
        Checkpoint {
            config_name: cfg.name.clone(),
            config_sha256: sha256_hex(config_toml.as_bytes()),
            progress,
            macs: Macs {
                forward: net.macs.forward,
                learning: net.macs.learning,
                update: net.macs.update,
            },
            layers: net
                .layers
                .iter()
                .map(|l| LayerState {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weights: l.weights(),
                    modulation: (&l.modulation).into(),
                    lfsr: l.lfsr.iter().map(|s| s.0).collect(),
                })
                .collect(),
        }
    }

    /// The file text: the envelope with the canonical payload, one line.
    ///
    /// ```
    /// # use golden_model::checkpoint::*;
    /// # use golden_model::{config::Config, spec::fixed::FixedNet};
    /// # let text = include_str!("../../configs/digits-mlp.toml");
    /// # let cfg = Config::from_toml_str(text, "x").unwrap();
    /// let ck = Checkpoint::capture(&FixedNet::new(&cfg), &cfg, text, Progress::default());
    /// let json = ck.to_json();
    /// assert!(json.starts_with(r#"{"format":"lls-checkpoint","version":1,"sha256":""#));
    /// assert_eq!(Checkpoint::from_json(json.as_bytes(), "ck.json".as_ref()).unwrap(), ck);
    /// ```
    pub fn to_json(&self) -> String {
        let payload = canonical_text(&serde_json::to_value(self).expect("payload serialises"));
        format!(
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"sha256\":\"{}\",\"payload\":{payload}}}\n",
            sha256_hex(payload.as_bytes())
        )
    }

    /// Parses file contents; `path` is only used in error messages.
    ///
    /// ```
    /// use golden_model::checkpoint::{Checkpoint, CheckpointError};
    /// let err = Checkpoint::from_json(b"{\"format\":\"lls-checkpoint\"", "ck.json".as_ref())
    ///     .unwrap_err();
    /// assert!(matches!(err, CheckpointError::Truncated { .. }));
    /// assert!(err.to_string().starts_with("ck.json: truncated at line 1"));
    /// ```
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Checkpoint, CheckpointError> {
        let path_buf = || path.to_path_buf();
        let not_checkpoint = |reason: String| CheckpointError::NotCheckpoint {
            path: path_buf(),
            reason,
        };
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                CheckpointError::Truncated {
                    path: path_buf(),
                    line: e.line(),
                    column: e.column(),
                }
            } else {
                not_checkpoint(format!("invalid JSON: {e}"))
            }
        })?;
        let Value::Object(mut envelope) = doc else {
            return Err(not_checkpoint("the file is not a JSON object".into()));
        };
        match envelope.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(other) => {
                return Err(not_checkpoint(format!(
                    "`format` is {other}, expected \"{FORMAT}\""
                )))
            }
            None => return Err(not_checkpoint("no `format` field".into())),
        }
        match envelope.get("version") {
            Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
            Some(other) => {
                return Err(CheckpointError::Version {
                    path: path_buf(),
                    found: other.to_string(),
                    supported: VERSION,
                })
            }
            None => return Err(not_checkpoint("no `version` field".into())),
        }
        let mut keys: Vec<&str> = envelope.keys().map(String::as_str).collect();
        keys.sort_unstable();
        if keys != ["format", "payload", "sha256", "version"] {
            return Err(not_checkpoint(format!(
                "envelope fields are [{}], expected [format, payload, sha256, version]",
                keys.join(", ")
            )));
        }
        let recorded = match envelope.remove("sha256") {
            Some(Value::String(s)) => s,
            other => {
                return Err(not_checkpoint(format!(
                    "`sha256` is {}, not a string",
                    other.unwrap_or(Value::Null)
                )))
            }
        };
        let payload = envelope.remove("payload").unwrap_or(Value::Null);
        let actual = sha256_hex(canonical_text(&payload).as_bytes());
        if actual != recorded {
            return Err(CheckpointError::Checksum {
                path: path_buf(),
                recorded: recorded.chars().take(64).collect(),
                actual,
            });
        }
        let ck: Checkpoint =
            serde_json::from_value(payload).map_err(|e| CheckpointError::Payload {
                path: path_buf(),
                reason: e.to_string(),
            })?;
        ck.check_self_consistent(path)?;
        Ok(ck)
    }

    /// Shapes that hold whatever the config: counts and the chain of layers.
    fn check_self_consistent(&self, path: &Path) -> Result<(), CheckpointError> {
        let payload = |reason: String| CheckpointError::Payload {
            path: path.to_path_buf(),
            reason,
        };
        if self.layers.is_empty() {
            return Err(payload("`layers` is empty".into()));
        }
        let progress = |problem: String| CheckpointError::Progress {
            path: path.to_path_buf(),
            problem,
            fix: "the file was edited or written by another tool; restore a good copy or \
                  save it again with `lls train --save`"
                .to_string(),
        };
        let Progress { epoch, samples } = self.progress;
        for (field, value) in [
            ("progress.epoch", epoch),
            ("progress.samples", samples),
            ("macs.forward", self.macs.forward),
            ("macs.learning", self.macs.learning),
            ("macs.update", self.macs.update),
        ] {
            if value > MAX_COUNT {
                return Err(progress(format!(
                    "{field} = {value} is beyond any training run (at most 2^53 = \
                     {MAX_COUNT})"
                )));
            }
        }
        if samples < epoch {
            return Err(progress(format!(
                "progress.samples = {samples} is fewer than progress.epoch = {epoch}, but \
                 every completed epoch trains at least one sample"
            )));
        }
        for (k, l) in self.layers.iter().enumerate() {
            let want = l.inputs.checked_mul(l.outputs);
            if want != Some(l.weights.len()) {
                return Err(payload(format!(
                    "layers[{k}].weights has {} values, but inputs × outputs = {} × {}",
                    l.weights.len(),
                    l.inputs,
                    l.outputs
                )));
            }
            if k > 0 && l.inputs != self.layers[k - 1].outputs {
                return Err(payload(format!(
                    "layers[{k}].inputs = {} but layers[{}].outputs = {}",
                    l.inputs,
                    k - 1,
                    self.layers[k - 1].outputs
                )));
            }
        }
        Ok(())
    }

    /// Reads and checks a checkpoint file (envelope, version, checksum, schema). The config
    /// is checked later, by [`Checkpoint::restore`] or [`Checkpoint::apply`].
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Checkpoint::from_json(&bytes, path)
    }

    /// Writes the checkpoint through a temporary file and a rename, so a reader never sees
    /// half a file.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".to_string());
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        let write = |p: &Path, source| CheckpointError::Write {
            path: p.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, self.to_json()).map_err(|e| write(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            write(path, e)
        })
    }

    /// Checks that this checkpoint belongs to `cfg` (see [`ConfigMatch`]).
    pub fn check_config(
        &self,
        cfg: &Config,
        config_toml: &str,
        matching: ConfigMatch,
        path: &Path,
    ) -> Result<(), CheckpointError> {
        if self.config_name != cfg.name {
            return Err(CheckpointError::ConfigName {
                path: path.to_path_buf(),
                found: self.config_name.clone(),
                expected: cfg.name.clone(),
            });
        }
        let expected = sha256_hex(config_toml.as_bytes());
        if matching == ConfigMatch::Exact && self.config_sha256 != expected {
            return Err(CheckpointError::ConfigChanged {
                path: path.to_path_buf(),
                name: cfg.name.clone(),
                found: self.config_sha256.chars().take(16).collect(),
                expected: expected[..16].to_string(),
            });
        }
        Ok(())
    }

    /// A net built from `cfg` with this state; checks the config, every shape and every
    /// value first. `path` names the checkpoint in errors.
    ///
    /// ```
    /// use golden_model::checkpoint::{Checkpoint, ConfigMatch, Progress};
    /// use golden_model::{config::Config, spec::fixed::FixedNet};
    /// let text = include_str!("../../configs/digits-mlp.toml");
    /// let cfg = Config::from_toml_str(text, "digits-mlp.toml").unwrap();
    /// let mut net = FixedNet::new(&cfg);
    /// net.train_step(&[3; 64], 7);
    /// let ck = Checkpoint::capture(&net, &cfg, text, Progress { epoch: 0, samples: 1 });
    /// let back = ck.restore(&cfg, text, ConfigMatch::Exact, "ck.json".as_ref()).unwrap();
    /// assert_eq!(back.layers[1].weights(), net.layers[1].weights());
    ///
    /// let other = text.replace("seed = 1", "seed = 2");
    /// let err = ck.restore(&cfg, &other, ConfigMatch::Exact, "ck.json".as_ref()).unwrap_err();
    /// assert!(err.to_string().contains("the config changed since"));
    /// ```
    pub fn restore(
        &self,
        cfg: &Config,
        config_toml: &str,
        matching: ConfigMatch,
        path: &Path,
    ) -> Result<FixedNet, CheckpointError> {
        self.check_config(cfg, config_toml, matching, path)?;
        let mut net = FixedNet::new(cfg);
        self.apply(&mut net, path)?;
        Ok(net)
    }

    /// Overwrites `net`'s state with this checkpoint's, after checking that every shape and
    /// value fits `net` (nothing changes on error). Does not check the config's identity:
    /// see [`Checkpoint::check_config`].
    pub fn apply(&self, net: &mut FixedNet, path: &Path) -> Result<(), CheckpointError> {
        let shape = |field: String, expected: String, found: String| CheckpointError::Shape {
            path: path.to_path_buf(),
            field,
            expected,
            found,
        };
        let range =
            |field: String, value: i64, min: i64, max: i64, what: &str| CheckpointError::Range {
                path: path.to_path_buf(),
                field,
                value,
                min,
                max,
                what: what.to_string(),
            };
        if self.layers.len() != net.layers.len() {
            return Err(shape(
                "layers".into(),
                format!("{} layers", net.layers.len()),
                format!("{} layers", self.layers.len()),
            ));
        }
        let (wfmt, mfmt) = (net.dp.weight, net.dp.modulation);
        for (k, (saved, layer)) in self.layers.iter().zip(&net.layers).enumerate() {
            if (saved.inputs, saved.outputs) != (layer.inputs, layer.outputs) {
                return Err(shape(
                    format!("layers[{k}]"),
                    format!("{} → {}", layer.inputs, layer.outputs),
                    format!("{} → {}", saved.inputs, saved.outputs),
                ));
            }
            // Weight counts were checked against inputs × outputs on load; a checkpoint built
            // in memory is checked here.
            if saved.weights.len() != layer.inputs * layer.outputs {
                return Err(shape(
                    format!("layers[{k}].weights"),
                    format!("{} values", layer.inputs * layer.outputs),
                    format!("{} values", saved.weights.len()),
                ));
            }
            if let Some((n, &w)) = saved
                .weights
                .iter()
                .enumerate()
                .find(|(_, &w)| !wfmt.contains(w as i64))
            {
                return Err(range(
                    format!("layers[{k}].weights[{n}]"),
                    w as i64,
                    wfmt.min(),
                    wfmt.max(),
                    &format!("fixed.weight_bits = {}", wfmt.bits),
                ));
            }
            let want = ModulationState::from(&layer.modulation);
            let (found_values, want_len) = match (&saved.modulation, &want) {
                (ModulationState::None, ModulationState::None) => (&[][..], 0),
                (ModulationState::Vector(v), ModulationState::Vector(w))
                | (ModulationState::Matrix(v), ModulationState::Matrix(w)) => (&v[..], w.len()),
                _ => {
                    return Err(shape(
                        format!("layers[{k}].modulation"),
                        kind(&want).to_string(),
                        kind(&saved.modulation).to_string(),
                    ))
                }
            };
            if found_values.len() != want_len {
                return Err(shape(
                    format!("layers[{k}].modulation"),
                    format!("{want_len} values"),
                    format!("{} values", found_values.len()),
                ));
            }
            if let Some((n, &m)) = found_values
                .iter()
                .enumerate()
                .find(|(_, &m)| !mfmt.contains(m))
            {
                return Err(range(
                    format!("layers[{k}].modulation[{n}]"),
                    m,
                    mfmt.min(),
                    mfmt.max(),
                    &format!("fixed.mod_bits = {}", mfmt.bits),
                ));
            }
            if saved.lfsr.len() != layer.lfsr.len() {
                return Err(shape(
                    format!("layers[{k}].lfsr"),
                    format!("{} states (hardware.lanes)", layer.lfsr.len()),
                    format!("{} states", saved.lfsr.len()),
                ));
            }
            if let Some(n) = saved.lfsr.iter().position(|&s| s == 0) {
                return Err(range(
                    format!("layers[{k}].lfsr[{n}]"),
                    0,
                    1,
                    u32::MAX as i64,
                    "an LFSR state of 0 never changes",
                ));
            }
        }
        // Everything checked: apply.
        for (saved, layer) in self.layers.iter().zip(&mut net.layers) {
            layer.set_weights(&saved.weights);
            layer.modulation = saved.modulation.clone().into();
            layer.lfsr = saved.lfsr.iter().map(|&s| Lfsr(s)).collect();
        }
        net.macs = MacCount {
            forward: self.macs.forward,
            learning: self.macs.learning,
            update: self.macs.update,
        };
        // The learning-rate schedule goes on from the samples trained.
        net.trained = self.progress.samples;
        Ok(())
    }
}

/// Saves `net`'s state to `path` (see [`Checkpoint::capture`], [`Checkpoint::save`]).
pub fn save(
    path: &Path,
    net: &FixedNet,
    cfg: &Config,
    config_toml: &str,
    progress: Progress,
) -> Result<(), CheckpointError> {
    Checkpoint::capture(net, cfg, config_toml, progress).save(path)
}

/// Loads `path` into a net built from `cfg` to train on up to `cfg.learning.epochs`,
/// requiring the exact config text it was saved with (see [`Checkpoint::restore`]) and a
/// checkpoint epoch not beyond the run's (see [`Progress::check_epochs`]; [`resume`] also
/// checks the samples against the data).
pub fn load(
    path: &Path,
    cfg: &Config,
    config_toml: &str,
) -> Result<(FixedNet, Progress), CheckpointError> {
    let ck = Checkpoint::load(path)?;
    ck.progress.check_epochs(cfg.learning.epochs, path)?;
    let net = ck.restore(cfg, config_toml, ConfigMatch::Exact, path)?;
    Ok((net, ck.progress))
}

/// [`load`] for a run over `train_len` samples an epoch, the config matched as `matching`
/// says: also checks that the checkpoint was taken at the end of an epoch of the same
/// data (see [`Progress::check_resume`]).
pub fn resume(
    path: &Path,
    cfg: &Config,
    config_toml: &str,
    train_len: usize,
    matching: ConfigMatch,
) -> Result<(FixedNet, Progress), CheckpointError> {
    let ck = Checkpoint::load(path)?;
    ck.progress
        .check_resume(train_len, cfg.learning.epochs, path)?;
    let net = ck.restore(cfg, config_toml, matching, path)?;
    Ok((net, ck.progress))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{trained, trained_checkpoint};

    const DIGITS: &str = include_str!("../../configs/digits-mlp.toml");

    fn cfg(text: &str) -> Config {
        Config::from_toml_str(text, "test.toml").expect("config")
    }

    fn p() -> &'static Path {
        Path::new("ck.json")
    }

    /// Training on from a restored net gives exactly what training on would have given.
    #[test]
    fn resume_is_bit_exact_for_every_rule() {
        for (rule, rounding) in [
            ("lls", "half-up"),
            ("lls-m", "stochastic"),
            ("lls-mxm", "floor"),
            ("bp", "half-up"),
        ] {
            let text = DIGITS
                .replace("rule = \"lls\"", &format!("rule = \"{rule}\""))
                .replace(
                    "update_rounding = \"half-up\"",
                    &format!("update_rounding = \"{rounding}\""),
                );
            let (cfg, mut net, _, json) = trained_checkpoint(&text, 5);
            let mut back = Checkpoint::from_json(json.as_bytes(), p())
                .and_then(|c| c.restore(&cfg, &text, ConfigMatch::Exact, p()))
                .unwrap_or_else(|e| panic!("{rule}: {e}"));
            for s in 0..5 {
                let pixels = [(s * 5 % 17) as u8; 64];
                let a = net.train_step(&pixels, s);
                let b = back.train_step(&pixels, s);
                assert_eq!(a.prediction, b.prediction, "{rule}");
            }
            for (a, b) in net.layers.iter().zip(&back.layers) {
                assert_eq!(a.weights(), b.weights(), "{rule}");
                assert_eq!(a.modulation, b.modulation, "{rule}");
                assert_eq!(
                    a.lfsr.iter().map(|l| l.0).collect::<Vec<_>>(),
                    b.lfsr.iter().map(|l| l.0).collect::<Vec<_>>()
                );
            }
            assert_eq!(net.macs, back.macs);
        }
    }

    #[test]
    fn save_and_load_through_a_file() {
        let (cfg, net) = trained(DIGITS, 3);
        let dir = std::env::temp_dir().join(format!("lls-ck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("digits.ckpt.json");
        save(
            &path,
            &net,
            &cfg,
            DIGITS,
            Progress {
                epoch: 1,
                samples: 3,
            },
        )
        .unwrap();
        let (back, progress) = load(&path, &cfg, DIGITS).unwrap();
        assert_eq!(
            progress,
            Progress {
                epoch: 1,
                samples: 3
            }
        );
        assert_eq!(back.layers[0].weights(), net.layers[0].weights());
        assert!(!dir.join(".digits.ckpt.json.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_it() {
        let err = Checkpoint::load(Path::new("/nonexistent/x.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/x.json: cannot read checkpoint: "),
            "{err}"
        );
    }

    fn json() -> (Config, String) {
        let (cfg, _, _, json) = trained_checkpoint(DIGITS, 2);
        (cfg, json)
    }

    fn error(bytes: &[u8]) -> String {
        Checkpoint::from_json(bytes, p()).unwrap_err().to_string()
    }

    #[test]
    fn truncated() {
        let (_, json) = json();
        let cut = &json.as_bytes()[..json.len() / 2];
        let err = error(cut);
        assert!(
            err.starts_with("ck.json: truncated at line 1, column "),
            "{err}"
        );
        assert!(
            err.ends_with("restore a complete copy or save it again"),
            "{err}"
        );
    }

    #[test]
    fn not_json() {
        assert_eq!(
            error(b"# a config?\n"),
            "ck.json: not an lls checkpoint: invalid JSON: expected value at line 1 column 1; \
             pass a file written by `lls train --save` or `lls weights import`"
        );
        assert_eq!(
            error(b"{\"format\":\"lls-trace\"}"),
            "ck.json: not an lls checkpoint: `format` is \"lls-trace\", expected \
             \"lls-checkpoint\"; pass a file written by `lls train --save` or `lls weights \
             import`"
        );
    }

    #[test]
    fn wrong_version() {
        let (_, json) = json();
        let v2 = json.replacen("\"version\":1", "\"version\":2", 1);
        assert_eq!(
            error(v2.as_bytes()),
            "ck.json: checkpoint format version 2 is not supported (this lls reads version 1); \
             load it with the lls that wrote it, or train again"
        );
    }

    #[test]
    fn edited_value_fails_the_checksum() {
        let (_, json) = json();
        let at = json.find("\"weights\":[").unwrap() + "\"weights\":[".len();
        let mut bytes = json.into_bytes();
        // A digit → another digit keeps the JSON valid and changes a weight.
        let d = (at..bytes.len())
            .find(|&i| bytes[i].is_ascii_digit())
            .unwrap();
        bytes[d] = if bytes[d] == b'1' { b'2' } else { b'1' };
        let err = error(&bytes);
        assert!(err.starts_with("ck.json: checksum mismatch: the payload hashes to sha256:"));
        assert!(
            err.ends_with("restore a good copy or save it again"),
            "{err}"
        );
    }

    #[test]
    fn payload_of_another_schema() {
        // A well-checksummed payload that is not this version's schema.
        let payload = r#"{"layers":[]}"#;
        let text = format!(
            "{{\"format\":\"lls-checkpoint\",\"version\":1,\"sha256\":\"{}\",\"payload\":{payload}}}",
            sha256_hex(payload.as_bytes())
        );
        let err = error(text.as_bytes());
        assert!(
            err.starts_with(
                "ck.json: payload does not match checkpoint version 1: missing field `config_name`"
            ),
            "{err}"
        );
    }

    #[test]
    fn wrong_config_name_and_text() {
        let (cfg, json) = json();
        let ck = Checkpoint::from_json(json.as_bytes(), p()).unwrap();
        let mut other = cfg.clone();
        other.name = "mnist-mlp".into();
        assert_eq!(
            ck.restore(&other, DIGITS, ConfigMatch::Exact, p())
                .unwrap_err()
                .to_string(),
            "ck.json: saved for config \"digits-mlp\", not \"mnist-mlp\"; pass the config it was \
             saved with (--config)"
        );
        let edited = DIGITS.replace("epochs = 20", "epochs = 30");
        let err = ck
            .restore(&cfg, &edited, ConfigMatch::Exact, p())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("ck.json: saved for config \"digits-mlp\" with sha256:"),
            "{err}"
        );
        assert!(ck
            .restore(&cfg, &edited, ConfigMatch::SameName, p())
            .is_ok());
    }

    #[test]
    fn wrong_shape_and_range() {
        let (_, json) = json();
        let ck = Checkpoint::from_json(json.as_bytes(), p()).unwrap();
        let wide = cfg(&DIGITS.replace("hidden = [32]", "hidden = [16]"));
        assert_eq!(
            ck.restore(&wide, DIGITS, ConfigMatch::SameName, p())
                .unwrap_err()
                .to_string(),
            "ck.json: layers[0]: the checkpoint has 64 → 32, the config needs 64 → 16; the \
             checkpoint is for another network, pass the config it was saved with"
        );
        let lanes = cfg(&DIGITS.replace("lanes = 4\n", "lanes = 1\n"));
        assert_eq!(
            ck.restore(&lanes, DIGITS, ConfigMatch::SameName, p())
                .unwrap_err()
                .to_string(),
            "ck.json: layers[0].lfsr: the checkpoint has 4 states, the config needs 1 states \
             (hardware.lanes); the checkpoint is for another network, pass the config it was \
             saved with"
        );
        let narrow = cfg(&DIGITS
            .replace("weight_bits = 16", "weight_bits = 15")
            .replace("weight_frac = 14", "weight_frac = 13"));
        let mut big = ck.clone();
        big.layers[1].weights[5] = 20000;
        let err = big
            .restore(&narrow, DIGITS, ConfigMatch::SameName, p())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ck.json: layers[1].weights[5] = 20000 is outside -16384..=16383 \
             (fixed.weight_bits = 15); the checkpoint is corrupt or for other formats, pass the \
             config it was saved with"
        );
        let m = cfg(&DIGITS.replace("rule = \"lls\"", "rule = \"lls-m\""));
        assert_eq!(
            ck.restore(&m, DIGITS, ConfigMatch::SameName, p())
                .unwrap_err()
                .to_string(),
            "ck.json: layers[0].modulation: the checkpoint has no modulation, the config needs \
             a modulation vector (lls-m); the checkpoint is for another network, pass the config \
             it was saved with"
        );
    }

    #[test]
    fn failed_apply_changes_nothing() {
        let (cfg, json) = json();
        let mut ck = Checkpoint::from_json(json.as_bytes(), p()).unwrap();
        ck.layers[0].weights[0] = 1234;
        ck.layers[1].lfsr[0] = 0; // the last check fails, after layer 0 passed
        let mut net = FixedNet::new(&cfg);
        let before = net.layers[0].weights();
        let err = ck.apply(&mut net, p()).unwrap_err().to_string();
        assert!(
            err.starts_with("ck.json: layers[1].lfsr[0] = 0 is outside"),
            "{err}"
        );
        assert_eq!(net.layers[0].weights(), before);
    }
}
