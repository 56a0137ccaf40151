//! The V2 (RSA) endpoints under `api/pay/`: requests signed by the merchant
//! key with a fresh `timestamp`, successes (`code` 0) signed by the
//! platform key.

use std::sync::{Arc, PoisonError};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value, json};

use super::form::Fields;
use super::records::EpayVersion;
use super::reply;
use super::rsa_keys::verify;
use super::signing::content;
use super::store::{Order, china_time};
use super::v1::status_code;
use super::{Shared, money, order};

/// How far a request's `timestamp` may be from the fake's clock, either way.
const MAX_SKEW_SECS: i64 = 300;

/// The `method` values of `api/pay/create`.
const METHODS: [&str; 6] = ["web", "jump", "jsapi", "app", "scan", "applet"];

/// The browser's form: to the order's cashier page, or a JSON refusal.
pub(super) async fn submit(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match create_order(&shared, "api/pay/submit", request, false).await {
        Ok(order) => Redirect::to(&shared.cashier_url(&order.trade_no)).into_response(),
        Err(msg) => reply::error(&msg),
    }
}

/// Server-side create; every `method` gets the cashier page as a QR code.
pub(super) async fn create(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    match create_order(&shared, "api/pay/create", request, true).await {
        Ok(order) => {
            let fields = json!({
                "trade_no": order.trade_no,
                "pay_type": "qrcode",
                "pay_info": shared.cashier_url(&order.trade_no),
            });
            reply::v2_ok(&shared, "succ", reply::object(fields))
        }
        Err(msg) => reply::error(&msg),
    }
}

async fn create_order(shared: &Shared, endpoint: &str, request: Request, server_side: bool) -> Result<Order, String> {
    let fields = shared.receive(endpoint, request).await?;
    authenticate(shared, &fields)?;
    let order = order::validate(&fields, server_side)?;
    if server_side {
        let method = fields.get("method").map_or("", String::as_str);
        if !METHODS.contains(&method) {
            return Err(format!("接口类型(method)不正确 (method {method:?} is not one of {})", METHODS.join(", ")));
        }
        if let Some(msg) = shared.faults.take_create_error() {
            return Err(msg);
        }
    }
    shared.store().create(order, EpayVersion::V2, shared.now_ms())
}

fn authenticate(shared: &Shared, fields: &Fields) -> Result<(), String> {
    shared.check_pid(fields)?;
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    if field("sign_type") != "RSA" {
        return Err(format!("签名类型不支持 (sign_type must be RSA, got {:?})", field("sign_type")));
    }
    let timestamp = field("timestamp");
    let Some(seconds) = timestamp
        .parse::<i64>()
        .ok()
        .filter(|_| timestamp.len() == 10 && timestamp.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Err(format!("时间戳(timestamp)不正确 (10-digit Unix seconds, got {timestamp:?})"));
    };
    let now = shared.now_ms().div_euclid(1000);
    if (seconds - now).abs() > MAX_SKEW_SECS {
        return Err(format!(
            "请求已过期 (timestamp {seconds} is more than {MAX_SKEW_SECS} s from the gateway's {now})"
        ));
    }
    let key = shared.merchant_public_key.read().unwrap_or_else(PoisonError::into_inner);
    let Some(key) = key.as_ref() else {
        return Err("商户未配置RSA公钥 (the fake has no merchant public key yet)".to_owned());
    };
    if !verify(key, &content(fields), field("sign")) {
        // Showing what was signed is what makes a signing bug findable.
        return Err(format!("签名校验失败 (RSA signature mismatch; the string signed: {:?})", content(fields)));
    }
    Ok(())
}

/// The order's state, signed.
pub(super) async fn query(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let fields = match shared.receive("api/pay/query", request).await {
        Ok(fields) => fields,
        Err(msg) => return reply::error(&msg),
    };
    if let Some(fault) = shared.query_fault().await {
        return fault;
    }
    match describe(&shared, &fields) {
        Ok(description) => reply::v2_ok(&shared, "succ", description),
        Err(msg) => reply::error(&msg),
    }
}

fn describe(shared: &Shared, fields: &Fields) -> Result<Map<String, Value>, String> {
    authenticate(shared, fields)?;
    let named = shared.order_named(fields)?;
    let store = shared.store();
    let order = store.find(named).ok_or("订单号不存在 (no such order)")?;
    let request = &order.request;
    Ok(reply::object(json!({
        "trade_no": order.trade_no,
        "out_trade_no": request.out_trade_no,
        "api_trade_no": order.api_trade_no,
        "type": request.channel,
        "pid": shared.merchant.pid,
        "addtime": china_time(order.created_at_ms),
        "endtime": order.paid_at_ms().map(china_time),
        "name": request.name,
        "money": money::format_yuan(request.money_fen),
        "refundmoney": money::format_yuan(order.refunded_fen),
        "status": status_code(order.status),
        "param": request.param,
        "buyer": order.buyer,
        "clientip": request.clientip,
    })))
}

/// Refunds part or all of a paid order, signed.
pub(super) async fn refund(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let result = async {
        let fields = shared.receive("api/pay/refund", request).await?;
        authenticate(&shared, &fields)?;
        let named = shared.order_named(&fields)?;
        let money = fields.get("money").map_or("", String::as_str);
        let fen = money::parse_positive_yuan(money).ok_or_else(|| format!("退款金额不合法 (money {money:?})"))?;
        if shared.faults.take_refund_refused() {
            return Err(super::v1::REFUND_REFUSED.to_owned());
        }
        let order = shared.store().refund(named, fen)?;
        let mut reply = reply::object(json!({
            "trade_no": order.trade_no,
            "out_trade_no": order.request.out_trade_no,
            "money": money::format_yuan(fen),
            "reducemoney": money::format_yuan(fen),
        }));
        if let Some(out_refund_no) = fields.get("out_refund_no").filter(|no| !no.is_empty()) {
            reply.insert("out_refund_no".to_owned(), json!(out_refund_no));
        }
        Ok::<_, String>(reply)
    };
    match result.await {
        Ok(fields) => reply::v2_ok(&shared, "退款成功", fields),
        Err(msg) => reply::error(&msg),
    }
}
