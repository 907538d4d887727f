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

/// A layer of a network the model does not train here (the paper's VGG8), for the
/// LLS-vs-BP comparison at the paper's scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LayerShape {
    /// 3×3 convolution, stride 1, padding 1, on a `side`×`side` map; `pool_after`: a 2×2
    /// max-pool follows; `lls_len`: N of the LLS projection (pooled, flattened output).
    Conv {
        cin: usize,
        cout: usize,
        side: usize,
        pool_after: bool,
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
                cin, cout, side, ..
            } => (side * side * cin * cout * 9) as u64,
            LayerShape::Linear {
                inputs, outputs, ..
            } => (inputs * outputs) as u64,
        }
    }
    pub fn params(self) -> u64 {
        match self {
            LayerShape::Conv { cin, cout, .. } => (cin * cout * 9 + cout) as u64,
            LayerShape::Linear {
                inputs, outputs, ..
            } => (inputs * outputs + outputs) as u64,
        }
    }
    pub fn input_len(self) -> u64 {
        match self {
            LayerShape::Conv { cin, side, .. } => (cin * side * side) as u64,
            LayerShape::Linear { inputs, .. } => inputs as u64,
        }
    }
    pub fn output_len(self) -> u64 {
        match self {
            LayerShape::Conv { cout, side, .. } => (cout * side * side) as u64,
            LayerShape::Linear { outputs, .. } => outputs as u64,
        }
    }
    fn lls_len(self) -> usize {
        match self {
            LayerShape::Conv { lls_len, .. } | LayerShape::Linear { lls_len, .. } => lls_len,
        }
    }
}

/// LLS_VGG8 as the official code builds it (lls-paper.md §4.1): conv128 → conv256 → mp →
/// conv256 → conv256 → mp → conv512 → mp → conv512 → AAP(2×2) → FC1024 → FC C, with LLS
/// pool sizes a = 4, 2, 2, 2, 2, 2 (N = 2048, 1024, 1024, 1024, 2048, 2048) and N = 1024
/// at FC1024.
pub fn vgg8(channels: usize, side: usize, classes: usize) -> Vec<LayerShape> {
    let conv = |cin, cout, side, pool_after, a: usize| LayerShape::Conv {
        cin,
        cout,
        side,
        pool_after,
        lls_len: cout * a * a,
    };
    let s = side;
    vec![
        conv(channels, 128, s, false, 4),
        conv(128, 256, s, true, 2),
        conv(256, 256, s / 2, false, 2),
        conv(256, 256, s / 2, true, 2),
        conv(256, 512, s / 4, true, 2),
        conv(512, 512, s / 8, false, 2),
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

/// Per-sample MACs of one training step with the same counting convention as the models:
/// BP propagates the error through every layer but the first (input-gradient MACs =
/// forward MACs); LLS projects each hidden layer's pooled output on the basis and back
/// (2·C·N) and adds one softmax error per layer.
pub fn shape_macs(shapes: &[LayerShape], classes: usize, local: bool) -> MacCount {
    let forward: u64 = shapes.iter().map(|s| s.forward_macs()).sum();
    let hidden = &shapes[..shapes.len() - 1];
    let learning = if local {
        hidden
            .iter()
            .map(|s| (2 * classes * s.lls_len() + classes) as u64)
            .sum::<u64>()
            + classes as u64
    } else {
        shapes[1..].iter().map(|s| s.forward_macs()).sum::<u64>() + classes as u64
    };
    MacCount {
        forward,
        learning,
        update: forward,
    }
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

    #[test]
    fn lls_needs_less_activation_memory() {
        let v = vgg8(3, 32, 100);
        let bp = shape_memory_bytes(&v, 100, false, 128);
        let lls = shape_memory_bytes(&v, 100, true, 128);
        assert!(lls < bp);
    }
}
