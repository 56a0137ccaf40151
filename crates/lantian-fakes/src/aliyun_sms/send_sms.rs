//! The SendSms action itself: its parameters and the checks dysmsapi makes
//! on them once the gateway has let the request through.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::aliyun_gateway::Failure;

/// Aliyun takes at most this many numbers in one `PhoneNumbers` list.
const MAX_NUMBERS: usize = 1000;

/// What the fake's account has had approved.
pub(super) struct Catalog {
    pub sign_names: Vec<String>,
    /// Template code to the variables its text uses.
    pub templates: BTreeMap<String, Vec<String>>,
}

/// A SendSms request whose parameters passed every check.
#[derive(Debug)]
pub(super) struct SmsRequest {
    /// As sent.
    pub phone_numbers: Vec<String>,
    /// The same numbers as 11 bare digits, what limit control counts by.
    pub mobiles: Vec<String>,
    pub sign_name: String,
    pub template_code: String,
    pub params: BTreeMap<String, String>,
    pub out_id: Option<String>,
}

/// Checks the (decoded) query parameters of a SendSms request; a refusal is
/// HTTP 400 for a missing parameter and an HTTP 200 `isv.*` code otherwise,
/// as dysmsapi answers.
pub(super) fn validate(params: &BTreeMap<String, String>, catalog: &Catalog) -> Result<SmsRequest, Failure> {
    // An empty value is as good as none to Aliyun.
    let required = |name: &str| {
        params
            .get(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| Failure::missing(&format!("Missing{name}"), name))
    };
    let phone_numbers = required("PhoneNumbers")?;
    let sign_name = required("SignName")?;
    let template_code = required("TemplateCode")?;

    let phone_numbers: Vec<String> = phone_numbers.split(',').map(str::to_owned).collect();
    if phone_numbers.len() > MAX_NUMBERS {
        return Err(Failure::business("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制"));
    }
    let mobiles = phone_numbers
        .iter()
        .map(|number| mainland_mobile(number))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| Failure::business("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))?;
    if !catalog.sign_names.contains(sign_name) {
        return Err(Failure::business("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"));
    }
    let Some(variables) = catalog.templates.get(template_code) else {
        return Err(Failure::business("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"));
    };
    let template_params = match params.get("TemplateParam") {
        Some(text) => parse_template_param(text)
            .ok_or_else(|| Failure::business("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"))?,
        None => BTreeMap::new(),
    };
    if let Some(missing) = variables.iter().find(|name| !template_params.contains_key(*name)) {
        return Err(Failure::business(
            "isv.TEMPLATE_MISSING_PARAMETERS",
            format!("模板变量缺少对应参数值 (missing: {missing})"),
        ));
    }

    Ok(SmsRequest {
        phone_numbers,
        mobiles,
        sign_name: sign_name.clone(),
        template_code: template_code.clone(),
        params: template_params,
        out_id: params.get("OutId").filter(|id| !id.is_empty()).cloned(),
    })
}

/// The 11 digits of a mainland mobile number (`1` then ten digits), which
/// may be written with a `+86` or `0086` country prefix.
fn mainland_mobile(number: &str) -> Option<String> {
    let digits = number.strip_prefix("+86").or_else(|| number.strip_prefix("0086")).unwrap_or(number);
    let valid = digits.len() == 11 && digits.starts_with('1') && digits.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| digits.to_owned())
}

/// A JSON object whose values are all strings; Aliyun refuses numbers even
/// where the template shows digits.
fn parse_template_param(text: &str) -> Option<BTreeMap<String, String>> {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    object
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(value) => Some((name, value)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            sign_names: vec!["蓝天云".into()],
            templates: BTreeMap::from([
                ("SMS_1".to_owned(), vec!["service".to_owned(), "days".to_owned()]),
                ("SMS_2".to_owned(), vec![]),
            ]),
        }
    }

    fn check(pairs: &[(&str, &str)]) -> Result<SmsRequest, Failure> {
        let params: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        validate(&params, &catalog())
    }

    fn code(pairs: &[(&str, &str)]) -> String {
        check(pairs).unwrap_err().code
    }

    const OK: [(&str, &str); 4] = [
        ("PhoneNumbers", "13800000000"),
        ("SignName", "蓝天云"),
        ("TemplateCode", "SMS_1"),
        ("TemplateParam", r#"{"service":"vm-1","days":"3","extra":"x"}"#),
    ];

    fn with(name: &str, value: &str) -> Vec<(String, String)> {
        OK.iter().map(|(k, v)| ((*k).to_owned(), if *k == name { value.to_owned() } else { (*v).to_owned() })).collect()
    }

    fn code_with(name: &str, value: &str) -> String {
        let pairs = with(name, value);
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        code(&borrowed)
    }

    #[test]
    fn accepts_a_valid_request() {
        let mut pairs = OK.to_vec();
        pairs[0].1 = "+8613800000000,008613900000000,13700000000";
        pairs.push(("OutId", "order-7"));
        let sms = check(&pairs).unwrap();
        assert_eq!(sms.phone_numbers, ["+8613800000000", "008613900000000", "13700000000"]);
        assert_eq!(sms.mobiles, ["13800000000", "13900000000", "13700000000"]);
        assert_eq!(sms.params["days"], "3");
        assert_eq!(sms.out_id.as_deref(), Some("order-7"));

        // A template without variables needs no TemplateParam.
        let sms = check(&[("PhoneNumbers", "13800000000"), ("SignName", "蓝天云"), ("TemplateCode", "SMS_2")]).unwrap();
        assert!(sms.params.is_empty() && sms.out_id.is_none());
    }

    #[test]
    fn missing_parameters_are_http_400() {
        for name in ["PhoneNumbers", "SignName", "TemplateCode"] {
            let failure = check(&OK.iter().copied().filter(|(k, _)| *k != name).collect::<Vec<_>>()).unwrap_err();
            assert_eq!(failure.status, 400);
            assert_eq!(failure.code, format!("Missing{name}"));
            assert_eq!(code_with(name, ""), format!("Missing{name}"));
        }
    }

    #[test]
    fn refuses_illegal_numbers() {
        for bad in [
            "1380000000",
            "138000000000",
            "23800000000",
            "+8523800000000",
            "86138000000000",
            "1380000000a",
            "13800000000,",
            " 13800000000",
        ] {
            assert_eq!(code_with("PhoneNumbers", bad), "isv.MOBILE_NUMBER_ILLEGAL", "{bad:?}");
        }
        let many = vec!["13800000000"; MAX_NUMBERS + 1].join(",");
        assert_eq!(code_with("PhoneNumbers", &many), "isv.MOBILE_COUNT_OVER_LIMIT");
        let most = vec!["13800000000"; MAX_NUMBERS].join(",");
        assert!(check(&[("PhoneNumbers", &most), ("SignName", "蓝天云"), ("TemplateCode", "SMS_2")]).is_ok());
    }

    #[test]
    fn refuses_unapproved_sign_names_and_templates() {
        assert_eq!(code_with("SignName", "蓝天"), "isv.SMS_SIGNATURE_ILLEGAL");
        assert_eq!(code_with("TemplateCode", "SMS_3"), "isv.SMS_TEMPLATE_ILLEGAL");
        let failure = check(&with("SignName", "x").iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>())
            .unwrap_err();
        assert_eq!(failure.status, 200);
    }

    #[test]
    fn template_param_must_be_an_object_of_strings_with_every_variable() {
        for bad in ["", "[]", "\"x\"", "{", r#"{"service":"a","days":3}"#, r#"{"service":"a","days":null}"#] {
            assert_eq!(code_with("TemplateParam", bad), "isv.INVALID_JSON_PARAM", "{bad:?}");
        }
        assert_eq!(code_with("TemplateParam", r#"{"service":"a"}"#), "isv.TEMPLATE_MISSING_PARAMETERS");
        let failure = check(&OK[..3]).unwrap_err();
        assert_eq!(failure.code, "isv.TEMPLATE_MISSING_PARAMETERS");
        assert!(failure.message.contains("service"), "{}", failure.message);
    }
}
