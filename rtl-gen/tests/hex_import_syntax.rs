//! `$readmemh` syntax on import: what IEEE 1364 `$readmemh` reads is read the same way
//! (comments, `@address` lines, white space of any kind, short words), what it cannot load
//! into a memory word once is refused naming the file, the line or the address; and a
//! banked layer's weights come from the bank images its RTL loads.

use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;
use rtl_gen::mem::{
    image_layers, import_state_images, parse_weight_lane_image, write_state_images,
};
use rtl_gen::params::LayerParams;

const SQUARE: &str = include_str!("configs/tiny-square.toml");
const BANKED: &str = include_str!("configs/tiny-banked.toml");

/// tiny-square's classifier: 4 → 3 on two lanes, so 3 × 2 words of 16 bits a lane.
fn classifier() -> LayerParams {
    let cfg = Config::from_toml_str(SQUARE, "tiny-square.toml").unwrap();
    image_layers(&cfg).unwrap()[1].clone()
}

fn parse(text: &str) -> Result<Vec<i32>, String> {
    parse_weight_lane_image(&classifier(), text.as_bytes(), "w1.hex").map_err(|e| e.to_string())
}

fn error(text: &str) -> String {
    parse(text).unwrap_err()
}

#[test]
fn what_readmemh_reads_is_read() {
    let plain = "0001\n0002\n0003\nfffd\n0005\n0006\n";
    let want = vec![1, 2, 3, -3, 5, 6];
    assert_eq!(parse(plain).unwrap(), want);
    for text in [
        // A comment line, a comment after a word, a block comment over lines.
        "// lane 1\n0001\n0002 // row 0\n/* row 1\n   two words */ 0003\nfffd\n0005\n0006\n",
        // Leading spaces and tabs, blank lines between and after, Windows line ends.
        "  0001\n\t0002\n\n0003\r\nfffd\r\n0005\n0006\n\n\n",
        // Several words a line, no line end at the end.
        "0001 0002 0003\tfffd 0005 0006",
        // Short words are zero-extended, `_` may separate digits.
        "1 2 3 ff_fd 5 6\n",
        // `@` moves the address; the words may come in any order.
        "@3 fffd 0005 0006\n@0\n0001 0002 0003\n",
        // A comment right after a word, without a space.
        "0001//a\n0002/*b*/0003 fffd 0005 0006\n",
    ] {
        assert_eq!(parse(text), Ok(want.clone()), "{text:?}");
    }
}

const FIX: &str = "state images are `$readmemh` files: hex words separated by white space, `//` \
                   and `/* */` comments, `@<hex address>` to move on (two's complement for \
                   weights and modulation), as `lls gen` and `lls weights export` write them";

#[test]
fn what_cannot_be_loaded_once_is_refused() {
    assert_eq!(
        error("0001\n0002\n@2 0003 fffd\n@3 0005 0006\n"),
        format!("w1.hex: line 4: word @3 is given twice (lines 3 and 4); every word must be given once; {FIX}")
    );
    assert_eq!(
        error("0001 0002\n@4 0005 0006\n"),
        format!(
            "w1.hex: words @2 to @3 are not given: every word of the 6 (3 outputs × 2 words \
             per row) must be given once; {FIX}"
        )
    );
    assert_eq!(
        error("@1 0002 0003 fffd 0005 0006\n"),
        format!(
            "w1.hex: word @0 is not given: every word of the 6 (3 outputs × 2 words per row) \
             must be given once; {FIX}"
        )
    );
    assert_eq!(
        error("0001 0002 0003\n@6\n"),
        format!(
            "w1.hex: line 2: address \"@6\" is beyond the memory's 6 words (3 outputs × 2 \
             words per row); {FIX}"
        )
    );
    assert_eq!(
        error("@5 0006 0007\n"),
        format!(
            "w1.hex: line 1: word @6 is beyond the memory's 6 words (3 outputs × 2 words per \
             row); {FIX}"
        )
    );
    assert_eq!(
        error("0001 0002\n00x3 fffd 0005 0006\n"),
        format!(
            "w1.hex: line 2: \"00x3\" has x or z digits, which hold no value; the state needs \
             a value in every bit; {FIX}"
        )
    );
    assert_eq!(
        error("0001\n@ 0002\n"),
        format!("w1.hex: line 2: expected a hex address after `@`, found \"\"; {FIX}")
    );
    assert_eq!(
        error("0001 0002\n/* 0003 fffd\n0005 0006\n"),
        format!("w1.hex: line 2: a `/*` comment is never closed; {FIX}")
    );
    assert_eq!(
        error("0001 0002 0003\n12345 0005 0006\n"),
        format!("w1.hex: line 2: \"12345\" does not fit weight_bits = 16 (at most ffff); {FIX}")
    );
    assert_eq!(
        error("// nothing yet\n"),
        format!("w1.hex: the file holds no words, expected 6 (3 outputs × 2 words per row); {FIX}")
    );
    assert_eq!(
        error("0001 0002 0003 _fffd 0005 0006\n"),
        format!("w1.hex: line 1: expected a hex word (weight_bits = 16), found \"_fffd\"; {FIX}")
    );
}

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("lls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// tiny-banked, its initial net with distinct weights, and its images in a fresh folder.
fn banked_images(name: &str) -> (Config, FixedNet, TempDir) {
    let cfg = Config::from_toml_str(BANKED, "tiny-banked.toml").unwrap();
    let mut net = FixedNet::new(&cfg);
    for layer in &mut net.layers {
        let w: Vec<i32> = (0..layer.inputs * layer.outputs)
            .map(|k| (k as i32 * 37) % 5000 - 2500)
            .collect();
        layer.set_weights(&w);
    }
    let dir = TempDir::new(name);
    write_state_images(&cfg, &net, dir.path()).unwrap();
    (cfg, net, dir)
}

#[test]
fn a_banked_layer_is_read_from_the_bank_images() {
    let (cfg, net, dir) = banked_images("banked-damage");
    let layers = image_layers(&cfg).unwrap();
    assert!(layers[0].weight_banks() > 1, "layer 0 is banked");
    let bank = dir.path().join("tiny_banked_layer0_w_b1.hex");
    let text = std::fs::read_to_string(&bank).unwrap();

    // A damaged bank image is refused, naming its line.
    let damaged = text.replacen('\n', "\nnot-hex\n", 2);
    std::fs::write(&bank, &damaged).unwrap();
    let mut back = FixedNet::new(&cfg);
    let err = import_state_images(&cfg, &mut back, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}: line 2: expected a hex word (2 lanes × weight_bits = 18), found \"not-hex\"",
            bank.display()
        )),
        "{err}"
    );

    // A bank word changed: the RTL loads it, so import reads it, and the lane images,
    // which still hold the old weight, are refused as disagreeing.
    let first = text.lines().next().unwrap();
    let changed = format!("{:09x}", 5u64 << 18 | 7); // lane 1 = 5, lane 0 = 7
    assert_ne!(first, changed);
    std::fs::write(&bank, text.replacen(first, &changed, 1)).unwrap();
    let err = import_state_images(&cfg, &mut back, dir.path())
        .unwrap_err()
        .to_string();
    let lane0 = dir.path().join("tiny_banked_layer0_w0.hex");
    assert!(
        err.starts_with(&format!("{}: line 1025: weight ", lane0.display())),
        "{err}"
    );
    assert!(
        err.contains(
            "disagrees with tiny_banked_layer0_w_b1.hex line 1, which holds 7 for this lane; \
             the RTL loads the bank images; write both from one state"
        ),
        "{err}"
    );

    // Without the lane images the banks alone are the state.
    for lane in 0..2 {
        std::fs::remove_file(dir.path().join(format!("tiny_banked_layer0_w{lane}.hex"))).unwrap();
    }
    import_state_images(&cfg, &mut back, dir.path()).unwrap();
    let l = &layers[0];
    let word = l.bank_words; // bank 1's first word, lane word 1024: row 32, word 0
    let (row, w) = (word / l.words, word % l.words);
    let mut want = net.layers[0].weights();
    want[row * l.inputs + l.lane_map().input(0, w)] = 7;
    want[row * l.inputs + l.lane_map().input(1, w)] = 5;
    assert_eq!(back.layers[0].weights(), want);
    assert_eq!(back.layers[1].weights(), net.layers[1].weights());

    // A missing bank image is named, with what the design needs.
    std::fs::remove_file(&bank).unwrap();
    let err = import_state_images(&cfg, &mut back, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read: ", bank.display())),
        "{err}"
    );
    assert!(
        err.contains("needs 2 bank images for tiny_banked_layer0 (its weights are banked; the RTL loads them)"),
        "{err}"
    );
}

/// Export then import gives the same net on a banked design, lane images present or not.
#[test]
fn banked_round_trip() {
    let (cfg, net, dir) = banked_images("banked-round-trip");
    let mut back = FixedNet::new(&cfg);
    import_state_images(&cfg, &mut back, dir.path()).unwrap();
    for (a, b) in net.layers.iter().zip(&back.layers) {
        assert_eq!(a.weights(), b.weights());
    }
}
