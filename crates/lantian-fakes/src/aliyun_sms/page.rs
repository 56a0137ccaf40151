//! The demo's phone: a page listing the SMS the fake accepted, and the same
//! list as JSON. Server-rendered, script-free and escaped: see [`crate::html`].

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::Response;

use super::Shared;
use super::store::ReceivedSms;
use crate::html::{escape_html, page};
use crate::utc::format_label;

/// The message list, newest first; refreshes itself (without script) so the
/// demo shows new SMS as they arrive.
pub(super) async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let messages = shared.store().messages();
    let mut body = String::from(
        "<h1>短信 SMS</h1>\
         <p>阿里云短信测试服务器收到的短信 Messages accepted by the fake Aliyun SMS server</p>",
    );
    if messages.is_empty() {
        body.push_str("<p class=\"empty\">暂无短信 No messages yet</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>时间 Time</th><th>手机号 Phone numbers</th><th>签名 Sign name</th>\
             <th>模板 Template</th><th>参数 Parameters</th><th>外部流水号 OutId</th></tr></thead><tbody>",
        );
        for m in messages.iter().rev() {
            row(&mut body, m);
        }
        body.push_str("</tbody></table>");
    }
    page("短信 SMS", "<meta http-equiv=\"refresh\" content=\"5\">", &body)
}

fn row(body: &mut String, m: &ReceivedSms) {
    let params: Vec<String> = m.params.iter().map(|(name, value)| format!("{name} = {value}")).collect();
    let _ = write!(
        body,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td></tr>",
        format_label(m.received_at_ms),
        escape_html(&m.phone_numbers.join(", ")),
        escape_html(&m.sign_name),
        escape_html(&m.template_code),
        escape_html(&params.join("\n")),
        escape_html(m.out_id.as_deref().unwrap_or("-")),
    );
}

/// Oldest first, like [`super::AliyunSmsFake::messages`].
pub(super) async fn api_messages(State(shared): State<Arc<Shared>>) -> Json<Vec<ReceivedSms>> {
    Json(shared.store().messages())
}
