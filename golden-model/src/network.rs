//! The network's layers in order: convolutional blocks (`network.conv`), then the dense
//! hidden layers (`network.hidden`), then the classifier; their shapes and their checks.
//!
//! A convolutional block is the paper's (lls-paper.md §4.1, without BatchNorm, which batch
//! 1 cannot have): a k×k convolution, stride 1, zero padding k/2 (the map keeps its size),
//! no bias, then the activation, then a p×p max-pool of stride p. Its LLS loss takes the
//! block's output before the max-pool, average-pools each channel to a×a, flattens the
//! result channel-major (t = c·a² + i·a + j) and projects it on the basis (N = channels·a²).
//! The dense layers after the blocks take the last block's pooled map, flattened the same
//! way.

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Largest channel count and image side a config may name: far beyond any FPGA's memory,
/// and small enough that no size derived from them overflows.
pub const MAX_CHANNELS: usize = 4096;
pub const MAX_SIDE: usize = 4096;
/// Largest convolution kernel side.
pub const MAX_KERNEL: usize = 7;
/// Most weights, and most values in an output map, of one block: 2^24 (64 MiB in f32),
/// beyond any FPGA's memory, and small enough for the f32 model to hold.
pub const MAX_BLOCK_VALUES: usize = 1 << 24;

/// One convolutional block (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvConfig {
    /// Output channels.
    pub channels: usize,
    /// Kernel side k (odd: the padding k/2 keeps the map's size).
    #[serde(default = "default_kernel")]
    pub kernel: usize,
    /// Max-pool side and stride after the block; 1: none.
    #[serde(default = "no_pool")]
    pub pool: usize,
    /// a: the LLS loss average-pools each channel to a×a.
    pub lls_pool: usize,
}

fn default_kernel() -> usize {
    3
}

fn no_pool() -> usize {
    1
}

/// Channels, rows and columns of a feature map, flattened channel-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapShape {
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
}

impl MapShape {
    /// Values in the map.
    pub fn len(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A convolutional block's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ConvLayer {
    pub input: MapShape,
    /// The block's output, before the max-pool: what the LLS loss sees.
    pub output: MapShape,
    /// After the max-pool: what the next layer takes.
    pub pooled: MapShape,
    pub kernel: usize,
    pub pool: usize,
    pub lls_pool: usize,
}

impl ConvLayer {
    /// N: the length of the pooled, flattened output the basis projects.
    pub fn lls_len(&self) -> usize {
        self.output.channels * self.lls_pool * self.lls_pool
    }

    /// Weights: output channels × input channels × k × k.
    pub fn weights(&self) -> usize {
        self.output.channels * self.input.channels * self.kernel * self.kernel
    }
}

/// The blocks' shapes from the input image on, each block checked against the map it
/// takes; errors name `network.conv[k]` and say what to change.
pub fn conv_layers(image: MapShape, conv: &[ConvConfig]) -> Result<Vec<ConvLayer>, ConfigError> {
    let mut layers = Vec::with_capacity(conv.len());
    let mut input = image;
    for (k, c) in conv.iter().enumerate() {
        let field = |name: &str| format!("network.conv[{k}].{name}");
        if !(1..=MAX_CHANNELS).contains(&c.channels) {
            return Err(ConfigError::invalid(
                field("channels"),
                format!("is {}", c.channels),
                format!("use 1 to {MAX_CHANNELS} channels"),
            ));
        }
        if c.kernel % 2 == 0 || !(1..=MAX_KERNEL).contains(&c.kernel) {
            return Err(ConfigError::invalid(
                field("kernel"),
                format!("is {}", c.kernel),
                format!("use an odd kernel side from 1 to {MAX_KERNEL} (padding k/2 keeps the map's size)"),
            ));
        }
        let output = MapShape {
            channels: c.channels,
            ..input
        };
        let side = input.rows.min(input.cols);
        if c.lls_pool == 0 || c.lls_pool > side {
            return Err(ConfigError::invalid(
                field("lls_pool"),
                format!("is {}, for a {}×{} map", c.lls_pool, input.rows, input.cols),
                format!("use 1 to {side}: each pooled value averages a window of the map"),
            ));
        }
        if c.pool == 0 || input.rows % c.pool != 0 || input.cols % c.pool != 0 {
            return Err(ConfigError::invalid(
                field("pool"),
                format!(
                    "is {}, which does not tile the {}×{} map",
                    c.pool, input.rows, input.cols
                ),
                "use 1 (no max-pool) or a side that divides the map's rows and columns",
            ));
        }
        let pooled = MapShape {
            channels: c.channels,
            rows: input.rows / c.pool,
            cols: input.cols / c.pool,
        };
        let weights = c.channels * input.channels * c.kernel * c.kernel;
        if weights > MAX_BLOCK_VALUES || output.len() > MAX_BLOCK_VALUES {
            return Err(ConfigError::invalid(
                field("channels"),
                format!(
                    "is {}: {weights} weights and an output map of {} values",
                    c.channels,
                    output.len()
                ),
                format!(
                    "use fewer channels (or a smaller kernel or map): at most \
                     {MAX_BLOCK_VALUES} of each a block"
                ),
            ));
        }
        layers.push(ConvLayer {
            input,
            output,
            pooled,
            kernel: c.kernel,
            pool: c.pool,
            lls_pool: c.lls_pool,
        });
        input = pooled;
    }
    Ok(layers)
}

/// The input image's shape from `network.image` ([channels, rows, columns]), checked
/// against `network.inputs`.
pub fn image_shape(image: [usize; 3], inputs: usize) -> Result<MapShape, ConfigError> {
    let [channels, rows, cols] = image;
    if !(1..=MAX_CHANNELS).contains(&channels)
        || !(1..=MAX_SIDE).contains(&rows)
        || !(1..=MAX_SIDE).contains(&cols)
    {
        return Err(ConfigError::invalid(
            "network.image",
            format!("is {image:?}"),
            format!(
                "give [channels, rows, columns], channels 1 to {MAX_CHANNELS}, sides 1 to \
                 {MAX_SIDE}"
            ),
        ));
    }
    let shape = MapShape {
        channels,
        rows,
        cols,
    };
    if shape.len() != inputs {
        return Err(ConfigError::invalid(
            "network.image",
            format!(
                "is {channels}×{rows}×{cols} = {} values, but network.inputs is {inputs}",
                shape.len()
            ),
            "make the image's shape multiply out to network.inputs (MNIST: [1, 28, 28])",
        ));
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(channels: usize, pool: usize, lls_pool: usize) -> ConvConfig {
        ConvConfig {
            channels,
            kernel: 3,
            pool,
            lls_pool,
        }
    }

    #[test]
    fn blocks_pool_their_maps_in_turn() {
        let image = image_shape([1, 28, 28], 784).unwrap();
        let layers = conv_layers(image, &[block(16, 2, 4), block(32, 2, 2)]).unwrap();
        assert_eq!(
            layers[0].output,
            MapShape {
                channels: 16,
                rows: 28,
                cols: 28
            }
        );
        assert_eq!(layers[0].pooled.len(), 16 * 14 * 14);
        assert_eq!(layers[0].lls_len(), 16 * 16);
        assert_eq!(layers[1].input, layers[0].pooled);
        assert_eq!(
            layers[1].pooled,
            MapShape {
                channels: 32,
                rows: 7,
                cols: 7
            }
        );
        assert_eq!(layers[1].weights(), 32 * 16 * 9);
    }

    #[test]
    fn bad_blocks_name_their_field() {
        let image = image_shape([1, 28, 28], 784).unwrap();
        let field = |conv: &[ConvConfig]| match conv_layers(image, conv) {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(field(&[block(0, 1, 2)]), "network.conv[0].channels");
        let huge = ConvConfig {
            kernel: 7,
            ..block(4096, 1, 1)
        };
        assert_eq!(
            field(&[block(4096, 1, 1), huge]),
            "network.conv[1].channels"
        );
        assert_eq!(field(&[block(8, 3, 2)]), "network.conv[0].pool");
        assert_eq!(
            field(&[block(8, 2, 2), block(8, 1, 15)]),
            "network.conv[1].lls_pool"
        );
        let even = ConvConfig {
            kernel: 4,
            ..block(8, 1, 2)
        };
        assert_eq!(field(&[even]), "network.conv[0].kernel");
        assert!(matches!(
            image_shape([1, 28, 27], 784),
            Err(ConfigError::Invalid { field, .. }) if field == "network.image"
        ));
        assert!(image_shape([0, 28, 28], 0).is_err());
    }
}
