//! The training loop and its report, shared by both arithmetics.

use std::time::Instant;

use serde::Serialize;

use crate::baseline::float::FloatNet;
use crate::config::{Config, ConfigError, Rule};
use crate::cost::MacCount;
use crate::data::Dataset;
use crate::memory::memory_bytes;
use crate::rng::SplitMix64;
use crate::spec::fixed::FixedNet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arith {
    Float,
    Fixed,
}

impl std::str::FromStr for Arith {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "float" => Ok(Arith::Float),
            "fixed" => Ok(Arith::Fixed),
            _ => Err(format!("unknown arithmetic `{s}`; expected float or fixed")),
        }
    }
}

impl Arith {
    pub fn name(self) -> &'static str {
        match self {
            Arith::Float => "float",
            Arith::Fixed => "fixed",
        }
    }
}

/// Whether `arith` trains `cfg`: convolutional blocks train in float only.
pub fn check_model(cfg: &Config, arith: Arith) -> Result<(), ConfigError> {
    if !cfg.network.conv.is_empty() && arith == Arith::Fixed {
        return Err(ConfigError::invalid(
            "network.conv",
            "the fixed-point model takes dense layers only (network.hidden)",
            "train the blocks in float (--arith float), or remove network.conv and \
             network.image",
        ));
    }
    Ok(())
}

/// Either model behind one interface, so the loop is written once.
pub enum Model {
    Float(Box<FloatNet>),
    Fixed(Box<FixedNet>),
}

impl Model {
    pub fn new(cfg: &Config, arith: Arith) -> Model {
        match arith {
            Arith::Float => Model::Float(Box::new(FloatNet::new(cfg))),
            Arith::Fixed => Model::Fixed(Box::new(FixedNet::new(cfg))),
        }
    }
    /// Trains on one sample; returns the prediction made with the pre-update weights.
    pub fn train_sample(&mut self, pixels: &[u8], label: usize) -> usize {
        match self {
            Model::Float(n) => n.train_sample(pixels, label),
            Model::Fixed(n) => n.train_step(pixels, label).prediction,
        }
    }
    pub fn end_epoch(&mut self) {
        if let Model::Float(n) = self {
            n.apply();
        }
    }
    pub fn predict(&self, pixels: &[u8]) -> usize {
        match self {
            Model::Float(n) => n.predict(pixels),
            Model::Fixed(n) => n.predict(pixels),
        }
    }
    pub fn macs(&self) -> MacCount {
        match self {
            Model::Float(n) => n.macs,
            Model::Fixed(n) => n.macs,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    /// Accuracy of the predictions made during training (pre-update, as the hardware sees).
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct MacsPerSample {
    pub forward: u64,
    pub learning: u64,
    pub update: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    pub config: String,
    pub dataset: String,
    pub rule: Rule,
    pub arith: Arith,
    pub epochs: usize,
    pub seed: u64,
    pub train_samples: usize,
    pub test_samples: usize,
    pub test_accuracy: f64,
    pub train_accuracy: f64,
    pub macs_per_sample: MacsPerSample,
    pub memory_bytes: u64,
    pub seconds: f64,
    pub samples_per_second: f64,
    pub history: Vec<EpochStats>,
}

pub fn evaluate(model: &Model, data: &crate::data::Split) -> f64 {
    let correct = (0..data.len())
        .filter(|&i| model.predict(data.image(i)) == data.label(i) as usize)
        .count();
    correct as f64 / data.len().max(1) as f64
}

/// Trains for `cfg.learning.epochs` epochs; `progress` is called after every sample with
/// (samples done, samples total).
pub fn train(
    cfg: &Config,
    data: &Dataset,
    arith: Arith,
    progress: impl FnMut(usize, usize),
) -> (Model, TrainReport) {
    train_from(cfg, data, Model::new(cfg, arith), 0, progress)
}

/// Continues training `model` (e.g. restored from a checkpoint) from epoch `first_epoch`
/// up to `cfg.learning.epochs`. The shuffles of the earlier epochs are replayed, so a
/// resumed run sees the samples in the same order as an uninterrupted one.
pub fn train_from(
    cfg: &Config,
    data: &Dataset,
    mut model: Model,
    first_epoch: usize,
    mut progress: impl FnMut(usize, usize),
) -> (Model, TrainReport) {
    let arith = match model {
        Model::Float(_) => Arith::Float,
        Model::Fixed(_) => Arith::Fixed,
    };
    let mut rng = SplitMix64::new(cfg.learning.seed ^ 0x7368_7566);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    for _ in 0..first_epoch {
        rng.shuffle(&mut order);
    }
    let epochs = cfg.learning.epochs.saturating_sub(first_epoch);
    let total = order.len() * epochs;
    let macs_before = model.macs();
    let mut history = Vec::new();
    let start = Instant::now();
    let mut train_seconds = 0.0;
    for epoch in first_epoch..cfg.learning.epochs {
        rng.shuffle(&mut order);
        let t0 = Instant::now();
        let mut correct = 0;
        for (n, &i) in order.iter().enumerate() {
            let label = data.train.label(i) as usize;
            correct += usize::from(model.train_sample(data.train.image(i), label) == label);
            progress((epoch - first_epoch) * order.len() + n + 1, total);
        }
        model.end_epoch();
        train_seconds += t0.elapsed().as_secs_f64();
        history.push(EpochStats {
            epoch: epoch + 1,
            train_accuracy: correct as f64 / order.len().max(1) as f64,
            test_accuracy: evaluate(&model, &data.test),
        });
    }
    let samples = (order.len() * epochs) as u64;
    let after = model.macs();
    let macs = MacCount {
        forward: after.forward - macs_before.forward,
        learning: after.learning - macs_before.learning,
        update: after.update - macs_before.update,
    }
    .per_sample(samples);
    if history.is_empty() {
        // Nothing left to train: report the model as it is.
        history.push(EpochStats {
            epoch: first_epoch,
            train_accuracy: 0.0,
            test_accuracy: evaluate(&model, &data.test),
        });
    }
    let report = TrainReport::assemble(
        cfg,
        data,
        arith,
        MacsPerSample {
            forward: macs.forward,
            learning: macs.learning,
            update: macs.update,
        },
        start.elapsed().as_secs_f64(),
        samples as f64 / train_seconds.max(1e-9),
        history,
    );
    (model, report)
}

impl TrainReport {
    /// The report of a finished run: what the config and data say, plus the measured
    /// figures; accuracies are those of the last epoch in `history` (0 if it is empty).
    pub(crate) fn assemble(
        cfg: &Config,
        data: &Dataset,
        arith: Arith,
        macs_per_sample: MacsPerSample,
        seconds: f64,
        samples_per_second: f64,
        history: Vec<EpochStats>,
    ) -> TrainReport {
        let (test_accuracy, train_accuracy) = history
            .last()
            .map_or((0.0, 0.0), |h| (h.test_accuracy, h.train_accuracy));
        TrainReport {
            config: cfg.name.clone(),
            dataset: data.name.clone(),
            rule: cfg.learning.rule,
            arith,
            epochs: cfg.learning.epochs,
            seed: cfg.learning.seed,
            train_samples: data.train.len(),
            test_samples: data.test.len(),
            test_accuracy,
            train_accuracy,
            macs_per_sample,
            memory_bytes: memory_bytes(cfg, arith).total,
            seconds,
            samples_per_second,
            history,
        }
    }
}
