//! The demo's mailbox: a small web page listing what the SMTP fake received.
//!
//! Server-rendered, script-free and escaped: see [`crate::html`].

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::Shared;
use super::store::ReceivedMessage;
use crate::html::{escape_html, page, style};
use crate::utc::format_label;

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
                format_label(m.received_at_ms),
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
        ("接收时间 Received", format_label(m.received_at_ms)),
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
