//! The SMTP protocol state machine of one connection (RFC 5321 subset).

mod auth;

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;

use super::Shared;
use super::conn::{Conn, Line};
use super::store::{Envelope, Incoming};

/// Advertised in EHLO as SIZE and enforced on the unstuffed DATA.
pub(super) const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
/// RFC 5321 4.5.3.1.8 asks for at least 100 recipients per message.
const MAX_RECIPIENTS: usize = 100;
const HOSTNAME: &str = "localhost";

/// Whether the connection goes on after a command.
enum Flow {
    Continue,
    Close,
}

/// Serves one connection until the client quits or disappears.
pub(super) async fn run(stream: TcpStream, shared: Arc<Shared>) {
    let peer = stream.peer_addr().ok();
    let mut conn = Conn::new(stream, &shared.faults);
    let mut session =
        Session { shared: &shared, greeted: false, authenticated_as: None, mail_from: None, rcpt_to: Vec::new() };
    if let Err(err) = session.serve(&mut conn).await {
        // Clients hanging up mid-reply is normal for a fake; not a warning.
        tracing::debug!(?peer, %err, "SMTP fake connection ended with an error");
    }
}

struct Session<'a> {
    shared: &'a Shared,
    greeted: bool,
    authenticated_as: Option<String>,
    /// Set by MAIL FROM; `Some` means a mail transaction is open.
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

impl Session<'_> {
    async fn serve(&mut self, conn: &mut Conn<'_>) -> io::Result<()> {
        conn.reply(&format!("220 {HOSTNAME} ESMTP Lantian fake (plain text, loopback only)")).await?;
        loop {
            let line = match conn.read_line().await? {
                Line::Text(line) => line,
                Line::TooLong => {
                    conn.reply("500 5.5.2 Line too long").await?;
                    continue;
                }
                Line::Closed => return Ok(()),
            };
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
            if let Flow::Close = self.command(conn, verb, arg.trim()).await? {
                return Ok(());
            }
        }
    }

    async fn command(&mut self, conn: &mut Conn<'_>, verb: &str, arg: &str) -> io::Result<Flow> {
        let reply: Cow<'static, str> = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.helo(arg, true),
            "HELO" => self.helo(arg, false),
            "AUTH" => return self.auth(conn, arg).await,
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => return self.data(conn, arg).await,
            "RSET" => {
                self.reset();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "VRFY" => "252 2.5.0 Cannot VRFY user, but will accept message".into(),
            "QUIT" => {
                conn.reply("221 2.0.0 Bye").await?;
                return Ok(Flow::Close);
            }
            _ => "500 5.5.2 Command unrecognized".into(),
        };
        conn.reply(&reply).await?;
        Ok(Flow::Continue)
    }

    /// Aborts the open mail transaction, keeping greeting and login.
    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    fn helo(&mut self, domain: &str, extended: bool) -> Cow<'static, str> {
        if domain.is_empty() {
            return "501 5.5.4 Syntax: EHLO domain".into();
        }
        self.reset();
        self.greeted = true;
        if !extended {
            return format!("250 {HOSTNAME}").into();
        }
        let mut lines = vec![
            format!("{HOSTNAME} greets {domain}"),
            format!("SIZE {MAX_MESSAGE_SIZE}"),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "PIPELINING".to_owned(),
        ];
        if self.shared.credentials.is_some() {
            lines.push("AUTH PLAIN LOGIN".to_owned());
        }
        // Multi-line reply: "250-" on every line but the last (RFC 5321 4.2.1).
        let last = lines.len() - 1;
        let reply: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("250{}{line}", if i == last { ' ' } else { '-' }))
            .collect();
        reply.join("\r\n").into()
    }

    fn mail(&mut self, arg: &str) -> Cow<'static, str> {
        if !self.greeted {
            return "503 5.5.1 Send EHLO or HELO first".into();
        }
        if self.shared.credentials.is_some() && self.authenticated_as.is_none() {
            return "530 5.7.0 Authentication required".into();
        }
        if self.mail_from.is_some() {
            return "503 5.5.1 Sender already given".into();
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return "501 5.5.4 Syntax: MAIL FROM:<address>".into();
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > MAX_MESSAGE_SIZE as u64 => {
                        return "552 5.3.4 Message size exceeds fixed maximum message size".into();
                    }
                    Ok(_) => {}
                    Err(_) => return "501 5.5.4 Bad SIZE parameter".into(),
                },
                "BODY" if value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME") => {}
                "SMTPUTF8" if value.is_empty() => {}
                // RFC 4954 section 5: the original submitter; nothing to check.
                "AUTH" => {}
                _ => return "555 5.5.4 Unsupported MAIL parameter".into(),
            }
        }
        self.mail_from = Some(path);
        "250 2.1.0 OK".into()
    }

    fn rcpt(&mut self, arg: &str) -> Cow<'static, str> {
        if self.mail_from.is_none() {
            return "503 5.5.1 Need MAIL before RCPT".into();
        }
        let Some((path, params)) = parse_path(arg, "TO:") else {
            return "501 5.5.4 Syntax: RCPT TO:<address>".into();
        };
        if path.is_empty() {
            return "501 5.1.3 Empty recipient address".into();
        }
        // No RCPT extension (such as DSN) is advertised.
        if !params.trim().is_empty() {
            return "555 5.5.4 Unsupported RCPT parameter".into();
        }
        if self.rcpt_to.len() >= MAX_RECIPIENTS {
            return "452 4.5.3 Too many recipients".into();
        }
        self.rcpt_to.push(path);
        "250 2.1.5 OK".into()
    }

    async fn data(&mut self, conn: &mut Conn<'_>, arg: &str) -> io::Result<Flow> {
        let refusal = if !arg.is_empty() {
            Some("501 5.5.4 DATA takes no arguments")
        } else if self.mail_from.is_none() {
            Some("503 5.5.1 Need MAIL before DATA")
        } else if self.rcpt_to.is_empty() {
            Some("503 5.5.1 Need RCPT before DATA")
        } else {
            None
        };
        if let Some(refusal) = refusal {
            conn.reply(refusal).await?;
            return Ok(Flow::Continue);
        }
        conn.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let Some(data) = read_data(conn).await? else {
            return Ok(Flow::Close);
        };
        // Whatever happens to the message, the transaction is over.
        let envelope = Envelope {
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            authenticated_as: self.authenticated_as.clone(),
        };
        let reply = match data {
            Data::TooBig => "552 5.3.4 Message size exceeds fixed maximum message size".into(),
            Data::LineTooLong => "500 5.5.2 Line too long".into(),
            Data::Complete(bytes) => {
                let faults = &self.shared.faults;
                if faults.take_drop() {
                    return Ok(Flow::Close);
                }
                if let Some(code) = faults.take_reject() {
                    format!("{code} {}.3.0 Message refused (injected fault)", code / 100)
                } else {
                    let incoming = Incoming::new(envelope, &bytes, (self.shared.now)());
                    let id = self.shared.mailbox().record(incoming);
                    format!("250 2.0.0 OK: queued as {id}")
                }
            }
        };
        conn.reply(&reply).await?;
        Ok(Flow::Continue)
    }
}

/// The outcome of reading a DATA section.
enum Data {
    Complete(Vec<u8>),
    TooBig,
    LineTooLong,
}

/// Reads DATA up to the lone `.` line, unstuffing leading dots (RFC 5321
/// 4.5.2). Oversized content is read to the end but not kept, so the client
/// gets its reply at the usual place. `None` when the client went away.
async fn read_data(conn: &mut Conn<'_>) -> io::Result<Option<Data>> {
    let mut body = Vec::new();
    let mut too_big = false;
    let mut line_too_long = false;
    loop {
        let line = match conn.read_line().await? {
            Line::Text(line) => line,
            Line::TooLong => {
                line_too_long = true;
                continue;
            }
            Line::Closed => return Ok(None),
        };
        // Bare LF endings are tolerated: lenient in what the fake accepts.
        if line == b".\r\n" || line == b".\n" {
            break;
        }
        if too_big {
            continue;
        }
        let content = line.strip_prefix(b".".as_slice()).unwrap_or(&line);
        if body.len() + content.len() > MAX_MESSAGE_SIZE {
            too_big = true;
            body = Vec::new();
        } else {
            body.extend_from_slice(content);
        }
    }
    Ok(Some(if too_big {
        Data::TooBig
    } else if line_too_long {
        Data::LineTooLong
    } else {
        Data::Complete(body)
    }))
}

/// Parses `FROM:<path> params` / `TO:<path> params` (keyword matched
/// case-insensitively, a space after the colon tolerated) into the mailbox
/// and the parameter text.
fn parse_path<'a>(arg: &'a str, keyword: &str) -> Option<(String, &'a str)> {
    if !arg.get(..keyword.len())?.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg.get(keyword.len()..)?.trim_start().strip_prefix('<')?;
    let (path, params) = rest.split_once('>')?;
    // An obsolete source route ("@a,@b:user@host") is ignored, RFC 5321 4.1.2.
    let mailbox = if path.starts_with('@') { path.split_once(':').map_or(path, |(_, mailbox)| mailbox) } else { path };
    Some((mailbox.to_owned(), params))
}

#[cfg(test)]
mod tests {
    use super::parse_path;

    #[test]
    fn parses_paths() {
        assert_eq!(parse_path("FROM:<a@b.c> SIZE=10", "FROM:"), Some(("a@b.c".to_owned(), " SIZE=10")));
        assert_eq!(parse_path("from: <>", "FROM:"), Some((String::new(), "")));
        assert_eq!(parse_path("TO:<@relay:u@h>", "TO:"), Some(("u@h".to_owned(), "")));
        assert_eq!(parse_path("TO:a@b", "TO:"), None);
        assert_eq!(parse_path("FROM:<a@b", "FROM:"), None);
        assert_eq!(parse_path("TO:<a@b>", "FROM:"), None);
    }
}
