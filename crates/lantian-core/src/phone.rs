//! Phone numbers: checked and normalised to E.164, and what a form asks to do with a saved one.

use crate::{Error, Result};

/// What to do with a saved phone number (forms never show it back in full).
pub enum PhoneChange<'a> {
    Keep,
    Remove,
    Set(&'a str),
}

/// A mainland mobile (`1` and ten digits, with or without +86; +86 is assumed) or any `+`
/// number of 8 to 15 digits, normalised to E.164.
pub fn normalise(input: &str) -> Result<String> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let national = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
    if national.len() == 11 && national.starts_with('1') && national.chars().all(|c| c.is_ascii_digit()) {
        return Ok(format!("+86{national}"));
    }
    match digits.strip_prefix('+') {
        Some(rest)
            if (8..=15).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_digit()) && !rest.starts_with('0') =>
        {
            Ok(digits)
        }
        _ => Err(Error::validation("phone", "phone")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mainland_numbers_get_plus_86_and_garbage_is_refused() {
        assert_eq!(normalise("138 1234 5678").unwrap(), "+8613812345678");
        assert_eq!(normalise("+86 138-1234-5678").unwrap(), "+8613812345678");
        assert_eq!(normalise("+85291234567").unwrap(), "+85291234567");
        for bad in ["12345", "+0123456789", "138123456789", "abc", "<script>", ""] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
    }
}
