//! Upper bounds on sizes and the network-against-data-set check: a config too large for
//! any supported FPGA, or a data set whose images or labels the network cannot take, is
//! refused with an error naming the field, the limit and the fix, never a panic or an
//! allocation attempt.

use golden_model::config::{Config, Target, MAX_LAYERS, MAX_MAC_LANES, MAX_STORED_BITS};
use golden_model::data::DatasetKind;

const DIGITS: &str = include_str!("../../configs/digits-mlp.toml");
const MNIST: &str = include_str!("../../configs/mnist-mlp.toml");
const FASHION: &str = include_str!("../../configs/fashion-mlp.toml");

fn edited(base: &str, edits: &[(&str, &str)]) -> String {
    let mut text = base.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "fixture lacks `{from}`");
        text = text.replacen(from, to, 1);
    }
    text
}

fn error_for(base: &str, edits: &[(&str, &str)]) -> String {
    Config::from_toml_str(&edited(base, edits), "big.toml")
        .expect_err("must be rejected")
        .to_string()
}

fn config(text: &str) -> Config {
    Config::from_toml_str(text, "c.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_bounds_come_from_the_largest_target() {
    assert_eq!(
        MAX_STORED_BITS,
        Target::ALL
            .map(Target::ram_bits_ceiling)
            .into_iter()
            .max()
            .unwrap()
    );
    // ECP5-85k: 208 DP16KD of 18 Kib, and 83,640 LUT4s counted as 16 bits of RAM each.
    assert_eq!(MAX_STORED_BITS, 208 * 18432 + 83_640 * 16);
    assert_eq!(
        MAX_MAC_LANES,
        Target::ALL
            .map(|t| (t.dsps() + t.luts()) as usize)
            .into_iter()
            .max()
            .unwrap()
    );
}

#[test]
fn the_presets_are_within_the_bounds() {
    for text in [DIGITS, MNIST, FASHION] {
        let cfg = config(text);
        assert!(cfg.stored_bits() <= MAX_STORED_BITS as u128, "{}", cfg.name);
    }
    // mnist-mlp: 784 × 256 + 256 × 10 weights of 18 bits, a 256 × 10 square-basis ROM.
    assert!(config(MNIST).stored_bits() >= (784 * 256 + 256 * 10) * 18);
}

/// `inputs = 2^30, hidden = [2^30]` passed validation and then panicked in rtl-gen
/// ("memory w_lane0 has depth 0": depths cast to u32).
#[test]
fn a_network_of_2_pow_30_neurons_is_refused_before_generation() {
    let e = error_for(
        DIGITS,
        &[
            ("inputs = 64", "inputs = 1073741824"),
            ("hidden = [32]", "hidden = [1073741824]"),
            ("acc_bits = 40", "acc_bits = 62"),
        ],
    );
    assert!(
        e.starts_with("network: stores at least 18446744301342826496 bits"),
        "{e}"
    );
    assert!(
        e.contains("more than the 5172096 bits of RAM of ecp5-85k, the largest supported FPGA"),
        "{e}"
    );
    assert!(
        e.contains(
            "shrink network.inputs, network.hidden or fixed.weight_bits \
             (layer 0, 1073741824 → 1073741824, stores the most)"
        ),
        "{e}"
    );
}

/// `inputs = 65536, hidden = [65536]` aborted on a 34 GB allocation.
#[test]
fn a_network_of_2_pow_16_neurons_is_refused_before_allocation() {
    let e = error_for(
        DIGITS,
        &[
            ("inputs = 64", "inputs = 65536"),
            ("hidden = [32]", "hidden = [65536]"),
            ("acc_bits = 40", "acc_bits = 62"),
        ],
    );
    assert!(e.starts_with("network: stores at least "), "{e}");
    assert!(e.contains("layer 0, 65536 → 65536, stores the most"), "{e}");
}

#[test]
fn sizes_near_the_integer_limits_do_not_overflow() {
    let max = i64::MAX;
    for (from, to) in [
        ("inputs = 64", format!("inputs = {max}")),
        ("hidden = [32]", format!("hidden = [{max}]")),
        ("hidden = [32]", format!("hidden = [{max}, {max}]")),
        ("classes = 10", format!("classes = {max}")),
    ] {
        let e = error_for(DIGITS, &[(from, &to)]);
        assert!(e.starts_with("network"), "{e}");
    }
}

#[test]
fn the_stored_bits_bound_is_exact() {
    // One hidden layer of h neurons on 64 inputs, 10 classes, 16-bit weights and
    // activations, square basis. Each neuron: 64 + 10 weights, a classifier input and
    // 10 two-bit basis entries (1220 bits). Besides: the 64 inputs and two exp tables of
    // 2^(4+4) 16-bit entries (9216 bits).
    let (per_neuron, fixed) = (64 * 16 + 10 * 16 + 16 + 10 * 2, 64 * 16 + 2 * 256 * 16);
    let fits = (MAX_STORED_BITS as usize - fixed) / per_neuron;
    let at = |h: usize| {
        edited(
            DIGITS,
            &[
                ("hidden = [32]", &format!("hidden = [{h}]")),
                ("acc_bits = 40", "acc_bits = 62"),
                ("lanes = 4", "lanes = 1"),
            ],
        )
    };
    let cfg = config(&at(fits));
    assert_eq!(cfg.stored_bits(), (fits * per_neuron + fixed) as u128);
    let e = Config::from_toml_str(&at(fits + 1), "big.toml")
        .expect_err("one neuron more must be rejected")
        .to_string();
    assert!(e.starts_with("network: stores at least "), "{e}");
}

#[test]
fn the_modulation_and_basis_count_toward_the_bound() {
    // 256 classes under LLS-MxM: a 256 × 256 modulation matrix of 32 bits a hidden layer.
    let base = edited(
        DIGITS,
        &[
            ("classes = 10", "classes = 256"),
            ("rule = \"lls\"", "rule = \"lls-mxm\""),
            ("lanes = 4", "lanes = 1"),
        ],
    );
    let plain = config(&base);
    let wide = config(&base.replace("hidden = [32]", "hidden = [32, 32]"));
    assert!(wide.stored_bits() > plain.stored_bits() + 256 * 256 * 16);
    let e = error_for(
        &base,
        &[(
            "hidden = [32]",
            "hidden = [32, 32, 32, 32, 32, 32, 32, 32, 32, 32]",
        )],
    );
    assert!(e.starts_with("network: stores at least "), "{e}");
    // The basis ROM of a wide hidden layer before a narrow one: 16,000 × 256 entries.
    let e = error_for(
        &base.replace("rule = \"lls-mxm\"", "rule = \"lls\""),
        &[
            ("inputs = 64", "inputs = 1"),
            ("hidden = [32]", "hidden = [16000, 1]"),
        ],
    );
    assert!(e.starts_with("network: stores at least "), "{e}");
}

#[test]
fn more_lanes_than_the_largest_target_has_multipliers_are_refused() {
    // 2^17 inputs into one neuron: 2^17 16-bit weights fit, 2^17 lanes do not.
    let base = edited(
        DIGITS,
        &[
            ("inputs = 64", "inputs = 131072"),
            ("hidden = [32]", "hidden = [1]"),
            ("acc_bits = 40", "acc_bits = 62"),
        ],
    );
    assert_eq!(
        error_for(&base, &[("lanes = 4", "lanes = 131072")]),
        "hardware.lanes: 131073 MAC lanes in all (131072 a hidden layer, 1 the classifier), \
         more than the 83796 DSPs and LUTs of ecp5-85k, the largest supported FPGA; use \
         fewer lanes (hardware.lanes, hardware.classifier_lanes) or fewer layers \
         (network.hidden): each lane takes at least one DSP or LUT"
    );
}

#[test]
fn more_layers_than_the_largest_target_holds_units_are_refused() {
    assert_eq!(MAX_LAYERS, 81);
    let layers = |n: usize| {
        let hidden = format!("hidden = [{}]", vec!["1"; n].join(", "));
        edited(
            DIGITS,
            &[
                ("inputs = 64", "inputs = 1"),
                ("hidden = [32]", &hidden),
                ("lanes = 4", "lanes = 1"),
            ],
        )
    };
    config(&layers(80));
    assert_eq!(
        Config::from_toml_str(&layers(81), "deep.toml")
            .expect_err("81 hidden layers and the classifier are 82 units")
            .to_string(),
        "network.hidden: has 81 layers, which with the classifier make 82 learning units, \
         more than the 81 that ecp5-85k, the largest supported FPGA, could hold; use at most \
         80 hidden layers: each unit takes more than 1024 LUTs"
    );
    // 20,000 layers passed validation, then overflowed the stack in `lls gen`.
    let e = Config::from_toml_str(&layers(20_000), "deep.toml")
        .expect_err("must be rejected")
        .to_string();
    assert!(e.starts_with("network.hidden: has 20000 layers"), "{e}");
}

#[test]
fn each_preset_takes_its_own_data_set() {
    for (text, kind) in [
        (DIGITS, DatasetKind::Digits),
        (MNIST, DatasetKind::Mnist),
        (MNIST, DatasetKind::FashionMnist),
        (FASHION, DatasetKind::FashionMnist),
        (FASHION, DatasetKind::Mnist),
    ] {
        config(text)
            .check_dataset(kind)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `lls bench --config configs/digits-mlp.toml --dataset mnist` panicked in the float
/// model; `lls cosim` reported "3 samples bit-exact" on the wrong data.
#[test]
fn a_digits_network_refuses_mnist_images() {
    assert_eq!(
        config(DIGITS)
            .check_dataset(DatasetKind::Mnist)
            .unwrap_err()
            .to_string(),
        "network.inputs: is 64, but mnist images have 784 pixels (28×28); use a config made \
         for mnist (`lls presets` lists them), or a data set (--dataset or data.dataset) \
         whose images have 64 pixels"
    );
}

#[test]
fn an_mnist_network_refuses_digits_images() {
    assert_eq!(
        config(MNIST)
            .check_dataset(DatasetKind::Digits)
            .unwrap_err()
            .to_string(),
        "network.inputs: is 784, but digits images have 64 pixels (8×8); use a config made \
         for digits (`lls presets` lists them), or a data set (--dataset or data.dataset) \
         whose images have 784 pixels"
    );
}

/// `classes = 5` trained on the 10-class digits without a word: labels 5..=9 reached a
/// five-class model.
#[test]
fn a_network_with_fewer_classes_than_labels_is_refused() {
    let cfg = config(&edited(DIGITS, &[("classes = 10", "classes = 5")]));
    assert_eq!(
        cfg.check_dataset(DatasetKind::Digits)
            .unwrap_err()
            .to_string(),
        "network.classes: is 5, but digits has 10 classes (labels 0 to 9); set \
         network.classes = 10, one class a label"
    );
    let cfg = config(&edited(DIGITS, &[("classes = 10", "classes = 12")]));
    assert!(cfg
        .check_dataset(DatasetKind::Digits)
        .unwrap_err()
        .to_string()
        .starts_with("network.classes: is 12, but digits has 10 classes"));
}

#[test]
fn the_input_shift_is_checked_against_the_data_set_pixels() {
    // digits-mlp shifts pixels 0..=16 left by 4; an MNIST pixel of 255 would not fit Q·8
    // in 12 bits.
    let text = edited(
        DIGITS,
        &[
            ("inputs = 64", "inputs = 784"),
            ("act_bits = 16", "act_bits = 12"),
        ],
    );
    let cfg = config(&text.replace("lanes = 4", "lanes = 1"));
    assert_eq!(
        cfg.check_dataset(DatasetKind::Mnist)
            .unwrap_err()
            .to_string(),
        "data.input_shift: pixel 255 << 4 does not fit fixed.act_bits = 12; lower \
         data.input_shift or raise fixed.act_bits"
    );
}

/// Configs for generated hardware alone (the rtl-gen unit configs) keep any shape: only
/// training or co-simulating on a data set holds the network to it.
#[test]
fn validate_alone_does_not_tie_the_shape_to_the_data_set() {
    config(&edited(
        DIGITS,
        &[
            ("inputs = 64", "inputs = 16"),
            ("classes = 10", "classes = 3"),
        ],
    ));
}

#[test]
fn softmax_dividers_must_divide_the_classes() {
    for (d, ok) in [
        (1, true),
        (2, true),
        (5, true),
        (10, true),
        (0, false),
        (3, false),
    ] {
        let text = edited(
            DIGITS,
            &[(
                "[hardware]\n",
                &format!("[hardware]\nsoftmax_dividers = {d}\n"),
            )],
        );
        if ok {
            assert_eq!(config(&text).hardware.softmax_dividers(), d);
        } else {
            assert_eq!(
                error_for(&text, &[]),
                format!(
                    "hardware.softmax_dividers: is {d}, not a divisor of the 10 classes; use a \
                     divisor of network.classes (1 takes the least logic, the class count the \
                     fewest cycles)"
                )
            );
        }
    }
    assert_eq!(config(DIGITS).hardware.softmax_dividers(), 1);
}
