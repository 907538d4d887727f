//! The whole board simulated: the host link's own host code trains the digits trainer
//! behind its UART byte for byte, bit-exact with the golden model, over a clean line and
//! over one that damages and drops bytes.

use std::path::PathBuf;

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use rtl_gen::StateSource;
use testbenches::board::{
    compare_state, infer, load_simulated, read_simulated, train, BoardOptions, SessionHooks,
};

fn digits() -> (Config, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("configs/digits-mlp.toml")).expect("preset");
    (
        Config::from_toml_str(&text, "digits-mlp.toml").expect("valid"),
        text,
    )
}

fn options(samples: usize, link_errors: f64, name: &str) -> BoardOptions {
    BoardOptions {
        samples,
        clocks_per_bit: 8,
        link_errors,
        seed: 5,
        weights_every: 20,
        attempts: 16,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name),
    }
}

#[test]
fn a_board_trains_bit_exactly_over_a_clean_and_a_lossy_line() {
    let (cfg, text) = digits();
    let data = load(DatasetKind::Digits, &default_data_dir())
        .unwrap_or_else(|e| panic!("{e} (the test command runs scripts/fetch-data first)"));
    let (clean, board) = train(
        &cfg,
        &text,
        &data.train,
        &options(20, 0.0, "board-clean"),
        SessionHooks::default(),
    )
    .expect("runs");
    assert_eq!(
        (clean.mismatches, clean.board_samples, clean.retries),
        (0, 20, 0),
        "{clean:?}"
    );
    // 2,048 weights and 320 of the classifier, read after sample 20.
    assert_eq!(clean.weights_checked, 64 * 32 + 32 * 10);
    // The state read off the board is the golden model's after the same 20 samples.
    let mut model = FixedNet::new(&cfg);
    let px = data.train.pixels;
    for k in 0..20 {
        let label = usize::from(data.train.labels[k]);
        model.train_step(&data.train.images[k * px..(k + 1) * px], label);
    }
    let mut checked = 0;
    assert!(compare_state(&board, &model, &mut checked).is_empty());
    // A fresh board reads back the config's initial state.
    let fresh = read_simulated(&cfg, &text, &options(0, 0.0, "board-clean")).expect("reads");
    assert_eq!(fresh.samples, 0);
    assert!(compare_state(&fresh.board, &FixedNet::new(&cfg), &mut checked).is_empty());
    assert_eq!(checked, 2 * (64 * 32 + 32 * 10));
    // The inference design built with the state read off: its weights read back equal,
    // every prediction the golden model's on them.
    let source = StateSource::Checkpoint {
        sha256: "board after 20 samples".into(),
    };
    let mut heard = Vec::new();
    let inferred = infer(
        &cfg,
        &text,
        &board,
        source,
        &data.test,
        &options(30, 0.0, "board-infer"),
        Some(&mut |r: &testbenches::board::InferReport| heard.push(r.samples)),
    )
    .expect("infers");
    assert_eq!(heard, (1..=30).collect::<Vec<_>>(), "one call a sample");
    assert_eq!(
        (
            inferred.samples,
            inferred.mismatches,
            inferred.weights_checked
        ),
        (30, 0, 64 * 32 + 32 * 10),
        "{inferred:?}"
    );
    let correct = (0..30)
        .filter(|&k| {
            let px = data.test.pixels;
            board.predict(&data.test.images[k * px..(k + 1) * px])
                == usize::from(data.test.labels[k])
        })
        .count();
    assert_eq!(inferred.correct, correct);
    // Over a lossy line, from the state after those 20 samples loaded over the link: the
    // golden model goes on from it.
    let (lossy, after) = train(
        &cfg,
        &text,
        &data.train,
        &options(60, 0.003, "board-lossy"),
        SessionHooks {
            start: Some(&board),
            ..SessionHooks::default()
        },
    )
    .expect("runs");
    assert_eq!(lossy.first_mismatch, None);
    assert_eq!(
        (lossy.mismatches, lossy.board_samples, lossy.weights_loaded),
        (0, 60, 64 * 32 + 32 * 10),
        "{lossy:?}"
    );
    assert!(lossy.injected_faults > 20, "{lossy:?}");
    assert!(lossy.retries > 0 && lossy.link_errors > 0, "{lossy:?}");
    assert_eq!(lossy.weights_checked, 3 * (64 * 32 + 32 * 10));
    for k in 0..60 {
        let label = usize::from(data.train.labels[k]);
        model.train_step(&data.train.images[k * px..(k + 1) * px], label);
    }
    assert!(compare_state(&after, &model, &mut checked).is_empty());
}

/// A unit whose weights sit in banks takes them a whole word a request: every weight of
/// a state unlike the initial one (both signs, the extremes) loads and reads back.
#[test]
fn a_state_loads_into_banked_weights_over_the_link() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("rtl-gen/tests/configs/tiny-banked.toml"))
        .expect("test config");
    let cfg = Config::from_toml_str(&text, "tiny-banked.toml").expect("valid");
    let params = rtl_gen::params::DesignParams::new(&cfg, true).expect("params");
    assert!(params.layers[0].bank_stages() > 0, "layer 0 sits in banks");
    let mut state = FixedNet::new(&cfg);
    let bits = cfg.fixed.weight_bits;
    for layer in &mut state.layers {
        let n = layer.inputs * layer.outputs;
        let span = 1i64 << bits;
        let mut weights: Vec<i32> = (0..n as i64)
            .map(|k| ((k * 7919 + 13) % span - span / 2) as i32)
            .collect();
        weights[1] = (-span / 2) as i32;
        weights[n - 2] = (span / 2 - 1) as i32;
        layer.set_weights(&weights);
    }
    let (loaded, figures) =
        load_simulated(&cfg, &text, &state, &options(0, 0.002, "board-banked")).expect("loads");
    assert_eq!(loaded.weights, 64 * 40 + 40 * 3);
    let mut checked = 0;
    assert!(compare_state(&loaded.board, &state, &mut checked).is_empty());
    assert_eq!(checked, loaded.weights);
    assert!(
        figures.retries > 0,
        "the damaged line cost retries: {figures:?}"
    );
}
