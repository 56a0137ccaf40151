//! The V1 (MD5) endpoints: `submit.php`, `mapi.php` and `api.php`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::form::Fields;
use super::records::{EpayVersion, OrderStatus};
use super::reply;
use super::signing::{content, md5_matches};
use super::store::{Order, china_time};
use super::{Shared, money, order};

/// The browser's form: to the order's cashier page, or a JSON refusal.
pub(super) async fn submit(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match create(&shared, "submit.php", request, false).await {
        Ok(order) => Redirect::to(&shared.cashier_url(&order.trade_no)).into_response(),
        Err(msg) => reply::submit_error(&msg),
    }
}

/// Server-side create: the trade and the payment URL, whose QR code the
/// merchant shows.
pub(super) async fn mapi(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match create(&shared, "mapi.php", request, true).await {
        Ok(order) => reply::json(&json!({
            "code": 1,
            "msg": "success",
            "trade_no": order.trade_no,
            "qrcode": shared.cashier_url(&order.trade_no),
        })),
        Err(msg) => reply::error(&msg),
    }
}

async fn create(shared: &Shared, endpoint: &str, request: Request, server_side: bool) -> Result<Order, String> {
    let fields = shared.receive(endpoint, request).await?;
    authenticate(shared, &fields)?;
    let order = order::validate(&fields, server_side)?;
    if server_side && let Some(msg) = shared.faults.take_create_error() {
        return Err(msg);
    }
    shared.store().create(order, EpayVersion::V1, shared.now_ms())
}

fn authenticate(shared: &Shared, fields: &Fields) -> Result<(), String> {
    shared.check_pid(fields)?;
    let sign_type = fields.get("sign_type").map_or("", String::as_str);
    if sign_type != "MD5" {
        return Err(format!("签名类型不支持 (sign_type must be MD5, got {sign_type:?})"));
    }
    if !md5_matches(fields, &shared.merchant.key, shared.merchant.key_style) {
        // Showing what was signed (less the key) is what makes a signing bug findable.
        return Err(format!("签名校验失败 (MD5 signature mismatch; the string signed: {:?} + key)", content(fields)));
    }
    Ok(())
}

/// `api.php?act=order` (query) and `api.php?act=refund`, authenticated by
/// the merchant key itself.
pub(super) async fn api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let fields = match shared.receive("api.php", request).await {
        Ok(fields) => fields,
        Err(msg) => return reply::error(&msg),
    };
    match fields.get("act").map(String::as_str) {
        Some("order") => {
            if let Some(fault) = shared.query_fault().await {
                return fault;
            }
            query(&shared, &fields).map_or_else(|msg| reply::error(&msg), |body| reply::json(&body))
        }
        Some("refund") => match refund(&shared, &fields) {
            Ok(()) => reply::json(&json!({ "code": 1, "msg": "退款成功" })),
            Err(msg) => reply::error(&msg),
        },
        other => reply::error(&format!("No Act (act must be order or refund, got {other:?})")),
    }
}

fn query(shared: &Shared, fields: &Fields) -> Result<Value, String> {
    shared.check_key(fields)?;
    let named = shared.order_named(fields)?;
    let store = shared.store();
    let order = store.find(named).ok_or("订单号不存在 (no such order)")?;
    let request = &order.request;
    // 彩虹易支付 answers the numeric pid it parsed.
    let pid = shared.merchant.pid.parse::<u64>().map_or_else(|_| json!(shared.merchant.pid), |pid| json!(pid));
    Ok(json!({
        "code": 1,
        "msg": "succ",
        "trade_no": order.trade_no,
        "out_trade_no": request.out_trade_no,
        "api_trade_no": order.api_trade_no,
        "type": request.channel,
        "pid": pid,
        "addtime": china_time(order.created_at_ms),
        "endtime": order.paid_at_ms().map(china_time),
        "name": request.name,
        "money": money::format_yuan(request.money_fen),
        "status": status_code(order.status),
        "param": request.param,
        "buyer": order.buyer,
    }))
}

/// The status the query endpoints (V1 and V2) answer: 1 paid, 2 refunded
/// in full, 0 otherwise (a failed order was never paid).
pub(super) fn status_code(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Paid => 1,
        OrderStatus::Refunded => 2,
        OrderStatus::Unpaid | OrderStatus::Failed => 0,
    }
}

fn refund(shared: &Shared, fields: &Fields) -> Result<(), String> {
    shared.check_key(fields)?;
    let named = shared.order_named(fields)?;
    let money = fields.get("money").map_or("", String::as_str);
    let fen = money::parse_positive_yuan(money).ok_or_else(|| format!("退款金额不合法 (money {money:?})"))?;
    if shared.faults.take_refund_refused() {
        return Err(REFUND_REFUSED.to_owned());
    }
    shared.store().refund(named, fen).map(drop)
}

/// What a channel that does not allow the refund answers (fault `refuse_refund_next`).
pub(super) const REFUND_REFUSED: &str = "该支付通道不支持退款 (fault injected by the fake)";
