//! Line-level I/O of one SMTP connection: bounded line reads with an idle
//! timeout, and replies subject to the injected delay.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::SmtpFaults;

/// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF.
pub(super) const MAX_LINE: usize = 1000;

/// RFC 5321 4.5.3.2.7 asks servers to wait at least 5 minutes; a fake only
/// needs to stop abandoned connections from piling up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What reading one line produced.
pub(super) enum Line {
    /// A line, including its line ending.
    Text(Vec<u8>),
    /// A line longer than [`MAX_LINE`]; it was read and discarded.
    TooLong,
    /// The peer closed the connection, or it idled out (already told so).
    Closed,
}

pub(super) struct Conn<'a> {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    faults: &'a SmtpFaults,
}

impl<'a> Conn<'a> {
    pub(super) fn new(stream: TcpStream, faults: &'a SmtpFaults) -> Conn<'a> {
        let (reader, writer) = stream.into_split();
        Conn { reader: BufReader::new(reader), writer, faults }
    }

    /// Sends one reply; `text` is its lines joined by CRLF, without the
    /// final CRLF. Replies go out unbuffered, one write each, which is what
    /// makes pipelined commands get their answers in order.
    pub(super) async fn reply(&mut self, text: &str) -> io::Result<()> {
        let delay = self.faults.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut bytes = Vec::with_capacity(text.len() + 2);
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        self.writer.write_all(&bytes).await
    }

    /// Reads the next line, telling the client 421 and reporting
    /// [`Line::Closed`] if it stays silent for the idle timeout.
    pub(super) async fn read_line(&mut self) -> io::Result<Line> {
        match tokio::time::timeout(IDLE_TIMEOUT, self.read_bounded_line()).await {
            Ok(line) => line,
            Err(_) => {
                self.reply("421 4.4.2 Idle timeout, closing connection").await?;
                Ok(Line::Closed)
            }
        }
    }

    /// Reads up to and including `\n` without ever buffering more than
    /// [`MAX_LINE`] bytes of it, so a client cannot exhaust memory with one
    /// endless line.
    async fn read_bounded_line(&mut self) -> io::Result<Line> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                // A partial last line is not a command; the peer is gone.
                return Ok(Line::Closed);
            }
            let (chunk, complete) = match buf.iter().position(|&b| b == b'\n') {
                Some(end) => (&buf[..=end], true),
                None => (buf, false),
            };
            let used = chunk.len();
            if !too_long {
                line.extend_from_slice(chunk);
                if line.len() > MAX_LINE {
                    too_long = true;
                    line = Vec::new();
                }
            }
            self.reader.consume(used);
            if complete {
                return Ok(if too_long { Line::TooLong } else { Line::Text(line) });
            }
        }
    }
}
