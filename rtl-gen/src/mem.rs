//! Memory images (`$readmemh` hex) written from the golden model's own tables, so ROM and
//! RAM contents have one source: the model that the co-simulation checks against.

//!
//! Weight images can also be written from a trained net ([`weight_images`]) and read back
//! ([`read_weight_images`]), so weights move between the golden model, a checkpoint and
//! the RTL's `$readmemh` files in both directions.

use std::collections::BTreeMap;
use std::path::Path;

use golden_model::basis::Basis;
use golden_model::config::Config;
use golden_model::fixed::FixedNet;
use golden_model::numeric::format::mask;
use golden_model::softmax::exp_table;

use crate::params::{DesignParams, LayerParams};
use crate::GenError;

fn hex_line(value: i64, bits: u32) -> String {
    let digits = bits.div_ceil(4) as usize;
    format!("{:0digits$x}", (value as u64) & mask(bits))
}

fn image(values: impl Iterator<Item = (i64, u32)>) -> String {
    let mut out = String::new();
    for (v, bits) in values {
        out.push_str(&hex_line(v, bits));
        out.push('\n');
    }
    out
}

/// Initial weights of one lane: word `j·words + w` holds `W[j][w·lanes + lane]`.
pub fn weight_lane_image(layer: &LayerParams, weights: &[i32], lane: usize) -> String {
    image((0..layer.outputs).flat_map(|j| {
        (0..layer.words).map(move |w| {
            (
                weights[j * layer.inputs + w * layer.lanes + lane] as i64,
                layer.weight_bits,
            )
        })
    }))
}

/// Basis ROM: address t holds column t, class 0 in the least significant bits.
pub fn basis_image(layer: &LayerParams, basis: &Basis) -> String {
    let bits = layer.basis_bits;
    let mut out = String::new();
    for t in 0..basis.len {
        let mut word: u128 = 0;
        for c in (0..basis.classes).rev() {
            word = (word << bits) | ((basis.get(c, t) as u64) & mask(bits)) as u128;
        }
        let digits = (bits as usize * basis.classes).div_ceil(4);
        out.push_str(&format!("{word:0digits$x}\n"));
    }
    out
}

/// One two's-complement word of `bits` per value, in order (the modulation memory).
pub fn signed_image(values: &[i64], bits: u32) -> String {
    image(values.iter().map(|&v| (v, bits)))
}

pub fn exp_image(p: &DesignParams) -> String {
    image(
        exp_table(p.logit_frac, 1 << p.exp_index_bits)
            .into_iter()
            .map(|v| (v as i64, p.exp_bits)),
    )
}

/// The layers as [`crate::generate`] names them (`<prefix>_layer0`, …, `<prefix>_classifier`),
/// so that [`crate::blocks::layer::weight_file`] gives the generated file names.
///
/// ```
/// let text = include_str!("../../configs/digits-mlp.toml");
/// let cfg = golden_model::config::Config::from_toml_str(text, "digits-mlp.toml").unwrap();
/// let layers = rtl_gen::mem::image_layers(&cfg).unwrap();
/// let names: Vec<String> =
///     layers.iter().map(|l| rtl_gen::blocks::layer::weight_file(l, 0)).collect();
/// assert_eq!(names, ["digits_mlp_layer0_w0.hex", "digits_mlp_classifier_w0.hex"]);
/// ```
pub fn image_layers(cfg: &Config) -> Result<Vec<LayerParams>, GenError> {
    let mut params = DesignParams::new(cfg, true)?;
    let prefix = crate::prefix(cfg);
    for l in &mut params.layers {
        l.name = format!("{prefix}_{}", l.name);
    }
    Ok(params.layers)
}

fn check_shapes(layers: &[LayerParams], net: &FixedNet, what: &str) -> Result<(), GenError> {
    let shapes = |it: &mut dyn Iterator<Item = (usize, usize)>| {
        it.map(|(i, o)| format!("{i}→{o}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let want = shapes(&mut layers.iter().map(|l| (l.inputs, l.outputs)));
    let have = shapes(&mut net.layers.iter().map(|l| (l.inputs, l.outputs)));
    if want != have {
        return Err(GenError::Image {
            path: what.to_string(),
            problem: format!("the net has layers {have} but the config builds {want}"),
            fix: "use the config the net was built from".to_string(),
        });
    }
    Ok(())
}

/// Every weight image of `net`, by file name: the same files [`crate::generate`] writes for
/// a fresh net, with `net`'s current weights.
///
/// ```
/// use golden_model::{config::Config, fixed::FixedNet};
/// let text = include_str!("../../configs/digits-mlp.toml");
/// let cfg = Config::from_toml_str(text, "digits-mlp.toml").unwrap();
/// let net = FixedNet::new(&cfg);
/// let images = rtl_gen::mem::weight_images(&cfg, &net).unwrap();
/// let design = rtl_gen::generate(&cfg, text, true).unwrap();
/// for (name, text) in &images {
///     assert_eq!(&design.files[name], text);
/// }
/// assert_eq!(images.len(), 2 * cfg.hardware.lanes);
/// ```
pub fn weight_images(cfg: &Config, net: &FixedNet) -> Result<BTreeMap<String, String>, GenError> {
    let layers = image_layers(cfg)?;
    check_shapes(&layers, net, "weights")?;
    let mut files = BTreeMap::new();
    for (l, layer) in layers.iter().zip(&net.layers) {
        let weights = layer.weights();
        for lane in 0..l.lanes {
            files.insert(
                crate::blocks::layer::weight_file(l, lane),
                weight_lane_image(l, &weights, lane),
            );
        }
    }
    Ok(files)
}

/// Writes [`weight_images`] into `dir` (created if missing), each file through a temporary
/// file and a rename; returns the file names written.
pub fn write_weight_images(
    cfg: &Config,
    net: &FixedNet,
    dir: &Path,
) -> Result<Vec<String>, GenError> {
    let io = |path: &Path, e: std::io::Error| GenError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let images = weight_images(cfg, net)?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, text) in &images {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(images.into_keys().collect())
}

const IMAGE_FIX: &str =
    "weight images hold one two's-complement hex word per line, as `lls gen` and `lls weights export` write them";

/// Parses one lane's image (the inverse of [`weight_lane_image`]): `outputs × words` lines
/// of exactly `⌈weight_bits / 4⌉` hex digits whose value fits `weight_bits`. Returns the
/// words in file order, sign-extended. `path` names the file in errors.
///
/// ```
/// # let text = include_str!("../../configs/digits-mlp.toml");
/// # let cfg = golden_model::config::Config::from_toml_str(text, "x").unwrap();
/// let layers = rtl_gen::mem::image_layers(&cfg).unwrap();
/// let classifier = &layers[1]; // 32 → 10, 1 lane: 10 × 32 words of 16 bits
/// let good = "ffff\n".repeat(320);
/// let words = rtl_gen::mem::parse_weight_lane_image(classifier, good.as_bytes(), "w0.hex");
/// assert_eq!(words.unwrap(), vec![-1; 320]);
/// let bad = good.replacen("ffff", "fffff", 1);
/// let err = rtl_gen::mem::parse_weight_lane_image(classifier, bad.as_bytes(), "w0.hex");
/// assert!(err.unwrap_err().to_string().starts_with("w0.hex: line 1: expected 4 hex digits"));
/// ```
pub fn parse_weight_lane_image(
    layer: &LayerParams,
    bytes: &[u8],
    path: &str,
) -> Result<Vec<i32>, GenError> {
    let bits = layer.weight_bits;
    let digits = bits.div_ceil(4) as usize;
    let expected = layer.outputs * layer.words;
    let line_err = |line: usize, problem: String| GenError::ImageLine {
        path: path.to_string(),
        line,
        problem,
        fix: IMAGE_FIX.to_string(),
    };
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut words = Vec::with_capacity(expected);
    if body.is_empty() {
        return Err(GenError::Image {
            path: path.to_string(),
            problem: format!("the file is empty, expected {expected} words"),
            fix: IMAGE_FIX.to_string(),
        });
    }
    for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line = n + 1;
        if line > expected {
            return Err(line_err(
                line,
                format!(
                    "one word too many: {expected} words expected ({} outputs × {} words per row)",
                    layer.outputs, layer.words
                ),
            ));
        }
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let shown = || {
            let s = String::from_utf8_lossy(&raw[..raw.len().min(24)]).into_owned();
            let more = if raw.len() > 24 { "…" } else { "" };
            format!("{:?}{more}", s)
        };
        if raw.len() != digits || !raw.iter().all(u8::is_ascii_hexdigit) {
            return Err(line_err(
                line,
                format!(
                    "expected {digits} hex digits (weight_bits = {bits}), found {}",
                    shown()
                ),
            ));
        }
        // Checked above: `digits` ≤ 8 ASCII hex digits.
        let text = std::str::from_utf8(raw).unwrap_or_default();
        let value = u64::from_str_radix(text, 16).map_err(|e| line_err(line, e.to_string()))?;
        if value > mask(bits) {
            return Err(line_err(
                line,
                format!(
                    "{} does not fit weight_bits = {bits} (at most {:x})",
                    shown(),
                    mask(bits)
                ),
            ));
        }
        let signed = if value >> (bits - 1) & 1 == 1 {
            value as i64 - (1i64 << bits)
        } else {
            value as i64
        };
        words.push(signed as i32);
    }
    if words.len() < expected {
        return Err(line_err(
            words.len() + 1,
            format!(
                "the file ends after {} of {expected} words ({} outputs × {} words per row)",
                words.len(),
                layer.outputs,
                layer.words
            ),
        ));
    }
    Ok(words)
}

/// Reads every layer's lane images from `dir` into row-major weights (`outputs × inputs`,
/// one `Vec` per layer). Every file is checked before anything is returned.
pub fn read_weight_images(cfg: &Config, dir: &Path) -> Result<Vec<Vec<i32>>, GenError> {
    let layers = image_layers(cfg)?;
    let mut all = Vec::with_capacity(layers.len());
    for l in &layers {
        let mut weights = vec![0i32; l.inputs * l.outputs];
        for lane in 0..l.lanes {
            let path = dir.join(crate::blocks::layer::weight_file(l, lane));
            let shown = path.display().to_string();
            let bytes = std::fs::read(&path).map_err(|e| GenError::Image {
                path: shown.clone(),
                problem: format!("cannot read: {e}"),
                fix: format!(
                    "a {} design needs {} lane image(s) per layer in {}; write them with \
                     `lls weights export`",
                    cfg.name,
                    l.lanes,
                    dir.display()
                ),
            })?;
            let words = parse_weight_lane_image(l, &bytes, &shown)?;
            // Word j·words + w of lane `lane` is W[j][w·lanes + lane].
            for (k, v) in words.into_iter().enumerate() {
                let (j, w) = (k / l.words, k % l.words);
                weights[j * l.inputs + w * l.lanes + lane] = v;
            }
        }
        all.push(weights);
    }
    Ok(all)
}

/// Replaces `net`'s weights with the images in `dir` (all or nothing).
pub fn import_weight_images(cfg: &Config, net: &mut FixedNet, dir: &Path) -> Result<(), GenError> {
    check_shapes(&image_layers(cfg)?, net, &dir.display().to_string())?;
    let weights = read_weight_images(cfg, dir)?;
    for (layer, w) in net.layers.iter_mut().zip(&weights) {
        layer.set_weights(w);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_lane_layout() {
        use golden_model::fixed::FixedNet;
        let text = include_str!("../tests/configs/tiny-deep.toml");
        for lanes in [1, 2, 4] {
            let t = text.replace("lanes = 1", &format!("lanes = {lanes}"));
            let cfg = Config::from_toml_str(&t, "tiny").unwrap();
            let mut net = FixedNet::new(&cfg);
            // Distinct values so that a mixed-up index shows.
            for layer in &mut net.layers {
                let w: Vec<i32> = (0..layer.inputs * layer.outputs)
                    .map(|k| k as i32 * 7 - 300)
                    .collect();
                layer.set_weights(&w);
            }
            let dir = std::env::temp_dir().join(format!("lls-mem-{}-{lanes}", std::process::id()));
            write_weight_images(&cfg, &net, &dir).unwrap();
            let mut back = FixedNet::new(&cfg);
            import_weight_images(&cfg, &mut back, &dir).unwrap();
            for (a, b) in net.layers.iter().zip(&back.layers) {
                assert_eq!(a.weights(), b.weights(), "lanes {lanes}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn hex_is_twos_complement() {
        assert_eq!(hex_line(-1, 16), "ffff");
        assert_eq!(hex_line(5, 18), "00005");
        assert_eq!(hex_line(-2, 2), "2");
    }
}
