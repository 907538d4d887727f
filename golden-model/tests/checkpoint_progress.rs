//! A checkpoint's counts (`progress.epoch`, `progress.samples`, the MAC counters) are held
//! to what a training run could have reached and to the run resuming from it: a
//! well-checksummed file with nonsense counts is refused, naming the field, instead of
//! replaying 10^15 epochs of shuffles or saving later weights under an earlier epoch.

use std::path::{Path, PathBuf};

use golden_model::checkpoint::{
    self, Checkpoint, CheckpointError, ConfigMatch, Progress, MAX_COUNT,
};
use golden_model::config::Config;
use golden_model::spec::fixed::FixedNet;

const DIGITS: &str = include_str!("../../configs/digits-mlp.toml");

/// digits-mlp with `epochs` epochs, and its text.
fn config(epochs: usize) -> (Config, String) {
    assert!(
        DIGITS.contains("epochs = 20\n"),
        "digits-mlp trains 20 epochs"
    );
    let text = DIGITS.replace("epochs = 20\n", &format!("epochs = {epochs}\n"));
    let cfg = Config::from_toml_str(&text, "digits-mlp.toml").unwrap();
    (cfg, text)
}

/// A checkpoint of the initial net with `progress`, written (valid checksum) to a file of
/// its own; the caller removes it.
fn saved(cfg: &Config, text: &str, progress: Progress, name: &str) -> PathBuf {
    let ck = Checkpoint::capture(&FixedNet::new(cfg), cfg, text, progress);
    let path =
        std::env::temp_dir().join(format!("lls-progress-{}-{name}.json", std::process::id()));
    ck.save(&path).unwrap();
    path
}

fn load_error(path: &Path, cfg: &Config, text: &str) -> String {
    let err = checkpoint::load(path, cfg, text).unwrap_err().to_string();
    std::fs::remove_file(path).unwrap();
    err
}

#[test]
fn an_epoch_beyond_the_run_is_refused() {
    let (cfg, text) = config(20);
    let huge = Progress {
        epoch: 1_000_000_000_000_000,
        samples: 1_000_000_000_000_000,
    };
    let err = load_error(&saved(&cfg, &text, huge, "huge"), &cfg, &text);
    assert!(
        err.contains(
            "progress.epoch = 1000000000000000 is beyond the 20 epochs this run trains to \
             (learning.epochs, or --epochs)"
        ),
        "{err}"
    );

    // Two epochs done, a run to one: nothing to train, and the save would call the
    // epoch-2 weights epoch 1.
    let (one, one_text) = config(1);
    let two = Progress {
        epoch: 2,
        samples: 2 * 1437,
    };
    let err = load_error(&saved(&one, &one_text, two, "two"), &one, &one_text);
    assert!(
        err.ends_with(
            "progress.epoch = 2 is beyond the 1 epochs this run trains to (learning.epochs, or \
             --epochs); resuming would train nothing and save the checkpoint's weights under \
             epoch 1; resume with --epochs 2 or more (the total), or from a checkpoint of an \
             earlier epoch"
        ),
        "{err}"
    );
    // Resuming at the run's last epoch trains nothing more, and is fine.
    let (two_epochs, two_text) = config(2);
    let path = saved(&two_epochs, &two_text, two, "equal");
    assert!(checkpoint::load(&path, &two_epochs, &two_text).is_ok());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn samples_that_disagree_with_the_epoch_are_refused() {
    let (cfg, text) = config(20);
    // Fewer samples than completed epochs: whatever the data, impossible.
    let fewer = Progress {
        epoch: 5,
        samples: 3,
    };
    let path = saved(&cfg, &text, fewer, "fewer");
    let err = Checkpoint::load(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(err, CheckpointError::Progress { .. }), "{err:?}");
    assert!(
        err.to_string().contains(
            "progress.samples = 3 is fewer than progress.epoch = 5, but every completed epoch \
             trains at least one sample"
        ),
        "{err}"
    );

    // Against the run's data: samples must be epoch × train_len.
    let at = |epoch: u64, samples: u64, name: &str| {
        let path = saved(&cfg, &text, Progress { epoch, samples }, name);
        let result =
            checkpoint::resume(&path, &cfg, &text, 100, ConfigMatch::Exact).map(|(_, p)| p);
        std::fs::remove_file(&path).unwrap();
        result.map_err(|e| e.to_string())
    };
    assert_eq!(
        at(3, 300, "boundary"),
        Ok(Progress {
            epoch: 3,
            samples: 300
        })
    );
    let err = at(3, 350, "inside").unwrap_err();
    assert!(
        err.contains(
            "progress.samples = 350 but 3 epochs of 100 training samples are 300; resume with \
             the data set and --limit the checkpoint was trained with"
        ),
        "{err}"
    );
    assert!(at(0, 0, "start").is_ok());
    assert!(at(0, 7, "first-epoch").is_err());
    assert!(at(21, 2100, "beyond")
        .unwrap_err()
        .contains("is beyond the 20 epochs"));
}

#[test]
fn counts_beyond_any_run_are_refused() {
    let (cfg, text) = config(20);
    let mut ck = Checkpoint::capture(&FixedNet::new(&cfg), &cfg, &text, Progress::default());
    ck.macs.update = MAX_COUNT + 1;
    let err = Checkpoint::from_json(ck.to_json().as_bytes(), "ck.json".as_ref())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "ck.json: macs.update = {} is beyond any training run (at most 2^53 = {MAX_COUNT}); \
             the file was edited or written by another tool; restore a good copy or save it \
             again with `lls train --save`",
            MAX_COUNT + 1
        )
    );
    ck.macs.update = 0;
    ck.progress = Progress {
        epoch: u64::MAX,
        samples: u64::MAX,
    };
    let err = Checkpoint::from_json(ck.to_json().as_bytes(), "ck.json".as_ref())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "ck.json: progress.epoch = {} is beyond any training run",
            u64::MAX
        )),
        "{err}"
    );
}
