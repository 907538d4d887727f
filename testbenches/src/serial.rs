//! A board on a serial port (its USB-serial UART) as the host link's wire: 8N1 at the
//! design's `hardware.baud`, a byte read giving up after the answer timeout.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use host_link::Wire;

use crate::CosimError;

pub struct SerialWire {
    name: String,
    port: Box<dyn serialport::SerialPort>,
    pending: VecDeque<u8>,
}

impl SerialWire {
    /// Opens `path` at `baud`, 8N1, no flow control; a read waits at most `timeout`.
    pub fn open(path: &str, baud: u32, timeout: Duration) -> Result<SerialWire, CosimError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(timeout)
            .open()
            .map_err(|e| {
                CosimError::Options(format!(
                    "--port {path}: cannot open it ({e}); connect the board and pass its \
                     serial port (Linux: /dev/ttyUSB<n> or /dev/ttyACM<n>; the iCEBreaker's \
                     FTDI shows two, the UART is the second)"
                ))
            })?;
        Ok(SerialWire::from_port(path, port))
    }

    /// A wire over a port opened elsewhere (a pseudo-terminal in tests).
    pub fn from_port(name: &str, port: Box<dyn serialport::SerialPort>) -> SerialWire {
        SerialWire {
            name: name.to_string(),
            port,
            pending: VecDeque::new(),
        }
    }

    fn io(&self, e: std::io::Error) -> CosimError {
        CosimError::Io {
            path: self.name.clone(),
            reason: e.to_string(),
        }
    }
}

impl Wire for SerialWire {
    type Error = CosimError;

    fn send(&mut self, bytes: &[u8]) -> Result<(), CosimError> {
        self.port
            .write_all(bytes)
            .and_then(|_| self.port.flush())
            .map_err(|e| self.io(e))
    }

    fn recv(&mut self) -> Result<Option<u8>, CosimError> {
        if let Some(b) = self.pending.pop_front() {
            return Ok(Some(b));
        }
        let mut buf = [0u8; 256];
        match self.port.read(&mut buf) {
            Ok(0) => Ok(None),
            Ok(n) => {
                self.pending.extend(&buf[1..n]);
                Ok(Some(buf[0]))
            }
            Err(e) if e.kind() == ErrorKind::TimedOut => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }
}
