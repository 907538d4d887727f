//! The official recipe (golden_model::baseline::recipe): optimiser, BN recalibration, training on the
//! committed digits fixture, determinism.

use std::path::Path;

use golden_model::baseline::recipe::{
    train_official, Augment, OfficialNet, ScheduleFree, SfTensor, BATCH, LR,
};
use golden_model::config::{Config, Rule, Waveform};
use golden_model::data::{load, Dataset, DatasetKind};
use golden_model::rng::SplitMix64;
use ndarray::arr1;

fn digits_config(rule: Rule, epochs: usize) -> Config {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/digits-mlp.toml");
    let mut cfg = Config::load(Path::new(path)).expect("preset");
    cfg.learning.rule = rule;
    cfg.learning.epochs = epochs;
    cfg
}

fn digits() -> Dataset {
    load(DatasetKind::Digits, Path::new("/nonexistent")).expect("committed fixture")
}

fn close(a: f32, b: f64, what: &str) {
    assert!(
        (a as f64 - b).abs() <= 2e-6 * b.abs().max(1.0),
        "{what}: got {a}, expected {b}"
    );
}

/// Two AdamW-SF steps on f(w) = ½(w − 3)², w₀ = 1, lr = 0.1, β = (0.9, 0.999), ε = 1e-8,
/// worked by hand in the explicit x/z/y form:
///
/// step 1 (k = 0): lr₁ = 0.1·√(1 − 0.999) = 0.0031622777; weights w₁ = lr₁², c = 1;
///   g = y − 3 = −2; v = 0.001·4 = 0.004; ĝ = −2/(√0.004 + 1e-8) = −31.622772;
///   z = 1 − lr₁ĝ = 1.0999999842; x = z; y = 0.1 z + 0.9 x = 1.0999999842.
/// step 2 (k = 1): lr₂ = 0.1·√(1 − 0.999²) = 0.0044710178; c = lr₂²/(lr₁² + lr₂²)
///   = 0.001999/0.002999 = 0.66655552; g = y − 3 = −1.9000000158;
///   v = 0.999·0.004 + 0.001·g² = 0.0076060001; z = z − lr₂·g/(√v + ε) = 1.1974051051;
///   x = (1 − c)·1.0999999842 + c·z = 1.1649259050; y = 0.1 z + 0.9 x = 1.1681738250.
#[test]
fn schedule_free_two_steps_match_hand_computation() {
    let mut opt = ScheduleFree::new(0.1);
    let mut p = SfTensor::new(arr1(&[1.0f32]));
    let expected = [
        (
            0.0031622776601683807,
            1.0,
            1.099999984188614,
            1.099999984188614,
            1.099999984188614,
        ),
        (
            0.004471017781221601,
            0.6665555185061655,
            1.1974051050529875,
            1.1649259050315224,
            1.1681738250336688,
        ),
    ];
    for (k, &(lr, c, z, x, y)) in expected.iter().enumerate() {
        p.grad[0] = p.y[0] - 3.0;
        let s = opt.begin_step();
        close(s.lr, lr, "lr_k");
        close(s.ckp1, c, "c_k");
        p.step(&s);
        close(p.z[0], z, "z");
        close(p.y[0], y, "y");
        close(p.x(&opt)[0], x, "x (eval)");
        assert_eq!(opt.steps(), k as u64 + 1);
    }
    // The official default is lr 5e-3 with the same betas.
    assert_eq!(ScheduleFree::official(), ScheduleFree::new(LR));
}

/// 12 batches of 128 per epoch: the schedule-free average needs a few hundred steps.
const EPOCHS: usize = 20;

#[test]
fn official_lls_trains_digits_to_85_percent() {
    let data = digits();
    for rule in [Rule::Lls, Rule::LlsM, Rule::LlsMxm, Rule::Bp] {
        let cfg = digits_config(rule, EPOCHS);
        let (_, r) = train_official(&cfg, &data, |_, _| {});
        assert_eq!(r.report.history.len(), EPOCHS);
        eprintln!(
            "{rule}: best {} last {}",
            r.best_test_accuracy, r.report.test_accuracy
        );
        assert!(
            r.best_test_accuracy >= 0.85,
            "{rule}: best test accuracy {} (history {:?})",
            r.best_test_accuracy,
            r.report.history
        );
        assert_eq!(
            r.report.test_accuracy,
            r.report.history[EPOCHS - 1].test_accuracy
        );
    }
    let mut cfg = digits_config(Rule::Lls, EPOCHS);
    cfg.learning.basis = Waveform::Sine;
    let (_, r) = train_official(&cfg, &data, |_, _| {});
    assert!(
        r.best_test_accuracy >= 0.85,
        "sine: {}",
        r.best_test_accuracy
    );
}

#[test]
fn bn_recalibration_changes_eval_output() {
    let data = digits();
    let cfg = digits_config(Rule::Lls, 1);
    let (mut net, _) = train_official(&cfg, &data, |_, _| {});
    let aug = Augment::for_dataset(&data);
    let test: Vec<usize> = (0..data.test.len()).collect();
    let x = aug.batch(&data.test, &test, None);
    net.eval_mode();
    let before = net.logits_eval(&x);
    let stats_before = net.hidden[0].running_mean.clone();
    // One more pass of 50 recalibration batches (here: the whole train set, augmented).
    let mut rng = SplitMix64::new(99);
    let idx: Vec<usize> = (0..data.train.len()).collect();
    for chunk in idx.chunks(BATCH) {
        net.recalibrate(&aug.batch(&data.train, chunk, Some(&mut rng)));
    }
    let after = net.logits_eval(&x);
    assert_ne!(stats_before, net.hidden[0].running_mean);
    let diff = (&after - &before).mapv(f32::abs).sum();
    assert!(
        diff > 1e-3,
        "recalibration left eval output unchanged ({diff})"
    );

    // A fresh net: recalibration replaces the initial running statistics (0 / 1), and
    // nothing else: the weights stay as they were.
    let mut fresh = OfficialNet::new(&cfg);
    let params = fresh.parameters();
    let before = fresh.logits_eval(&x);
    fresh.recalibrate(&aug.batch(&data.train, &idx[..BATCH], None));
    let after = fresh.logits_eval(&x);
    assert!((&after - &before).mapv(f32::abs).sum() > 1e-3);
    assert_eq!(params, fresh.parameters());
    assert!(fresh.hidden[0].running_mean.iter().any(|&m| m != 0.0));
}

#[test]
fn eval_mode_uses_the_x_sequence() {
    let data = digits();
    let cfg = digits_config(Rule::Lls, 1);
    let (net, _) = train_official(&cfg, &data, |_, _| {});
    let l = &net.hidden[0];
    // After training y ≠ x; x = (y − (1 − β1) z) / β1.
    let x = l.w.x(&l.opt);
    let expect = (&l.w.y - &(&l.w.z * 0.1)) / 0.9;
    let err = (&x - &expect).mapv(f32::abs).fold(0.0f32, |m, &v| m.max(v));
    assert!(err < 1e-5, "{err}");
    assert!((&x - &l.w.y).mapv(f32::abs).sum() > 0.0);
}

#[test]
fn augmentation_crops_within_padding_and_normalises() {
    let data = digits();
    let aug = Augment::for_dataset(&data);
    assert_eq!(
        (aug.pad, aug.hflip, aug.mean, aug.std),
        (0, false, 0.5, 0.5)
    );
    let aug = Augment { pad: 1, ..aug };
    let mut out = vec![0.0; 64];
    aug.normalise(data.train.image(0), &mut out);
    for (&o, &p) in out.iter().zip(data.train.image(0)) {
        assert_eq!(o, (p as f32 / 16.0 - 0.5) / 0.5);
    }
    // Every augmented image is the original shifted by at most one pixel, zero-filled.
    let mut rng = SplitMix64::new(5);
    let img = data.train.image(3);
    for _ in 0..20 {
        aug.augment(img, &mut rng, &mut out);
        let ok = (0..3).any(|di| {
            (0..3).any(|dj| {
                (0..8).all(|r| {
                    (0..8).all(|c| {
                        let (sr, sc) = (r as isize + di - 1, c as isize + dj - 1);
                        let p = if (0..8).contains(&sr) && (0..8).contains(&sc) {
                            img[(sr * 8 + sc) as usize]
                        } else {
                            0
                        };
                        out[r * 8 + c] == (p as f32 / 16.0 - 0.5) / 0.5
                    })
                })
            })
        });
        assert!(ok, "not a shift of ≤ 1 pixel");
    }
}

#[test]
fn training_is_deterministic() {
    let data = digits();
    for rule in [Rule::LlsMxm, Rule::Bp] {
        let cfg = digits_config(rule, 2);
        let (a, ra) = train_official(&cfg, &data, |_, _| {});
        let (b, rb) = train_official(&cfg, &data, |_, _| {});
        assert_eq!(a.parameters(), b.parameters());
        assert_eq!(a.hidden[0].running_var, b.hidden[0].running_var);
        let acc = |r: &golden_model::baseline::recipe::OfficialReport| {
            r.report
                .history
                .iter()
                .map(|h| (h.train_accuracy, h.test_accuracy))
                .collect::<Vec<_>>()
        };
        assert_eq!(acc(&ra), acc(&rb));
        let mut other = cfg.clone();
        other.learning.seed += 1;
        let (c, _) = train_official(&other, &data, |_, _| {});
        assert_ne!(a.parameters(), c.parameters());
    }
}

/// The MNIST anchors (official PyTorch code, MLP 784→256→10): test accuracy in % after 10
/// epochs (best over epochs) and after 1 epoch.
const ANCHORS: [(&str, Rule, Waveform, f64, Option<f64>); 5] = [
    (
        "lls square",
        Rule::Lls,
        Waveform::Square,
        98.07,
        Some(96.83),
    ),
    ("lls sine", Rule::Lls, Waveform::Sine, 97.99, None),
    ("lls-m", Rule::LlsM, Waveform::Square, 97.90, None),
    ("lls-mxm", Rule::LlsMxm, Waveform::Square, 98.16, None),
    ("bp", Rule::Bp, Waveform::Square, 98.22, Some(97.35)),
];

/// Slow (about 2 minutes on one core) and needs `data/mnist`:
/// `cargo test --release -p golden-model --test recipe -- --ignored --nocapture`.
/// Trains the five anchor runs for 10 epochs with the train crop padding of
/// `LLS_RECIPE_CROP_PAD` (default 0: the anchors are matched without the random crop; with
/// the code's 4 they are missed by 0.5–3 pp, see [`golden_model::baseline::recipe::train_official_with`])
/// and the seed `LLS_RECIPE_SEED` (default: the preset's), and checks each figure within
/// 0.3 pp.
#[test]
#[ignore]
fn mnist_matches_official_anchors() {
    let dir = golden_model::data::default_data_dir();
    let Ok(data) = load(DatasetKind::Mnist, &dir) else {
        eprintln!("no MNIST under {}; skipped", dir.display());
        return;
    };
    let pad: usize = std::env::var("LLS_RECIPE_CROP_PAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let seed: Option<u64> = std::env::var("LLS_RECIPE_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    let aug = Augment {
        pad,
        ..Augment::for_dataset(&data)
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/mnist-mlp.toml");
    let mut misses = Vec::new();
    println!("crop padding {pad}, seed {seed:?} (None: the preset's)");
    println!("| run | epochs | ours best | ours last | anchor | Δ best | s/epoch |");
    for (name, rule, basis, anchor10, anchor1) in ANCHORS {
        let mut cfg = Config::load(Path::new(path)).expect("preset");
        cfg.learning.rule = rule;
        cfg.learning.basis = basis;
        cfg.learning.epochs = 10;
        if let Some(seed) = seed {
            cfg.learning.seed = seed;
        }
        let (_, r) =
            golden_model::baseline::recipe::train_official_with(&cfg, &data, &aug, |_, _| {});
        let s_per_epoch = r.report.train_samples as f64 / r.report.samples_per_second;
        let best = 100.0 * r.best_test_accuracy;
        let last = 100.0 * r.report.test_accuracy;
        println!(
            "| {name} | 10 | {best:.2} | {last:.2} | {anchor10:.2} | {:+.2} | {s_per_epoch:.2} |",
            best - anchor10
        );
        if (best - anchor10).abs() > 0.3 {
            misses.push(format!("{name} 10 epochs: {best:.2} vs {anchor10:.2}"));
        }
        if let Some(a1) = anchor1 {
            // Epoch 1 of this run is the 1-epoch run: the loop does not look ahead.
            let e1 = 100.0 * r.report.history[0].test_accuracy;
            println!(
                "| {name} | 1 | {e1:.2} | {e1:.2} | {a1:.2} | {:+.2} | |",
                e1 - a1
            );
            if (e1 - a1).abs() > 0.3 {
                misses.push(format!("{name} 1 epoch: {e1:.2} vs {a1:.2}"));
            }
        }
    }
    assert!(misses.is_empty(), "beyond 0.3 pp: {misses:?}");
}
