//! Test support shared by this crate's tests and rtl-gen's: the settings of the fuzz
//! properties and a trained checkpoint to fuzz and restore.
//!
//! Compiled for this crate's unit tests and with the `testing` feature, which only
//! dev-dependencies turn on, so proptest stays out of normal builds.

use proptest::test_runner::Config as ProptestConfig;

use crate::checkpoint::{Checkpoint, Progress};
use crate::config::Config;
use crate::spec::fixed::FixedNet;

/// The settings of every fuzz property: 2000 cases, or `LLS_FUZZ_CASES` for the opt-in
/// long run.
pub fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("LLS_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
        // Failures are reported with their minimal input; nothing is written into the
        // source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The config in `text` and its net after `steps` training steps on synthetic samples
/// (pixel `i` of step `s` is `(7i + 3s) mod 17`, the label `s mod classes`).
pub fn trained(text: &str, steps: usize) -> (Config, FixedNet) {
    let cfg = Config::from_toml_str(text, "test.toml").expect("test config");
    let mut net = FixedNet::new(&cfg);
    for s in 0..steps {
        let pixels: Vec<u8> = (0..cfg.network.inputs)
            .map(|i| ((i * 7 + s * 3) % 17) as u8)
            .collect();
        net.train_step(&pixels, s % cfg.network.classes);
    }
    (cfg, net)
}

/// [`trained`], and that net captured as a checkpoint at epoch 0 after its `steps`
/// samples, with the checkpoint's JSON.
pub fn trained_checkpoint(text: &str, steps: usize) -> (Config, FixedNet, Checkpoint, String) {
    let (cfg, net) = trained(text, steps);
    let progress = Progress {
        epoch: 0,
        samples: steps as u64,
    };
    let ck = Checkpoint::capture(&net, &cfg, text, progress);
    let json = ck.to_json();
    (cfg, net, ck, json)
}
