//! SendSms takes its parameters in the query string, which the signature
//! covers decoded; this reads them.

use std::collections::BTreeMap;

use crate::aliyun_gateway::Failure;
use crate::form::percent_decode;

/// Decodes `k=v&k=v`: `%XX` escapes and `+` as a space, as Aliyun's gateway
/// reads query strings. Malformed escapes, non-UTF-8 text and repeated keys
/// are refused rather than guessed at, since each would sign ambiguously.
pub(super) fn parse(query: &str) -> Result<BTreeMap<String, String>, Failure> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| {
            percent_decode(text).ok_or_else(|| Failure::invalid(format!("Malformed query parameter \"{pair}\".")))
        };
        let key = decode(key)?;
        if params.insert(key, decode(value)?).is_some() {
            return Err(Failure::invalid(format!("Query parameter in \"{pair}\" is given more than once.")));
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings() {
        let params = parse("b=%E8%93%9D%20x+y&a=%7b%22k%22%3A%221%22%7D&&c&d=~*").unwrap();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("a", r#"{"k":"1"}"#), ("b", "蓝 x y"), ("c", ""), ("d", "~*")]);
        assert!(parse("").unwrap().is_empty());
        for bad in ["a=%", "a=%2", "a=%zz", "a=%FF", "a=1&a=2", "%=1"] {
            let failure = parse(bad).unwrap_err();
            assert_eq!((failure.status.as_u16(), failure.code.as_str()), (400, "InvalidParameter"), "{bad:?}");
        }
    }
}
