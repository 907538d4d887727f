//! manifest.json's memory list against the Verilog it describes: every memory declared in
//! the emitted text (read back with a small parser of its own, not through the AST) is in
//! the manifest with the same module, words and width, the manifest lists nothing else,
//! and `memory_bits` is their sum. Presets, the test configs and random small configs,
//! each with and without learning.

use std::collections::BTreeMap;
use std::path::Path;

use golden_model::config::Config;
use golden_model::rng::SplitMix64;
use rtl_gen::{generate, Design};

#[path = "support/random_configs.rs"]
mod random_configs;

use random_configs::{pick, Knobs};

/// One memory: (module, name, words, width).
type Decl = (String, String, u64, u32);

/// Every `.toml` in `dir`, as (path, text), by name.
fn configs_in(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no configs in {}", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p.display().to_string(), text)
        })
        .collect()
}

/// The range `[a:b]` as (a, b).
fn range(token: &str) -> Option<(u64, u64)> {
    let (a, b) = token
        .strip_prefix('[')?
        .strip_suffix(']')?
        .split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The memories declared in one Verilog file, each `reg [signed] [hi:lo] name [0:n];`
/// (no `[hi:lo]`: one bit), and its `$readmemh` images, memory name → file.
fn declared(file: &str, text: &str) -> (Vec<Decl>, BTreeMap<String, String>) {
    let mut module = None;
    let mut memories = Vec::new();
    let mut images = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let at = || format!("{file}:{}: `{line}`", i + 1);
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("module ") {
            let name = rest.split([' ', '(', '#', ';']).next().unwrap_or("");
            assert!(module.is_none(), "{}: a second module", at());
            module = Some(name.to_string());
        } else if let Some(rest) = t.strip_prefix("initial $readmemh(\"") {
            let (image, rest) = rest
                .split_once("\", ")
                .unwrap_or_else(|| panic!("{}", at()));
            let mem = rest
                .strip_suffix(");")
                .unwrap_or_else(|| panic!("{}", at()));
            images.insert(mem.to_string(), image.to_string());
        } else if t.starts_with("reg ") && t.ends_with("];") {
            // A memory: the last token is its unpacked range, the one before its name.
            let tokens: Vec<&str> = t.trim_end_matches(';').split_whitespace().collect();
            let n = tokens.len();
            let Some((0, last)) = range(tokens[n - 1]) else {
                panic!("{}: not a [0:n] memory", at());
            };
            let width = match &tokens[1..n - 2] {
                [] | ["signed"] => 1,
                [packed] | ["signed", packed] => {
                    let (hi, lo) = range(packed).unwrap_or_else(|| panic!("{}", at()));
                    u32::try_from(hi - lo + 1).expect("width")
                }
                _ => panic!("{}: unknown declaration", at()),
            };
            let module = module
                .clone()
                .unwrap_or_else(|| panic!("{}: outside a module", at()));
            memories.push((module, tokens[n - 2].to_string(), last + 1, width));
        }
    }
    (memories, images)
}

/// The manifest's memories are exactly those the Verilog declares, images included, each
/// in a module instantiated once, so that `memory_bits` is the design's.
fn check(what: &str, design: &Design) {
    let mut declared_all = Vec::new();
    let mut images_all = BTreeMap::new();
    let mut modules = Vec::new();
    for (name, text) in design.files.iter().filter(|(n, _)| n.ends_with(".v")) {
        let (memories, images) = declared(name, text);
        let module = name.strip_suffix(".v").expect(".v");
        for (mem, image) in images {
            images_all.insert((module.to_string(), mem), image);
        }
        declared_all.extend(memories);
        modules.push(module.to_string());
    }
    // Instances: `<module> <instance> (` or `<module> #(`, once for each module but the top.
    for module in &modules {
        let instances = design
            .files
            .iter()
            .filter(|(n, _)| n.ends_with(".v"))
            .flat_map(|(_, text)| text.lines())
            .filter(|l| l.split_whitespace().next() == Some(module.as_str()))
            .count();
        let expected = usize::from(*module != design.top);
        assert_eq!(instances, expected, "{what}: instances of {module}");
    }

    let m = &design.manifest;
    let mut listed: Vec<Decl> = m
        .memories
        .iter()
        .map(|x| (x.module.clone(), x.name.clone(), x.words, x.width))
        .collect();
    listed.sort();
    declared_all.sort();
    assert!(!declared_all.is_empty(), "{what}: no memories parsed");
    assert_eq!(
        listed, declared_all,
        "{what}: manifest memories != declared"
    );
    for x in &m.memories {
        assert_eq!(x.bits, x.words * u64::from(x.width), "{what}: {}", x.name);
        assert_eq!(
            x.image.as_ref(),
            images_all.get(&(x.module.clone(), x.name.clone())),
            "{what}: image of {}.{}",
            x.module,
            x.name
        );
        if let Some(image) = &x.image {
            assert!(
                design.files.contains_key(image),
                "{what}: {image} not emitted"
            );
        }
    }
    assert_eq!(
        images_all.len(),
        m.memories.iter().filter(|x| x.image.is_some()).count()
    );
    let sum: u64 = declared_all.iter().map(|d| d.2 * u64::from(d.3)).sum();
    assert_eq!(m.memory_bits, sum, "{what}: memory_bits");
}

fn check_config(what: &str, cfg: &Config, text: &str) {
    for learn in [true, false] {
        let design = generate(cfg, text, learn).unwrap_or_else(|e| panic!("{what}: {e}"));
        check(&format!("{what} (learn {learn})"), &design);
    }
}

#[test]
fn presets_and_test_configs() {
    for (path, text) in configs_in("../configs")
        .into_iter()
        .chain(configs_in("tests/configs"))
    {
        let cfg = Config::from_toml_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        check_config(&path, &cfg, &text);
    }
}

/// The co-simulation's random configs, with wider layers (weight banks past 1,024 words),
/// banked weights, shared multipliers and classifier lanes drawn too.
#[test]
fn random_configs() {
    let mut rng = SplitMix64::new(29);
    for k in 0..24 {
        let rule = pick(&mut rng, &["lls", "lls-m", "lls-mxm"]);
        let mut knobs = Knobs::random(&mut rng, &format!("manifest{k}"), rule, k % 2 == 1);
        if rng.below(2) == 1 {
            knobs.hidden = knobs.hidden.iter().map(|h| h * 4).collect();
        }
        let mut cfg = knobs.config();
        cfg.hardware.bank_weights = rng.below(2) == 1;
        cfg.hardware.share_multipliers = rng.below(2) == 1;
        if rng.below(2) == 1 {
            cfg.hardware.classifier_lanes = Some(1 << rng.below(2));
        }
        let text = cfg.to_toml();
        let cfg = Config::from_toml_str(&text, &knobs.name)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", knobs.name));
        check_config(&knobs.name, &cfg, &text);
    }
}

/// A design generated from a learned state holds that state's images where the initial
/// one's would be, names its source in the manifest, and is refused for a net of another
/// shape.
#[test]
fn a_design_from_a_state_holds_its_images_and_names_the_source() {
    use golden_model::spec::fixed::FixedNet;
    use rtl_gen::{generate_with_state, StateSource};
    let text = include_str!("configs/tiny-mxm.toml");
    let cfg = Config::from_toml_str(text, "tiny-mxm").expect("valid");
    let mut net = FixedNet::new(&cfg);
    for layer in &mut net.layers {
        let w: Vec<i32> = (0..layer.inputs * layer.outputs)
            .map(|k| (k % 97) as i32 - 48)
            .collect();
        layer.set_weights(&w);
    }
    let source = StateSource::Checkpoint {
        sha256: "00ff".into(),
    };
    let design = generate_with_state(&cfg, text, true, &net, source).expect("generates");
    let initial = generate(&cfg, text, true).expect("generates");
    let images = rtl_gen::mem::state_images(&cfg, &net).expect("images");
    for (name, image) in &images {
        assert_eq!(&design.files[name], image, "{name}");
    }
    assert!(images
        .iter()
        .any(|(name, image)| &initial.files[name] != image));
    let manifest =
        |d: &Design| serde_json::to_value(&d.manifest).expect("serialises")["state"].clone();
    assert_eq!(
        manifest(&design),
        serde_json::json!({"source": "checkpoint", "sha256": "00ff"})
    );
    assert_eq!(manifest(&initial), serde_json::json!({"source": "config"}));
    let other =
        Config::from_toml_str(include_str!("configs/tiny-deep.toml"), "tiny-deep").expect("valid");
    let Err(e) = generate_with_state(
        &cfg,
        text,
        true,
        &FixedNet::new(&other),
        StateSource::Config,
    ) else {
        panic!("a net of another shape must be refused");
    };
    assert!(e.to_string().contains("the net has layers"), "{e}");
}
