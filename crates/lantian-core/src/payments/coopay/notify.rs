//! Checking a notification (or a return to our site), in the same order for both versions:
//! the signature first, then that it is for our merchant id, then (V2) its age, then the
//! fields billing needs. Fields beyond those take part in the signature and are otherwise
//! ignored: gateways add fields, and a new one must not stop payments.

use crate::money;
use crate::payments::gateway::{Channel, Notification, Rejection};

use super::client::Params;

pub fn check(
    params: &Params,
    signed: bool,
    pid: &str,
    fresh: impl FnOnce(&Params) -> Result<(), Rejection>,
) -> Result<Notification, Rejection> {
    if !signed {
        return Err(Rejection::BadSignature);
    }
    if params.get("pid").map(String::as_str) != Some(pid) {
        return Err(Rejection::WrongMerchant);
    }
    fresh(params)?;
    let field = |k: &'static str| params.get(k).filter(|v| !v.is_empty()).ok_or(Rejection::BadField(k));
    let trade_no = field("trade_no")?.clone();
    let out_trade_no = field("out_trade_no")?.clone();
    let amount_fen = money::parse_yuan(field("money")?).ok_or(Rejection::BadField("money"))?;
    Ok(Notification {
        trade_no,
        out_trade_no,
        amount_fen,
        // The only status that means paid.
        success: params.get("trade_status").is_some_and(|s| s == "TRADE_SUCCESS"),
        channel: params.get("type").and_then(|t| Channel::parse(t)),
    })
}
