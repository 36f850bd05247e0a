//! HTML helpers: escaping and the page frame. Pages are plain server-rendered HTML with
//! one stylesheet (`/static/domwatch.css`, no inline style, so the CSP forbids inline
//! style and script); every form works without JavaScript.

use crate::auth::SessionInfo;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
header .spacer{flex:1}
header form{margin:0}
main{max-width:64rem;margin:1rem auto;padding:0 1rem}
.banner{background:#fff3cd;border-bottom:1px solid #e0c36a;padding:.5rem 1.2rem}
.fine{background:#e6f6ea;border:1px solid #9fd3ab;padding:1rem 1.2rem;border-radius:6px}
.warn{background:#fdecea;border:1px solid #f0a9a0;padding:.6rem 1rem;border-radius:6px}
section.kind,section.box{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e6e8ec;vertical-align:top}
th{background:#f0f2f5}
.muted{color:#667085}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;background:#e8eaee;font-size:.85em}
.outcome-applied,.outcome-already_applied{color:#146c2e;font-weight:600}
.outcome-failed{color:#b42318;font-weight:600}
.outcome-manual,.outcome-would_apply{color:#8a5a00;font-weight:600}
button{padding:.35rem .8rem;border-radius:4px;border:1px solid #98a2b3;background:#fff;cursor:pointer}
button.fix{background:#1f6feb;color:#fff;border-color:#1f6feb}
form.inline{display:inline}
svg.chart{max-width:100%;height:auto;background:#fff}
nav.windows{margin:.5rem 0}
a.button{display:inline-block;padding:.35rem .8rem;border-radius:4px;border:1px solid #98a2b3;background:#fff;color:#1d2330;text-decoration:none}
code{background:#f0f2f5;padding:0 .2rem;border-radius:3px}
form.filters{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}
form.filters input,form.filters select{display:block}
nav.pager{margin:1rem 0;display:flex;gap:1rem}
"#;

/// `GET /static/domwatch.css`: served by the app, cacheable for an hour.
pub(crate) async fn stylesheet() -> impl axum::response::IntoResponse {
    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

/// Everything the frame needs to know about the request.
pub struct Frame<'a> {
    pub session: Option<&'a SessionInfo>,
    pub open_access: bool,
}

/// A complete page.
pub fn page(title: &str, frame: &Frame<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · domwatch</title><link rel=\"stylesheet\" href=\"/static/domwatch.css\"></head><body>",
        esc(title)
    );
    out.push_str("<header><a href=\"/\">domwatch</a><a href=\"/\">Cases</a><a href=\"/cases\">Case list</a><a href=\"/forecast\">Forecast</a><a href=\"/tld-prices\">TLD prices</a><a href=\"/audit\">Audit log</a><a href=\"/webhooks\">Webhooks</a><span class=\"spacer\"></span>");
    if let Some(s) = frame.session {
        if let Some(user) = &s.user {
            let _ = write!(out, "<span>{}</span>", esc(user));
            if !frame.open_access {
                let _ = write!(
                    out,
                    "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Log out</button></form>",
                    esc(&s.csrf)
                );
            }
        }
    }
    out.push_str("</header>");
    if frame.open_access {
        out.push_str(
            "<div class=\"banner\" id=\"open-access\">No admin password is configured: anyone on this \
             machine can use this dashboard (it only listens on a loopback address). Set \
             <code>serve.admin_password_hash</code> (print one with <code>domwatch hash-password</code>) \
             before exposing it.</div>",
        );
    }
    out.push_str("<main>");
    out.push_str(body);
    out.push_str("</main></body></html>");
    out
}

/// A hidden CSRF field for a form.
pub fn csrf_field(session: &SessionInfo) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&session.csrf)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("müller.shop"), "müller.shop");
    }
}
