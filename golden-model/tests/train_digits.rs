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
