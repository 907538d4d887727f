//! A board session over a serial port, on a pseudo-terminal pair: a board that never
//! answers is reported within seconds, and a stand-in board (the golden model behind
//! `host_link::DeviceLink`) on the other end trains through the same session code as the
//! simulated board, byte for byte through the port.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use golden_model::config::Config;
use golden_model::data::{default_data_dir, load, DatasetKind};
use golden_model::spec::fixed::FixedNet;
use golden_model::spec::lanes::LaneMap;
use host_link::command::{Identity, Refusal, Request, Response, Status, PROTOCOL};
use host_link::{DeviceLink, Target};
use rtl_gen::params::DesignParams;
use serialport::{SerialPort, TTYPort};
use std::io::{Read, Write};
use testbenches::board::{
    config_hash, infer_session, model_words, session, BoardOptions, SessionHooks,
};
use testbenches::serial::SerialWire;

fn digits() -> (Config, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("configs/digits-mlp.toml")).expect("preset");
    (
        Config::from_toml_str(&text, "digits-mlp.toml").expect("valid"),
        text,
    )
}

/// The digits preset under LLS-M with stochastic update rounding: a board state with a
/// modulation vector and LFSR states beside the weights.
fn digits_modulated() -> (Config, String) {
    let (_, text) = digits();
    let text = text.replace("rule = \"lls\"", "rule = \"lls-m\"").replace(
        "update_rounding = \"half-up\"",
        "update_rounding = \"stochastic\"",
    );
    (
        Config::from_toml_str(&text, "digits-lls-m.toml").expect("valid"),
        text,
    )
}

fn options(samples: usize, attempts: u32) -> BoardOptions {
    BoardOptions {
        samples,
        clocks_per_bit: 50,
        link_errors: 0.0,
        seed: 1,
        weights_every: 5,
        attempts,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("board-port"),
    }
}

/// The golden model answering as a board would.
struct ModelBoard {
    net: FixedNet,
    params: DesignParams,
    hash: [u8; 8],
    samples: u32,
}

impl Target for ModelBoard {
    fn execute(&mut self, request: Request) -> Response {
        match request {
            Request::Hello => Response::Hello(Identity {
                protocol: PROTOCOL,
                config_hash: self.hash,
                inputs: self.params.inputs as u16,
                classes: self.params.classes as u8,
                units: self.params.layers.len() as u8,
                learns: true,
            }),
            Request::Train { label, pixels } => {
                let class = self.net.train_step(&pixels, usize::from(label)).prediction as u8;
                self.samples += 1;
                Response::Prediction {
                    class,
                    label,
                    samples: self.samples,
                }
            }
            Request::Read { unit, addr, count } => {
                let u = usize::from(unit);
                match self.params.layers.get(u) {
                    Some(l) if addr as usize + usize::from(count) <= l.rb_entries => {
                        Response::Words(
                            model_words(&self.net, &self.params, u, addr, count)
                                .into_iter()
                                .map(|w| w.unwrap_or(0))
                                .collect(),
                        )
                    }
                    _ => Response::Refused {
                        kind: 0x04,
                        reason: Refusal::BadAddress,
                    },
                }
            }
            Request::Write { unit, addr, words } => {
                let u = usize::from(unit);
                match self.params.layers.get(u) {
                    Some(l) if addr as usize + words.len() <= l.rb_entries => {
                        let lanes = LaneMap::new(l.lanes);
                        let layer = &mut self.net.layers[u];
                        let mut weights = layer.weights();
                        let shift = 32 - l.weight_bits;
                        for (a, &w) in (addr as usize..).zip(&words) {
                            if a >= l.rb_weight_entries() {
                                continue;
                            }
                            if let Some(flat) = lanes.unpacked(a) {
                                weights[flat] = ((w << shift) as i32) >> shift;
                            }
                        }
                        layer.set_weights(&weights);
                        Response::Written
                    }
                    _ => Response::Refused {
                        kind: 0x07,
                        reason: Refusal::BadAddress,
                    },
                }
            }
            Request::Status => Response::Status(Status {
                idle: true,
                frame_error: false,
                samples: self.samples,
                crc_errors: 0,
            }),
            Request::Reset | Request::Infer { .. } => Response::Reset,
        }
    }
}

/// The golden model answering as a board of `cfg` (`text`) on one end of a
/// pseudo-terminal pair, in a thread until `stop`; the wire to the other end, and the
/// thread, which returns the samples the stand-in trained and its state.
fn model_board_on_a_port(
    cfg: &Config,
    text: &str,
    stop: Arc<AtomicBool>,
) -> (SerialWire, std::thread::JoinHandle<(u32, FixedNet)>) {
    let params = DesignParams::new(cfg, true).expect("params");
    let (mut host_end, mut board_end) = TTYPort::pair().expect("a pseudo-terminal pair");
    host_end
        .set_timeout(Duration::from_millis(500))
        .expect("timeout");
    board_end
        .set_timeout(Duration::from_millis(20))
        .expect("timeout");
    let mut target = ModelBoard {
        net: FixedNet::new(cfg),
        params,
        hash: config_hash(text),
        samples: 0,
    };
    let board = std::thread::spawn(move || {
        let mut link = DeviceLink::new(1024);
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            match board_end.read(&mut buf) {
                Ok(n) => {
                    for &b in &buf[..n] {
                        if let Some(answer) = link.receive(b, &mut target) {
                            board_end.write_all(&answer).expect("answer");
                        }
                    }
                }
                Err(_) => link.line_idle(),
            }
        }
        (target.samples, target.net)
    });
    (SerialWire::from_port("pty", Box::new(host_end)), board)
}

#[test]
fn a_silent_port_is_reported_within_seconds() {
    let (cfg, text) = digits();
    let data = load(DatasetKind::Digits, &default_data_dir()).expect("digits");
    let (mut host_end, _board_end) = TTYPort::pair().expect("a pseudo-terminal pair");
    host_end
        .set_timeout(Duration::from_millis(100))
        .expect("timeout");
    let wire = SerialWire::from_port("pty", Box::new(host_end));
    let params = DesignParams::new(&cfg, true).expect("params");
    let started = Instant::now();
    let Err(err) = session(
        wire,
        &cfg,
        &text,
        &params,
        &data.train,
        &options(3, 4),
        SessionHooks::default(),
    ) else {
        panic!("a silent board must not train");
    };
    assert!(
        err.to_string()
            .starts_with("simulator protocol: no answer to request 1 after 4 attempts"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Inference asks for the inference design: a board that says it learns is refused at
/// once, before a sample is sent.
#[test]
fn inference_on_a_training_board_is_refused() {
    let (cfg, text) = digits();
    let data = load(DatasetKind::Digits, &default_data_dir()).expect("digits");
    let params = DesignParams::new(&cfg, true).expect("params");
    let stop = Arc::new(AtomicBool::new(false));
    let (wire, board) = model_board_on_a_port(&cfg, &text, stop.clone());
    let net = FixedNet::new(&cfg);
    let result = infer_session(
        wire,
        &cfg,
        &text,
        &params,
        &net,
        &data.test,
        &options(3, 4),
        None,
    );
    stop.store(true, Ordering::Relaxed);
    assert_eq!(board.join().expect("the board thread").0, 0);
    let Err(err) = result else {
        panic!("a training board must not be asked to infer");
    };
    assert!(
        err.to_string()
            .contains("the board runs the training design"),
        "{err}"
    );
}

#[test]
fn a_board_on_a_serial_port_trains_through_the_session() {
    let (cfg, text) = digits();
    let (report, _) = train_on_a_port(&cfg, &text);
    // After samples 5, 10 and 12: every weight of both units.
    assert_eq!(report.weights_checked, 3 * (64 * 32 + 32 * 10));
}

/// The state read off the board holds the modulation and the LFSR states as well as the
/// weights, equal to the golden model's after the same samples.
#[test]
fn the_state_read_off_a_board_has_its_modulation_and_lfsr_states() {
    let (cfg, text) = digits_modulated();
    let (report, board) = train_on_a_port(&cfg, &text);
    let data = load(DatasetKind::Digits, &default_data_dir()).expect("digits");
    let mut model = FixedNet::new(&cfg);
    for k in 0..12 {
        let px = data.train.pixels;
        model.train_step(
            &data.train.images[k * px..(k + 1) * px],
            usize::from(data.train.labels[k]),
        );
    }
    assert!(board.layers[0].modulation.values().is_some());
    assert!(!board.layers[0].lfsr.is_empty());
    for (b, m) in board.layers.iter().zip(&model.layers) {
        assert_eq!(b.weights(), m.weights());
        assert_eq!(b.modulation.values(), m.modulation.values());
        assert_eq!(b.lfsr, m.lfsr);
    }
    assert_ne!(
        board.layers[0].lfsr,
        FixedNet::new(&cfg).layers[0].lfsr,
        "the LFSRs moved"
    );
    assert_eq!(board.macs, model.macs);
    assert_eq!(report.mismatches, 0, "{report:?}");
}

/// Trains a stand-in board (the golden model behind `DeviceLink`) on 12 samples over a
/// pseudo-terminal pair: the session's report (checked clean) and the state it read off.
fn train_on_a_port(cfg: &Config, text: &str) -> (testbenches::board::BoardReport, FixedNet) {
    let data = load(DatasetKind::Digits, &default_data_dir()).expect("digits");
    let params = DesignParams::new(cfg, true).expect("params");
    let stop = Arc::new(AtomicBool::new(false));
    let (wire, board) = model_board_on_a_port(cfg, text, stop.clone());
    // The progress callback sees every sample, and the running count of right answers.
    let mut seen = Vec::new();
    let mut tell = |r: &testbenches::board::BoardReport| seen.push((r.samples, r.correct));
    let hooks = SessionHooks {
        on_sample: Some(&mut tell),
        ..SessionHooks::default()
    };
    let run = session(
        wire,
        cfg,
        text,
        &params,
        &data.train,
        &options(12, 4),
        hooks,
    )
    .expect("trains");
    let mut model = FixedNet::new(cfg);
    let mut correct = 0;
    let px = data.train.pixels;
    let expected: Vec<(usize, usize)> = (0..12)
        .map(|k| {
            let label = usize::from(data.train.labels[k]);
            let trace = model.train_step(&data.train.images[k * px..(k + 1) * px], label);
            correct += usize::from(trace.prediction == label);
            (k + 1, correct)
        })
        .collect();
    assert_eq!(seen, expected);
    stop.store(true, Ordering::Relaxed);
    let trained = board.join().expect("the board thread").0;
    let report = run.report;
    assert_eq!(
        (
            report.mismatches,
            report.board_samples,
            trained,
            report.retries
        ),
        (0, 12, 12, 0),
        "{report:?}"
    );
    (report, run.board)
}

/// A state loaded over a serial port: the session writes its weights, reads them back and
/// trains on from it, the stand-in's LFSR states kept; a state whose modulation differs
/// from the board's is refused, since the link loads weights only.
#[test]
fn a_state_loads_over_a_serial_port_and_training_goes_on_from_it() {
    let (cfg, text) = digits_modulated();
    let data = load(DatasetKind::Digits, &default_data_dir()).expect("digits");
    let params = DesignParams::new(&cfg, true).expect("params");
    let px = data.train.pixels;
    let mut state = FixedNet::new(&cfg);
    for k in 100..130 {
        state.train_step(
            &data.train.images[k * px..(k + 1) * px],
            usize::from(data.train.labels[k]),
        );
    }
    let fresh = FixedNet::new(&cfg);
    // The weights the 30 samples taught, the modulation and LFSR states of a fresh board.
    let mut weights_only = fresh.clone();
    for (w, s) in weights_only.layers.iter_mut().zip(&state.layers) {
        w.set_weights(&s.weights());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (wire, board) = model_board_on_a_port(&cfg, &text, stop.clone());
    let run = session(
        wire,
        &cfg,
        &text,
        &params,
        &data.train,
        &options(6, 4),
        SessionHooks {
            start: Some(&weights_only),
            ..SessionHooks::default()
        },
    )
    .expect("trains");
    stop.store(true, Ordering::Relaxed);
    assert_eq!(board.join().expect("the board thread").0, 6);
    assert_eq!(run.report.mismatches, 0, "{:?}", run.report);
    assert_eq!(run.report.weights_loaded, 64 * 32 + 32 * 10);
    let mut model = weights_only;
    for k in 0..6 {
        model.train_step(
            &data.train.images[k * px..(k + 1) * px],
            usize::from(data.train.labels[k]),
        );
    }
    assert_eq!(run.board.layers[0].weights(), model.layers[0].weights());
    assert_ne!(model.layers[0].weights(), fresh.layers[0].weights());

    let stop = Arc::new(AtomicBool::new(false));
    let (wire, board) = model_board_on_a_port(&cfg, &text, stop.clone());
    let result = session(
        wire,
        &cfg,
        &text,
        &params,
        &data.train,
        &options(6, 4),
        SessionHooks {
            start: Some(&state),
            ..SessionHooks::default()
        },
    );
    stop.store(true, Ordering::Relaxed);
    let (trained, left) = board.join().expect("the board thread");
    assert_eq!(trained, 0);
    let Err(err) = result else {
        panic!("a state with another modulation must be refused");
    };
    // Refused before any write: the stand-in holds its initial weights.
    for (l, f) in left.layers.iter().zip(&fresh.layers) {
        assert_eq!(l.weights(), f.weights());
    }
    assert!(
        err.to_string().contains("the link loads weights only"),
        "{err}"
    );
}
