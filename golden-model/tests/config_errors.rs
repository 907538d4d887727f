//! Bad configs get an error naming the field and the fix; the full text is asserted.

use golden_model::config::Config;

fn error_for(from: &str, to: &str) -> String {
    let base = include_str!("../../configs/digits-mlp.toml");
    assert!(base.contains(from), "fixture lacks `{from}`");
    Config::from_toml_str(&base.replace(from, to), "bad.toml")
        .expect_err("must be rejected")
        .to_string()
}

#[test]
fn lanes_must_be_at_least_one() {
    assert_eq!(
        error_for("lanes = 4\n", "lanes = 0\n"),
        "hardware.lanes: is 0; use at least 1 lane (a divisor of the layer's input count)"
    );
}

#[test]
fn lanes_need_not_be_a_power_of_two() {
    let base = include_str!("../../configs/digits-mlp.toml");
    let cfg = Config::from_toml_str(&base.replace("lanes = 4\n", "lanes = 16\n"), "ok.toml");
    assert!(cfg.is_ok(), "{:?}", cfg.err());
    assert_eq!(
        error_for("lanes = 4\n", "lanes = 3\n"),
        "hardware.lanes: 3 lanes do not divide layer 0's 64 inputs; choose lanes that divide every layer's input count"
    );
}

#[test]
fn lanes_must_divide_every_fan_in() {
    assert_eq!(
        error_for("lanes = 4\n", "lanes = 128\n"),
        "hardware.lanes: 128 lanes do not divide layer 0's 64 inputs; choose lanes that divide every layer's input count"
    );
}

#[test]
fn accumulator_overflow_names_the_width_needed() {
    assert_eq!(
        error_for("acc_bits = 40", "acc_bits = 30"),
        "fixed.acc_bits: layer 0 (64 inputs) needs 38 bits for an exact sum of 16-bit × 16-bit \
         products but acc_bits = 30; raise fixed.acc_bits to 38 or lower weight_bits/act_bits"
    );
}

#[test]
fn empty_layer_is_rejected() {
    assert_eq!(
        error_for("hidden = [32]", "hidden = [0]"),
        "network.hidden[0]: is 0; give every hidden layer at least one neuron"
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    assert_eq!(
        error_for("seed = 1", "seed = 1\nlearning_rate = 0.1"),
        "bad.toml: TOML parse error at line 25, column 1\n   |\n25 | learning_rate = 0.1\n   | ^^^^^^^^^^^^^\n\
         unknown field `learning_rate`, expected one of `rule`, `basis`, `lr_shift`, `out_lr_shift`, \
         `mod_lr_shift`, `logit_shift`, `epochs`, `seed`, `lr_halve_at`, `batch`"
    );
}

#[test]
fn unknown_rule_lists_the_rules() {
    assert_eq!(
        error_for("rule = \"lls\"", "rule = \"lls-z\""),
        "bad.toml: TOML parse error at line 17, column 8\n   |\n17 | rule = \"lls-z\"\n   |        ^^^^^^^\n\
         unknown variant `lls-z`, expected one of `bp`, `lls`, `lls-m`, `lls-mxm`"
    );
}

#[test]
fn input_that_overflows_the_activation_format() {
    assert_eq!(
        error_for("input_shift = 4", "input_shift = 12"),
        "data.input_shift: pixel 16 << 12 does not fit fixed.act_bits = 16; lower data.input_shift or raise fixed.act_bits"
    );
}

#[test]
fn formats_that_would_need_a_negative_shift() {
    assert_eq!(
        error_for("err_frac = 12", "err_frac = 15"),
        "fixed.err_frac: a shift would be negative (14 < 15); err_frac must not exceed prob_frac + basis fraction + learning.logit_shift"
    );
    assert_eq!(
        error_for("weight_frac = 14", "weight_frac = 16"),
        "fixed.weight_frac: is 16, not below fixed.weight_bits = 16; lower fixed.weight_frac below 16"
    );
}

#[test]
fn zero_epochs() {
    assert_eq!(
        error_for("epochs = 20", "epochs = 0"),
        "learning.epochs: is 0; train for at least 1 epoch"
    );
}

#[test]
fn missing_file_names_the_path() {
    let e = Config::load(std::path::Path::new("/no/such/config.toml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/no/such/config.toml: cannot read config: No such file or directory (os error 2)"
    );
}

#[test]
fn presets_round_trip_through_toml() {
    for text in [
        include_str!("../../configs/digits-mlp.toml"),
        include_str!("../../configs/mnist-mlp.toml"),
    ] {
        let cfg = Config::from_toml_str(text, "preset").expect("valid preset");
        let again = Config::from_toml_str(&cfg.to_toml(), "re-serialised").expect("valid");
        assert_eq!(cfg, again);
    }
}

#[test]
fn a_baud_rate_the_clock_cannot_time_is_refused() {
    let base = include_str!("../../configs/digits-mlp.toml");
    let with = |baud: &str| {
        base.replace(
            "freq_mhz = 50.0\n",
            &format!("freq_mhz = 50.0\nbaud = {baud}\n"),
        )
    };
    let cfg = Config::from_toml_str(&with("1000000"), "ok.toml").expect("1 Mbaud at 50 MHz");
    assert_eq!(cfg.hardware.clocks_per_bit(), 50);
    assert_eq!(
        Config::from_toml_str(&with("20000000"), "bad.toml")
            .expect_err("too fast")
            .to_string(),
        "hardware.baud: is 20000000 at 50 MHz: 3 clocks a bit, 16.7 % off the rate; use a \
         rate of at most freq_mhz / 4 MHz that the clock divides within 2 % (1000000 at 50 \
         or 125 MHz)"
    );
    assert!(
        Config::from_toml_str(&with("7000000"), "bad.toml").is_err(),
        "7.1 clocks a bit"
    );
}

#[test]
fn a_learning_rate_schedule_must_ascend_and_fit_its_bits() {
    assert_eq!(
        error_for("seed = 1", "seed = 1\nlr_halve_at = [100, 50]"),
        "learning.lr_halve_at: is not strictly ascending (100 then 50); list the samples at \
         which the rates halve in ascending order, each once"
    );
    assert_eq!(
        error_for(
            "seed = 1",
            "seed = 1\nlr_halve_at = [1, 2, 3, 4, 5, 6, 7, 8]"
        ),
        "learning.lr_halve_at: has 8 entries; give at most 7 (a sample carries its halvings \
         in 3 bits beside its label)"
    );
}

#[test]
fn an_input_offset_must_be_a_pixel_and_keep_the_inputs_in_range() {
    assert_eq!(
        error_for("input_shift = 4", "input_shift = 4\ninput_offset = 17"),
        "data.input_offset: 17 is above the largest pixel, 16; give a pixel value from 0 to \
         16 (about the data's mean)"
    );
}

#[test]
fn an_input_offset_that_takes_the_inputs_below_range_names_the_offset() {
    // digits-mlp: 16-bit activations, pixels 0..16: −16 << 11 is −2^15, the least that
    // fits; −16 << 12 does not.
    let base = include_str!("../../configs/digits-mlp.toml");
    let least = base.replace("input_shift = 4", "input_shift = 11\ninput_offset = 16");
    assert!(Config::from_toml_str(&least, "ok.toml").is_ok());
    assert_eq!(
        error_for("input_shift = 4", "input_shift = 12\ninput_offset = 16"),
        "data.input_offset: pixel 0 − 16 << 12 does not fit fixed.act_bits = 16; lower \
         data.input_offset or data.input_shift, or raise fixed.act_bits"
    );
}

/// digits-mlp (8×8 images) with convolutional blocks before its hidden layer.
const CONV: &str =
    "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 4, pool = 2, lls_pool = 2 }]\n";

#[test]
fn conv_blocks_need_the_image_shape() {
    assert_eq!(
        error_for(
            "inputs = 64\n",
            "inputs = 64\nconv = [{ channels = 4, lls_pool = 2 }]\n"
        ),
        "network.image: is missing, and network.conv needs the input image's shape; add image \
         = [channels, rows, columns] ([1, 28, 28] for MNIST)"
    );
    assert_eq!(
        error_for("inputs = 64\n", "inputs = 64\nimage = [1, 8, 8]\n"),
        "network.image: is set, but there is no network.conv block to take it; remove \
         network.image, or add convolutional blocks"
    );
    assert_eq!(
        error_for("inputs = 64\n", &CONV.replace("[1, 8, 8]", "[1, 8, 9]")),
        "network.image: is 1×8×9 = 72 values, but network.inputs is 64; make the image's \
         shape multiply out to network.inputs (MNIST: [1, 28, 28])"
    );
    assert_eq!(
        error_for("inputs = 64\n", &CONV.replace("pool = 2,", "pool = 3,")),
        "network.conv[0].pool: is 3, which does not tile the 8×8 map; use 1 (no max-pool) or \
         a side that divides the map's rows and columns"
    );
    assert_eq!(
        error_for(
            "inputs = 64\n",
            &CONV.replace("lls_pool = 2", "lls_pool = 9")
        ),
        "network.conv[0].lls_pool: is 9, for a 8×8 map; use 1 to 8: each pooled value \
         averages a window of the map"
    );
    let unknown = error_for(
        "inputs = 64\n",
        &CONV.replace("channels = 4", "channels = 4, stride = 2"),
    );
    assert!(
        unknown.contains("line 12")
            && unknown.ends_with(
                "unknown field `stride`, expected one of `channels`, `kernel`, `pool`, `lls_pool`"
            ),
        "{unknown}"
    );
}

#[test]
fn conv_blocks_feed_the_dense_layers_their_pooled_map() {
    let base = include_str!("../../configs/digits-mlp.toml");
    let text = base.replace("inputs = 64\n", CONV);
    let cfg = Config::from_toml_str(&text, "conv.toml").expect("valid");
    // 4 channels of 4×4 after the max-pool.
    assert_eq!(cfg.layer_shapes()[0], (64, 32));
    assert_eq!(cfg.conv_layers().unwrap()[0].lls_len(), 16);
    // The blocks survive a round trip; an MLP's TOML gains no conv or image key.
    assert_eq!(
        Config::from_toml_str(&cfg.to_toml(), "again.toml"),
        Ok(cfg.clone())
    );
    let mlp = Config::from_toml_str(base, "mlp.toml").expect("valid");
    assert!(!mlp.to_toml().contains("conv") && !mlp.to_toml().contains("image"));
    // Commands that build dense layers only name the field.
    assert_eq!(
        cfg.require_dense("rtl-gen").unwrap_err().to_string(),
        "network.conv: rtl-gen takes dense layers only (network.hidden); remove network.conv \
         and network.image (`lls costs` and `lls train --arith float` take convolutional \
         blocks)"
    );
    assert_eq!(mlp.require_dense("rtl-gen"), Ok(()));
    // The image must be the data set's: one channel of 8×8 for the digits.
    use golden_model::data::DatasetKind;
    assert_eq!(cfg.check_dataset(DatasetKind::Digits), Ok(()));
    let scrambled = Config::from_toml_str(&text.replace("[1, 8, 8]", "[4, 4, 4]"), "x.toml");
    assert_eq!(
        scrambled
            .expect("valid alone")
            .check_dataset(DatasetKind::Digits)
            .unwrap_err()
            .to_string(),
        "network.image: is [4, 4, 4], but digits images are 1 channel of 8×8; set \
         network.image = [1, 8, 8]"
    );
    // The hardware's lane and accumulator checks are the dense designs': a float-only
    // conv network with 3 channels after its pool is not held to 4 lanes.
    let narrow = text.replace("channels = 4, pool = 2", "channels = 3, pool = 8");
    assert!(Config::from_toml_str(&narrow, "narrow.toml").is_ok());
}

/// The float-only example configs stay valid, and the fixed-point model refuses them.
#[test]
fn float_only_configs_validate() {
    use golden_model::train::{check_model, Arith};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/float");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("configs/float") {
        let path = entry.expect("entry").path();
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            check_model(&cfg, Arith::Float),
            Ok(()),
            "{}",
            path.display()
        );
        assert!(
            check_model(&cfg, Arith::Fixed).is_err(),
            "{}",
            path.display()
        );
        seen += 1;
    }
    assert!(seen > 0, "no config in {dir}");
}
