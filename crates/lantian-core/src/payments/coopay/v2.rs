//! EPay V2: RSA signatures (our private key out, the platform's public key in) and a
//! `timestamp` both ways. `api/pay/submit` (browser redirect), `api/pay/create`,
//! `api/pay/query`, `api/pay/refund`; `code` 0 is success, and every successful answer is
//! signed and dated, so it is checked like a notification.

use async_trait::async_trait;
use reqwest::Url;

use super::client::{self, Answer, Common, Params};
use super::sign::RsaKeys;
use super::{NAME, notify};
use crate::config::PaymentsConfig;
use crate::payments::gateway::{
    GatewayError, Notification, PayRequest, PaymentGateway, QrPayment, Rejection, TradeStatus,
};
use crate::{Error, Result, UnixMs, money};

/// What a V2 payment start sends: `api/pay/submit` all but `method`, `device` and `clientip`.
pub const DISCLOSED: &[&str] = &[
    "pid",
    "method",
    "device",
    "type",
    "out_trade_no",
    "notify_url",
    "return_url",
    "name",
    "money",
    "clientip",
    "timestamp",
    "sign",
    "sign_type",
];

const OK: i64 = 0;
/// What 彩虹易支付 answers for an unknown order (`订单号不存在`); a failed signature check
/// is -3, a missing parameter -4.
const NOT_FOUND: i64 = -1;

pub struct CooPayV2 {
    common: Common,
    keys: RsaKeys,
    window_secs: i64,
    submit: Url,
    create: Url,
    query: Url,
    refund: Url,
}

impl CooPayV2 {
    pub fn new(common: Common, cfg: &PaymentsConfig) -> Result<CooPayV2> {
        let keys = RsaKeys::new(cfg.merchant_private_key.expose(), &cfg.platform_public_key)
            .map_err(|e| Error::Internal(anyhow::anyhow!("payments.{e}")))?;
        Ok(CooPayV2 {
            submit: common.endpoint("api/pay/submit")?,
            create: common.endpoint("api/pay/create")?,
            query: common.endpoint("api/pay/query")?,
            refund: common.endpoint("api/pay/refund")?,
            keys,
            window_secs: i64::try_from(cfg.timestamp_window_secs).unwrap_or(i64::MAX),
            common,
        })
    }

    fn signed(&self, mut params: Params, now: UnixMs) -> Params {
        params.insert("pid".into(), self.common.pid.clone());
        params.insert("timestamp".into(), seconds(now).to_string());
        // `RsaKeys::new` proved signing works; should it fail anyway, the gateway refuses
        // the unsigned request, which is the right outcome.
        let sign = self.keys.sign(&params).unwrap_or_else(|e| {
            tracing::error!(error = %e, "CooPay: cannot sign a request");
            String::new()
        });
        params.insert("sign".into(), sign);
        params.insert("sign_type".into(), "RSA".into());
        params
    }

    /// A success answer whose signature and timestamp hold; anything else is refused.
    fn accepted(&self, answer: Answer, now: UnixMs) -> Result<Answer, GatewayError> {
        if client::code(&answer) != Some(OK) {
            return Err(GatewayError::Refused(client::msg(&answer)));
        }
        let params = client::params_of(&answer);
        if !self.keys.matches(&params) {
            return Err(GatewayError::BadAnswer("signature does not verify".into()));
        }
        fresh(&params, now, self.window_secs).map_err(|e| GatewayError::BadAnswer(e.to_string()))?;
        Ok(answer)
    }
}

#[async_trait]
impl PaymentGateway for CooPayV2 {
    fn name(&self) -> &str {
        NAME
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED
    }

    fn redirect_url(&self, req: &PayRequest, now: UnixMs) -> String {
        client::with_query(&self.submit, &self.signed(self.common.start_params(req), now))
    }

    async fn create_qr(&self, req: &PayRequest, now: UnixMs) -> Result<QrPayment, GatewayError> {
        let mut params = self.common.start_params(req);
        // `web` with device `pc` answers a QR code or a cashier address; `scan` would be the
        // merchant scanning the customer's code.
        params.insert("method".into(), "web".into());
        params.insert("device".into(), "pc".into());
        params.insert("clientip".into(), self.common.public_ip.clone());
        let answer = self.common.post(&self.create, &[], &self.signed(params, now)).await?;
        let answer = self.accepted(answer, now)?;
        let trade_no = client::text(&answer, "trade_no").filter(|t| !t.is_empty());
        let pay_type = client::text(&answer, "pay_type").unwrap_or_default();
        // A cashier address (`jump`) works as a QR code too: the phone opens it.
        let qr = client::text(&answer, "pay_info").filter(|i| !i.is_empty() && matches!(&*pay_type, "qrcode" | "jump"));
        match (trade_no, qr) {
            (Some(trade_no), Some(qr_content)) => Ok(QrPayment { trade_no, qr_content }),
            _ => Err(GatewayError::BadAnswer(format!("api/pay/create: no trade_no or no QR (pay_type {pay_type:?})"))),
        }
    }

    async fn query(&self, out_trade_no: &str, now: UnixMs) -> Result<Option<TradeStatus>, GatewayError> {
        let params = Params::from([("out_trade_no".into(), out_trade_no.to_string())]);
        let answer = self.common.post(&self.query, &[], &self.signed(params, now)).await?;
        if client::code(&answer) == Some(NOT_FOUND) {
            return Ok(None);
        }
        client::trade_status(&self.accepted(answer, now)?, out_trade_no).map(Some)
    }

    async fn refund(&self, trade_no: &str, amount_fen: i64, now: UnixMs) -> Result<(), GatewayError> {
        let params =
            Params::from([("trade_no".into(), trade_no.to_string()), ("money".into(), money::format_yuan(amount_fen))]);
        let answer = self.common.post(&self.refund, &[], &self.signed(params, now)).await?;
        self.accepted(answer, now).map(|_| ())
    }

    fn verify(&self, params: &Params, now: UnixMs) -> Result<Notification, Rejection> {
        let signed = self.keys.matches(params);
        notify::check(params, signed, &self.common.pid, |p| fresh(p, now, self.window_secs))
    }
}

fn seconds(now: UnixMs) -> i64 {
    now.0.div_euclid(1000)
}

/// The `timestamp` (seconds) is within `window_secs` of now, either way: replays of old
/// notifications and answers are refused.
fn fresh(params: &Params, now: UnixMs, window_secs: i64) -> Result<(), Rejection> {
    let ts = params
        .get("timestamp")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or(Rejection::BadField("timestamp"))?;
    if ts.abs_diff(seconds(now)) > window_secs.unsigned_abs() {
        return Err(Rejection::Stale);
    }
    Ok(())
}
