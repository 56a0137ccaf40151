//! The demo's view of the gateway: the orders, newest first, with links to
//! their cashier pages, and the notification attempts. Server-rendered,
//! script-free and escaped: see [`crate::html`].

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::Shared;
use super::cashier::status_label;
use crate::html::{escape_html, page};
use crate::utc::format_label;

/// Refreshes itself (without script) so the demo shows payments and
/// notifications as they happen.
pub(super) async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let (orders, notifies) = {
        let store = shared.store();
        (store.orders(), store.notifies())
    };
    let mut body = String::from(
        "<h1>支付网关 Payment gateway</h1><p>易支付测试网关 The fake EPay gateway</p><h2>订单 Orders</h2>",
    );
    if orders.is_empty() {
        body.push_str("<p class=\"empty\">暂无订单 No orders yet</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>时间 Time</th><th>平台订单号 Trade</th><th>商户订单号 Merchant order</th>\
             <th>商品 Product</th><th>金额 Amount</th><th>状态 Status</th><th>已退款 Refunded</th></tr></thead><tbody>",
        );
        for o in orders.iter().rev() {
            let _ = write!(
                body,
                "<tr><td>{}</td><td><a href=\"/cashier/{trade}\">{trade}</a></td><td>{}</td><td>{}</td><td>¥{}</td>\
                 <td>{}</td><td>¥{}</td></tr>",
                format_label(o.created_at_ms),
                escape_html(&o.out_trade_no),
                escape_html(&o.name),
                o.money,
                status_label(o.status),
                o.refunded,
                trade = escape_html(&o.trade_no),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<h2>异步通知 Notifications</h2>");
    if notifies.is_empty() {
        body.push_str("<p class=\"empty\">暂无通知 No notifications yet</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>时间 Time</th><th>商户订单号 Merchant order</th><th>次数 Attempt</th>\
             <th>地址 URL</th><th>应答 Answer</th></tr></thead><tbody>",
        );
        for n in notifies.iter().rev() {
            let answer = match (&n.status, &n.body, &n.error) {
                (_, _, Some(error)) => error.clone(),
                (Some(status), Some(body), None) => format!("{status} {body}"),
                _ => String::new(),
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
                format_label(n.sent_at_ms),
                escape_html(&n.out_trade_no),
                n.attempt,
                escape_html(&n.url),
                escape_html(&answer),
            );
        }
        body.push_str("</tbody></table>");
    }
    page("支付网关 Payment gateway", "<meta http-equiv=\"refresh\" content=\"5\">", &body)
}
