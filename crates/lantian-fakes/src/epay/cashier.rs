//! The cashier page every payment URL leads to: the order, a QR code of the
//! page itself (what a phone would scan), and Pay/Fail buttons standing in
//! for the buyer. Server-rendered, script-free and escaped: see
//! [`crate::html`].

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::QrCode;
use qrcode::render::svg;

use super::form::with_query;
use super::records::{OrderActionError, OrderStatus};
use super::store::OrderRef;
use super::{Shared, money, notify};
use crate::html::{escape_html, page as html_page};

pub(super) async fn page(State(shared): State<Arc<Shared>>, Path(trade_no): Path<String>) -> Response {
    let Some(order) = shared.store().find(OrderRef::TradeNo(&trade_no)).cloned() else {
        return not_found();
    };
    let request = &order.request;
    let mut body = String::from("<h1>收银台 Cashier</h1>");
    let _ = write!(
        body,
        "<table><tbody><tr><th>商品 Product</th><td>{}</td></tr>\
         <tr><th>金额 Amount</th><td>¥{}</td></tr><tr><th>支付方式 Channel</th><td>{}</td></tr>\
         <tr><th>商户订单号 Merchant order</th><td>{}</td></tr><tr><th>平台订单号 Trade</th><td>{}</td></tr>\
         <tr><th>状态 Status</th><td>{}</td></tr></tbody></table>",
        escape_html(&request.name),
        money::format_yuan(request.money_fen),
        channel_label(&request.channel),
        escape_html(&request.out_trade_no),
        escape_html(&order.trade_no),
        status_label(order.status),
    );
    let mut head = String::new();
    match order.status {
        OrderStatus::Unpaid => {
            let _ = write!(
                body,
                "<p>扫码支付 Scan to pay</p>{}\
                 <form method=\"post\" action=\"/cashier/{trade}/pay\"><button>支付 Pay</button></form>\
                 <form method=\"post\" action=\"/cashier/{trade}/fail\"><button>支付失败 Fail</button></form>",
                qr_svg(&shared.cashier_url(&order.trade_no)),
                trade = escape_html(&order.trade_no),
            );
        }
        OrderStatus::Paid => {
            // The browser comes back with the notification's signed fields;
            // a merchant must only display them, never credit from them.
            let fields = notify::fields(&shared, &order, request.money_fen, shared.now_ms());
            let back = escape_html(&with_query(&request.return_url, &fields));
            // A meta refresh rather than a redirect of the Pay form's POST:
            // the page's own CSP (`form-action 'self'`) forbids the latter.
            head = format!("<meta http-equiv=\"refresh\" content=\"1;url={back}\">");
            let _ = write!(
                body,
                "<p>支付成功，正在返回商户… Paid, returning to the merchant…</p><p><a href=\"{back}\">返回商户 Return to merchant</a></p>"
            );
        }
        OrderStatus::Failed | OrderStatus::Refunded => {}
    }
    html_page("收银台 Cashier", &head, &body)
}

/// The buyer pays: the notification starts, and the page shows the return.
pub(super) async fn pay(State(shared): State<Arc<Shared>>, Path(trade_no): Path<String>) -> Response {
    act(&shared, &trade_no, shared.pay(OrderRef::TradeNo(&trade_no)).map(drop))
}

pub(super) async fn fail(State(shared): State<Arc<Shared>>, Path(trade_no): Path<String>) -> Response {
    act(&shared, &trade_no, shared.fail(OrderRef::TradeNo(&trade_no)).map(drop))
}

/// Back to the cashier page (which shows how it went), unless there is no
/// such order. Pressing a button twice is harmless.
fn act(shared: &Shared, trade_no: &str, result: Result<(), OrderActionError>) -> Response {
    match result {
        Err(OrderActionError::UnknownOrder(_)) => not_found(),
        Ok(()) | Err(OrderActionError::NotUnpaid { .. }) => Redirect::to(&shared.cashier_url(trade_no)).into_response(),
    }
}

fn not_found() -> Response {
    let mut response = html_page("订单不存在 No such order", "", "<h1>订单不存在 No such order</h1>");
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The QR code of `url` as inline SVG, which the page's CSP allows where an
/// image from elsewhere would not be.
fn qr_svg(url: &str) -> String {
    let Ok(code) = QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let image = code.render::<svg::Color<'_>>().min_dimensions(200, 200).build();
    // Drop the XML declaration, which has no place inside HTML.
    image.find("<svg").map_or(image.clone(), |start| image[start..].to_owned())
}

fn channel_label(channel: &str) -> &'static str {
    match channel {
        "alipay" => "支付宝 Alipay",
        "wxpay" => "微信支付 WeChat Pay",
        _ => "QQ钱包 QQ Wallet",
    }
}

pub(super) fn status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Unpaid => "待支付 Unpaid",
        OrderStatus::Paid => "已支付 Paid",
        OrderStatus::Failed => "支付失败 Failed",
        OrderStatus::Refunded => "已退款 Refunded",
    }
}
