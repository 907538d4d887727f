//! The digits preset trains in fixed point, batch 1, to ≥ 90 % test accuracy in seconds.

use golden_model::config::Config;
use golden_model::data::{load, DatasetKind};
use golden_model::train::{train, Arith};

#[test]
fn digits_preset_reaches_90_percent_in_fixed_point() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/digits-mlp.toml");
    let cfg = Config::load(std::path::Path::new(path)).expect("preset");
    let data =
        load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("committed fixture");
    let (_, report) = train(&cfg, &data, Arith::Fixed, |_, _| {});
    assert!(
        report.test_accuracy >= 0.90,
        "test accuracy {}",
        report.test_accuracy
    );
    assert_eq!(report.history.len(), cfg.learning.epochs);
    // Counted while running: 64·32 + 32·10 forward and update MACs per sample.
    assert_eq!(report.macs_per_sample.forward, 64 * 32 + 32 * 10);
    assert_eq!(report.macs_per_sample.update, 64 * 32 + 32 * 10);
    // Projection and back-projection (2·C·N) plus the two softmax errors.
    assert_eq!(report.macs_per_sample.learning, 2 * 10 * 32 + 10 + 10);
}

#[test]
fn training_is_deterministic() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/digits-mlp.toml");
    let mut cfg = Config::load(std::path::Path::new(path)).expect("preset");
    cfg.learning.epochs = 1;
    let data = load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("fixture");
    let (a, ra) = train(&cfg, &data, Arith::Fixed, |_, _| {});
    let (b, rb) = train(&cfg, &data, Arith::Fixed, |_, _| {});
    assert_eq!(ra.test_accuracy, rb.test_accuracy);
    match (a, b) {
        (golden_model::train::Model::Fixed(a), golden_model::train::Model::Fixed(b)) => {
            for (la, lb) in a.layers.iter().zip(&b.layers) {
                assert_eq!(la.weights(), lb.weights());
            }
        }
        _ => unreachable!("fixed models"),
    }
}

#[test]
fn resuming_from_a_checkpoint_continues_bit_exactly() {
    use golden_model::checkpoint::{self, Progress};
    use golden_model::train::train_from;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/digits-mlp.toml");
    let text = std::fs::read_to_string(path).expect("preset");
    let mut cfg = Config::from_toml_str(&text, path).expect("valid");
    let data = load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("fixture");
    cfg.learning.epochs = 3;
    let (whole, _) = train(&cfg, &data, Arith::Fixed, |_, _| {});
    cfg.learning.epochs = 1;
    let (first, _) = train(&cfg, &data, Arith::Fixed, |_, _| {});
    let golden_model::train::Model::Fixed(first) = first else {
        unreachable!()
    };
    let ck = std::env::temp_dir().join(format!("lls-resume-{}.json", std::process::id()));
    let done = Progress {
        epoch: 1,
        samples: data.train.len() as u64,
    };
    checkpoint::save(&ck, &first, &cfg, &text, done).expect("save");
    cfg.learning.epochs = 3;
    let (net, progress) = checkpoint::load(&ck, &cfg, &text).expect("load");
    let _ = std::fs::remove_file(&ck);
    let (resumed, _) = train_from(
        &cfg,
        &data,
        golden_model::train::Model::Fixed(Box::new(net)),
        progress.epoch as usize,
        |_, _| {},
    );
    match (whole, resumed) {
        (golden_model::train::Model::Fixed(a), golden_model::train::Model::Fixed(b)) => {
            for (la, lb) in a.layers.iter().zip(&b.layers) {
                assert_eq!(la.weights(), lb.weights());
            }
        }
        _ => unreachable!("fixed models"),
    }
}

/// digits-mlp with a convolutional block of 4 channels (LLS pool 2, max-pool 2) before its
/// hidden layer learns in float under LLS and under bp (far above the 10 % of chance), and
/// counts the MACs the cost model gives its shapes.
#[test]
fn a_conv_block_learns_the_digits_in_float() {
    use golden_model::config::Rule;
    use golden_model::cost::{config_shapes, shape_macs};
    let text = include_str!("../../configs/digits-mlp.toml").replace(
        "inputs = 64\n",
        "inputs = 64\nimage = [1, 8, 8]\nconv = [{ channels = 4, pool = 2, lls_pool = 2 }]\n",
    );
    let mut cfg = Config::from_toml_str(&text, "digits-conv.toml").expect("valid");
    let data = load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("fixture");
    for rule in [Rule::Lls, Rule::Bp] {
        cfg.learning.rule = rule;
        let (_, report) = train(&cfg, &data, Arith::Float, |_, _| {});
        assert!(
            report.test_accuracy >= 0.85,
            "{rule:?}: test accuracy {}",
            report.test_accuracy
        );
        let shapes = config_shapes(&cfg).expect("shapes");
        let want = shape_macs(&shapes, 10, rule.is_local());
        let got = &report.macs_per_sample;
        assert_eq!(
            (got.forward, got.learning, got.update),
            (want.forward, want.learning, want.update),
            "{rule:?}"
        );
    }
}
