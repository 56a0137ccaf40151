//! The recorded messages.

use std::borrow::Cow;
use std::collections::VecDeque;

use mail_parser::MessageParser;
use serde::Serialize;

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedMessage {
    /// 1 for the first message since start; never reused.
    pub id: u64,
    /// When DATA ended, by the clock given in the options.
    pub received_at_ms: i64,
    /// The envelope sender (empty for the null path `<>`).
    pub mail_from: String,
    /// The envelope recipients, in RCPT order.
    pub rcpt_to: Vec<String>,
    /// The DATA as sent, dot-unstuffed, without the final `.` line.
    pub raw: String,
    /// The decoded Subject header (RFC 2047 words decoded); empty if none.
    pub subject: String,
    /// The first text body (converted from HTML if there is only HTML).
    pub text_body: String,
    /// The first `text/html` body, if the message has one.
    pub html_body: Option<String>,
    /// The user the session authenticated as, if it did.
    pub authenticated_as: Option<String>,
}

/// The envelope of a message being recorded.
pub(super) struct Envelope {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub authenticated_as: Option<String>,
}

/// A message accepted but not yet numbered. Parsing happens here, before
/// the mailbox lock is taken, so a 10 MiB message does not stall the other
/// sessions and the web page.
pub(super) struct Incoming {
    envelope: Envelope,
    raw: String,
    parsed: Parsed,
    received_at_ms: i64,
}

impl Incoming {
    pub(super) fn new(envelope: Envelope, data: &[u8], received_at_ms: i64) -> Incoming {
        Incoming {
            envelope,
            // Non-UTF-8 8BITMIME content is only shown, never re-sent, so a
            // lossy copy is enough; the parsed fields used the exact bytes.
            raw: String::from_utf8_lossy(data).into_owned(),
            parsed: parse(data),
            received_at_ms,
        }
    }
}

/// The kept messages and the running count.
pub(super) struct Mailbox {
    messages: VecDeque<ReceivedMessage>,
    received: u64,
    keep_last: usize,
}

impl Mailbox {
    pub(super) fn new(keep_last: usize) -> Mailbox {
        Mailbox { messages: VecDeque::new(), received: 0, keep_last }
    }

    /// Records a message, forgetting the oldest beyond `keep_last`; returns its id.
    pub(super) fn record(&mut self, incoming: Incoming) -> u64 {
        self.received += 1;
        let id = self.received;
        let Incoming { envelope, raw, parsed, received_at_ms } = incoming;
        self.messages.push_back(ReceivedMessage {
            id,
            received_at_ms,
            mail_from: envelope.mail_from,
            rcpt_to: envelope.rcpt_to,
            raw,
            subject: parsed.subject,
            text_body: parsed.text_body,
            html_body: parsed.html_body,
            authenticated_as: envelope.authenticated_as,
        });
        while self.messages.len() > self.keep_last {
            self.messages.pop_front();
        }
        id
    }

    pub(super) fn messages(&self) -> Vec<ReceivedMessage> {
        self.messages.iter().cloned().collect()
    }

    pub(super) fn get(&self, id: u64) -> Option<ReceivedMessage> {
        self.messages.iter().find(|m| m.id == id).cloned()
    }

    pub(super) fn received_count(&self) -> u64 {
        self.received
    }

    pub(super) fn clear(&mut self) {
        self.messages.clear();
    }
}

#[derive(Default)]
struct Parsed {
    subject: String,
    text_body: String,
    html_body: Option<String>,
}

/// Extracts what tests assert on; a message mail-parser cannot parse at all
/// is still recorded, with empty fields, since the raw source is what matters.
fn parse(data: &[u8]) -> Parsed {
    let Some(message) = MessageParser::default().parse(data) else {
        return Parsed::default();
    };
    Parsed {
        subject: message.subject().unwrap_or_default().to_owned(),
        text_body: message.body_text(0).map(Cow::into_owned).unwrap_or_default(),
        // mail-parser lists a plain text part as the HTML body when there is
        // no HTML alternative; only a real text/html part counts here.
        html_body: message
            .html_part(0)
            .filter(|part| part.is_text_html())
            .and_then(|part| part.text_contents())
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope { mail_from: "a@example.com".into(), rcpt_to: vec!["b@example.com".into()], authenticated_as: None }
    }

    #[test]
    fn keeps_only_the_newest_but_counts_all() {
        let mut mailbox = Mailbox::new(2);
        for n in 1..=3 {
            let data = format!("Subject: m{n}\r\n\r\nbody {n}\r\n");
            assert_eq!(mailbox.record(Incoming::new(envelope(), data.as_bytes(), 1000 + n)), n as u64);
        }
        let subjects: Vec<_> = mailbox.messages().into_iter().map(|m| m.subject).collect();
        assert_eq!(subjects, ["m2", "m3"]);
        assert_eq!(mailbox.received_count(), 3);
        assert!(mailbox.get(1).is_none());
        assert_eq!(mailbox.get(3).unwrap().received_at_ms, 1003);
    }

    #[test]
    fn parses_multipart_alternative() {
        let data = "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain text\r\n\
            --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n\
            --b--\r\n";
        let mut mailbox = Mailbox::new(10);
        mailbox.record(Incoming::new(envelope(), data.as_bytes(), 0));
        let m = mailbox.get(1).unwrap();
        assert_eq!(m.subject, "café");
        assert_eq!(m.text_body.trim_end(), "plain text");
        assert_eq!(m.html_body.as_deref().map(str::trim_end), Some("<p>html</p>"));
    }

    #[test]
    fn plain_text_message_has_no_html_body() {
        let mut mailbox = Mailbox::new(10);
        mailbox.record(Incoming::new(envelope(), b"Subject: s\r\n\r\nhello\r\n", 0));
        let m = mailbox.get(1).unwrap();
        assert_eq!(m.text_body.trim_end(), "hello");
        assert_eq!(m.html_body, None);
    }
}
