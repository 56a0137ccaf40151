//! The demo's mailbox: a small web page listing what the SMTP fake received.
//!
//! Server-rendered HTML with no script and no external assets, so it works
//! offline and under a strict Content-Security-Policy; the only style comes
//! from `/style.css`. Every value shown came from an SMTP client and is
//! escaped.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::Shared;
use super::store::ReceivedMessage;

const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'";

const STYLE: &str = "\
body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.empty{color:#777}
form{margin:1rem 0}
";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/messages/{id}", get(message))
        .route("/style.css", get(style))
        .route("/clear", post(clear_form))
        .route("/api/messages", get(api_messages))
        .route("/api/clear", post(api_clear))
        .with_state(shared)
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// The message list, newest first; refreshes itself (without script) so the
/// demo shows new mail as it arrives.
async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let messages = shared.mailbox().messages();
    let mut body = String::from(
        "<h1>收件箱 Mailbox</h1>\
         <p>SMTP 测试服务器收到的邮件 Messages received by the fake SMTP server</p>\
         <form method=\"post\" action=\"/clear\"><button type=\"submit\">清空 Clear</button></form>",
    );
    if messages.is_empty() {
        body.push_str("<p class=\"empty\">暂无邮件 No messages yet</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>时间 Time</th><th>发件人 From</th>\
             <th>收件人 To</th><th>主题 Subject</th></tr></thead><tbody>",
        );
        for m in messages.iter().rev() {
            let subject = if m.subject.is_empty() { "(无主题 no subject)" } else { &m.subject };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/messages/{}\">{}</a></td></tr>",
                format_time(m.received_at_ms),
                escape_html(&m.mail_from),
                escape_html(&m.rcpt_to.join(", ")),
                m.id,
                escape_html(subject),
            );
        }
        body.push_str("</tbody></table>");
    }
    page("收件箱 Mailbox", "<meta http-equiv=\"refresh\" content=\"5\">", &body)
}

async fn message(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let Some(m) = shared.mailbox().get(id) else {
        let body = "<h1>邮件不存在 Message not found</h1><p><a href=\"/\">返回收件箱 Back to mailbox</a></p>";
        let mut response = page("邮件不存在 Message not found", "", body);
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    page(&format!("{} - 收件箱 Mailbox", m.subject), "", &message_body(&m))
}

fn message_body(m: &ReceivedMessage) -> String {
    let mut body =
        format!("<p><a href=\"/\">返回收件箱 Back to mailbox</a></p><h1>{}</h1><table>", escape_html(&m.subject));
    let rows = [
        ("编号 Id", m.id.to_string()),
        ("接收时间 Received", format_time(m.received_at_ms)),
        ("信封发件人 MAIL FROM", m.mail_from.clone()),
        ("信封收件人 RCPT TO", m.rcpt_to.join(", ")),
        ("认证用户 Authenticated as", m.authenticated_as.clone().unwrap_or_else(|| "-".to_owned())),
    ];
    for (label, value) in rows {
        let _ = write!(body, "<tr><th>{label}</th><td>{}</td></tr>", escape_html(&value));
    }
    body.push_str("</table>");
    // The header block is everything before the first empty line.
    let headers = m
        .raw
        .split_once("\r\n\r\n")
        .or_else(|| m.raw.split_once("\n\n"))
        .map_or(m.raw.as_str(), |(headers, _)| headers);
    let mut section = |title: &str, text: &str| {
        let _ = write!(body, "<h2>{title}</h2><pre>{}</pre>", escape_html(text));
    };
    section("邮件头 Headers", headers);
    section("正文 Text body", &m.text_body);
    if let Some(html) = &m.html_body {
        // Shown as source: rendering it would run whatever the sender wrote.
        section("HTML 正文（源码）HTML body (source)", html);
    }
    section("原始邮件 Raw source", &m.raw);
    body
}

async fn clear_form(State(shared): State<Arc<Shared>>) -> Redirect {
    shared.mailbox().clear();
    Redirect::to("/")
}

/// Oldest first, like [`super::SmtpFake::messages`].
async fn api_messages(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    axum::Json(shared.mailbox().messages())
}

async fn api_clear(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.mailbox().clear();
    StatusCode::NO_CONTENT
}

/// Wraps `body` (already escaped) in the page skeleton; `title` is escaped here.
fn page(title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}\
         <title>{}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body>{body}</body></html>",
        escape_html(title)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, CSP)], html).into_response()
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS UTC`; UTC so the demo never guesses a time zone.
fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`); avoids a date library for one label.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(escape_html("中文"), "中文");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(-1000), "1969-12-31 23:59:59 UTC");
    }
}
