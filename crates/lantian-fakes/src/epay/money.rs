//! Amounts: yuan strings on the wire (`"12.50"`), integer fen inside, so
//! nothing is ever compared as a float.

/// A positive amount written as plain decimal yuan with at most two
/// decimals (`12`, `12.5`, `12.50`, `0.01`); `None` for anything else: zero,
/// signs, spaces, exponents, `.5`, `1.`, leading zeros, or more than ten
/// digits of yuan.
pub(super) fn parse_positive_yuan(text: &str) -> Option<i64> {
    let (yuan, fraction) = match text.split_once('.') {
        // `1.` has a point and no decimals.
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let well_formed = !yuan.is_empty()
        && yuan.len() <= 10
        && digits(yuan)
        && (yuan == "0" || !yuan.starts_with('0'))
        && digits(fraction)
        && fraction.len() <= 2;
    if !well_formed {
        return None;
    }
    let yuan: i64 = yuan.parse().ok()?;
    let fen: i64 = format!("{fraction:0<2}").parse().ok()?;
    let total = yuan * 100 + fen;
    (total > 0).then_some(total)
}

/// `1250` → `"12.50"`, the form the gateway stores and sends amounts in.
pub(super) fn format_yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_positive_amounts() {
        for (text, fen) in [
            ("12.50", 1250),
            ("12.5", 1250),
            ("12", 1200),
            ("0.01", 1),
            ("0.1", 10),
            ("9999999999.99", 999_999_999_999),
        ] {
            assert_eq!(parse_positive_yuan(text), Some(fen), "{text}");
        }
        for bad in
            ["", "0", "0.00", "-1", "+1", " 1", "1 ", "1.", ".5", "1.234", "01", "1e2", "1,5", "12345678901", "１"]
        {
            assert_eq!(parse_positive_yuan(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(format_yuan(1250), "12.50");
        assert_eq!(format_yuan(1), "0.01");
        assert_eq!(format_yuan(100_000), "1000.00");
    }
}
