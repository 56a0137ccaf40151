//! Decoding of `application/x-www-form-urlencoded` text, shared by the fakes. Stricter than a
//! browser: a malformed escape or bytes that are not UTF-8 make the whole value invalid, as
//! the real gateways refuse such requests.

/// One name or value: `+` is a space, `%XX` a byte; None when malformed.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let mut bytes = text.bytes();
    let mut out = Vec::with_capacity(text.len());
    while let Some(byte) = bytes.next() {
        out.push(match byte {
            b'%' => {
                let mut nibble = || char::from(bytes.next()?).to_digit(16).and_then(|d| u8::try_from(d).ok());
                (nibble()? << 4) | nibble()?
            }
            b'+' => b' ',
            other => other,
        });
    }
    String::from_utf8(out).ok()
}
