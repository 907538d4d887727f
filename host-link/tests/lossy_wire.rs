//! The host and device ends over a wire that flips bits, drops bytes and delays answers
//! past the host's timeout: every request is carried out exactly once, in order, and
//! answered correctly; a silent board, a noisy line and another design are reported.

use std::collections::VecDeque;
use std::convert::Infallible;

use host_link::{DeviceLink, Host, Identity, LinkError, Request, Response, Target, Wire};

/// A trainer stand-in that records what it was asked to train.
#[derive(Default)]
struct Recorder {
    trained: Vec<(u8, Vec<u8>)>,
    /// Answers hello with the protocol before this host's.
    older: bool,
}

impl Target for Recorder {
    fn execute(&mut self, request: Request) -> Response {
        match request {
            Request::Train { label, pixels } => {
                let class = (pixels.iter().map(|&p| u32::from(p)).sum::<u32>() % 10) as u8;
                self.trained.push((label, pixels));
                Response::Prediction {
                    class,
                    label,
                    samples: self.trained.len() as u32,
                }
            }
            Request::Hello => Response::Hello(Identity {
                protocol: host_link::command::PROTOCOL - u8::from(self.older),
                config_hash: HASH,
                inputs: 64,
                classes: 10,
                units: 2,
                learns: true,
            }),
            _ => Response::Reset,
        }
    }
}

/// The host's bytes go through the fault injector to the device, its answer back through
/// it again; the line goes idle after each burst. A delayed answer arrives only after the
/// host's next send (its timeout has passed by then).
struct Lossy {
    device: DeviceLink,
    target: Recorder,
    to_host: VecDeque<u8>,
    late: Vec<u8>,
    rng: u64,
    /// Per byte, in millionths: a flipped bit, a dropped byte; per answer, a delay.
    flip_ppm: u64,
    drop_ppm: u64,
    delay_ppm: u64,
    faults: u64,
}

const HASH: [u8; 8] = *b"recorder";

impl Lossy {
    fn new(flip_ppm: u64, drop_ppm: u64, delay_ppm: u64) -> Lossy {
        Lossy {
            device: DeviceLink::new(1024),
            target: Recorder::default(),
            to_host: VecDeque::new(),
            late: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
            flip_ppm,
            drop_ppm,
            delay_ppm,
            faults: 0,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn carry(&mut self, byte: u8) -> Option<u8> {
        let r = self.next() % 1_000_000;
        if r < self.drop_ppm {
            self.faults += 1;
            None
        } else if r < self.drop_ppm + self.flip_ppm {
            self.faults += 1;
            Some(byte ^ (1 << (self.next() % 8)))
        } else {
            Some(byte)
        }
    }
}

impl Wire for Lossy {
    type Error = Infallible;

    fn send(&mut self, bytes: &[u8]) -> Result<(), Infallible> {
        self.to_host.extend(self.late.drain(..));
        for &b in bytes {
            let Some(b) = self.carry(b) else { continue };
            if let Some(answer) = self.device.receive(b, &mut self.target) {
                let delayed = self.next() % 1_000_000 < self.delay_ppm;
                for a in answer {
                    if let Some(a) = self.carry(a) {
                        match delayed {
                            true => self.late.push(a),
                            false => self.to_host.push_back(a),
                        }
                    }
                }
            }
        }
        self.device.line_idle();
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<u8>, Infallible> {
        Ok(self.to_host.pop_front())
    }
}

fn samples(n: usize) -> Vec<(u8, Vec<u8>)> {
    let mut x = 1u32;
    (0..n)
        .map(|i| {
            let pixels = (0..64)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x >> 24) as u8
                })
                .collect();
            ((i % 10) as u8, pixels)
        })
        .collect()
}

fn train_all(host: &mut Host<Lossy>, samples: &[(u8, Vec<u8>)]) {
    for (i, (label, pixels)) in samples.iter().enumerate() {
        let answer = host
            .call(&Request::Train {
                label: *label,
                pixels: pixels.clone(),
            })
            .expect("answered within the attempts");
        let class = (pixels.iter().map(|&p| u32::from(p)).sum::<u32>() % 10) as u8;
        assert_eq!(
            answer,
            Response::Prediction {
                class,
                label: *label,
                samples: i as u32 + 1
            }
        );
    }
}

#[test]
fn a_clean_wire_needs_no_retries() {
    let data = samples(300);
    let (mut host, id) = Host::open(Lossy::new(0, 0, 0), 8, HASH).expect("hello");
    assert_eq!(id.config_hash, HASH);
    train_all(&mut host, &data);
    let stats = host.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.link_errors),
        (301, 0, 0)
    );
    // Hello: 7 bytes out, 14 + 7 back. Each sample: 64 pixels, a label and 7 bytes of
    // frame out; 6 bytes and 7 of frame back.
    assert_eq!(stats.bytes_sent, 7 + 300 * 72);
    assert_eq!(stats.bytes_received, 21 + 300 * 13);
    assert_eq!(host.wire_mut().target.trained, data);
}

#[test]
fn flipped_bits_dropped_bytes_and_late_answers_lose_and_double_nothing() {
    let data = samples(3_000);
    // One byte in 200 damaged (about a third of the requests or their answers), one
    // answer in 20 late.
    let (mut host, _) = Host::open(Lossy::new(2_500, 2_500, 50_000), 16, HASH).expect("hello");
    train_all(&mut host, &data);
    let stats = host.stats();
    let wire = host.wire_mut();
    assert!(wire.faults > 500, "faults injected: {}", wire.faults);
    assert!(stats.retries > 300, "retries: {}", stats.retries);
    // Lost and late answers were sent again from the device's memory, not trained again;
    // a late answer then reaches the host during the next request, which skips it.
    assert_eq!(wire.target.trained, data);
    assert!(
        wire.device.replays > 100,
        "replays: {}",
        wire.device.replays
    );
    assert!(wire.device.crc_errors > 0);
}

#[test]
fn a_silent_board_is_reported_after_the_attempts() {
    struct Silent;
    impl Wire for Silent {
        type Error = Infallible;
        fn send(&mut self, _: &[u8]) -> Result<(), Infallible> {
            Ok(())
        }
        fn recv(&mut self) -> Result<Option<u8>, Infallible> {
            Ok(None)
        }
    }
    let Err(err) = Host::open(Silent, 3, HASH) else {
        panic!("a silent board must not open");
    };
    assert!(matches!(
        err,
        LinkError::NoAnswer {
            seq: 1,
            attempts: 3
        }
    ));
    assert!(err
        .to_string()
        .starts_with("no answer to request 1 after 3 attempts"));
}

#[test]
fn a_line_that_never_falls_quiet_ends_in_no_answer() {
    struct Noisy;
    impl Wire for Noisy {
        type Error = Infallible;
        fn send(&mut self, _: &[u8]) -> Result<(), Infallible> {
            Ok(())
        }
        fn recv(&mut self) -> Result<Option<u8>, Infallible> {
            Ok(Some(0x5A))
        }
    }
    let Err(err) = Host::open(Noisy, 2, HASH) else {
        panic!("a noisy line must not open");
    };
    assert!(matches!(err, LinkError::NoAnswer { attempts: 2, .. }));
}

#[test]
fn another_design_is_refused_by_its_hash() {
    let Err(err) = Host::open(Lossy::new(0, 0, 0), 4, *b"otherone") else {
        panic!("another design must not open");
    };
    assert_eq!(
        err.to_string(),
        "the board runs another design: its config hash is 7265636f72646572, this \
         config's is 6f746865726f6e65 (protocol 2); program the board with this config's \
         bitstream or pass the config it was built from"
    );
}

#[test]
fn a_board_of_an_older_protocol_is_refused_with_the_way_out() {
    let mut line = Lossy::new(0, 0, 0);
    line.target.older = true;
    let Err(err) = Host::open(line, 4, HASH) else {
        panic!("a board of another protocol must not open");
    };
    assert_eq!(
        err.to_string(),
        "the board speaks protocol 1, this host 2: rebuild its bitstream with this version \
         of lls (`lls synth --board ...`) and program it (`lls flash`)"
    );
}
