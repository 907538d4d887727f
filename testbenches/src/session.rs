//! One running simulator, driven through the harness line protocol.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::CosimError;

pub struct Session {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleResult {
    pub prediction: usize,
    pub cycles: u64,
    pub frame_error: bool,
    /// The label the design returned with its prediction (`m_axis_tuser`).
    pub label: usize,
}

/// A burst's answer: its cycles from the first beat to idle, and each prediction in order.
pub struct Burst {
    pub cycles: u64,
    pub outputs: Vec<BurstOutput>,
}

/// One prediction of a burst, with the returned label and the cycle (from the burst's
/// start) of its handshake.
pub struct BurstOutput {
    pub prediction: usize,
    pub label: usize,
    pub cycle: u64,
}

impl Burst {
    /// Cycles between consecutive predictions.
    pub fn gaps(&self) -> Vec<u64> {
        self.outputs
            .windows(2)
            .map(|w| w[1].cycle - w[0].cycle)
            .collect()
    }
}

fn protocol(msg: impl Into<String>) -> CosimError {
    CosimError::Protocol(msg.into())
}

impl Session {
    pub fn start(program: &Path, args: &[String], cwd: &Path) -> Result<Session, CosimError> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| crate::io_err(program, e))?;
        let stdin = BufWriter::new(child.stdin.take().ok_or_else(|| protocol("no stdin"))?);
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| protocol("no stdout"))?);
        Ok(Session {
            child,
            stdin,
            stdout,
            line: String::new(),
        })
    }

    /// Sends one command line and returns the answer's fields after checking its tag.
    fn request(&mut self, command: &str, tag: &str) -> Result<Vec<&str>, CosimError> {
        writeln!(self.stdin, "{command}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| protocol(format!("write: {e}")))?;
        self.line.clear();
        let n = self
            .stdout
            .read_line(&mut self.line)
            .map_err(|e| protocol(format!("read: {e}")))?;
        if n == 0 {
            return Err(protocol(format!(
                "simulator exited while answering `{}`",
                first_word(command)
            )));
        }
        let mut fields = self.line.split_whitespace();
        match fields.next() {
            Some(t) if t == tag => Ok(fields.collect()),
            _ => Err(protocol(format!(
                "`{}` answered `{}`",
                first_word(command),
                self.line.trim()
            ))),
        }
    }

    pub fn sample(&mut self, tag: u64, pixels: &[u8]) -> Result<SampleResult, CosimError> {
        let mut cmd = format!("S {tag}");
        for p in pixels {
            cmd.push_str(&format!(" {p:x}"));
        }
        let f = self.request(&cmd, "P")?;
        let num = |i: usize| -> Result<u64, CosimError> {
            f.get(i)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| protocol("malformed P line"))
        };
        Ok(SampleResult {
            prediction: num(0)? as usize,
            cycles: num(1)?,
            frame_error: num(2)? != 0,
            label: num(3)? as usize,
        })
    }

    /// Streams `samples` back to back; returns the cycles taken and, in order, each
    /// (prediction, label returned with it). Verilator harness only.
    pub fn burst(&mut self, samples: &[(u64, &[u8])]) -> Result<Burst, CosimError> {
        for (tag, pixels) in samples {
            let mut cmd = format!("B {tag}");
            for p in *pixels {
                cmd.push_str(&format!(" {p:x}"));
            }
            writeln!(self.stdin, "{cmd}").map_err(|e| protocol(format!("write: {e}")))?;
        }
        let f = self.request("G", "G")?;
        let cycles = f
            .first()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| protocol("malformed G line"))?;
        let outputs: Result<Vec<BurstOutput>, CosimError> = f[1..]
            .iter()
            .map(|t| {
                let malformed = || protocol(format!("malformed G entry `{t}`"));
                let (p, rest) = t.split_once(':').ok_or_else(malformed)?;
                let (l, c) = rest.split_once('@').ok_or_else(malformed)?;
                Ok(BurstOutput {
                    prediction: p.parse().map_err(|_| malformed())?,
                    label: l.parse().map_err(|_| malformed())?,
                    cycle: c.parse().map_err(|_| malformed())?,
                })
            })
            .collect();
        Ok(Burst {
            cycles,
            outputs: outputs?,
        })
    }

    /// Raw readback bits of entries `first..first+count` of `layer`.
    pub fn readback(
        &mut self,
        layer: usize,
        first: usize,
        count: usize,
    ) -> Result<Vec<u64>, CosimError> {
        let f = self.request(&format!("R {layer} {first} {count}"), "R")?;
        let values: Result<Vec<u64>, _> = f.iter().map(|s| u64::from_str_radix(s, 16)).collect();
        let values = values.map_err(|_| protocol("malformed R line"))?;
        if values.len() != count {
            return Err(protocol(format!(
                "asked {count} readback entries, got {}",
                values.len()
            )));
        }
        Ok(values)
    }

    pub fn stalls(&mut self, permille: u32, seed: u64) -> Result<(), CosimError> {
        self.request(&format!("T {permille} {seed}"), "T")
            .map(|_| ())
    }

    /// Streams part of a frame, then resets the design in the middle of it.
    pub fn reset_midstream(&mut self, beats: usize) -> Result<(), CosimError> {
        self.request(&format!("X {beats}"), "X").map(|_| ())
    }

    pub fn trace(&mut self, path: &Path) -> Result<bool, CosimError> {
        let f = self.request(&format!("W {}", path.display()), "W")?;
        Ok(f.first() == Some(&"ok"))
    }

    pub fn quit(mut self) -> Result<u64, CosimError> {
        let total = self
            .request("Q", "Q")?
            .first()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let _ = self.child.wait();
        Ok(total)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}
