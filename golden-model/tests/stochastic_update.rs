//! The stochastic-rounding update computed by columns (zero inputs skipped, every row's
//! LFSR state jumped to and stepped together) against the row-major walk that steps each
//! lane's LFSR once a weight, as the hardware does (the path taken while rail counts are
//! kept): the same weights and LFSR states after every sample, over lane counts that are
//! and are not powers of two, on the digits data (a third of its pixels are zero).

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, DatasetKind};
use golden_model::spec::fixed::FixedNet;

#[test]
fn the_column_update_equals_the_row_major_walk() {
    let preset = include_str!("../../configs/digits-mlp.toml").replace(
        "update_rounding = \"half-up\"",
        "update_rounding = \"stochastic\"",
    );
    assert!(
        preset.contains("stochastic"),
        "the preset names its update rounding"
    );
    let data = load(DatasetKind::Digits, &default_data_dir())
        .unwrap_or_else(|e| panic!("{e} (the test command runs scripts/fetch-data first)"));
    let px = data.train.pixels;
    for lanes in [1, 2, 4, 8, 16, 32] {
        let text = preset.replace("lanes = 4", &format!("lanes = {lanes}"));
        let cfg = Config::from_toml_str(&text, "stochastic").expect("valid");
        let mut fast = FixedNet::new(&cfg);
        let mut walk = FixedNet::new(&cfg);
        walk.count_rails();
        for k in 0..25 {
            let pixels = &data.train.images[k * px..(k + 1) * px];
            let label = usize::from(data.train.labels[k]);
            assert_eq!(
                fast.train_step(pixels, label).prediction,
                walk.train_step(pixels, label).prediction
            );
            for (a, b) in fast.layers.iter().zip(&walk.layers) {
                assert_eq!(a.lfsr, b.lfsr, "lanes {lanes}, sample {k}");
                assert_eq!(a.weights(), b.weights(), "lanes {lanes}, sample {k}");
            }
        }
        assert!(walk.layers[0].lfsr != FixedNet::new(&cfg).layers[0].lfsr);
    }
}
