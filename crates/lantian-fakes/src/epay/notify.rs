//! The asynchronous notification of a payment: a GET to the order's
//! `notify_url` with the signed result in the query string, re-sent on the
//! gateway's schedule until the merchant answers exactly `success`.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::Shared;
use super::faults::NotifyPlan;
use super::form::Fields;
use super::money::format_yuan;
use super::records::{EpayVersion, NotifyAttempt};
use super::signing::{content, md5_sign};
use super::store::{Order, china_time};

/// How long one send waits for the merchant's answer.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

/// Seconds before each send, counted from the previous one (ZPay's
/// published schedule); scaled by the fake's retry unit. The fake gives up
/// after the last.
const SCHEDULE: [u32; 6] = [0, 15, 15, 30, 180, 1800];

/// The signed fields telling the merchant `order` was paid `money_fen`:
/// what the notification carries, and what the browser brings to
/// `return_url`. V2 adds the channel's order number, the times, the buyer
/// and a timestamp.
pub(super) fn fields(shared: &Shared, order: &Order, money_fen: i64, now_ms: i64) -> Fields {
    let request = &order.request;
    let mut fields = Fields::new();
    let mut put = |name: &str, value: String| {
        fields.insert(name.to_owned(), value);
    };
    put("pid", shared.merchant.pid.clone());
    put("trade_no", order.trade_no.clone());
    put("out_trade_no", request.out_trade_no.clone());
    put("type", request.channel.clone());
    put("name", request.name.clone());
    put("money", format_yuan(money_fen));
    // The only status a notification ever carries ("固定为TRADE_SUCCESS").
    put("trade_status", "TRADE_SUCCESS".to_owned());
    if !request.param.is_empty() {
        put("param", request.param.clone());
    }
    if order.version == EpayVersion::V2 {
        put("api_trade_no", order.api_trade_no.clone().unwrap_or_default());
        put("addtime", china_time(order.created_at_ms));
        put("endtime", order.paid_at_ms().map(china_time).unwrap_or_default());
        put("buyer", order.buyer.clone().unwrap_or_default());
        put("timestamp", now_ms.div_euclid(1000).to_string());
    }
    sign(shared, order.version, &mut fields);
    fields
}

/// Adds `sign` and `sign_type` as the order's protocol variant signs.
pub(super) fn sign(shared: &Shared, version: EpayVersion, fields: &mut Fields) {
    let (sign, sign_type) = match version {
        EpayVersion::V1 => (md5_sign(fields, &shared.merchant.key, shared.merchant.key_style), "MD5"),
        EpayVersion::V2 => (shared.platform_key.sign(&content(fields)), "RSA"),
    };
    fields.insert("sign".to_owned(), sign);
    fields.insert("sign_type".to_owned(), sign_type.to_owned());
}

/// Replaces the signature with one over different data, well-formed but
/// not verifying.
fn forge(shared: &Shared, version: EpayVersion, fields: &mut Fields) {
    let mut other = fields.clone();
    other.insert("forged".to_owned(), "1".to_owned());
    sign(shared, version, &mut other);
    fields.insert("sign".to_owned(), other.remove("sign").unwrap_or_default());
}

/// Starts notifying the payment of `order` in the background, as the fault
/// switches say.
pub(super) fn spawn(shared: &Arc<Shared>, order: Order) {
    let plan = shared.faults.take_notify_plan();
    if plan.suppressed {
        tracing::info!(out_trade_no = %order.request.out_trade_no, "EPay fake suppressed a notification");
        return;
    }
    let task_shared = Arc::clone(shared);
    let stop = shared.stop.clone();
    shared.runtime.spawn(async move {
        tokio::select! {
            () = stop.cancelled() => {}
            () = deliver(task_shared, Arc::new(order), plan) => {}
        }
    });
}

async fn deliver(shared: Arc<Shared>, order: Arc<Order>, plan: NotifyPlan) {
    tokio::time::sleep(plan.late).await;
    let money_fen = order.request.money_fen + i64::from(plan.amount_mismatch);
    for (attempt, wait) in (1..).zip(SCHEDULE) {
        tokio::time::sleep(shared.notify_retry_unit.saturating_mul(wait)).await;
        let mut params = fields(&shared, &order, money_fen, shared.now_ms());
        if shared.faults.take_bad_signature() {
            forge(&shared, order.version, &mut params);
        }
        if send_copies(&shared, &order, attempt, &params, plan.copies).await {
            if plan.copies > 1 {
                // The late duplicate of a notification already acknowledged.
                send_copies(&shared, &order, attempt, &params, 1).await;
            }
            return;
        }
    }
    tracing::warn!(out_trade_no = %order.request.out_trade_no, "EPay fake gave up notifying");
}

/// Sends `copies` identical requests at once; true if any was acknowledged.
async fn send_copies(shared: &Arc<Shared>, order: &Arc<Order>, attempt: u32, params: &Fields, copies: u32) -> bool {
    let mut sends = JoinSet::new();
    for _ in 0..copies {
        sends.spawn(send(Arc::clone(shared), Arc::clone(order), attempt, params.clone()));
    }
    let mut acknowledged = false;
    while let Some(done) = sends.join_next().await {
        acknowledged |= done.is_ok_and(|record| record.acknowledged());
    }
    acknowledged
}

async fn send(shared: Arc<Shared>, order: Arc<Order>, attempt: u32, params: Fields) -> NotifyAttempt {
    let sent_at_ms = shared.now_ms();
    let notify_url = &order.request.notify_url;
    let mut record = NotifyAttempt {
        trade_no: order.trade_no.clone(),
        out_trade_no: order.request.out_trade_no.clone(),
        attempt,
        url: notify_url.clone(),
        params: params.clone(),
        sent_at_ms,
        status: None,
        body: None,
        error: None,
    };
    match shared.http.get(notify_url).query(&params).build() {
        Err(err) => record.error = Some(describe(&err)),
        Ok(request) => {
            record.url = request.url().to_string();
            match shared.http.execute(request).await {
                Err(err) => record.error = Some(describe(&err)),
                Ok(response) => {
                    record.status = Some(response.status().as_u16());
                    match response.text().await {
                        Ok(body) => record.body = Some(body),
                        Err(err) => record.error = Some(describe(&err)),
                    }
                }
            }
        }
    }
    tracing::debug!(url = %record.url, status = ?record.status, body = ?record.body, "EPay fake sent a notification");
    shared.store().record_notify(record.clone());
    record
}

/// The error and its causes: reqwest's own message alone rarely says what
/// went wrong (refused, timed out…).
fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
