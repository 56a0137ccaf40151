//! The order fields every create call carries (`submit.php`, `mapi.php`,
//! `api/pay/submit`, `api/pay/create`) and the checks the gateway makes on
//! them once the signature is good.

use super::form::Fields;
use super::money;

/// The payment channels (`type`) the fake's merchant has enabled.
pub(super) const CHANNELS: [&str; 3] = ["alipay", "wxpay", "qqpay"];

/// The `device` values server-side create calls take.
const DEVICES: [&str; 5] = ["pc", "mobile", "qq", "wechat", "alipay"];

/// 彩虹易支付 cuts product names past this many bytes.
const NAME_MAX_BYTES: usize = 127;

const OUT_TRADE_NO_MAX: usize = 32;

/// A create call's order, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OrderRequest {
    pub channel: String,
    pub out_trade_no: String,
    pub notify_url: String,
    pub return_url: String,
    /// Cut to 127 bytes on a character boundary, as the gateway stores it.
    pub name: String,
    pub money_fen: i64,
    /// Echoed back in notifications; empty when not sent.
    pub param: String,
    /// Server-side calls only.
    pub clientip: Option<String>,
}

impl OrderRequest {
    /// Whether `other` is the same order as this one, so that sending it
    /// again returns the existing trade instead of an error.
    pub(super) fn same_order(&self, other: &OrderRequest) -> bool {
        (&self.channel, &self.name, &self.notify_url, &self.return_url, &self.param)
            == (&other.channel, &other.name, &other.notify_url, &other.return_url, &other.param)
    }
}

/// Checks the order fields; `server_side` calls (`mapi.php`,
/// `api/pay/create`) also need `clientip` and may name a `device`.
pub(super) fn validate(fields: &Fields, server_side: bool) -> Result<OrderRequest, String> {
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");

    let channel = field("type");
    if !CHANNELS.contains(&channel) {
        return Err(format!("支付方式(type)不存在 (type {channel:?} is not one of {})", CHANNELS.join(", ")));
    }
    let out_trade_no = field("out_trade_no");
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '|');
    if out_trade_no.is_empty() || out_trade_no.len() > OUT_TRADE_NO_MAX || !out_trade_no.chars().all(allowed) {
        return Err(format!(
            "订单号(out_trade_no)格式不正确 (1 to {OUT_TRADE_NO_MAX} of A-Z a-z 0-9 . _ - |, got {out_trade_no:?})"
        ));
    }
    let notify_url = url(field("notify_url"), "notify_url", "通知地址")?;
    let return_url = url(field("return_url"), "return_url", "回调地址")?;
    let name = field("name");
    if name.trim().is_empty() {
        return Err("商品名称(name)不能为空 (name is empty)".to_owned());
    }
    let Some(money_fen) = money::parse_positive_yuan(field("money")) else {
        return Err(format!("金额(money)不合法 (money {:?} is not positive yuan with ≤ 2 decimals)", field("money")));
    };
    let clientip = if server_side {
        let clientip = field("clientip");
        if clientip.is_empty() {
            return Err("用户IP地址(clientip)不能为空 (clientip is required)".to_owned());
        }
        let device = field("device");
        if !device.is_empty() && !DEVICES.contains(&device) {
            return Err(format!("设备类型(device)不正确 (device {device:?} is not one of {})", DEVICES.join(", ")));
        }
        Some(clientip.to_owned())
    } else {
        None
    };

    Ok(OrderRequest {
        channel: channel.to_owned(),
        out_trade_no: out_trade_no.to_owned(),
        notify_url,
        return_url,
        name: truncate(name, NAME_MAX_BYTES).to_owned(),
        money_fen,
        param: field("param").to_owned(),
        clientip,
    })
}

fn url(value: &str, field: &str, label: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{label}({field})不能为空 ({field} is required)"));
    }
    if !(value.starts_with("http://") || value.starts_with("https://")) || value.contains(char::is_whitespace) {
        return Err(format!("{label}({field})格式不正确 ({field} {value:?} is not an http(s) URL)"));
    }
    Ok(value.to_owned())
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary.
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        let mut fields: Fields = [
            ("type", "alipay"),
            ("out_trade_no", "LT20250101000001"),
            ("notify_url", "https://portal.example.com/pay/notify"),
            ("return_url", "https://portal.example.com/pay/return"),
            ("name", "VPS-1C1G"),
            ("money", "12.50"),
            ("clientip", "203.0.113.7"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in pairs {
            fields.insert((*k).to_owned(), (*v).to_owned());
        }
        fields
    }

    fn error(pairs: &[(&str, &str)], server_side: bool) -> String {
        validate(&fields(pairs), server_side).unwrap_err()
    }

    #[test]
    fn accepts_a_valid_order() {
        let order = validate(&fields(&[("param", "user=7")]), true).unwrap();
        assert_eq!((order.money_fen, order.param.as_str()), (1250, "user=7"));
        assert_eq!(order.clientip.as_deref(), Some("203.0.113.7"));
        assert_eq!(validate(&fields(&[]), false).unwrap().clientip, None);
    }

    #[test]
    fn refuses_bad_fields_naming_them() {
        let long = "x".repeat(33);
        for (pair, named) in [
            (("type", "bank"), "type"),
            (("type", ""), "type"),
            (("out_trade_no", ""), "out_trade_no"),
            (("out_trade_no", "LT 1"), "out_trade_no"),
            (("out_trade_no", long.as_str()), "out_trade_no"),
            (("notify_url", ""), "notify_url"),
            (("notify_url", "ftp://x"), "notify_url"),
            (("return_url", ""), "return_url"),
            (("name", " "), "name"),
            (("money", "0"), "money"),
            (("money", "1.234"), "money"),
            (("clientip", ""), "clientip"),
            (("device", "tv"), "device"),
        ] {
            let message = error(&[pair], true);
            assert!(message.contains(named), "{pair:?}: {message}");
        }
        // A browser submit needs no clientip.
        assert!(validate(&fields(&[("clientip", "")]), false).is_ok());
        assert!(validate(&fields(&[("out_trade_no", &"x".repeat(32))]), false).is_ok());
    }

    #[test]
    fn cuts_long_names_on_a_character_boundary() {
        let long = "云".repeat(50);
        let order = validate(&fields(&[("name", &long)]), false).unwrap();
        assert_eq!(order.name, "云".repeat(42));
        assert_eq!(truncate("abc", 10), "abc");
    }
}
