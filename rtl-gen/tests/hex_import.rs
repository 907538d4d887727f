//! Reading `$readmemh` weight images back ([`rtl_gen::mem::parse_weight_lane_image`],
//! [`rtl_gen::mem::import_state_images`]): exact round trips for any weights, and for any
//! damaged file an error that names the file (and the line, when one line is at fault),
//! never a panic and never a partial import.
//!
//! Cases per property: 2000 in the normal test run. Set `LLS_FUZZ_CASES` for more; the
//! opt-in long run is `LLS_FUZZ_CASES=100000 cargo test --release -p rtl-gen --test hex_import`.

use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::numeric::lfsr::Lfsr;
use golden_model::spec::numeric::width::{max_signed, min_signed};
use golden_model::testing::proptest_config;
use proptest::prelude::*;
use rtl_gen::mem::{
    image_layers, import_state_images, parse_weight_lane_image, weight_lane_image,
    write_state_images,
};
use rtl_gen::params::LayerParams;
use rtl_gen::GenError;

const TINY: &str = include_str!("configs/tiny-square.toml");
const PATH: &str = "fuzz/w1.hex";

/// tiny-square with `weight_bits` bits: hidden 8 → 4 and classifier 4 → 3, two lanes.
fn config(weight_bits: u32) -> Config {
    let text = TINY
        .replace("weight_bits = 16", &format!("weight_bits = {weight_bits}"))
        .replace(
            "weight_frac = 14",
            &format!("weight_frac = {}", weight_bits - 2),
        );
    Config::from_toml_str(&text, "tiny.toml").expect("config")
}

fn layer(weight_bits: u32, k: usize) -> LayerParams {
    image_layers(&config(weight_bits)).expect("layers")[k].clone()
}

/// Lane 1's image of random in-range weights, and those weights in file order.
fn image(weight_bits: u32, k: usize, seed: u64) -> (LayerParams, String, Vec<i32>) {
    let l = layer(weight_bits, k);
    let (lo, hi) = (min_signed(weight_bits), max_signed(weight_bits));
    let span = (hi - lo + 1) as u64;
    let mut s = seed | 1;
    let weights: Vec<i32> = (0..l.inputs * l.outputs)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (lo + (s % span) as i64) as i32
        })
        .collect();
    let lane = 1;
    let text = weight_lane_image(&l, &weights, lane);
    let in_file_order = (0..l.outputs)
        .flat_map(|j| (0..l.words).map(move |w| (j, w)))
        .map(|(j, w)| weights[j * l.inputs + w * l.lanes + lane])
        .collect();
    (l, text, in_file_order)
}

/// Parsing `bytes` fails with the file (and line) named, or gives in-range words.
fn check(l: &LayerParams, bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_weight_lane_image(l, bytes, PATH) {
        Err(e) => {
            let m = e.to_string();
            prop_assert!(m.starts_with("fuzz/w1.hex: "), "{}", m);
            match e {
                GenError::ImageLine { line, .. } => {
                    let prefix = format!("fuzz/w1.hex: line {line}: ");
                    prop_assert!(m.starts_with(&prefix), "{}", m);
                    prop_assert!(line >= 1);
                }
                GenError::Image { .. } => {}
                other => prop_assert!(false, "unexpected error kind: {other:?}"),
            }
        }
        Ok(words) => {
            prop_assert_eq!(words.len(), l.outputs * l.words);
            let (lo, hi) = (min_signed(l.weight_bits), max_signed(l.weight_bits));
            prop_assert!(words.iter().all(|&w| (lo..=hi).contains(&(w as i64))));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn round_trip_is_exact(bits in 2u32..=16, k in 0usize..2, seed in any::<u64>()) {
        let (l, text, words) = image(bits, k, seed);
        prop_assert_eq!(parse_weight_lane_image(&l, text.as_bytes(), PATH).ok(), Some(words));
    }

    #[test]
    fn random_bytes(bits in 2u32..=16, bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&layer(bits, 1), &bytes)?;
    }

    #[test]
    fn random_hex_text(bits in 2u32..=16, text in "([0-9a-fA-F]{0,6}\r?\n){0,20}") {
        check(&layer(bits, 1), text.as_bytes())?;
    }

    #[test]
    fn truncations(bits in 2u32..=16, k in 0usize..2, seed in any::<u64>(), cut in any::<usize>()) {
        let (l, text, _) = image(bits, k, seed);
        let cut = cut % (text.len() + 1);
        check(&l, &text.as_bytes()[..cut])?;
    }

    #[test]
    fn bit_flips(
        bits in 2u32..=16,
        k in 0usize..2,
        seed in any::<u64>(),
        flips in prop::collection::vec((any::<usize>(), 0u8..8), 1..4),
    ) {
        let (l, text, _) = image(bits, k, seed);
        let mut bytes = text.into_bytes();
        let n = bytes.len();
        for (at, bit) in flips {
            bytes[at % n] ^= 1 << bit;
        }
        check(&l, &bytes)?;
    }

    #[test]
    fn lines_deleted_or_repeated(
        bits in 2u32..=16,
        k in 0usize..2,
        seed in any::<u64>(),
        at in any::<usize>(),
        repeat in any::<bool>(),
    ) {
        let (l, text, _) = image(bits, k, seed);
        let mut lines: Vec<&str> = text.lines().collect();
        let at = at % lines.len();
        if repeat {
            lines.insert(at, lines[at]);
        } else {
            lines.remove(at);
        }
        let damaged = lines.join("\n") + "\n";
        let err = parse_weight_lane_image(&l, damaged.as_bytes(), PATH).unwrap_err();
        let expected = l.outputs * l.words;
        let line = if repeat { expected + 1 } else { expected };
        prop_assert!(
            err.to_string().starts_with(&format!("fuzz/w1.hex: line {line}: ")),
            "{}",
            err
        );
    }
}

#[test]
fn error_messages() {
    let l = layer(12, 1); // classifier 4 → 3, two lanes: 3 × 2 words of 3 hex digits
    let err = |text: &str| {
        parse_weight_lane_image(&l, text.as_bytes(), "w1.hex")
            .unwrap_err()
            .to_string()
    };
    let fix = "state images are `$readmemh` files: hex words separated by white space, `//` \
               and `/* */` comments, `@<hex address>` to move on (two's complement for \
               weights and modulation), as `lls gen` and `lls weights export` write them";
    assert_eq!(
        err("000\n001\n00g\n"),
        format!("w1.hex: line 3: expected a hex word (weight_bits = 12), found \"00g\"; {fix}")
    );
    assert_eq!(
        err("000\n001\n"),
        format!(
            "w1.hex: line 3: the file ends after 2 of 6 words (3 outputs × 2 words per row); \
             {fix}"
        )
    );
    assert_eq!(
        err(&"fff\n".repeat(7)),
        format!(
            "w1.hex: line 7: one word too many: 6 words expected (3 outputs × 2 words per \
             row); {fix}"
        )
    );
    assert_eq!(
        err(""),
        format!("w1.hex: the file is empty, expected 6 words; {fix}")
    );
    let l14 = layer(14, 1);
    let e = parse_weight_lane_image(&l14, "4000\n".repeat(6).as_bytes(), "w.hex")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("w.hex: line 1: \"4000\" does not fit weight_bits = 14 (at most 3fff); {fix}")
    );
    // Windows line ends and upper-case digits read the same.
    assert_eq!(
        parse_weight_lane_image(&l, "FFF\r\n".repeat(6).as_bytes(), "w1.hex").unwrap(),
        vec![-1; 6]
    );
}

#[test]
fn import_is_all_or_nothing() {
    let cfg = config(16);
    let dir = std::env::temp_dir().join(format!("lls-hex-import-{}", std::process::id()));
    let mut net = FixedNet::new(&cfg);
    for layer in &mut net.layers {
        let w: Vec<i32> = (0..layer.inputs * layer.outputs)
            .map(|k| 1000 - 37 * k as i32)
            .collect();
        layer.set_weights(&w);
    }
    let files = write_state_images(&cfg, &net, &dir).unwrap();
    assert_eq!(
        files,
        [
            "tiny_square_classifier_w0.hex",
            "tiny_square_classifier_w1.hex",
            "tiny_square_layer0_w0.hex",
            "tiny_square_layer0_w1.hex",
        ]
    );
    // The classifier (read last) is damaged: the hidden layer must not be imported either.
    let bad = dir.join("tiny_square_classifier_w1.hex");
    std::fs::write(&bad, "0000\n").unwrap();
    let mut fresh = FixedNet::new(&cfg);
    let before: Vec<Vec<i32>> = fresh.layers.iter().map(|l| l.weights()).collect();
    let err = import_state_images(&cfg, &mut fresh, &dir).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}: line 2: the file ends after 1 of 6",
            bad.display()
        )),
        "{err}"
    );
    let after: Vec<Vec<i32>> = fresh.layers.iter().map(|l| l.weights()).collect();
    assert_eq!(before, after);
    // A missing lane is named with the fix.
    std::fs::remove_file(&bad).unwrap();
    let err = import_state_images(&cfg, &mut fresh, &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read: ", bad.display())),
        "{err}"
    );
    assert!(
        err.ends_with("write them with `lls weights export`"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The whole learned state round-trips: weights, the LLS-MxM matrix and the LFSR states;
/// a stuck LFSR (0) or a modulation word too wide is refused, naming file and line.
#[test]
fn modulation_and_lfsr_states_round_trip() {
    let text = include_str!("configs/tiny-mxm.toml");
    let cfg = Config::from_toml_str(text, "tiny-mxm.toml").unwrap();
    let dir = std::env::temp_dir().join(format!("lls-state-import-{}", std::process::id()));
    let mut net = FixedNet::new(&cfg);
    for s in 0..4 {
        net.train_step(&[(s * 40) as u8; 8], s % 3);
    }
    // Distinct values, so that a mixed-up index shows.
    let hidden = &mut net.layers[0];
    let m: Vec<i64> = (0..9).map(|k| 50 * k - 200).collect();
    hidden.modulation.set_values(m.clone());
    hidden.lfsr = vec![Lfsr(0x8000_0001), Lfsr(0x1234_5678)];
    let files = write_state_images(&cfg, &net, &dir).unwrap();
    assert!(
        files.contains(&"tiny_mxm_layer0_mod.hex".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"tiny_mxm_classifier_lfsr.hex".to_string()),
        "{files:?}"
    );
    let mut back = FixedNet::new(&cfg);
    import_state_images(&cfg, &mut back, &dir).unwrap();
    for (a, b) in net.layers.iter().zip(&back.layers) {
        assert_eq!(a.weights(), b.weights());
        assert_eq!(a.modulation, b.modulation);
        assert_eq!(a.lfsr, b.lfsr);
    }
    assert_eq!(back.layers[0].modulation.values(), Some(&m[..]));

    let lfsr = dir.join("tiny_mxm_layer0_lfsr.hex");
    let import_error = |back: &mut FixedNet| {
        import_state_images(&cfg, back, &dir)
            .unwrap_err()
            .to_string()
    };
    std::fs::write(&lfsr, "80000001\n00000000\n").unwrap();
    let err = import_error(&mut back);
    let stuck = format!("{}: line 2: an LFSR state of 0", lfsr.display());
    assert!(err.starts_with(&stuck), "{err}");
    std::fs::write(&lfsr, "80000001\n").unwrap();
    let err = import_error(&mut back);
    assert!(
        err.contains("line 2: the file ends after 1 of 2 words (one LFSR state per lane"),
        "{err}"
    );
    std::fs::remove_file(&lfsr).unwrap();
    let err = import_error(&mut back);
    assert!(err.contains("needs each layer's LFSR image"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
