//! End-to-end tests of the SMTP fake over real sockets.

mod auth;
mod faults;
mod protocol;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{SmtpFake, SmtpFakeOptions};

/// The fixed clock the tests give the fake.
const NOW_MS: i64 = 1_700_000_000_000;

/// Long enough for a slow CI machine, short enough that a hang fails fast.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

async fn start(credentials: Option<(&str, &str)>) -> SmtpFake {
    SmtpFake::start(SmtpFakeOptions {
        now: Arc::new(|| NOW_MS),
        credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
        ..SmtpFakeOptions::default()
    })
    .await
    .unwrap()
}

/// A minimal SMTP client: write a line, read a (possibly multi-line) reply.
struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects and checks the 220 greeting.
    async fn connect(addr: SocketAddr) -> Client {
        let (reader, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut client = Client { reader: BufReader::new(reader), writer };
        let (code, text) = client.reply().await;
        assert_eq!(code, 220, "{text}");
        assert!(text.contains("ESMTP"), "{text}");
        client
    }

    /// Connects and says EHLO.
    async fn greeted(addr: SocketAddr) -> Client {
        let mut client = Client::connect(addr).await;
        client.expect("EHLO client.test", 250).await;
        client
    }

    async fn write_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    async fn send(&mut self, line: &str) {
        self.write_raw(format!("{line}\r\n").as_bytes()).await;
    }

    /// Reads one reply; returns its code and all its lines joined by `\n`.
    async fn reply(&mut self) -> (u16, String) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(IO_TIMEOUT, self.reader.read_line(&mut line))
                .await
                .expect("reply timed out")
                .unwrap();
            assert!(n > 0, "connection closed while waiting for a reply");
            let line = line.trim_end().to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                break;
            }
        }
        let code = lines[0][..3].parse().unwrap();
        (code, lines.join("\n"))
    }

    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line).await;
        self.reply().await
    }

    /// Sends a command and asserts the reply code.
    async fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line).await;
        assert_eq!(got, code, "reply to {line:?}: {text}");
        text
    }

    /// Sends a whole transaction; `data` is already dot-stuffed and ends
    /// with CRLF. Returns the reply to the end of DATA.
    async fn send_mail(&mut self, from: &str, to: &[&str], data: &str) -> (u16, String) {
        self.expect(&format!("MAIL FROM:<{from}>"), 250).await;
        for rcpt in to {
            self.expect(&format!("RCPT TO:<{rcpt}>"), 250).await;
        }
        self.expect("DATA", 354).await;
        self.write_raw(data.as_bytes()).await;
        self.write_raw(b".\r\n").await;
        self.reply().await
    }

    /// True when the server closed the connection without sending anything.
    async fn closed_silently(&mut self) -> bool {
        let mut buf = [0u8; 64];
        let n =
            tokio::time::timeout(IO_TIMEOUT, self.reader.read(&mut buf)).await.expect("read timed out").unwrap_or(0);
        n == 0
    }
}

/// A simple message with the given subject and body lines.
fn message(subject: &str, body: &str) -> String {
    format!(
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
}
