//! The skeleton shared by the fakes' demo pages.
//!
//! Server-rendered HTML with no script and no external assets, so the pages
//! work offline and under a strict Content-Security-Policy; the only style
//! comes from `/style.css` on the same fake. Every value a page shows came
//! from a client of the fake and must go through [`escape_html`].

use axum::http::header;
use axum::response::{IntoResponse, Response};

const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'";

const STYLE: &str = "\
body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.empty{color:#777}
form{margin:1rem 0}
";

/// The `/style.css` route of every page-serving fake.
pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// Wraps `body` (already escaped) in the page skeleton; `title` is escaped
/// here, `head` is trusted markup for the `<head>`.
pub(crate) fn page(title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}\
         <title>{}</title><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body>{body}</body></html>",
        escape_html(title)
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, CSP)], html).into_response()
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(escape_html("中文"), "中文");
    }
}
