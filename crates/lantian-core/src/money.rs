//! Money is integer fen everywhere inside Lantian. Gateways speak yuan strings (`"12.50"`):
//! they are parsed and printed here, exactly, never through floating point.

/// `1250` → `"12.50"`. Negative amounts keep their sign (`-5` → `"-0.05"`).
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `"12.5"`, `"12.50"`, `"12"` → 1250 / 1250 / 1200 fen. Refuses signs, exponents, spaces,
/// more than two decimals (`"12.501"`), empty parts (`".5"`, `"12."`), and amounts that do
/// not fit: a gateway's amount is compared exactly or not at all.
pub fn parse_yuan(text: &str) -> Option<i64> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 12 {
        return None;
    }
    let fen = match frac {
        None => 0,
        Some(f) if digits(f) && f.len() <= 2 => {
            let n: i64 = f.parse().ok()?;
            if f.len() == 1 { n * 10 } else { n }
        }
        Some(_) => return None,
    };
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_round_trips_exactly() {
        for fen in [0, 1, 9, 10, 99, 100, 1250, 123_456_789] {
            assert_eq!(parse_yuan(&format_yuan(fen)), Some(fen));
        }
        assert_eq!(format_yuan(-5), "-0.05");
        assert_eq!(parse_yuan("12.5"), Some(1250));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("0.01"), Some(1));
    }

    #[test]
    fn anything_but_a_plain_amount_is_refused() {
        for bad in ["", ".5", "12.", "12.501", "-1", "+1", "1e3", " 1", "1 ", "1,00", "12.5a", "0x10", "9999999999999"]
        {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
    }
}
