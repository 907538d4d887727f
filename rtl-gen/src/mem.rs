//! Memory images (`$readmemh` hex) written from the golden model's own tables, so ROM and
//! RAM contents have one source: the model that the co-simulation checks against.

//!
//! The learned state's images (weights, modulation, LFSR states) can also be written from
//! a trained net ([`state_images`]) and read back ([`read_state_images`]), so the state
//! moves between the golden model, a checkpoint and the RTL's `$readmemh` files in both
//! directions.
//!
//! Reading accepts what IEEE 1364 `$readmemh` accepts: hex words separated by any white
//! space (several a line, short words zero-extended, `_` between digits), `//` and `/* */`
//! comments, and `@<hex address>` moving the address of the next word. Every word of a
//! memory must be given exactly once: a gap or a word given twice is an error naming the
//! address. Words with `x` or `z` digits are refused (the state needs values), as are
//! values wider than the memory's word (where Verilog would truncate them).
//!
//! Import reads what the RTL loads: a banked layer's weights come from its bank images
//! (`<layer>_w_b<k>.hex`); its lane images are optional there and, when present, must
//! hold the same weights.

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

pub(crate) fn check_shapes(
    layers: &[LayerParams],
    net: &FixedNet,
    what: &str,
) -> Result<(), GenError> {
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
/// // LLS, half-up rounding: weights only, an image a lane (4 hidden, 1 classifier).
/// let lanes: usize = (0..cfg.layer_shapes().len()).map(|k| cfg.lanes_of(k)).sum();
/// assert_eq!(images.len(), lanes);
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
        // A banked layer's RTL reads the bank images, and import reads them too; the
        // lane images are written beside them, and import checks that they agree.
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

const IMAGE_FIX: &str = "state images are `$readmemh` files: hex words separated by white space, \
     `//` and `/* */` comments, `@<hex address>` to move on (two's complement for weights and \
     modulation), as `lls gen` and `lls weights export` write them";

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

/// One word of a `$readmemh` file: its value's hex digits, least significant first
/// (underscores dropped), and where it stands.
struct HexWord {
    nibbles: Vec<u8>,
    line: usize,
    /// The word as written, shortened for errors.
    shown: String,
}

impl HexWord {
    /// Bit `at` of the value; 0 beyond the digits given (`$readmemh` zero-extends a short word).
    fn bit(&self, at: usize) -> u64 {
        self.nibbles
            .get(at / 4)
            .map_or(0, |&n| u64::from(n >> (at % 4) & 1))
    }

    /// Whether the value fits `bits` bits (leading zero digits beyond them are fine).
    fn fits(&self, bits: usize) -> bool {
        (bits..self.nibbles.len() * 4).all(|at| self.bit(at) == 0)
    }

    /// Bits `lo .. lo + bits` of the value (`bits` ≤ 64).
    fn field(&self, lo: usize, bits: u32) -> u64 {
        (0..bits as usize).fold(0, |v, b| v | self.bit(lo + b) << b)
    }
}

fn shown(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(&raw[..raw.len().min(24)]).into_owned();
    let more = if raw.len() > 24 { "…" } else { "" };
    format!("{s:?}{more}")
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The value of a `$readmemh` number (hex digits and underscores, not starting with an
/// underscore), least significant digit first; `Err` says what is wrong with it.
fn hex_digits(raw: &[u8], what: &str) -> Result<Vec<u8>, String> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    if raw.first() == Some(&b'_') || raw.is_empty() {
        return Err(format!("expected {what}, found {}", shown(raw)));
    }
    let unknown = |b: u8| matches!(b, b'x' | b'X' | b'z' | b'Z');
    if !raw
        .iter()
        .all(|&b| b == b'_' || unknown(b) || digit(b).is_some())
    {
        return Err(format!("expected {what}, found {}", shown(raw)));
    }
    if raw.iter().any(|&b| unknown(b)) {
        return Err(format!(
            "{} has x or z digits, which hold no value; the state needs a value in every bit",
            shown(raw)
        ));
    }
    Ok(raw.iter().rev().filter_map(|&b| digit(b)).collect())
}

/// Reads a `$readmemh` file as IEEE 1364 defines it (hex words separated by white space,
/// `//` and `/* */` comments, `@<hex address>` moving the next word's address) into
/// exactly `count` words by address: every word must be given exactly once. `path` names
/// the file in errors, with the line where one line is at fault.
fn read_memh(
    bytes: &[u8],
    path: &str,
    count: usize,
    width: &str,
    layout: &str,
) -> Result<Vec<HexWord>, GenError> {
    let line_err = |line: usize, problem: String| GenError::ImageLine {
        path: path.to_string(),
        line,
        problem,
        fix: IMAGE_FIX.to_string(),
    };
    let file_err = |problem: String| GenError::Image {
        path: path.to_string(),
        problem,
        fix: IMAGE_FIX.to_string(),
    };
    let mut slots: Vec<Option<HexWord>> = (0..count).map(|_| None).collect();
    let (mut at, mut line, mut addr) = (0, 1, 0usize);
    let (mut addressed, mut given, mut last_line) = (false, 0usize, 0);
    let len = bytes.len();
    while at < len {
        let b = bytes[at];
        let next = bytes.get(at + 1).copied();
        if b == b'\n' {
            line += 1;
            at += 1;
        } else if is_space(b) {
            at += 1;
        } else if b == b'/' && next == Some(b'/') {
            while at < len && bytes[at] != b'\n' {
                at += 1;
            }
        } else if b == b'/' && next == Some(b'*') {
            let opened = line;
            at += 2;
            loop {
                if at + 1 >= len {
                    return Err(line_err(opened, "a `/*` comment is never closed".into()));
                }
                if bytes[at] == b'*' && bytes[at + 1] == b'/' {
                    at += 2;
                    break;
                }
                if bytes[at] == b'\n' {
                    line += 1;
                }
                at += 1;
            }
        } else {
            let start = at;
            while at < len
                && !is_space(bytes[at])
                && !(at > start
                    && bytes[at] == b'/'
                    && matches!(bytes.get(at + 1), Some(b'/' | b'*')))
            {
                at += 1;
            }
            let token = &bytes[start..at];
            if let Some(raw) = token.strip_prefix(b"@") {
                let nibbles = hex_digits(raw, "a hex address after `@`")
                    .map_err(|problem| line_err(line, problem))?;
                let beyond = HexWord {
                    nibbles,
                    line,
                    shown: String::new(),
                };
                if !beyond.fits(usize::BITS as usize)
                    || beyond.field(0, usize::BITS) as usize >= count
                {
                    return Err(line_err(
                        line,
                        format!(
                            "address {} is beyond the memory's {count} words ({layout})",
                            shown(token)
                        ),
                    ));
                }
                addr = beyond.field(0, usize::BITS) as usize;
                addressed = true;
                continue;
            }
            let nibbles = hex_digits(token, &format!("a hex word ({width})"))
                .map_err(|problem| line_err(line, problem))?;
            if addr >= count {
                return Err(line_err(
                    line,
                    if addressed {
                        format!("word @{addr:x} is beyond the memory's {count} words ({layout})")
                    } else {
                        format!("one word too many: {count} words expected ({layout})")
                    },
                ));
            }
            if let Some(first) = &slots[addr] {
                return Err(line_err(
                    line,
                    format!(
                        "word @{addr:x} is given twice (lines {} and {line}); every word must \
                         be given once",
                        first.line
                    ),
                ));
            }
            slots[addr] = Some(HexWord {
                nibbles,
                line,
                shown: shown(token),
            });
            addr += 1;
            given += 1;
            last_line = line;
        }
    }
    if given == 0 {
        let problem = if bytes.iter().all(|&b| is_space(b)) {
            format!("the file is empty, expected {count} words")
        } else {
            format!("the file holds no words, expected {count} ({layout})")
        };
        return Err(file_err(problem));
    }
    if given < count {
        let first = slots.iter().position(Option::is_none).unwrap_or(0);
        if !addressed {
            // Words in order from address 0: the file stops early.
            return Err(line_err(
                last_line + 1,
                format!("the file ends after {given} of {count} words ({layout})"),
            ));
        }
        let end = slots[first..]
            .iter()
            .position(Option::is_some)
            .map_or(count, |n| first + n);
        let run = if end - first == 1 {
            format!("word @{first:x} is not given")
        } else {
            format!("words @{first:x} to @{:x} are not given", end - 1)
        };
        let missing = count - given;
        let more = if missing > end - first {
            format!(" ({missing} missing in all)")
        } else {
            String::new()
        };
        return Err(file_err(format!(
            "{run}{more}: every word of the {count} ({layout}) must be given once"
        )));
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The error for a word whose value does not fit `bits`.
fn too_wide(path: &str, word: &HexWord, bits: usize, width: &str) -> GenError {
    let at_most = if bits <= 64 {
        format!("at most {:x}", mask(bits as u32))
    } else {
        format!("{bits} bits")
    };
    GenError::ImageLine {
        path: path.to_string(),
        line: word.line,
        problem: format!("{} does not fit {width} ({at_most})", word.shown),
        fix: IMAGE_FIX.to_string(),
    }
}

fn sign_extend(value: u64, bits: u32, signed: bool) -> i64 {
    if signed && value >> (bits - 1) & 1 == 1 {
        value as i64 - (1i64 << bits)
    } else {
        value as i64
    }
}

/// Parses an image of `format.count` words whose values fit `bits` (see [`read_memh`]);
/// returns each word's value and its line. `path` names the file in errors.
fn parse_words(
    bytes: &[u8],
    path: &str,
    format: &WordFormat,
) -> Result<Vec<(i64, usize)>, GenError> {
    let WordFormat {
        count,
        bits,
        signed,
        width,
        layout,
    } = *format;
    read_memh(bytes, path, count, width, layout)?
        .into_iter()
        .map(|w| {
            if !w.fits(bits as usize) {
                return Err(too_wide(path, &w, bits as usize, width));
            }
            Ok((sign_extend(w.field(0, bits), bits, signed), w.line))
        })
        .collect()
}

/// Parses one lane's image (the inverse of [`weight_lane_image`]): `outputs × words` words
/// whose values fit `weight_bits`, in `$readmemh` syntax (see the module doc). Returns the
/// words by address, sign-extended. `path` names the file in errors.
///
/// ```
/// # let text = include_str!("../../configs/digits-mlp.toml");
/// # let cfg = golden_model::config::Config::from_toml_str(text, "x").unwrap();
/// let layers = rtl_gen::mem::image_layers(&cfg).unwrap();
/// let classifier = &layers[1]; // 32 → 10, 1 lane: 10 × 32 words of 16 bits
/// let good = "ffff\n".repeat(320);
/// let words = rtl_gen::mem::parse_weight_lane_image(classifier, good.as_bytes(), "w0.hex");
/// assert_eq!(words.unwrap(), vec![-1; 320]);
/// // What `$readmemh` reads: comments, an address, several words a line, short words.
/// let commented = format!("// lane 0\n@0 {} /* row 9 */ @13e 1 ffff\n", "ffff ".repeat(318));
/// let words = rtl_gen::mem::parse_weight_lane_image(classifier, commented.as_bytes(), "w0.hex");
/// assert_eq!(words.unwrap()[318], 1);
/// let bad = good.replacen("ffff", "fffff", 1);
/// let err = rtl_gen::mem::parse_weight_lane_image(classifier, bad.as_bytes(), "w0.hex");
/// assert!(err.unwrap_err().to_string().starts_with("w0.hex: line 1: \"fffff\" does not fit"));
/// ```
pub fn parse_weight_lane_image(
    layer: &LayerParams,
    bytes: &[u8],
    path: &str,
) -> Result<Vec<i32>, GenError> {
    Ok(parse_lane(layer, bytes, path)?
        .into_iter()
        .map(|(v, _)| v)
        .collect())
}

/// [`parse_weight_lane_image`] with each word's line.
fn parse_lane(
    layer: &LayerParams,
    bytes: &[u8],
    path: &str,
) -> Result<Vec<(i32, usize)>, GenError> {
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
        .map(|(v, line)| (v as i32, line))
        .collect())
}

/// Parses bank `bank`'s image of a banked layer (the inverse of [`weight_bank_images`]):
/// its words, each every lane's weight with lane 0 in the low bits. Returns, for each lane
/// word the bank holds (`bank · bank_words + a`), the lanes' weights and the word's line.
fn parse_bank(
    layer: &LayerParams,
    bank: usize,
    bytes: &[u8],
    path: &str,
) -> Result<Vec<(Vec<i32>, usize)>, GenError> {
    let bits = layer.weight_bits;
    let total = bits as usize * layer.lanes;
    let depth = crate::blocks::weights::bank_depth(layer, bank);
    let layout = format!(
        "bank {bank} of {}: lane words {}..{} of {} outputs × {} words per row",
        layer.weight_banks(),
        bank * layer.bank_words,
        bank * layer.bank_words + depth,
        layer.outputs,
        layer.words
    );
    let width = format!("{} lanes × weight_bits = {bits}", layer.lanes);
    read_memh(bytes, path, depth, &width, &layout)?
        .into_iter()
        .map(|w| {
            if !w.fits(total) {
                return Err(too_wide(path, &w, total, &width));
            }
            let lanes = (0..layer.lanes)
                .map(|lane| sign_extend(w.field(lane * bits as usize, bits), bits, true) as i32)
                .collect();
            Ok((lanes, w.line))
        })
        .collect()
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

/// A layer's weights, row-major, from the images its RTL loads: the lane images
/// (`<layer>_w<lane>.hex`), or for a banked layer the bank images (`<layer>_w_b<k>.hex`).
/// A banked layer's lane images are optional (the RTL does not read them); where present
/// they must hold the same words as the banks, or the import stops naming the first word
/// that differs: two sets of images that disagree have no state to import.
fn read_weights(cfg: &Config, l: &LayerParams, dir: &Path) -> Result<Vec<i32>, GenError> {
    let shown = |name: &str| dir.join(name).display().to_string();
    let mut weights = vec![0i32; l.inputs * l.outputs];
    if l.weight_banks() == 1 {
        for lane in 0..l.lanes {
            let name = crate::blocks::layer::weight_file(l, lane);
            let what = format!("{} lane image(s) per layer", l.lanes);
            let bytes = read_image(dir, &name, cfg, &what)?;
            for (k, (v, _)) in parse_lane(l, &bytes, &shown(&name))?
                .into_iter()
                .enumerate()
            {
                weights[lane_word_index(l, k, lane)] = v;
            }
        }
        return Ok(weights);
    }
    // Where each lane word came from, for the lane images' check: bank and line.
    let mut from = vec![(0usize, 0usize); l.lane_words()];
    for bank in 0..l.weight_banks() {
        let name = crate::blocks::weights::bank_file(l, bank);
        let what = format!(
            "{} bank images for {} (its weights are banked; the RTL loads them)",
            l.weight_banks(),
            l.name
        );
        let bytes = read_image(dir, &name, cfg, &what)?;
        for (a, (lanes, line)) in parse_bank(l, bank, &bytes, &shown(&name))?
            .into_iter()
            .enumerate()
        {
            let w = bank * l.bank_words + a;
            from[w] = (bank, line);
            for (lane, v) in lanes.into_iter().enumerate() {
                weights[lane_word_index(l, w, lane)] = v;
            }
        }
    }
    for lane in 0..l.lanes {
        let name = crate::blocks::layer::weight_file(l, lane);
        let bytes = match std::fs::read(dir.join(&name)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(GenError::Image {
                    path: shown(&name),
                    problem: format!("cannot read: {e}"),
                    fix: "make the lane image readable or remove it (the RTL loads the \
                          bank images)"
                        .to_string(),
                })
            }
        };
        for (w, (v, line)) in parse_lane(l, &bytes, &shown(&name))?
            .into_iter()
            .enumerate()
        {
            let banked = weights[lane_word_index(l, w, lane)];
            if v != banked {
                let (bank, bank_line) = from[w];
                return Err(GenError::ImageLine {
                    path: shown(&name),
                    line,
                    problem: format!(
                        "weight {v} disagrees with {} line {bank_line}, which holds {banked} \
                         for this lane; the RTL loads the bank images",
                        crate::blocks::weights::bank_file(l, bank)
                    ),
                    fix: "write both from one state (`lls weights export`), or delete the \
                          lane images to import the banks"
                        .to_string(),
                });
            }
        }
    }
    Ok(weights)
}

/// Reads every layer's state images from `dir` (see [`state_images`]; a banked layer's
/// weights from its bank images, see `read_weights`). Every file is checked before
/// anything is returned.
pub fn read_state_images(cfg: &Config, dir: &Path) -> Result<Vec<LayerImages>, GenError> {
    let layers = image_layers(cfg)?;
    let shown = |name: &str| dir.join(name).display().to_string();
    let mut all = Vec::with_capacity(layers.len());
    for l in &layers {
        let weights = read_weights(cfg, l, dir)?;
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
                let values = parse_words(&bytes, &shown(&name), &format)?;
                Some(values.into_iter().map(|(v, _)| v).collect())
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
            if let Some(&(_, line)) = states.iter().find(|&&(s, _)| s == 0) {
                return Err(GenError::ImageLine {
                    path: shown(&name),
                    line,
                    problem: "an LFSR state of 0 never changes again".to_string(),
                    fix: "write the states the RTL or `lls weights export` read out".to_string(),
                });
            }
            // Values fit 32 bits, checked by the parser.
            states.into_iter().map(|(s, _)| s as u32).collect()
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
        // The mnist preset banks its hidden unit's weights (98 lanes, 2 banks); its
        // classifier's 640 words a lane take one bank, so it keeps one memory a lane.
        let text = include_str!("../../configs/mnist-mlp.toml");
        let cfg = Config::from_toml_str(text, "mnist").unwrap();
        assert!(cfg.hardware.bank_weights, "the mnist preset is banked");
        let net = FixedNet::new(&cfg);
        let images = state_images(&cfg, &net).unwrap();
        let layers = image_layers(&cfg).unwrap();
        let banks: Vec<usize> = layers.iter().map(|l| l.weight_banks()).collect();
        assert_eq!(banks, [2, 1]);
        for l in layers.iter().filter(|l| l.weight_banks() > 1) {
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
