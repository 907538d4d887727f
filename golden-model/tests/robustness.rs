//! Robustness of the two readers of user files in this crate: the TOML config parser and
//! the checkpoint loader. Whatever the input, they return an error that says where the
//! problem is (a line or a field; the checkpoint's file name), and never panic.
//!
//! Inputs are the presets mutated (lines deleted, duplicated, values replaced, bytes
//! flipped, cut short) and, for checkpoints, valid files truncated, bit-flipped, spliced
//! with random bytes, or edited with a recomputed checksum (so that the shape and range
//! checks behind the checksum are reached).
//!
//! Cases per property: 2000 in the normal test run. Set `LLS_FUZZ_CASES` for more; the
//! opt-in long run is
//! `LLS_FUZZ_CASES=100000 cargo test --release -p golden-model --test robustness`.

use std::path::Path;

use golden_model::checkpoint::{sha256_hex, Checkpoint, ConfigMatch};
use golden_model::config::{Config, ConfigError};
use golden_model::spec::fixed::FixedNet;
use golden_model::testing::{proptest_config, trained_checkpoint};
use proptest::prelude::*;
use serde_json::Value;

const PRESETS: [&str; 2] = [
    include_str!("../../configs/digits-mlp.toml"),
    include_str!("../../configs/mnist-mlp.toml"),
];

// ---- config parser ------------------------------------------------------------------

/// One edit of a TOML text.
#[derive(Clone, Debug)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Replace the value of the n-th `key = value` line.
    ReplaceValue(usize, String),
    InsertLine(usize, String),
    FlipBit(usize, u8),
    Truncate(usize),
}

fn value_token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("4294967295".to_string()),
        Just("3.5".to_string()),
        Just("-0.0".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("[0]".to_string()),
        Just("[1, 2, 3]".to_string()),
        Just("{}".to_string()),
        Just("\"sine\"".to_string()),
        Just("\"stochastic\"".to_string()),
        Just("\"bp\"".to_string()),
        Just("\"lls-mxm\"".to_string()),
        Just("\"relu\"".to_string()),
        Just("\"fashion-mnist\"".to_string()),
        Just("\"ecp5-25k\"".to_string()),
        (0u64..100).prop_map(|v| v.to_string()),
        (0u64..70).prop_map(|v| v.to_string()),
        "\"[a-z0-9 _-]{0,12}\"",
        "[a-z\\[\\]{}=\",.0-9 ]{0,12}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => any::<usize>().prop_map(Edit::DeleteLine),
        1 => any::<usize>().prop_map(Edit::DuplicateLine),
        4 => (any::<usize>(), value_token()).prop_map(|(n, v)| Edit::ReplaceValue(n, v)),
        1 => (
            any::<usize>(),
            prop_oneof![
                "[a-z_]{1,14} = [0-9]{1,3}",
                "\\[[a-z_.]{1,10}\\]",
                "[ -~]{0,20}",
            ]
        )
            .prop_map(|(n, l)| Edit::InsertLine(n, l)),
        1 => (any::<usize>(), 0u8..8).prop_map(|(n, b)| Edit::FlipBit(n, b)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match edit {
        Edit::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Edit::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Edit::ReplaceValue(i, v) => {
            let kv: Vec<usize> = (0..lines.len())
                .filter(|&k| lines[k].contains(" = "))
                .collect();
            if !kv.is_empty() {
                let k = kv[i % kv.len()];
                let key = lines[k].split(" = ").next().unwrap_or("").to_string();
                lines[k] = format!("{key} = {v}");
            }
        }
        Edit::InsertLine(i, l) => lines.insert(i % (lines.len() + 1), l.clone()),
        Edit::FlipBit(i, b) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let k = i % bytes.len();
                bytes[k] ^= 1 << b;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Edit::Truncate(i) => {
            let bytes = text.as_bytes();
            let cut = i % (bytes.len() + 1);
            return String::from_utf8_lossy(&bytes[..cut]).into_owned();
        }
    }
    lines.join("\n") + "\n"
}

/// Every TOML table and key of the config, as `table.key` (and the bare table names).
fn known_fields() -> Vec<String> {
    let mut fields = vec!["name".to_string(), "description".to_string()];
    // Optional keys appear in some presets only (mnist's hardware.classifier_lanes).
    for preset in PRESETS {
        let cfg = Config::from_toml_str(preset, "preset").expect("preset");
        let table: toml::Table = toml::from_str(&cfg.to_toml()).expect("round trip");
        for (section, value) in table {
            if let toml::Value::Table(t) = value {
                fields.push(section.clone());
                fields.extend(t.keys().map(|k| format!("{section}.{k}")));
            }
        }
    }
    // Keys with defaults that the preset leaves out still serialise; basis/mod fields too.
    fields
}

/// A config error must say where: a line (TOML syntax and types), or a field.
fn check_config_error(e: &ConfigError, fields: &[String]) -> Result<(), TestCaseError> {
    let message = e.to_string();
    match e {
        ConfigError::Parse { path, reason } => {
            prop_assert_eq!(path, "fuzz.toml");
            prop_assert!(
                reason.contains(" line ") || reason.contains('`'),
                "parse error without a line or a field: {}",
                message
            );
        }
        ConfigError::Invalid { field, .. } => {
            let base = field.split('[').next().unwrap_or(field);
            prop_assert!(
                fields
                    .iter()
                    .any(|f| f == base || base.starts_with(&format!("{f}_"))),
                "unknown field `{}` in: {}",
                field,
                message
            );
            prop_assert!(message.starts_with(&format!("{field}: ")), "{}", message);
        }
        ConfigError::Read { .. } => prop_assert!(false, "no file is read: {}", message),
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn config_parser_never_panics_and_locates_errors(
        preset in 0usize..PRESETS.len(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let fields = known_fields();
        let text = edits.iter().fold(PRESETS[preset].to_string(), |t, e| apply(&t, e));
        match Config::from_toml_str(&text, "fuzz.toml") {
            Err(e) => check_config_error(&e, &fields)?,
            Ok(cfg) => {
                // Whatever validates must be usable: derived shifts, shapes and a
                // re-serialised config that reads back the same.
                let _ = cfg.shifts();
                let _ = cfg.layer_shapes();
                let again = Config::from_toml_str(&cfg.to_toml(), "again.toml");
                prop_assert_eq!(again.as_ref().ok(), Some(&cfg), "{:?}", again.as_ref().err());
            }
        }
    }

    #[test]
    fn config_parser_on_arbitrary_text(text in "[ -~\n]{0,400}") {
        let fields = known_fields();
        if let Err(e) = Config::from_toml_str(&text, "fuzz.toml") {
            check_config_error(&e, &fields)?;
        }
    }
}

// ---- checkpoint loader --------------------------------------------------------------

/// A small LLS-M net (modulation, 4 lanes, stochastic rounding) after a few steps.
fn fixture() -> (Config, String, Checkpoint, String) {
    let text = PRESETS[0]
        .replace("hidden = [32]", "hidden = [4]")
        .replace("rule = \"lls\"", "rule = \"lls-m\"")
        .replace(
            "update_rounding = \"half-up\"",
            "update_rounding = \"stochastic\"",
        );
    let (cfg, _, ck, json) = trained_checkpoint(&text, 3);
    (cfg, text, ck, json)
}

const PATH: &str = "fuzz/ck.json";

/// Loading `bytes` either fails with an error naming the file, or gives exactly the
/// original checkpoint, which then restores or fails with an error naming the file.
fn check_load(
    bytes: &[u8],
    cfg: &Config,
    text: &str,
    original: &Checkpoint,
) -> Result<(), TestCaseError> {
    let path = Path::new(PATH);
    match Checkpoint::from_json(bytes, path) {
        Err(e) => {
            let m = e.to_string();
            prop_assert!(m.starts_with("fuzz/ck.json: "), "{}", m);
        }
        Ok(ck) => {
            prop_assert_eq!(&ck, original, "a changed file loaded without an error");
            prop_assert!(ck.restore(cfg, text, ConfigMatch::Exact, path).is_ok());
        }
    }
    Ok(())
}

/// Paths of every leaf of a JSON value (as JSON pointers).
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            out.push(at.clone());
            for (k, x) in m {
                leaves(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            out.push(at.clone());
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-70000i64..70000).prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(Value::from(1.5)),
        Just(Value::String("none".into())),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({"vector": [1, 2]})),
        Just(serde_json::json!({})),
    ]
}

/// An edit of the payload with the checksum recomputed: reaches the schema, shape and range
/// checks behind the checksum.
fn edited_with_checksum(json: &str, pick: usize, new: Value, remove: bool) -> Vec<u8> {
    let mut doc: Value = serde_json::from_str(json).expect("fixture parses");
    let payload = doc.get_mut("payload").expect("payload");
    let mut paths = Vec::new();
    leaves(payload, String::new(), &mut paths);
    let path = &paths[pick % paths.len()];
    if remove && !path.is_empty() {
        let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
        match payload.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.remove(last);
            }
            Some(Value::Array(a)) => {
                if let Ok(i) = last.parse::<usize>() {
                    if i < a.len() {
                        a.remove(i);
                    }
                }
            }
            _ => {}
        }
    } else if let Some(slot) = payload.pointer_mut(path) {
        *slot = new;
    }
    // serde_json's map keeps keys sorted, so its compact form is the canonical payload.
    let canonical = serde_json::to_string(payload).expect("serialises");
    doc["sha256"] = Value::String(sha256_hex(canonical.as_bytes()));
    serde_json::to_vec(&doc).expect("serialises")
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn checkpoint_loader_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let (cfg, text, ck, _) = fixture();
        check_load(&bytes, &cfg, &text, &ck)?;
    }

    #[test]
    fn checkpoint_loader_on_truncations(cut in any::<usize>()) {
        let (cfg, text, ck, json) = fixture();
        let cut = cut % (json.len() + 1);
        check_load(&json.as_bytes()[..cut], &cfg, &text, &ck)?;
    }

    #[test]
    fn checkpoint_loader_on_bit_flips(
        flips in prop::collection::vec((any::<usize>(), 0u8..8), 1..4),
    ) {
        let (cfg, text, ck, json) = fixture();
        let mut bytes = json.into_bytes();
        let n = bytes.len();
        for (at, bit) in flips {
            bytes[at % n] ^= 1 << bit;
        }
        check_load(&bytes, &cfg, &text, &ck)?;
    }

    #[test]
    fn checkpoint_loader_on_spliced_bytes(
        at in any::<usize>(),
        len in 0usize..40,
        junk in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let (cfg, text, ck, json) = fixture();
        let mut bytes = json.into_bytes();
        let at = at % (bytes.len() + 1);
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, junk);
        check_load(&bytes, &cfg, &text, &ck)?;
    }

    #[test]
    fn checkpoint_checks_behind_the_checksum(
        pick in any::<usize>(),
        new in json_value(),
        remove in any::<bool>(),
    ) {
        let (cfg, text, _, json) = fixture();
        let bytes = edited_with_checksum(&json, pick, new, remove);
        // A consistent edit may load (it is a valid checkpoint); restoring it then either
        // works or fails naming the file, and a failed restore leaves nothing half-applied.
        let path = Path::new(PATH);
        let named = |m: String| -> Result<(), TestCaseError> {
            prop_assert!(m.starts_with("fuzz/ck.json: "), "{}", m);
            Ok(())
        };
        match Checkpoint::from_json(&bytes, path) {
            Err(e) => named(e.to_string())?,
            Ok(ck) => {
                let mut net = FixedNet::new(&cfg);
                let before: Vec<Vec<i32>> = net.layers.iter().map(|l| l.weights()).collect();
                if let Err(e) = ck.check_config(&cfg, &text, ConfigMatch::Exact, path)
                    .and_then(|()| ck.apply(&mut net, path))
                {
                    named(e.to_string())?;
                    let after: Vec<Vec<i32>> = net.layers.iter().map(|l| l.weights()).collect();
                    prop_assert_eq!(before, after, "a failed apply changed the net");
                }
            }
        }
    }
}
