//! The identity document a customer types in for real-name verification: the 18-character
//! resident ID number (GB 11643-1999) and the name as printed on it.
//!
//! Everything here is checked locally before a provider is asked, so typos cost nothing and
//! the number only leaves the process when it is plausible. The number is sensitive personal
//! information (PIPL art. 28): [`IdNumber`] never prints it, only its masked form.

use std::fmt;

use jiff::civil::{Date, date};

use crate::crypto::mask;
use crate::{Error, UnixMs};

/// Which document the number comes from. The Hong Kong, Macau and Taiwan residence permits
/// (港澳台居民居住证) use the resident ID format with the fixed address codes 810000, 820000 and
/// 830000; their holders are real people with a birth date in the number, like mainlanders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    MainlandId,
    HongKongPermit,
    MacauPermit,
    TaiwanPermit,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::MainlandId => "mainland_id",
            DocumentKind::HongKongPermit => "hk_permit",
            DocumentKind::MacauPermit => "mo_permit",
            DocumentKind::TaiwanPermit => "tw_permit",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        match s {
            "mainland_id" => Some(DocumentKind::MainlandId),
            "hk_permit" => Some(DocumentKind::HongKongPermit),
            "mo_permit" => Some(DocumentKind::MacauPermit),
            "tw_permit" => Some(DocumentKind::TaiwanPermit),
            _ => None,
        }
    }
}

/// Why a number was refused; [`IdNumberError::code`] is the translation key shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("not 17 digits followed by a digit or X")]
    Format,
    #[error("unknown address code")]
    Region,
    #[error("birth date is not a real date")]
    Date,
    #[error("birth date is in the future")]
    FutureDate,
    #[error("check character does not match")]
    Checksum,
}

impl IdNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            IdNumberError::Format => "id-number-format",
            IdNumberError::Region => "id-number-region",
            IdNumberError::Date => "id-number-date",
            IdNumberError::FutureDate => "id-number-future",
            IdNumberError::Checksum => "id-number-checksum",
        }
    }
}

impl From<IdNumberError> for Error {
    fn from(e: IdNumberError) -> Self {
        Error::validation("id_number", e.code())
    }
}

/// ISO 7064 MOD 11-2 weights for the first 17 digits (2^(18-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder of the weighted sum.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// Older birth dates are typos: nobody alive was born before this.
const EARLIEST_BIRTH: Date = date(1900, 1, 1);

/// A checked resident ID or residence-permit number. Deliberately no `Display`, and `Debug`
/// shows the masked form, so the plain number cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber {
    /// 18 ASCII characters, the check character upper-case.
    number: String,
    kind: DocumentKind,
    birth_date: Date,
}

impl IdNumber {
    /// Checks, in order: shape, address code, birth date (real, not before 1900, not after
    /// `today`), check character. `today` is the date in Asia/Shanghai ([`shanghai_today`]).
    pub fn parse(input: &str, today: Date) -> Result<IdNumber, IdNumberError> {
        let number = input.trim().to_ascii_uppercase();
        let b = number.as_bytes();
        // `len` counts bytes: any non-ASCII character (full-width digits ...) fails here or below.
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(IdNumberError::Format);
        }
        // Two ASCII digits compare as strings the way they compare as numbers.
        let kind = match (&number[..2], &number[..6]) {
            (p, _) if ("11"..="65").contains(&p) => DocumentKind::MainlandId,
            (_, "810000") => DocumentKind::HongKongPermit,
            (_, "820000") => DocumentKind::MacauPermit,
            (_, "830000") => DocumentKind::TaiwanPermit,
            _ => return Err(IdNumberError::Region),
        };
        let birth_date = birth_date(b).ok_or(IdNumberError::Date)?;
        if birth_date > today {
            return Err(IdNumberError::FutureDate);
        }
        let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        if CHECK_CHARS[(sum % 11) as usize] != b[17] {
            return Err(IdNumberError::Checksum);
        }
        Ok(IdNumber { number, kind, birth_date })
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Completed years on `today`. Comparing (month, day) pairs means someone born on 29 February
    /// turns a year older on 1 March in non-leap years. A birthday counts from its own day.
    pub fn age_on(&self, today: Date) -> i16 {
        let b = self.birth_date;
        let before_birthday = (today.month(), today.day()) < (b.month(), b.day());
        today.year() - b.year() - i16::from(before_birthday)
    }

    /// `1101**********0014`: for pages, logs and the stored display copy.
    pub fn masked(&self) -> String {
        mask::id_number(&self.number)
    }

    /// The plain number, only for encryption at rest and the verification provider's request.
    pub fn as_str(&self) -> &str {
        &self.number
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdNumber")
            .field("number", &self.masked())
            .field("kind", &self.kind)
            .field("birth_date", &self.birth_date)
            .finish()
    }
}

/// YYYYMMDD at positions 7–14, if it is a real date not before [`EARLIEST_BIRTH`]. The caller
/// has checked that these bytes are ASCII digits.
fn birth_date(b: &[u8]) -> Option<Date> {
    let num = |range: std::ops::Range<usize>| b[range].iter().fold(0i16, |n, d| n * 10 + i16::from(d - b'0'));
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    let d = Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()?;
    (d >= EARLIEST_BIRTH).then_some(d)
}

/// Today's calendar date in Asia/Shanghai, where ages are counted.
pub fn shanghai_today(now: UnixMs) -> Date {
    now.in_china().date()
}

/// A real name as printed on the document: letters of any script (Chinese characters are
/// alphabetic), joined by the middle dot `·` of minority and transliterated names (`•` is taken
/// as `·`) or, in Latin names, single spaces. Each separator must sit between two letters, which
/// also rules out doubled or trailing ones. Digits, markup, quotes and control characters fail
/// the letter test. Returns the normalised name.
pub fn parse_name(input: &str) -> Result<String, Error> {
    let invalid = || Error::validation("real_name", "real-name-invalid");
    let name: String = input.trim().chars().map(|c| if c == '•' { '·' } else { c }).collect();
    let chars: Vec<char> = name.chars().collect();
    if !(2..=40).contains(&chars.len()) {
        return Err(invalid());
    }
    for (i, &c) in chars.iter().enumerate() {
        let ok = c.is_alphabetic()
            || ((c == '·' || c == ' ')
                && i > 0
                && chars[i - 1].is_alphabetic()
                && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()));
        if !ok {
            return Err(invalid());
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = date(2026, 11, 15);

    fn parse(s: &str) -> Result<IdNumber, IdNumberError> {
        IdNumber::parse(s, TODAY)
    }

    #[test]
    fn research_and_standard_vectors() {
        let male = parse("110101190001010014").unwrap();
        assert_eq!(male.kind(), DocumentKind::MainlandId);
        assert_eq!(male.birth_date(), date(1900, 1, 1));
        assert_eq!(parse("11010119000101068X").unwrap().as_str(), "11010119000101068X");
        assert_eq!(parse(" 11010119000101068x\n").unwrap().as_str(), "11010119000101068X");
        assert_eq!(parse("11010519491231002X").unwrap().birth_date(), date(1949, 12, 31));
        assert_eq!(parse("440524188001010014").unwrap_err(), IdNumberError::Date, "1880 is before 1900");
    }

    #[test]
    fn bad_numbers_get_their_own_code() {
        assert_eq!(parse("110101190001010015").unwrap_err(), IdNumberError::Checksum);
        assert_eq!(parse("110101190002290011").unwrap_err(), IdNumberError::Date);
        assert_eq!(parse("110101209912310015").unwrap_err(), IdNumberError::FutureDate);
        assert_eq!(parse("11010118991231001X").unwrap_err(), IdNumberError::Date);
        for s in ["", "11010119000101001", "1101011900010100144", "1101011900A1010014", "X10101190001010014"] {
            assert_eq!(parse(s).unwrap_err(), IdNumberError::Format, "{s}");
        }
        assert_eq!(parse("１10101190001010014").unwrap_err(), IdNumberError::Format, "full-width digit");
        // Correct check characters, impossible address codes.
        for s in [
            "990101199001010019",
            "100101199001010013",
            "660101199001010012",
            "810001199001010015",
            "830099199001010014",
        ] {
            assert_eq!(parse(s).unwrap_err(), IdNumberError::Region, "{s}");
        }
        assert_eq!(parse("650101199001010010").unwrap().kind(), DocumentKind::MainlandId);
    }

    #[test]
    fn residence_permits_are_recognised() {
        assert_eq!(parse("810000199001010019").unwrap().kind(), DocumentKind::HongKongPermit);
        assert_eq!(parse("820000199001010029").unwrap().kind(), DocumentKind::MacauPermit);
        let tw = parse("830000201006150030").unwrap();
        assert_eq!((tw.kind(), tw.birth_date()), (DocumentKind::TaiwanPermit, date(2010, 6, 15)));
    }

    #[test]
    fn birth_today_is_allowed_tomorrow_is_not() {
        assert!(IdNumber::parse("110101201003010019", date(2010, 3, 1)).is_ok());
        assert_eq!(IdNumber::parse("110101201003010019", date(2010, 2, 28)).unwrap_err(), IdNumberError::FutureDate);
    }

    #[test]
    fn age_counts_completed_years() {
        let id = parse("110101201003010019").unwrap(); // born 2010-03-01
        assert_eq!(id.age_on(date(2026, 2, 28)), 15);
        assert_eq!(id.age_on(date(2026, 3, 1)), 16);
        let leap = parse("110101200002290018").unwrap(); // born 2000-02-29
        assert_eq!(leap.age_on(date(2026, 2, 28)), 25);
        assert_eq!(leap.age_on(date(2026, 3, 1)), 26);
        assert_eq!(leap.age_on(date(2024, 2, 28)), 23);
        assert_eq!(leap.age_on(date(2024, 2, 29)), 24);
    }

    #[test]
    fn the_number_is_masked_and_never_debug_printed() {
        let id = parse("110101190001010014").unwrap();
        assert_eq!(id.masked(), "1101**********0014");
        let debug = format!("{id:?}");
        assert!(!debug.contains("110101190001010014"), "{debug}");
        assert!(debug.contains("1101**********0014"), "{debug}");
    }

    #[test]
    fn errors_map_to_validation_codes() {
        let e: Error = IdNumberError::FutureDate.into();
        assert!(matches!(e, Error::Validation { field: "id_number", code: "id-number-future" }));
    }

    #[test]
    fn document_kind_round_trips() {
        for s in ["mainland_id", "hk_permit", "mo_permit", "tw_permit"] {
            assert_eq!(DocumentKind::parse(s).map(DocumentKind::as_str), Some(s));
        }
        assert_eq!(DocumentKind::parse("passport"), None);
    }

    #[test]
    fn shanghai_day_starts_at_16_utc() {
        // 2024-12-31T16:00:00Z is midnight of 1 January 2025 in Shanghai.
        assert_eq!(shanghai_today(UnixMs(1_735_660_800_000)), date(2025, 1, 1));
        assert_eq!(shanghai_today(UnixMs(1_735_660_799_999)), date(2024, 12, 31));
    }

    #[test]
    fn names_as_on_the_document() {
        assert_eq!(parse_name(" 张三 ").unwrap(), "张三");
        assert_eq!(parse_name("阿依古丽·买买提").unwrap(), "阿依古丽·买买提");
        assert_eq!(parse_name("阿依古丽•买买提").unwrap(), "阿依古丽·买买提");
        assert_eq!(parse_name("John Smith").unwrap(), "John Smith");
        assert_eq!(parse_name(&"李".repeat(40)).unwrap().chars().count(), 40);
    }

    #[test]
    fn other_names_are_refused() {
        let long = "李".repeat(41);
        for s in [
            "张3",
            "<b>张三</b>",
            "a",
            &long,
            "John  Smith",
            "·张三",
            "张三·",
            "张··三",
            "O'Neil",
            "张\u{0}三",
            "张\t三",
        ] {
            let e = parse_name(s).unwrap_err();
            assert!(matches!(e, Error::Validation { field: "real_name", code: "real-name-invalid" }), "{s:?}");
        }
    }
}
