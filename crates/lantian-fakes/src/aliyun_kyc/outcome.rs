//! The fake's "authority records": deterministic answers from the name and
//! the number alone (the table is in the module documentation).

/// What the fake answers for one name and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A parameter is missing or empty.
    Missing,
    /// The number is not 17 digits and a valid check character.
    Malformed,
    Match,
    Mismatch,
    NotFound,
}

/// The name that is always "the number belongs to someone else".
pub(super) const MISMATCH_NAME: &str = "王五";
/// The name that is always "no record".
pub(super) const NOT_FOUND_NAME: &str = "赵六";

pub(super) fn decide(name: &str, id_number: &str) -> Outcome {
    if name.is_empty() || id_number.is_empty() {
        return Outcome::Missing;
    }
    if !structurally_valid(id_number) {
        return Outcome::Malformed;
    }
    if name == NOT_FOUND_NAME || id_number.get(14..17) == Some("999") {
        Outcome::NotFound
    } else if name == MISMATCH_NAME {
        Outcome::Mismatch
    } else {
        Outcome::Match
    }
}

/// GB 11643: 17 digits, then the ISO 7064 MOD 11-2 check character (`X`
/// for 10, either case).
fn structurally_valid(id_number: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = id_number.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(&d, w)| u32::from(d - b'0') * w).sum();
    // `sum % 11` is below 11, so the index is in range.
    CHECK.get(usize::try_from(sum % 11).unwrap_or(0)) == Some(&bytes[17].to_ascii_uppercase())
}

/// `("男"|"女", "YYYYMMDD")` of a structurally valid number: the sequence's
/// last digit is odd for men, and the birth date is digits 7–14. Real
/// sellers echo these; they are personal data a client must not keep.
pub(super) fn sex_and_birthday(id_number: &str) -> (&'static str, &str) {
    let odd = id_number.as_bytes().get(16).is_some_and(|d| (d - b'0') % 2 == 1);
    (if odd { "男" } else { "女" }, id_number.get(6..14).unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_by_the_documented_table() {
        assert_eq!(decide("张三", "110101190001010014"), Outcome::Match);
        assert_eq!(decide("张三", "11010119000101068x"), Outcome::Match);
        assert_eq!(decide(MISMATCH_NAME, "110101190001010014"), Outcome::Mismatch);
        assert_eq!(decide(NOT_FOUND_NAME, "110101190001010014"), Outcome::NotFound);
        assert_eq!(decide("张三", "110101190001019991"), Outcome::NotFound);
        assert_eq!(decide(MISMATCH_NAME, "110101190001019991"), Outcome::NotFound);
        for bad in ["110101190001010015", "11010119000101001", "1101011900010100140", "11010119000101001Y"] {
            assert_eq!(decide("张三", bad), Outcome::Malformed, "{bad}");
        }
        assert_eq!(decide("", "110101190001010014"), Outcome::Missing);
        assert_eq!(decide("张三", ""), Outcome::Missing);
    }

    #[test]
    fn reads_sex_and_birthday() {
        assert_eq!(sex_and_birthday("110101190001010014"), ("男", "19000101"));
        assert_eq!(sex_and_birthday("11010119000101068X"), ("女", "19000101"));
    }
}
