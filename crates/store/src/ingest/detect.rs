//! Telling the formats apart by their first bytes, in this order: gzip magic → the
//! inner data; `PAR1` → Parquet; `{` then `"records"` → an Event Hubs message; `{` →
//! JSON lines (plain rows or Storage stream envelopes, decided by the first line);
//! a first line that looks like a header → CSV; anything else → JSON lines, whose
//! decoder then says what is wrong with line 1.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Gzip,
    Parquet,
    EventHub,
    JsonLines,
    Csv,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub(crate) fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(UTF8_BOM).unwrap_or(b)
}

pub(crate) fn is_blank(head: &[u8]) -> bool {
    strip_bom(head).iter().all(u8::is_ascii_whitespace)
}

pub(crate) fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if head.starts_with(b"PAR1") {
        return Kind::Parquet;
    }
    let text = strip_bom(head);
    let start = text.iter().position(|c| !c.is_ascii_whitespace());
    let Some(start) = start else {
        return Kind::JsonLines;
    };
    if text[start] == b'{' {
        let rest = &text[start + 1..];
        let key = rest.iter().position(|c| !c.is_ascii_whitespace());
        if key.is_some_and(|k| rest[k..].starts_with(b"\"records\"")) {
            return Kind::EventHub;
        }
        return Kind::JsonLines;
    }
    let line_end = text.iter().position(|&c| c == b'\n').unwrap_or(text.len());
    if looks_like_header(&text[..line_end]) {
        Kind::Csv
    } else {
        Kind::JsonLines
    }
}

/// Comma-separated names: letters, digits, `_`, and a few punctuation marks, each
/// optionally quoted, the first not starting with a digit.
fn looks_like_header(line: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return false;
    }
    line.split(',').all(|field| {
        let f = field.trim();
        let f = f
            .strip_prefix('"')
            .and_then(|f| f.strip_suffix('"'))
            .unwrap_or(f);
        let mut chars = f.chars();
        matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ' ' | '.' | '-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_kind() {
        assert_eq!(sniff(b"\x1f\x8b\x08"), Kind::Gzip);
        assert_eq!(sniff(b"PAR1...."), Kind::Parquet);
        assert_eq!(sniff(b"{\n \"records\": ["), Kind::EventHub);
        assert_eq!(sniff(b"{\"time\":1}\n"), Kind::JsonLines);
        assert_eq!(sniff(b"\xEF\xBB\xBFTimestamp,Url\r\n2023,x"), Kind::Csv);
        assert_eq!(sniff(b"2023-01-01,x\n"), Kind::JsonLines);
        assert_eq!(sniff(b"\"A\",\"B c\"\n1,2"), Kind::Csv);
    }
}
