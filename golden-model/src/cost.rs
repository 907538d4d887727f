//! MAC and memory accounting, counted by the models as they run.
//!
//! Convention (per training sample, batch 1):
//! - `forward`: multiply-accumulates of the layers' forward sums;
//! - `learning`: operations that build the learning signal: the basis projection `B·h` and
//!   back-projection `Bᵀe` of LLS (add/subtract only for the square basis, still counted
//!   one per term), the modulation, the softmax error, and for BP the error propagation
//!   `Wᵀδ` through every layer but the first;
//! - `update`: the weight-gradient products δ·xᵀ (identical for every rule).

use serde::Serialize;

use crate::config::{Config, ConfigError};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MacCount {
    pub forward: u64,
    pub learning: u64,
    pub update: u64,
}

impl MacCount {
    pub fn total(&self) -> u64 {
        self.forward + self.learning + self.update
    }
    pub fn add(&mut self, other: MacCount) {
        self.forward += other.forward;
        self.learning += other.learning;
        self.update += other.update;
    }
    pub fn per_sample(&self, samples: u64) -> MacCount {
        let s = samples.max(1);
        MacCount {
            forward: self.forward / s,
            learning: self.learning / s,
            update: self.update / s,
        }
    }
}

/// A layer's shape, for counts from shapes alone: a config's layers ([`config_shapes`]),
/// or the paper's VGG8 ([`vgg8`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LayerShape {
    /// k×k convolution, stride 1, padding k/2, no bias, on a `rows`×`cols` map;
    /// `lls_len`: N of the LLS projection (pooled, flattened output).
    Conv {
        cin: usize,
        cout: usize,
        rows: usize,
        cols: usize,
        kernel: usize,
        lls_len: usize,
    },
    Linear {
        inputs: usize,
        outputs: usize,
        lls_len: usize,
    },
}

impl LayerShape {
    pub fn forward_macs(self) -> u64 {
        match self {
            LayerShape::Conv {
                cin,
                cout,
                rows,
                cols,
                kernel,
                ..
            } => (rows * cols * cin * cout * kernel * kernel) as u64,
            LayerShape::Linear {
                inputs, outputs, ..
            } => (inputs * outputs) as u64,
        }
    }
    /// The weights, without biases.
    pub fn weights(self) -> u64 {
        match self {
            LayerShape::Conv {
                cin, cout, kernel, ..
            } => (cin * cout * kernel * kernel) as u64,
            LayerShape::Linear {
                inputs, outputs, ..
            } => (inputs * outputs) as u64,
        }
    }
    /// The weights and one bias an output channel, as the official code's layers have.
    pub fn params(self) -> u64 {
        let biases = match self {
            LayerShape::Conv { cout, .. } => cout,
            LayerShape::Linear { outputs, .. } => outputs,
        };
        self.weights() + biases as u64
    }
    pub fn input_len(self) -> u64 {
        match self {
            LayerShape::Conv {
                cin, rows, cols, ..
            } => (cin * rows * cols) as u64,
            LayerShape::Linear { inputs, .. } => inputs as u64,
        }
    }
    pub fn output_len(self) -> u64 {
        match self {
            LayerShape::Conv {
                cout, rows, cols, ..
            } => (cout * rows * cols) as u64,
            LayerShape::Linear { outputs, .. } => outputs as u64,
        }
    }
    /// N of the layer's LLS projection (0 for the classifier).
    pub fn lls_len(self) -> usize {
        match self {
            LayerShape::Conv { lls_len, .. } | LayerShape::Linear { lls_len, .. } => lls_len,
        }
    }
}

/// A config's layers as shapes: its convolutional blocks, its dense hidden layers (N =
/// the width), its classifier.
pub fn config_shapes(cfg: &Config) -> Result<Vec<LayerShape>, ConfigError> {
    let conv = cfg.conv_layers()?.into_iter().map(|c| LayerShape::Conv {
        cin: c.input.channels,
        cout: c.output.channels,
        rows: c.input.rows,
        cols: c.input.cols,
        kernel: c.kernel,
        lls_len: c.lls_len(),
    });
    let shapes = cfg.layer_shapes();
    let last = shapes.len() - 1;
    let dense = shapes
        .into_iter()
        .enumerate()
        .map(|(k, (inputs, outputs))| LayerShape::Linear {
            inputs,
            outputs,
            lls_len: if k == last { 0 } else { outputs },
        });
    Ok(conv.chain(dense).collect())
}

/// LLS_VGG8 as the official code builds it (lls-paper.md §4.1): conv128 → conv256 → mp →
/// conv256 → conv256 → mp → conv512 → mp → conv512 → AAP(2×2) → FC1024 → FC C, with LLS
/// pool sizes a = 4, 2, 2, 2, 2, 2 (N = 2048, 1024, 1024, 1024, 2048, 2048) and N = 1024
/// at FC1024.
pub fn vgg8(channels: usize, side: usize, classes: usize) -> Vec<LayerShape> {
    let conv = |cin, cout, side, a: usize| LayerShape::Conv {
        cin,
        cout,
        rows: side,
        cols: side,
        kernel: 3,
        lls_len: cout * a * a,
    };
    let s = side;
    vec![
        conv(channels, 128, s, 4),
        conv(128, 256, s, 2),
        conv(256, 256, s / 2, 2),
        conv(256, 256, s / 2, 2),
        conv(256, 512, s / 4, 2),
        conv(512, 512, s / 8, 2),
        LayerShape::Linear {
            inputs: 512 * 4,
            outputs: 1024,
            lls_len: 1024,
        },
        LayerShape::Linear {
            inputs: 1024,
            outputs: classes,
            lls_len: 0,
        },
    ]
}

/// Per-sample MACs of each layer's training step, with the models' counting convention:
/// BP propagates the error into the input of every layer but the first (input-gradient
/// MACs = forward MACs); LLS projects each hidden layer's pooled output on the basis and
/// back (2·C·N) and forms one softmax error per layer; the classifier's softmax error is
/// the classifier's (C). The average pool and the spread of its gradient are not counted.
pub fn layer_macs(shapes: &[LayerShape], classes: usize, local: bool) -> Vec<MacCount> {
    let last = shapes.len() - 1;
    shapes
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let softmax = classes as u64;
            let learning = match (local, k == last) {
                (true, true) => softmax,
                (true, false) => 2 * (classes * s.lls_len()) as u64 + softmax,
                (false, classifier) => {
                    let propagate = if k == 0 { 0 } else { s.forward_macs() };
                    propagate + if classifier { softmax } else { 0 }
                }
            };
            MacCount {
                forward: s.forward_macs(),
                learning,
                update: s.forward_macs(),
            }
        })
        .collect()
}

/// [`layer_macs`] summed over the layers: one training step.
pub fn shape_macs(shapes: &[LayerShape], classes: usize, local: bool) -> MacCount {
    let mut total = MacCount::default();
    for m in layer_macs(shapes, classes, local) {
        total.add(m);
    }
    total
}

/// f32 bytes a training step holds for a batch: parameters, plus the activations kept for
/// the weight update. BP keeps every layer's input and output until the error returns;
/// LLS runs layer by layer, so only the largest single layer's input and output are live
/// (its basis is regenerated or read from ROM, and counted here as C·N entries per layer).
pub fn shape_memory_bytes(shapes: &[LayerShape], classes: usize, local: bool, batch: u64) -> u64 {
    let params: u64 = shapes.iter().map(|s| s.params()).sum();
    let live = |s: &LayerShape| s.input_len() + s.output_len();
    let activations = if local {
        shapes.iter().map(live).max().unwrap_or(0)
    } else {
        shapes.iter().map(live).sum()
    };
    let basis: u64 = if local {
        shapes[..shapes.len() - 1]
            .iter()
            .map(|s| (classes * s.lls_len()) as u64)
            .sum()
    } else {
        0
    };
    4 * (params + basis + batch * activations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg8_cifar10_matches_the_digest() {
        // lls-paper.md §5.3: 722.9 M forward, 719.3 M BP error propagation, 0.205 M LLS.
        let v = vgg8(3, 32, 10);
        let bp = shape_macs(&v, 10, false);
        let lls = shape_macs(&v, 10, true);
        assert_eq!(bp.forward, 722_872_320); // 722.9 M
        assert_eq!(bp.learning - 10, 719_333_376); // 719.3 M
        assert_eq!(lls.learning, 2 * 10 * 10_240 + 7 * 10 + 10);
        assert_eq!(lls.forward, bp.forward);
        assert_eq!(lls.update, bp.update);
    }

    /// The shapes' counts are the running models' counts (the modulation's few MACs
    /// aside, which the shapes do not know of): one convention, two ways of counting.
    #[test]
    fn shapes_count_what_the_models_count() {
        use crate::config::Rule;
        use crate::train::{Arith, Model};
        for preset in ["digits-mlp", "mnist-mlp"] {
            let path = format!("{}/../configs/{preset}.toml", env!("CARGO_MANIFEST_DIR"));
            let base = Config::load(std::path::Path::new(&path)).expect("preset loads");
            for rule in [Rule::Lls, Rule::Bp] {
                let mut cfg = base.clone();
                cfg.learning.rule = rule;
                let mut model = Model::new(&cfg, Arith::Fixed);
                model.train_sample(&vec![0; cfg.network.inputs], 0);
                let shapes = config_shapes(&cfg).expect("shapes");
                let classes = cfg.network.classes;
                assert_eq!(
                    shape_macs(&shapes, classes, rule.is_local()),
                    model.macs(),
                    "{preset} {rule:?}"
                );
            }
        }
    }

    #[test]
    fn conv_layers_count_their_windows() {
        // 1×8×8 → conv 3×3 to 4 channels (N = 4·2²) → max-pool 2 → dense 64→32 → 10.
        let base = include_str!("../../configs/digits-mlp.toml");
        let text = base.replace(
            "inputs = 64\n",
            "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 4, pool = 2, lls_pool = 2 }]\n",
        );
        let cfg = Config::from_toml_str(&text, "conv.toml").expect("valid");
        let shapes = config_shapes(&cfg).expect("shapes");
        let lls = layer_macs(&shapes, 10, true);
        let bp = layer_macs(&shapes, 10, false);
        let conv = 8 * 8 * 4 * 9;
        assert_eq!((lls[0].forward, lls[0].update), (conv, conv));
        assert_eq!(lls[0].learning, 2 * 10 * 16 + 10);
        // BP propagates into every layer's input but the first's.
        assert_eq!(bp[0].learning, 0);
        assert_eq!(bp[1].learning, 64 * 32);
        assert_eq!(bp[2].learning, 32 * 10 + 10);
        assert_eq!(lls[2].learning, 10);
    }

    #[test]
    fn lls_needs_less_activation_memory() {
        let v = vgg8(3, 32, 100);
        let bp = shape_memory_bytes(&v, 100, false, 128);
        let lls = shape_memory_bytes(&v, 100, true, 128);
        assert!(lls < bp);
    }
}
