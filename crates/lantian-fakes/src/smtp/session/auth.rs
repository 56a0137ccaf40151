//! AUTH PLAIN and AUTH LOGIN (RFC 4954, RFC 4616).

use std::io;

use mail_parser::decoders::base64::base64_decode;

use super::{Flow, Session};
use crate::smtp::conn::{Conn, Line};

/// Either the next value of an exchange, or how it ended early.
enum Step<T> {
    Got(T),
    Reply(&'static str),
    Close,
}

/// Unwraps a [`Step::Got`] or returns the early ending from the function.
macro_rules! step {
    ($step:expr) => {
        match $step {
            Step::Got(value) => value,
            Step::Reply(reply) => return Ok(Step::Reply(reply)),
            Step::Close => return Ok(Step::Close),
        }
    };
}

const BAD_BASE64: &str = "501 5.5.2 Cannot decode response";
const CANCELLED: &str = "501 5.7.0 Authentication cancelled";

impl Session<'_> {
    pub(super) async fn auth(&mut self, conn: &mut Conn<'_>, arg: &str) -> io::Result<Flow> {
        let refusal = if self.shared.credentials.is_none() {
            Some("502 5.5.1 AUTH not available")
        } else if !self.greeted {
            Some("503 5.5.1 Send EHLO first")
        } else if self.authenticated_as.is_some() {
            Some("503 5.5.1 Already authenticated")
        } else if self.mail_from.is_some() {
            Some("503 5.5.1 AUTH not allowed during a mail transaction")
        } else {
            None
        };
        if let Some(refusal) = refusal {
            conn.reply(refusal).await?;
            return Ok(Flow::Continue);
        }

        let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        let initial = initial.trim();
        let step = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => plain(conn, initial).await?,
            "LOGIN" => login(conn, initial).await?,
            _ => Step::Reply("504 5.5.4 Unrecognized authentication mechanism"),
        };
        let reply = match step {
            Step::Close => return Ok(Flow::Close),
            Step::Reply(reply) => reply,
            Step::Got((user, password)) => self.check(user, &password),
        };
        conn.reply(reply).await?;
        Ok(Flow::Continue)
    }

    fn check(&mut self, user: String, password: &str) -> &'static str {
        match &self.shared.credentials {
            Some((want_user, want_password)) if *want_user == user && want_password == password => {
                self.authenticated_as = Some(user);
                "235 2.7.0 Authentication successful"
            }
            _ => "535 5.7.8 Authentication credentials invalid",
        }
    }
}

/// RFC 4616: `authzid NUL authcid NUL passwd`, sent with the command or
/// after an empty challenge.
async fn plain(conn: &mut Conn<'_>, initial: &str) -> io::Result<Step<(String, String)>> {
    let bytes = if initial.is_empty() { step!(challenge(conn, "334 ").await?) } else { step!(decode(initial)) };
    let parts: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    let [authzid, user, password] = parts.as_slice() else {
        return Ok(Step::Reply("501 5.5.2 Malformed PLAIN response"));
    };
    let (Ok(authzid), Ok(user), Ok(password)) =
        (std::str::from_utf8(authzid), std::str::from_utf8(user), std::str::from_utf8(password))
    else {
        return Ok(Step::Reply(BAD_BASE64));
    };
    // Acting as someone else is not supported; such a login fails.
    let user = if authzid.is_empty() || authzid == user { user.to_owned() } else { String::new() };
    Ok(Step::Got((user, password.to_owned())))
}

/// The non-standard but widespread LOGIN mechanism: username and password
/// each base64 in answer to a prompt ("Username:" / "Password:" in base64).
/// Some clients send the username with the command.
async fn login(conn: &mut Conn<'_>, initial: &str) -> io::Result<Step<(String, String)>> {
    let user =
        if initial.is_empty() { step!(challenge(conn, "334 VXNlcm5hbWU6").await?) } else { step!(decode(initial)) };
    let password = step!(challenge(conn, "334 UGFzc3dvcmQ6").await?);
    match (String::from_utf8(user), String::from_utf8(password)) {
        (Ok(user), Ok(password)) => Ok(Step::Got((user, password))),
        _ => Ok(Step::Reply(BAD_BASE64)),
    }
}

/// Sends a 334 challenge and decodes the client's base64 answer.
async fn challenge(conn: &mut Conn<'_>, prompt: &str) -> io::Result<Step<Vec<u8>>> {
    conn.reply(prompt).await?;
    Ok(match conn.read_line().await? {
        Line::Closed => Step::Close,
        Line::TooLong => Step::Reply("500 5.5.2 Line too long"),
        Line::Text(line) => match std::str::from_utf8(&line) {
            Ok(text) => decode(text.trim_end_matches(['\r', '\n'])),
            Err(_) => Step::Reply(BAD_BASE64),
        },
    })
}

/// Decodes one base64 response; `*` cancels and `=` is the empty response
/// (RFC 4954 section 4).
fn decode(text: &str) -> Step<Vec<u8>> {
    match text {
        "*" => Step::Reply(CANCELLED),
        "=" => Step::Got(Vec::new()),
        _ => base64_decode(text.as_bytes()).map_or(Step::Reply(BAD_BASE64), Step::Got),
    }
}
