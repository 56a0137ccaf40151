//! Masking for display: personal values are shown masked everywhere by default; staff see a
//! value in full only through the audited reveal.

/// `alice@example.com` → `a***@example.com`.
pub fn email(v: &str) -> String {
    match v.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => stars_between(v, 1, 0),
    }
}

/// `+8613812345678` or `13812345678` → `138****5678` (the national number's first three
/// and last four digits).
pub fn phone(v: &str) -> String {
    let national = v.strip_prefix("+86").unwrap_or(v);
    if national.chars().count() < 8 {
        return stars_between(national, 1, 1);
    }
    stars_between(national, 3, 4)
}

/// A mainland ID number: `110101199003070014` → `1101**********0014`.
pub fn id_number(v: &str) -> String {
    stars_between(v, 4, 4)
}

/// A person's name: `张三` → `张*`, `欧阳娜娜` → `欧***`, `Li Lei` → `L*****`.
pub fn name(v: &str) -> String {
    stars_between(v, 1, 0)
}

/// A QQ number: `123456789` → `12*****89`.
pub fn qq(v: &str) -> String {
    stars_between(v, 2, 2)
}

/// Keeps `head` leading and `tail` trailing characters and stars the rest (at least one star,
/// so the length of very short values is not the only thing hidden).
fn stars_between(v: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= head + tail {
        let keep: String = chars.iter().take(1.min(chars.len())).collect();
        return format!("{keep}*");
    }
    let hidden = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_shapes() {
        assert_eq!(id_number("110101199003070014"), "1101**********0014");
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("+8613812345678"), "138****5678");
        assert_eq!(email("alice@example.com"), "a***@example.com");
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("欧阳娜娜"), "欧***");
        assert_eq!(qq("123456789"), "12*****89");
    }

    #[test]
    fn short_values_still_hide_something() {
        assert_eq!(email("@x"), "***@x");
        assert_eq!(qq("12"), "1*");
        assert_eq!(name("张"), "张*");
        assert_eq!(phone("12"), "1*");
    }
}
