//! The fixed-point model tracks the f32 model it is derived from: with wide formats the
//! two stay close step by step, and with the preset formats they predict alike.

use golden_model::baseline::float::FloatNet;
use golden_model::config::{Config, Rounding};
use golden_model::data::{load, DatasetKind};
use golden_model::spec::fixed::FixedNet;

fn digits_config() -> Config {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/digits-mlp.toml");
    Config::load(std::path::Path::new(path)).expect("preset")
}

#[test]
fn wide_formats_track_float_weights_closely() {
    let mut cfg = digits_config();
    let f = &mut cfg.fixed;
    (f.act_bits, f.act_frac) = (28, 18);
    (f.weight_bits, f.weight_frac) = (28, 24);
    (f.err_bits, f.err_frac) = (28, 16);
    (f.logit_frac, f.prob_frac) = (8, 16);
    f.acc_bits = 62;
    f.rounding = Rounding::HalfUp;
    f.update_rounding = Rounding::HalfUp;
    cfg.validate().expect("valid");
    let data = load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("fixture");
    let mut fixed = FixedNet::new(&cfg);
    let mut float = FloatNet::new(&cfg);
    let mut differ = 0;
    for i in 0..200 {
        let label = data.train.label(i) as usize;
        let t = fixed.train_step(data.train.image(i), label);
        let p = float.train_sample(data.train.image(i), label);
        differ += usize::from(t.prediction != p);
    }
    // Ties between near-equal logits may break differently; nothing more.
    assert!(differ <= 4, "{differ} of 200 predictions differ");
    let scale = (1u64 << 24) as f32;
    for (k, (lf, lx)) in fixed.layers.iter().zip(&float.layers).enumerate() {
        let max_diff = lf
            .weights()
            .iter()
            .zip(&lx.weights)
            .map(|(&q, &w)| (q as f32 / scale - w).abs())
            .fold(0.0f32, f32::max);
        // The exp table (2^-8 logit steps) and Q.16 probabilities bound the drift.
        eprintln!("layer {k}: max |fixed - float| = {max_diff}");
        assert!(
            max_diff < 1e-4,
            "layer {k}: max |fixed − float| = {max_diff}"
        );
    }
}

#[test]
fn preset_formats_predict_like_float() {
    let cfg = digits_config();
    let data = load(DatasetKind::Digits, std::path::Path::new("/nonexistent")).expect("fixture");
    let mut fixed = FixedNet::new(&cfg);
    let mut float = FloatNet::new(&cfg);
    for _ in 0..3 {
        for i in 0..data.train.len() {
            let label = data.train.label(i) as usize;
            fixed.train_step(data.train.image(i), label);
            float.train_sample(data.train.image(i), label);
        }
    }
    let n = data.test.len();
    let agree = (0..n)
        .filter(|&i| fixed.predict(data.test.image(i)) == float.predict(data.test.image(i)))
        .count();
    assert!(
        agree as f64 / n as f64 > 0.9,
        "fixed and float agree on {agree}/{n} test images"
    );
}
