//! EPay V1: MD5 signatures with the shared merchant key. `submit.php` (browser redirect),
//! `mapi.php` (server-side create), `api.php?act=order` (query: the key travels in the
//! address) and `api.php?act=refund`.

use async_trait::async_trait;
use reqwest::Url;

use super::client::{self, Common, Params};
use super::{NAME, notify, sign};
use crate::config::{EpayKeyStyle, PaymentsConfig, Secret};
use crate::payments::gateway::{
    GatewayError, Notification, PayRequest, PaymentGateway, QrPayment, Rejection, TradeStatus,
};
use crate::{Result, UnixMs, money};

/// What a V1 payment start sends: `submit.php` all but `clientip` and `device`, `mapi.php` all.
pub const DISCLOSED: &[&str] = &[
    "pid",
    "type",
    "out_trade_no",
    "notify_url",
    "return_url",
    "name",
    "money",
    "clientip",
    "device",
    "sign",
    "sign_type",
];

/// `code` of a V1 success.
const OK: i64 = 1;
/// 彩虹易支付 answers an unknown order with `{"code":-1,"msg":"订单号不存在"}`; its other
/// failures (wrong pid or key, missing order number) have other codes.
const NOT_FOUND: i64 = -1;

pub struct CooPayV1 {
    common: Common,
    key: Secret,
    style: EpayKeyStyle,
    submit: Url,
    mapi: Url,
    api: Url,
}

impl CooPayV1 {
    pub fn new(common: Common, cfg: &PaymentsConfig) -> Result<CooPayV1> {
        Ok(CooPayV1 {
            submit: common.endpoint("submit.php")?,
            mapi: common.endpoint("mapi.php")?,
            api: common.endpoint("api.php")?,
            key: cfg.key.clone(),
            style: cfg.key_style,
            common,
        })
    }

    fn signed(&self, mut params: Params) -> Params {
        let sign = sign::md5(&params, self.key.expose(), self.style);
        params.insert("sign".into(), sign);
        params.insert("sign_type".into(), "MD5".into());
        params
    }

    /// The merchant id and key, which authenticate `api.php` calls (they are not signed).
    fn credentials(&self) -> Params {
        Params::from([("pid".into(), self.common.pid.clone()), ("key".into(), self.key.expose().to_string())])
    }
}

#[async_trait]
impl PaymentGateway for CooPayV1 {
    fn name(&self) -> &str {
        NAME
    }

    fn disclosed_fields(&self) -> &'static [&'static str] {
        DISCLOSED
    }

    fn redirect_url(&self, req: &PayRequest, _now: UnixMs) -> String {
        client::with_query(&self.submit, &self.signed(self.common.start_params(req)))
    }

    async fn create_qr(&self, req: &PayRequest, _now: UnixMs) -> Result<QrPayment, GatewayError> {
        let mut params = self.common.start_params(req);
        params.insert("clientip".into(), self.common.public_ip.clone());
        params.insert("device".into(), "pc".into());
        let answer = self.common.post(&self.mapi, &[], &self.signed(params)).await?;
        if client::code(&answer) != Some(OK) {
            return Err(GatewayError::Refused(client::msg(&answer)));
        }
        let trade_no = client::text(&answer, "trade_no").filter(|t| !t.is_empty());
        let qr = ["qrcode", "payurl"].iter().filter_map(|k| client::text(&answer, k)).find(|v| !v.is_empty());
        match (trade_no, qr) {
            (Some(trade_no), Some(qr_content)) => Ok(QrPayment { trade_no, qr_content }),
            _ => Err(GatewayError::BadAnswer("mapi.php: no trade_no, or neither qrcode nor payurl".into())),
        }
    }

    async fn query(&self, out_trade_no: &str, _now: UnixMs) -> Result<Option<TradeStatus>, GatewayError> {
        let mut query = self.credentials();
        query.insert("act".into(), "order".into());
        query.insert("out_trade_no".into(), out_trade_no.into());
        let answer = self.common.get(&self.api, &query).await?;
        match client::code(&answer) {
            Some(OK) => client::trade_status(&answer, out_trade_no).map(Some),
            Some(NOT_FOUND) => Ok(None),
            _ => Err(GatewayError::Refused(client::msg(&answer))),
        }
    }

    async fn refund(&self, trade_no: &str, amount_fen: i64, _now: UnixMs) -> Result<(), GatewayError> {
        let mut form = self.credentials();
        form.insert("trade_no".into(), trade_no.into());
        form.insert("money".into(), money::format_yuan(amount_fen));
        let answer = self.common.post(&self.api, &[("act", "refund")], &form).await?;
        // 彩虹易支付 reports a refund with code 0 (its Order::refund), older forks with 1;
        // every failure code is negative or a string.
        match client::code(&answer) {
            Some(0 | OK) => Ok(()),
            _ => Err(GatewayError::Refused(client::msg(&answer))),
        }
    }

    fn verify(&self, params: &Params, _now: UnixMs) -> Result<Notification, Rejection> {
        let signed = sign::md5_matches(params, self.key.expose(), self.style);
        notify::check(params, signed, &self.common.pid, |_| Ok(()))
    }
}
