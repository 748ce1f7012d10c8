//! Finding and replacing http(s) links in message bodies: `href` attributes of `<a>`
//! and `<area>` and bare URLs in HTML text, and bare URLs in plain text.
//!
//! The HTML scanner is deliberately small: it understands tags, quoted and unquoted
//! attributes, comments, declarations and raw-text elements (`script`, `style`, ...),
//! and copies everything it does not rewrite byte for byte. It never panics: every
//! position it slices at is an ASCII delimiter, so always a character boundary.
//! Text inside an `<a>` is left alone (it is the link's label, often the URL itself).

use regex::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Decides for one link: `Some(replacement URL)` to rewrite, `None` to keep it.
pub type LinkRewriter<'a> = dyn FnMut(&str) -> Option<String> + 'a;

fn bare_url() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)\bhttps?://[^\s<>"'`\x00-\x1f\x7f]+"#).unwrap_or_else(|_| unreachable!())
    })
}

/// Rewrites bare URLs in plain text.
pub fn rewrite_text(text: &str, wrap: &mut LinkRewriter<'_>) -> String {
    rewrite_bare(text, false, wrap)
}

/// Rewrites links in an HTML body.
pub fn rewrite_html(html: &str, wrap: &mut LinkRewriter<'_>) -> String {
    let b = html.as_bytes();
    let len = b.len();
    let mut out = String::with_capacity(len + len / 4);
    let mut i = 0;
    let mut text_start = 0;
    let mut anchor_depth = 0usize;
    let flush = |out: &mut String,
                 from: usize,
                 to: usize,
                 anchor_depth: usize,
                 wrap: &mut LinkRewriter<'_>| {
        if from < to {
            if anchor_depth > 0 {
                out.push_str(&html[from..to]);
            } else {
                out.push_str(&rewrite_bare(&html[from..to], true, wrap));
            }
        }
    };
    while i < len {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied();
        let end = if html[i..].starts_with("<!--") {
            find_from(html, "-->", i + 4).map_or(len, |e| e + 3)
        } else if next == Some(b'!') || next == Some(b'?') {
            find_from(html, ">", i).map_or(len, |e| e + 1)
        } else if next == Some(b'/') {
            flush(&mut out, text_start, i, anchor_depth, wrap);
            text_start = i;
            let (name, _) = tag_name(html, i + 2);
            if name.eq_ignore_ascii_case("a") {
                anchor_depth = anchor_depth.saturating_sub(1);
            }
            find_from(html, ">", i).map_or(len, |e| e + 1)
        } else if next.is_some_and(|c| c.is_ascii_alphabetic()) {
            flush(&mut out, text_start, i, anchor_depth, wrap);
            let tag = parse_start_tag(html, i, wrap);
            out.push_str(&tag.text);
            i = tag.end;
            if is_raw_text(tag.name) {
                let close = find_close_tag(html, i, tag.name).unwrap_or(len);
                out.push_str(&html[i..close]);
                i = close;
            } else if tag.name.eq_ignore_ascii_case("a") && !tag.self_closing {
                anchor_depth += 1;
            }
            text_start = i;
            continue;
        } else {
            // A lone '<' is text.
            i += 1;
            continue;
        };
        flush(&mut out, text_start, i, anchor_depth, wrap);
        out.push_str(&html[i..end]);
        i = end;
        text_start = i;
    }
    flush(&mut out, text_start, len, anchor_depth, wrap);
    out
}

fn find_from(s: &str, needle: &str, from: usize) -> Option<usize> {
    s.get(from..)?.find(needle).map(|p| p + from)
}

fn tag_name(html: &str, from: usize) -> (&str, usize) {
    let b = html.as_bytes();
    let mut j = from;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
        j += 1;
    }
    (&html[from.min(j)..j], j)
}

fn is_raw_text(name: &str) -> bool {
    [
        "script", "style", "textarea", "title", "xmp", "noscript", "template",
    ]
    .iter()
    .any(|r| r.eq_ignore_ascii_case(name))
}

fn find_close_tag(html: &str, from: usize, name: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut j = from;
    while let Some(p) = find_from(html, "</", j) {
        let start = p + 2;
        let end = start + name.len();
        if end <= b.len()
            && b[start..end].eq_ignore_ascii_case(name.as_bytes())
            && b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return Some(p);
        }
        j = p + 2;
    }
    None
}

struct StartTag<'h> {
    name: &'h str,
    end: usize,
    self_closing: bool,
    text: String,
}

/// Parses `<name attr=value ...>` at `start`, rewriting link attributes.
fn parse_start_tag<'h>(html: &'h str, start: usize, wrap: &mut LinkRewriter<'_>) -> StartTag<'h> {
    let b = html.as_bytes();
    let len = b.len();
    let (name, mut j) = tag_name(html, start + 1);
    let links = ["a", "area"].iter().any(|t| t.eq_ignore_ascii_case(name));
    let mut text = String::new();
    let mut copied = start;
    let mut self_closing = false;
    let end = loop {
        while j < len && (b[j].is_ascii_whitespace() || b[j] == b'/') {
            self_closing = b[j] == b'/';
            j += 1;
        }
        if j >= len {
            break len;
        }
        if b[j] == b'>' {
            break j + 1;
        }
        self_closing = false;
        let attr_start = j;
        while j < len && !(b[j].is_ascii_whitespace() || matches!(b[j], b'=' | b'>' | b'/')) {
            j += 1;
        }
        if j == attr_start {
            // A stray '=': skip it.
            j += 1;
            continue;
        }
        let attr = &html[attr_start..j];
        let mut k = j;
        while k < len && b[k].is_ascii_whitespace() {
            k += 1;
        }
        if k >= len || b[k] != b'=' {
            continue;
        }
        k += 1;
        while k < len && b[k].is_ascii_whitespace() {
            k += 1;
        }
        if k >= len {
            j = k;
            continue;
        }
        let (value_start, value_end, after) = if b[k] == b'"' || b[k] == b'\'' {
            match find_from(html, if b[k] == b'"' { "\"" } else { "'" }, k + 1) {
                Some(close) => (k + 1, close, close + 1),
                None => (k + 1, len, len),
            }
        } else {
            let mut e = k;
            while e < len && !(b[e].is_ascii_whitespace() || b[e] == b'>') {
                e += 1;
            }
            (k, e, e)
        };
        if links && attr.eq_ignore_ascii_case("href") && after <= len && value_end <= len {
            let raw = &html[value_start..value_end];
            let decoded = decode_entities(raw);
            let target = decoded.trim();
            if is_http(target) {
                if let Some(new) = wrap(target) {
                    text.push_str(&html[copied..k]);
                    text.push('"');
                    text.push_str(&escape_attr(&new));
                    text.push('"');
                    copied = after;
                }
            }
        }
        j = after;
    };
    text.push_str(&html[copied..end]);
    StartTag {
        name,
        end,
        self_closing,
        text,
    }
}

fn is_http(s: &str) -> bool {
    let head = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// Rewrites bare URLs in a run of text (`html`: the text is HTML, so entities are
/// decoded before and the replacement escaped after).
fn rewrite_bare(text: &str, html: bool, wrap: &mut LinkRewriter<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for m in bare_url().find_iter(text) {
        if m.start() < copied {
            continue;
        }
        let mut raw = m.as_str();
        if html {
            let lower = raw.to_ascii_lowercase();
            if let Some(cut) = ["&lt;", "&gt;", "&quot;", "&nbsp;"]
                .iter()
                .filter_map(|e| lower.find(e))
                .min()
            {
                raw = &raw[..cut];
            }
        }
        let raw = trim_trailing(raw);
        let decoded = if html {
            decode_entities(raw)
        } else {
            Cow::Borrowed(raw)
        };
        if let Some(new) = wrap(&decoded) {
            out.push_str(&text[copied..m.start()]);
            if html {
                out.push_str(&escape_attr(&new));
            } else {
                out.push_str(&new);
            }
            copied = m.start() + raw.len();
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Drops sentence punctuation after a URL, and closing brackets that open nowhere in it.
fn trim_trailing(mut s: &str) -> &str {
    loop {
        let Some(last) = s.chars().last() else {
            return s;
        };
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' => true,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => s.matches('[').count() < s.matches(']').count(),
            '}' => s.matches('{').count() < s.matches('}').count(),
            _ => false,
        };
        if !drop || s.len() <= "http://".len() {
            return s;
        }
        s = &s[..s.len() - last.len_utf8()];
    }
}

/// Decodes the character references that appear in URLs.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let Some(semi) = rest.get(..12).unwrap_or(rest).find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let ch = match name.to_ascii_lowercase().as_str() {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                .ok()
                .and_then(char::from_u32),
            n if n.starts_with('#') => n[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Escapes text for a double-quoted attribute or a text node.
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap_all(s: &str) -> Option<String> {
        Some(format!("https://gw/?u={}", s.len()))
    }

    fn collect(body: &str, html: bool) -> Vec<String> {
        let mut seen = Vec::new();
        let mut f = |u: &str| {
            seen.push(u.to_string());
            None
        };
        let out = if html {
            rewrite_html(body, &mut f)
        } else {
            rewrite_text(body, &mut f)
        };
        assert_eq!(out, body, "keeping every link keeps the body");
        seen
    }

    #[test]
    fn hrefs_and_bare_urls_in_html() {
        let html = r#"<p>Hi <a class=x HREF = 'https://a.example/x?y=1&amp;z=2'>click</a>,
see https://b.example/path. <area href=http://c.example/m shape=rect>
<a href="mailto:x@y.z">mail</a> <img src="https://img.example/i.png">
<a href="https://d.example/">https://d.example/</a> (http://e.example/(x))
<script>var u = "https://script.example/";</script><!-- https://comment.example -->
<style>a{background:url(https://style.example/a.png)}</style>"#;
        assert_eq!(
            collect(html, true),
            vec![
                "https://a.example/x?y=1&z=2",
                "https://b.example/path",
                "http://c.example/m",
                "https://d.example/",
                "http://e.example/(x)",
            ]
        );
        let mut f = wrap_all;
        let out = rewrite_html(html, &mut f);
        assert!(
            out.contains(r#"<a class=x HREF = "https://gw/?u=27">click</a>"#),
            "{out}"
        );
        assert!(out.contains("see https://gw/?u=22. "), "{out}");
        assert!(
            out.contains(r#"<area href="https://gw/?u=18" shape=rect>"#),
            "{out}"
        );
        assert!(out.contains("https://script.example/"));
        assert!(out.contains(r#"<img src="https://img.example/i.png">"#));
    }

    #[test]
    fn replacement_is_escaped() {
        let mut f = |_: &str| Some("https://gw/c?url=a&sig=b\"".to_string());
        let out = rewrite_html(
            "<a href=\"http://x.example\">x</a> http://y.example",
            &mut f,
        );
        assert_eq!(
            out,
            "<a href=\"https://gw/c?url=a&amp;sig=b&quot;\">x</a> https://gw/c?url=a&amp;sig=b&quot;"
        );
    }

    #[test]
    fn plain_text() {
        let text = "Go to https://a.example/x?q=(1), or HTTP://B.example.\nNot ftp://c.example or xhttps://d";
        assert_eq!(
            collect(text, false),
            vec!["https://a.example/x?q=(1)", "HTTP://B.example"]
        );
        let mut f = wrap_all;
        assert_eq!(
            rewrite_text("see http://a.example/.", &mut f),
            "see https://gw/?u=17."
        );
    }

    #[test]
    fn broken_html_is_copied() {
        for body in [
            "<a href=\"http://x.example",
            "<a href=",
            "<",
            "</",
            "<!--",
            "a < b > c",
            "<a\u{e9} href=x>",
        ] {
            let _ = collect(body, true);
        }
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a&amp;b&#38;c&#x26;d&bogus;&"),
            "a&b&c&d&bogus;&"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_what_it_does_not_rewrite(body in "(\\PC|<a href=\"|https://x.example/|&amp;|</a>|<script>|-->){0,40}") {
            let mut keep = |_: &str| None;
            proptest::prop_assert_eq!(rewrite_html(&body, &mut keep), body.clone());
            proptest::prop_assert_eq!(rewrite_text(&body, &mut keep), body.clone());
            let mut all = wrap_all;
            let _ = rewrite_html(&body, &mut all);
            let _ = rewrite_text(&body, &mut all);
        }

        #[test]
        fn every_generated_link_is_found(path in "[a-zA-Z0-9/_=-]{0,20}", quote in "[\"']?") {
            let url = format!("https://x.example/{path}");
            let html = format!("<p>before <a href={quote}{url}{quote}>t</a> after</p>");
            let seen = collect(&html, true);
            proptest::prop_assert_eq!(seen, vec![url]);
        }
    }
}
