//! Configs that cannot be built are rejected before anything is emitted, with one message
//! that names the field, says what is wrong and how to fix it. Each test pins the full
//! message: config-level errors come from `Config::from_toml_str`, hardware limits from
//! `rtl_gen::generate` (in both learning and inference mode).

use golden_model::config::Config;
use rtl_gen::generate;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn tiny() -> String {
    read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/configs/tiny-square.toml"
    ))
}

fn digits() -> String {
    read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/digits-mlp.toml"
    ))
}

fn mnist() -> String {
    read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/mnist-mlp.toml"
    ))
}

/// `text` with each line that starts with `key =` replaced by `key = value` (exactly one).
fn set(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key} =");
    let mut hits = 0;
    let out: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) {
                hits += 1;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_eq!(hits, 1, "`{key}` appears {hits} times");
    out.join("\n") + "\n"
}

/// `text` with `line` added at the end of table `[table]`.
fn add_to_table(text: &str, table: &str, line: &str) -> String {
    let header = format!("[{table}]\n");
    let at = text.find(&header).unwrap_or_else(|| panic!("no [{table}]")) + header.len();
    format!("{}{line}\n{}", &text[..at], &text[at..])
}

fn parse(text: &str) -> Config {
    Config::from_toml_str(text, "test.toml").unwrap_or_else(|e| panic!("config rejected: {e}"))
}

fn config_error(text: &str) -> String {
    match Config::from_toml_str(text, "test.toml") {
        Ok(_) => panic!("config accepted"),
        Err(e) => e.to_string(),
    }
}

/// The config is valid, but rtl-gen refuses it in both modes with `message`.
fn assert_gen_rejects(text: &str, message: &str) {
    let cfg = parse(text);
    for learn in [true, false] {
        match generate(&cfg, text, learn) {
            Ok(_) => panic!("generate(learn = {learn}) accepted the config"),
            Err(e) => assert_eq!(e.to_string(), message, "learn = {learn}"),
        }
    }
}

fn assert_gen_accepts(text: &str) {
    let cfg = parse(text);
    generate(&cfg, text, true).unwrap_or_else(|e| panic!("{e}"));
}

// ---- rtl-gen: what the hardware does not build ----

#[test]
fn rule_bp() {
    assert_gen_rejects(
        &set(&tiny(), "rule", "\"bp\""),
        "learning.rule: bp needs the backward pass through the network that LLS hardware avoids; \
         use rule = \"lls\", \"lls-m\" or \"lls-mxm\" for rtl-gen (bp is a golden-model baseline)",
    );
}

#[test]
fn conv_blocks() {
    // tiny-square's 8 inputs as a 2×2×2 image, one block of 2 channels: valid for the
    // golden model's shapes and costs, not built by rtl-gen.
    assert_gen_rejects(
        &set(
            &tiny(),
            "inputs",
            "8\nimage = [2, 2, 2]\nconv = [{ channels = 2, lls_pool = 1 }]",
        ),
        "network.conv: rtl-gen builds dense layers only (network.hidden); remove network.conv \
         and network.image",
    );
}

#[test]
fn rule_bp_without_hidden_layers() {
    // Valid for the golden model (plain softmax regression), still not for rtl-gen.
    assert_gen_rejects(
        &set(&set(&tiny(), "rule", "\"bp\""), "hidden", "[]"),
        "learning.rule: bp needs the backward pass through the network that LLS hardware avoids; \
         use rule = \"lls\", \"lls-m\" or \"lls-mxm\" for rtl-gen (bp is a golden-model baseline)",
    );
}

#[test]
fn modulated_rules_and_stochastic_updates_are_built() {
    for rule in ["lls-m", "lls-mxm"] {
        assert_gen_accepts(&set(&tiny(), "rule", &format!("\"{rule}\"")));
    }
    assert_gen_accepts(&set(&tiny(), "update_rounding", "\"stochastic\""));
}

#[test]
fn mixed_rounding() {
    let message =
        "fixed.update_rounding: rtl-gen builds one deterministic rounding policy for the whole datapath; \
         set fixed.update_rounding equal to fixed.rounding, or to \"stochastic\"";
    assert_gen_rejects(&set(&tiny(), "update_rounding", "\"floor\""), message);
    assert_gen_rejects(&set(&tiny(), "rounding", "\"floor\""), message);
    assert_gen_accepts(&set(
        &set(&tiny(), "rounding", "\"floor\""),
        "update_rounding",
        "\"floor\"",
    ));
}

#[test]
fn weight_bits_beyond_ice40_dsp() {
    assert_gen_rejects(
        &set(&digits(), "weight_bits", "17"),
        "fixed.weight_bits: 17-bit operands exceed the 16-bit multipliers of ice40-up5k; use at most 16 bits",
    );
}

#[test]
fn act_bits_beyond_ice40_dsp() {
    assert_gen_rejects(
        &set(&set(&digits(), "act_bits", "17"), "acc_bits", "41"),
        "fixed.act_bits: 17-bit operands exceed the 16-bit multipliers of ice40-up5k; use at most 16 bits",
    );
}

#[test]
fn operands_beyond_ecp5_dsp() {
    let wide = set(&mnist(), "acc_bits", "47");
    assert_gen_rejects(
        &set(&wide, "weight_bits", "19"),
        "fixed.weight_bits: 19-bit operands exceed the 18-bit multipliers of ecp5-85k; use at most 18 bits",
    );
    assert_gen_rejects(
        &set(&wide, "act_bits", "19"),
        "fixed.act_bits: 19-bit operands exceed the 18-bit multipliers of ecp5-85k; use at most 18 bits",
    );
    // 18 bits is exactly one MULT18X18D operand.
    assert_gen_accepts(&set(&set(&wide, "weight_bits", "18"), "act_bits", "18"));
}

#[test]
fn the_first_problem_is_reported() {
    // Rule before rounding before widths: the message names one field, in a fixed order.
    let text = set(
        &set(
            &set(&digits(), "rule", "\"bp\""),
            "update_rounding",
            "\"floor\"",
        ),
        "weight_bits",
        "17",
    );
    assert_gen_rejects(
        &text,
        "learning.rule: bp needs the backward pass through the network that LLS hardware avoids; \
         use rule = \"lls\", \"lls-m\" or \"lls-mxm\" for rtl-gen (bp is a golden-model baseline)",
    );
    assert_gen_rejects(
        &set(&text, "rule", "\"lls-m\""),
        "fixed.update_rounding: rtl-gen builds one deterministic rounding policy for the whole datapath; \
         set fixed.update_rounding equal to fixed.rounding, or to \"stochastic\"",
    );
}

// ---- Config::from_toml_str: what no config may say ----

#[test]
fn lanes_must_divide_every_layer() {
    // 8 lanes divide the 8 pixels but not the 4 hidden units feeding the classifier.
    assert_eq!(
        config_error(&set(&tiny(), "lanes", "8")),
        "hardware.lanes: 8 lanes do not divide layer 1's 4 inputs; choose lanes that divide every \
         layer's input count, or set hardware.classifier_lanes for the classifier"
    );
    let eight = set(&tiny(), "lanes", "8");
    assert_eq!(
        config_error(&add_to_table(&eight, "hardware", "classifier_lanes = 8")),
        "hardware.classifier_lanes: 8 lanes do not divide layer 1's 4 inputs; choose lanes that \
         divide the classifier's input count"
    );
    assert_gen_accepts(&add_to_table(&eight, "hardware", "classifier_lanes = 2"));
    assert_eq!(
        config_error(&set(&mnist(), "lanes", "32")),
        "hardware.lanes: 32 lanes do not divide layer 0's 784 inputs; choose lanes that divide every layer's input count"
    );
}

#[test]
fn lanes_are_at_least_one_and_any_divisor_of_the_fan_in() {
    assert_eq!(
        config_error(&set(&tiny(), "lanes", "0")),
        "hardware.lanes: is 0; use at least 1 lane (a divisor of the layer's input count)"
    );
    assert_eq!(
        config_error(&add_to_table(&tiny(), "hardware", "classifier_lanes = 0")),
        "hardware.classifier_lanes: is 0; use at least 1 lane (a divisor of the layer's input count)"
    );
    // Divisors that are not powers of two generate (784 = 98 × 8).
    assert_gen_accepts(&set(&mnist(), "lanes", "98"));
}

#[test]
fn accumulator_overflow() {
    assert_eq!(
        config_error(&set(&digits(), "acc_bits", "37")),
        "fixed.acc_bits: layer 0 (64 inputs) needs 38 bits for an exact sum of 16-bit × 16-bit products but \
         acc_bits = 37; raise fixed.acc_bits to 38 or lower weight_bits/act_bits"
    );
    // 38 is exactly enough.
    parse(&set(&digits(), "acc_bits", "38"));
    assert_eq!(
        config_error(&set(&mnist(), "acc_bits", "43")),
        "fixed.acc_bits: layer 0 (784 inputs) needs 44 bits for an exact sum of 18-bit × 16-bit products but \
         acc_bits = 43; raise fixed.acc_bits to 44 or lower weight_bits/act_bits"
    );
}

#[test]
fn stochastic_rounding_of_activations() {
    assert_eq!(
        config_error(&set(&tiny(), "rounding", "\"stochastic\"")),
        "fixed.rounding: is stochastic, which is only defined for weight updates; \
         use \"floor\" or \"half-up\" (stochastic is for fixed.update_rounding)"
    );
}

#[test]
fn banked_weights_on_an_ice40() {
    let text = add_to_table(&tiny(), "hardware", "bank_weights = true");
    assert!(
        text.contains("ice40-up5k"),
        "the tiny config targets the iCE40"
    );
    assert_eq!(
        config_error(&text),
        "hardware.bank_weights: is true for an iCE40 target, whose weights are not banked; \
         remove it, or choose an ECP5 target"
    );
}

/// The TOML messages quote tests/configs/tiny-square.toml by line: edit that file with care.
#[test]
fn unknown_key() {
    assert_eq!(
        config_error(&add_to_table(&tiny(), "hardware", "clock_mhz = 50.0")),
        [
            "test.toml: TOML parse error at line 40, column 1",
            "   |",
            "40 | clock_mhz = 50.0",
            "   | ^^^^^^^^^",
            "unknown field `clock_mhz`, expected one of `target`, `lanes`, `classifier_lanes`, \
             `bank_weights`, `share_multipliers`, `softmax_dividers`, `freq_mhz`, `baud`",
        ]
        .join("\n")
    );
}

#[test]
fn unknown_top_level_key() {
    assert_eq!(
        config_error(&format!("lanes = 4\n{}", tiny())),
        [
            "test.toml: TOML parse error at line 1, column 1",
            "  |",
            "1 | lanes = 4",
            "  | ^^^^^",
            "unknown field `lanes`, expected one of `name`, `description`, `data`, `network`, `learning`, `fixed`, \
             `hardware`",
        ]
        .join("\n")
    );
}

#[test]
fn missing_key() {
    let text: String = tiny()
        .lines()
        .filter(|l| !l.starts_with("lanes ="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        config_error(&text),
        [
            "test.toml: TOML parse error at line 39, column 1",
            "   |",
            "39 | [hardware]",
            "   | ^^^^^^^^^^",
            "missing field `lanes`",
        ]
        .join("\n")
    );
}

#[test]
fn unknown_enum_value() {
    assert_eq!(
        config_error(&set(&tiny(), "target", "\"ice40-hx8k\"")),
        [
            "test.toml: TOML parse error at line 40, column 10",
            "   |",
            "40 | target = \"ice40-hx8k\"",
            "   |          ^^^^^^^^^^^^",
            "unknown variant `ice40-hx8k`, expected one of `ice40-up5k`, `ecp5-25k`, `ecp5-85k`",
        ]
        .join("\n")
    );
}

#[test]
fn shape_errors() {
    assert_eq!(
        config_error(&set(&tiny(), "inputs", "0")),
        "network.inputs: is 0; set it to the pixel count"
    );
    assert_eq!(
        config_error(&set(&tiny(), "classes", "1")),
        "network.classes: is 1; use 2 to 256 classes"
    );
    assert_eq!(
        config_error(&set(&tiny(), "classes", "257")),
        "network.classes: is 257; use 2 to 256 classes"
    );
    assert_eq!(
        config_error(&set(&tiny(), "hidden", "[4, 0]")),
        "network.hidden[1]: is 0; give every hidden layer at least one neuron"
    );
    assert_eq!(
        config_error(&set(&tiny(), "hidden", "[]")),
        "network.hidden: is empty, so there is no layer for the local rule; add a hidden layer or use rule = \"bp\""
    );
}
