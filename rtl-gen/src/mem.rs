//! Memory images (`$readmemh` hex) written from the golden model's own tables, so ROM and
//! RAM contents have one source: the model that the co-simulation checks against.

//!
//! The learned state's images (weights, modulation, LFSR states) can also be written from
//! a trained net ([`state_images`]) and read back ([`read_state_images`]), so the state
//! moves between the golden model, a checkpoint and the RTL's `$readmemh` files in both
//! directions.

use std::collections::BTreeMap;
use std::path::Path;

use golden_model::config::Config;
use golden_model::spec::basis::Basis;
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::numeric::format::mask;
use golden_model::spec::numeric::lfsr::Lfsr;
use golden_model::spec::softmax::exp_table;

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

/// Where word `word` of lane `lane`'s weight memory sits in the row-major weights: word
/// `j·words + w` holds `W[j][i]`, i the input at word w of the lane
/// ([`LayerParams::lane_map`]).
fn lane_word_index(layer: &LayerParams, word: usize, lane: usize) -> usize {
    let (j, w) = (word / layer.words, word % layer.words);
    j * layer.inputs + layer.lane_map().input(lane, w)
}

/// Initial weights of one lane (see `lane_word_index`).
pub fn weight_lane_image(layer: &LayerParams, weights: &[i32], lane: usize) -> String {
    image((0..layer.outputs * layer.words).map(|w| {
        (
            weights[lane_word_index(layer, w, lane)] as i64,
            layer.weight_bits,
        )
    }))
}

/// A banked layer's bank images (`crate::blocks::weights::bank_file`): word `a` of bank `k`
/// holds word `k · bank_words + a` of every lane, lane 0 in the low bits. Empty when the
/// layer is not banked.
pub fn weight_bank_images(layer: &LayerParams, weights: &[i32]) -> Vec<(String, String)> {
    if layer.weight_banks() == 1 {
        return Vec::new();
    }
    let bits = layer.weight_bits;
    let lanes = layer.lanes;
    let digits = (bits as usize * lanes).div_ceil(4);
    let word = |w: usize, lane: usize| weights[lane_word_index(layer, w, lane)] as u64 & mask(bits);
    (0..layer.weight_banks())
        .map(|bank| {
            let first = bank * layer.bank_words;
            let mut text = String::new();
            for w in first..first + crate::blocks::weights::bank_depth(layer, bank) {
                // The packed word as hex digits, most significant first.
                let mut nibbles = vec![0u8; digits];
                for lane in 0..lanes {
                    let v = word(w, lane);
                    for b in 0..bits as usize {
                        if v >> b & 1 == 1 {
                            let at = lane * bits as usize + b;
                            nibbles[digits - 1 - at / 4] |= 1 << (at % 4);
                        }
                    }
                }
                for n in nibbles {
                    text.push(char::from_digit(n as u32, 16).expect("a nibble"));
                }
                text.push('\n');
            }
            (crate::blocks::weights::bank_file(layer, bank), text)
        })
        .collect()
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

/// The learned state's images of `net`, by file name: each lane's weights
/// (`<layer>_w<lane>.hex`), the LLS-M/MxM modulation (`<layer>_mod.hex`) and the
/// stochastic-rounding LFSR states (`<layer>_lfsr.hex`): the files [`crate::generate`]
/// writes for a fresh net, with `net`'s current state, so that the RTL powers up where
/// the net stands.
///
/// ```
/// use golden_model::{config::Config, spec::fixed::FixedNet};
/// let text = include_str!("../../configs/digits-mlp.toml");
/// let cfg = Config::from_toml_str(text, "digits-mlp.toml").unwrap();
/// let net = FixedNet::new(&cfg);
/// let images = rtl_gen::mem::state_images(&cfg, &net).unwrap();
/// let design = rtl_gen::generate(&cfg, text, true).unwrap();
/// for (name, text) in &images {
///     assert_eq!(&design.files[name], text);
/// }
/// assert_eq!(images.len(), 2 * cfg.hardware.lanes); // LLS, half-up rounding: weights only
/// ```
pub fn state_images(cfg: &Config, net: &FixedNet) -> Result<BTreeMap<String, String>, GenError> {
    let layers = image_layers(cfg)?;
    check_shapes(&layers, net, "weights")?;
    Ok(layer_state_images(&layers, net))
}

/// [`state_images`] for the units `layers` of a design, learning or not (an inference
/// design has no modulation nor LFSRs).
pub(crate) fn layer_state_images(
    layers: &[LayerParams],
    net: &FixedNet,
) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for (l, layer) in layers.iter().zip(&net.layers) {
        let weights = layer.weights();
        for lane in 0..l.lanes {
            files.insert(
                crate::blocks::layer::weight_file(l, lane),
                weight_lane_image(l, &weights, lane),
            );
        }
        // A banked layer's RTL reads the bank images; the lane images stay the state
        // images that export and import speak.
        files.extend(weight_bank_images(l, &weights));
        if let (Some(mp), Some(values)) = (&l.modulation, layer.modulation.values()) {
            files.insert(
                crate::blocks::modulation::mod_file(l),
                signed_image(values, mp.bits),
            );
        }
        if !l.lfsr_seeds.is_empty() {
            let states: Vec<i64> = layer.lfsr.iter().map(|s| s.0 as i64).collect();
            files.insert(
                crate::blocks::layer::lfsr_file(l),
                image(states.iter().map(|&s| (s, 32))),
            );
        }
    }
    files
}

/// Writes [`state_images`] into `dir` (created if missing), each file through a temporary
/// file and a rename; returns the file names written.
pub fn write_state_images(
    cfg: &Config,
    net: &FixedNet,
    dir: &Path,
) -> Result<Vec<String>, GenError> {
    let io = |path: &Path, e: std::io::Error| GenError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let images = state_images(cfg, net)?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, text) in &images {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    }
    Ok(images.into_keys().collect())
}

const IMAGE_FIX: &str = "state images hold one hex word per line (two's complement for weights \
     and modulation), as `lls gen` and `lls weights export` write them";

/// What one image holds: `count` words of `bits` hex bits, read back two's complement
/// (`signed`) or as plain unsigned values.
struct WordFormat<'a> {
    count: usize,
    bits: u32,
    signed: bool,
    /// What sets `bits`, for errors: "weight_bits = 16".
    width: &'a str,
    /// The words' layout, for errors: "10 outputs × 32 words per row".
    layout: &'a str,
}

/// Parses an image of `format.count` lines of exactly `⌈bits / 4⌉` hex digits whose value
/// fits `bits`; `path` names the file in errors.
fn parse_words(bytes: &[u8], path: &str, format: &WordFormat) -> Result<Vec<i64>, GenError> {
    let WordFormat {
        count: expected,
        bits,
        signed,
        width,
        layout,
    } = *format;
    let digits = bits.div_ceil(4) as usize;
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
                format!("one word too many: {expected} words expected ({layout})"),
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
                format!("expected {digits} hex digits ({width}), found {}", shown()),
            ));
        }
        // Checked above: `digits` ≤ 8 ASCII hex digits.
        let text = std::str::from_utf8(raw).unwrap_or_default();
        let value = u64::from_str_radix(text, 16).map_err(|e| line_err(line, e.to_string()))?;
        if value > mask(bits) {
            return Err(line_err(
                line,
                format!(
                    "{} does not fit {width} (at most {:x})",
                    shown(),
                    mask(bits)
                ),
            ));
        }
        let negative = signed && value >> (bits - 1) & 1 == 1;
        words.push(if negative {
            value as i64 - (1i64 << bits)
        } else {
            value as i64
        });
    }
    if words.len() < expected {
        return Err(line_err(
            words.len() + 1,
            format!(
                "the file ends after {} of {expected} words ({layout})",
                words.len()
            ),
        ));
    }
    Ok(words)
}

/// Parses one lane's image (the inverse of [`weight_lane_image`]): `outputs × words` lines
/// of exactly `⌈weight_bits / 4⌉` hex digits whose value fits `weight_bits`. Returns the
/// words in file order, sign-extended. `path` names the file in errors.
///
/// ```
/// # let text = include_str!("../../configs/digits-mlp.toml");
/// # let cfg = golden_model::config::Config::from_toml_str(text, "x").unwrap();
/// let layers = rtl_gen::mem::image_layers(&cfg).unwrap();
/// let classifier = &layers[1]; // 32 → 10, 2 lanes: 10 × 16 words of 16 bits a lane
/// let good = "ffff\n".repeat(160);
/// let words = rtl_gen::mem::parse_weight_lane_image(classifier, good.as_bytes(), "w0.hex");
/// assert_eq!(words.unwrap(), vec![-1; 160]);
/// let bad = good.replacen("ffff", "fffff", 1);
/// let err = rtl_gen::mem::parse_weight_lane_image(classifier, bad.as_bytes(), "w0.hex");
/// assert!(err.unwrap_err().to_string().starts_with("w0.hex: line 1: expected 4 hex digits"));
/// ```
pub fn parse_weight_lane_image(
    layer: &LayerParams,
    bytes: &[u8],
    path: &str,
) -> Result<Vec<i32>, GenError> {
    let layout = format!("{} outputs × {} words per row", layer.outputs, layer.words);
    let width = format!("weight_bits = {}", layer.weight_bits);
    let format = WordFormat {
        count: layer.outputs * layer.words,
        bits: layer.weight_bits,
        signed: true,
        width: &width,
        layout: &layout,
    };
    // Values fit `weight_bits` ≤ 32 bits, checked by the parser.
    Ok(parse_words(bytes, path, &format)?
        .into_iter()
        .map(|v| v as i32)
        .collect())
}

/// One layer's learned state as read from its images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerImages {
    /// Row-major `outputs × inputs`.
    pub weights: Vec<i32>,
    /// m or M (row-major), raw; `None` without LLS-M/MxM.
    pub modulation: Option<Vec<i64>>,
    /// One state per lane; empty without stochastic rounding.
    pub lfsr: Vec<u32>,
}

fn read_image(dir: &Path, name: &str, cfg: &Config, what: &str) -> Result<Vec<u8>, GenError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| GenError::Image {
        path: path.display().to_string(),
        problem: format!("cannot read: {e}"),
        fix: format!(
            "a {} design needs {what} in {}; write them with `lls weights export`",
            cfg.name,
            dir.display()
        ),
    })
}

/// Reads every layer's state images from `dir` (see [`state_images`]). Every file is
/// checked before anything is returned.
pub fn read_state_images(cfg: &Config, dir: &Path) -> Result<Vec<LayerImages>, GenError> {
    let layers = image_layers(cfg)?;
    let shown = |name: &str| dir.join(name).display().to_string();
    let mut all = Vec::with_capacity(layers.len());
    for l in &layers {
        let mut weights = vec![0i32; l.inputs * l.outputs];
        for lane in 0..l.lanes {
            let name = crate::blocks::layer::weight_file(l, lane);
            let what = format!("{} lane image(s) per layer", l.lanes);
            let bytes = read_image(dir, &name, cfg, &what)?;
            let words = parse_weight_lane_image(l, &bytes, &shown(&name))?;
            for (k, v) in words.into_iter().enumerate() {
                weights[lane_word_index(l, k, lane)] = v;
            }
        }
        let modulation = match &l.modulation {
            Some(mp) => {
                let name = crate::blocks::modulation::mod_file(l);
                let bytes = read_image(dir, &name, cfg, "each hidden layer's modulation image")?;
                let layout = format!("{} modulation entries", mp.entries);
                let width = format!("the modulation's {} bits", mp.bits);
                let format = WordFormat {
                    count: mp.entries,
                    bits: mp.bits,
                    signed: true,
                    width: &width,
                    layout: &layout,
                };
                Some(parse_words(&bytes, &shown(&name), &format)?)
            }
            None => None,
        };
        let lfsr = if l.lfsr_seeds.is_empty() {
            Vec::new()
        } else {
            let name = crate::blocks::layer::lfsr_file(l);
            let bytes = read_image(dir, &name, cfg, "each layer's LFSR image")?;
            let layout = format!("one LFSR state per lane, {} lanes", l.lanes);
            let format = WordFormat {
                count: l.lfsr_seeds.len(),
                bits: 32,
                signed: false,
                width: "a 32-bit LFSR state",
                layout: &layout,
            };
            let states = parse_words(&bytes, &shown(&name), &format)?;
            if let Some(lane) = states.iter().position(|&s| s == 0) {
                return Err(GenError::ImageLine {
                    path: shown(&name),
                    line: lane + 1,
                    problem: "an LFSR state of 0 never changes again".to_string(),
                    fix: "write the states the RTL or `lls weights export` read out".to_string(),
                });
            }
            // Values fit 32 bits, checked by the parser.
            states.into_iter().map(|s| s as u32).collect()
        };
        all.push(LayerImages {
            weights,
            modulation,
            lfsr,
        });
    }
    Ok(all)
}

/// Replaces `net`'s learned state (weights, modulation, LFSR states) with the images in
/// `dir` (all or nothing).
pub fn import_state_images(cfg: &Config, net: &mut FixedNet, dir: &Path) -> Result<(), GenError> {
    check_shapes(&image_layers(cfg)?, net, &dir.display().to_string())?;
    let images = read_state_images(cfg, dir)?;
    for (layer, img) in net.layers.iter_mut().zip(images) {
        layer.set_weights(&img.weights);
        if let Some(values) = img.modulation {
            layer.modulation.set_values(values);
        }
        if !img.lfsr.is_empty() {
            layer.lfsr = img.lfsr.into_iter().map(Lfsr).collect();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_lane_layout() {
        use golden_model::spec::fixed::FixedNet;
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
            write_state_images(&cfg, &net, &dir).unwrap();
            let mut back = FixedNet::new(&cfg);
            import_state_images(&cfg, &mut back, &dir).unwrap();
            for (a, b) in net.layers.iter().zip(&back.layers) {
                assert_eq!(a.weights(), b.weights(), "lanes {lanes}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn bank_words_hold_every_lane_word_at_their_address() {
        // The mnist preset banks its weights.
        let text = include_str!("../../configs/mnist-mlp.toml");
        let cfg = Config::from_toml_str(text, "mnist").unwrap();
        assert!(cfg.hardware.bank_weights, "the mnist preset is banked");
        let net = FixedNet::new(&cfg);
        let images = state_images(&cfg, &net).unwrap();
        for l in &image_layers(&cfg).unwrap() {
            assert!(l.weight_banks() > 1, "{}: banked", l.name);
            let lanes: Vec<Vec<&str>> = (0..l.lanes)
                .map(|ln| {
                    images[&crate::blocks::layer::weight_file(l, ln)]
                        .lines()
                        .collect()
                })
                .collect();
            let bits = l.weight_bits as usize;
            let mut words = 0;
            for k in 0..l.weight_banks() {
                let bank = &images[&crate::blocks::weights::bank_file(l, k)];
                for (a, line) in bank.lines().enumerate() {
                    let w = k * l.bank_words + a;
                    // Unpack the hex word bit by bit and compare with each lane's word.
                    let bit = |at: usize| {
                        let n = line.as_bytes()[line.len() - 1 - at / 4] as char;
                        n.to_digit(16).unwrap() >> (at % 4) & 1
                    };
                    for (ln, lane) in lanes.iter().enumerate() {
                        let v = (0..bits).fold(0u64, |v, b| v | (bit(ln * bits + b) as u64) << b);
                        let expect = u64::from_str_radix(lane[w], 16).unwrap();
                        assert_eq!(v, expect, "{} bank {k} word {a} lane {ln}", l.name);
                    }
                    words += 1;
                }
            }
            assert_eq!(words, l.lane_words(), "{}: every word in one bank", l.name);
        }
    }

    #[test]
    fn hex_is_twos_complement() {
        assert_eq!(hex_line(-1, 16), "ffff");
        assert_eq!(hex_line(5, 18), "00005");
        assert_eq!(hex_line(-2, 2), "2");
    }
}
