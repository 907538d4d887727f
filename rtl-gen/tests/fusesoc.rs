//! The FuseSoC core file (`<top>.core`) that `generate` adds to every design: a snapshot of
//! the learning and the inference-only variant, and its file lists checked against the
//! design's files.

use golden_model::config::Config;
use rtl_gen::{generate, Design};

const TINY: &str = include_str!("configs/tiny-square.toml");

fn design(learn: bool) -> Design {
    let cfg = Config::from_toml_str(TINY, "tiny-square.toml").expect("config");
    generate(&cfg, TINY, learn).expect("generate")
}

fn core(design: &Design) -> &str {
    let name = format!("{}.core", design.top);
    design
        .files
        .get(&name)
        .map(String::as_str)
        .expect("core file")
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        filters => vec![
            (r"lls-rtl-gen \d+\.\d+\.\d+", "lls-rtl-gen [version]"),
            (r"(?m)^(name: lls:\w+:\w+:)\d+\.\d+\.\d+$", "${1}[version]"),
        ],
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn learning_design() {
    snapshot("tiny_square_learn", core(&design(true)));
}

#[test]
fn inference_design() {
    snapshot("tiny_square_inference", core(&design(false)));
}

#[test]
fn lists_every_source_and_image_once_and_is_deterministic() {
    for learn in [true, false] {
        let d = design(learn);
        let text = core(&d);
        assert_eq!(text, core(&design(learn)), "not deterministic");
        assert!(
            text.starts_with("CAPI=2:\n"),
            "CAPI2 files start with `CAPI=2:`"
        );
        assert!(d.manifest.files.contains(&format!("{}.core", d.top)));
        for name in d.files.keys() {
            let entries = text
                .lines()
                .filter(|l| l.trim_start().starts_with(&format!("- {name}")))
                .count();
            let want = usize::from(name.ends_with(".v") || name.ends_with(".hex"));
            assert_eq!(entries, want, "{name} in\n{text}");
        }
        assert!(text.contains(&format!(
            "name: lls:tiny_square:tiny_square_top:{}\n",
            env!("CARGO_PKG_VERSION")
        )));
        assert_eq!(text.matches(&format!("toplevel: {}\n", d.top)).count(), 2);
    }
}
