//! String functions: `strlen`, `substring`, `indexof`, `split`, `extract`, `trim`,
//! `replace_*`, encodings (`url_*`, `base64_*`, `punycode_*`), hashes (`hash*`), ...
//!
//! Character positions are Unicode scalar values. Regexes use the `regex` crate (RE2
//! syntax, as Kusto) and are compiled once per pattern per thread ([`cached_regex`]).

use super::conversion::{int_arg, num_arg, text};
use super::{returns, EvalContext, ScalarFunction};
use crate::value::{KqlType, Value};
use regex::Regex;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::HashMap;

#[path = "strings_codec.rs"]
mod codec;

/// Upper bound on strings this module builds by repetition (`strrep`).
const MAX_BUILT_STRING: usize = 16 << 20;

// ---- regex cache ---------------------------------------------------------------------

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// The compiled regex for `pattern` (RE2 syntax), cached per thread; `None` if invalid.
pub(super) fn cached_regex(pattern: &str) -> Option<Regex> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(r) = cache.get(pattern) {
            return r.clone();
        }
        if cache.len() >= 512 {
            cache.clear();
        }
        let compiled = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 24)
            .build()
            .ok();
        cache.insert(pattern.to_string(), compiled.clone());
        compiled
    })
}

// ---- char/byte index helpers ---------------------------------------------------------

fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Byte offset of the `ci`-th character (clamped to the end).
fn char_to_byte(s: &str, ci: usize) -> usize {
    if s.is_ascii() {
        return ci.min(s.len());
    }
    s.char_indices().nth(ci).map(|(b, _)| b).unwrap_or(s.len())
}

fn byte_to_char(s: &str, bi: usize) -> usize {
    if s.is_ascii() {
        bi
    } else {
        s[..bi].chars().count()
    }
}

fn opt_int(args: &[Value], i: usize, default: i64) -> Option<i64> {
    match args.get(i) {
        None => Some(default),
        Some(v) => int_arg(v),
    }
}

fn string_or_empty(v: Option<String>) -> Value {
    Value::String(v.unwrap_or_default())
}

// ---- basic string functions ----------------------------------------------------------

fn substring(args: &[Value]) -> Value {
    let s = text(&args[0]);
    let (Some(start), Some(len)) = (int_arg(&args[1]), opt_int(args, 2, i64::MAX)) else {
        return Value::string("");
    };
    let n = char_len(&s) as i64;
    let start = if start < 0 { (n + start).max(0) } else { start };
    if start >= n || len <= 0 {
        return Value::string("");
    }
    let end = start.saturating_add(len).min(n);
    let b0 = char_to_byte(&s, start as usize);
    let b1 = char_to_byte(&s, end as usize);
    Value::string(&s[b0..b1])
}

fn indexof(args: &[Value]) -> Value {
    let hay = text(&args[0]);
    let needle = text(&args[1]);
    let (Some(start), Some(length), Some(occurrence)) = (
        opt_int(args, 2, 0),
        opt_int(args, 3, -1),
        opt_int(args, 4, 1),
    ) else {
        return Value::Null;
    };
    if length < -1 || occurrence < 0 {
        return Value::Null;
    }
    if occurrence == 0 {
        return Value::Long(-1);
    }
    let n = char_len(&hay) as i64;
    let start = if start < 0 { (n + start).max(0) } else { start };
    if start > n {
        return Value::Long(-1);
    }
    let mut from = char_to_byte(&hay, start as usize);
    let mut seen = 0i64;
    while from <= hay.len() {
        let Some(rel) = hay[from..].find(needle.as_ref()) else {
            break;
        };
        let at = from + rel;
        let ci = byte_to_char(&hay, at) as i64;
        if length >= 0 && ci >= start + length {
            break;
        }
        seen += 1;
        if seen == occurrence {
            return Value::Long(ci);
        }
        // Overlapping search: continue one character after this match's start.
        from = at + hay[at..].chars().next().map(char::len_utf8).unwrap_or(1);
    }
    Value::Long(-1)
}

fn indexof_regex(args: &[Value]) -> Value {
    let hay = text(&args[0]);
    let Some(re) = cached_regex(&text(&args[1])) else {
        return Value::Null;
    };
    let (Some(start), Some(length), Some(occurrence)) = (
        opt_int(args, 2, 0),
        opt_int(args, 3, -1),
        opt_int(args, 4, 1),
    ) else {
        return Value::Null;
    };
    if start < 0 || length < -1 || occurrence < 0 {
        return Value::Null;
    }
    if occurrence == 0 {
        return Value::Long(-1);
    }
    let n = char_len(&hay) as i64;
    if start > n {
        return Value::Long(-1);
    }
    let b0 = char_to_byte(&hay, start as usize);
    let b1 = if length < 0 {
        hay.len()
    } else {
        char_to_byte(&hay, start.saturating_add(length).min(n) as usize)
    };
    let window = &hay[b0..b1];
    let found = re.find_iter(window).nth((occurrence - 1) as usize);
    match found {
        Some(m) => Value::Long(start + byte_to_char(window, m.start()) as i64),
        None => Value::Long(-1),
    }
}

fn split(args: &[Value]) -> Value {
    let s = text(&args[0]);
    let delim = text(&args[1]);
    let parts: Vec<Json> = if delim.is_empty() {
        vec![Json::String(s.into_owned())]
    } else {
        s.split(delim.as_ref())
            .map(|p| Json::String(p.to_string()))
            .collect()
    };
    match args.get(2) {
        None => Value::Dynamic(Json::Array(parts)),
        Some(v) => match int_arg(v) {
            Some(i) if i >= 0 && (i as usize) < parts.len() => {
                Value::Dynamic(Json::Array(vec![parts[i as usize].clone()]))
            }
            Some(_) => Value::Dynamic(Json::Array(vec![])),
            None => Value::Null,
        },
    }
}

/// Converts a Kusto rewrite pattern (`\1`..`\9` for groups) to the `regex` crate's
/// replacement syntax.
fn kusto_rewrite(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek() {
                Some(d) if d.is_ascii_digit() => {
                    out.push_str(&format!("${{{d}}}"));
                    chars.next();
                }
                Some('\\') => {
                    out.push('\\');
                    chars.next();
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn replace_regex(source: &str, pattern: &str, rewrite: &str) -> Value {
    match cached_regex(pattern) {
        Some(re) => Value::String(
            re.replace_all(source, kusto_rewrite(rewrite).as_str())
                .into_owned(),
        ),
        None => Value::string(""),
    }
}

fn replace_string(args: &[Value]) -> Value {
    let s = text(&args[0]);
    let lookup = text(&args[1]);
    if lookup.is_empty() {
        return Value::String(s.into_owned());
    }
    Value::String(s.replace(lookup.as_ref(), &text(&args[2])))
}

/// `replace_strings`: lookups are applied in order; a region claimed by an earlier
/// lookup is not matched again; replacements are not rescanned.
fn replace_strings(args: &[Value]) -> Value {
    let s = text(&args[0]);
    let (Value::Dynamic(Json::Array(lookups)), Value::Dynamic(Json::Array(rewrites))) =
        (&args[1], &args[2])
    else {
        return Value::String(s.into_owned());
    };
    // (start, end, replacement or None to keep the original)
    let mut claimed: Vec<(usize, usize, Option<String>)> = Vec::new();
    for (i, l) in lookups.iter().enumerate() {
        let lookup = match l {
            Json::String(x) => x.clone(),
            Json::Null => continue,
            other => crate::format::json_to_kql_text(other),
        };
        if lookup.is_empty() {
            continue;
        }
        let rewrite = match rewrites.get(i) {
            Some(Json::String(r)) => Some(r.clone()),
            _ => None,
        };
        let mut from = 0;
        while let Some(rel) = s.get(from..).and_then(|t| t.find(&lookup)) {
            let at = from + rel;
            let end = at + lookup.len();
            if claimed.iter().any(|(a, b, _)| at < *b && *a < end) {
                from = at + s[at..].chars().next().map(char::len_utf8).unwrap_or(1);
                continue;
            }
            claimed.push((at, end, rewrite.clone()));
            from = end;
        }
    }
    claimed.sort_by_key(|c| c.0);
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for (a, b, r) in claimed {
        out.push_str(&s[pos..a]);
        match r {
            Some(r) => out.push_str(&r),
            None => out.push_str(&s[a..b]),
        }
        pos = b;
    }
    out.push_str(&s[pos..]);
    Value::String(out)
}

fn translate(args: &[Value]) -> Value {
    let search: Vec<char> = text(&args[0]).chars().collect();
    let repl: Vec<char> = text(&args[1]).chars().collect();
    let source = text(&args[2]);
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        match search.iter().position(|x| *x == c) {
            None => out.push(c),
            Some(i) => {
                if repl.is_empty() {
                    continue;
                }
                out.push(*repl.get(i).unwrap_or(&repl[repl.len() - 1]));
            }
        }
    }
    Value::String(out)
}

fn group_text(caps: &regex::Captures<'_>, i: usize) -> String {
    caps.get(i)
        .map(|m| m.as_str().to_string())
        .unwrap_or_default()
}

fn extract(args: &[Value]) -> Value {
    let typed = args.get(3).and_then(|t| match t {
        Value::String(n) => KqlType::parse(n.trim()),
        _ => None,
    });
    let no_match = || match typed {
        Some(KqlType::String) | None => Value::string(""),
        Some(_) => Value::Null,
    };
    let Some(re) = cached_regex(&text(&args[0])) else {
        return no_match();
    };
    let Some(group) = int_arg(&args[1]) else {
        return no_match();
    };
    let source = text(&args[2]);
    let Some(caps) = re.captures(&source) else {
        return no_match();
    };
    if group < 0 || group as usize >= caps.len() {
        return no_match();
    }
    let Some(m) = caps.get(group as usize) else {
        return no_match();
    };
    let found = Value::string(m.as_str());
    match typed {
        Some(t) => found.convert(t),
        None => found,
    }
}

fn extract_all(args: &[Value]) -> Value {
    let Some(re) = cached_regex(&text(&args[0])) else {
        return Value::Null;
    };
    let (groups, source) = if args.len() == 3 {
        (Some(&args[1]), text(&args[2]))
    } else {
        (None, text(&args[1]))
    };
    let ngroups = re.captures_len() - 1;
    let selected: Option<Vec<usize>> = match groups {
        None => None,
        Some(Value::Dynamic(Json::Array(items))) => {
            let mut idx = Vec::new();
            for it in items {
                let i = match it {
                    Json::Number(n) => n.as_u64().map(|u| u as usize),
                    Json::String(name) => re.capture_names().position(|n| n == Some(name)),
                    _ => None,
                };
                match i {
                    Some(i) if i <= ngroups => idx.push(i),
                    _ => return Value::Null,
                }
            }
            Some(idx)
        }
        Some(_) => return Value::Null,
    };
    let mut out = Vec::new();
    for caps in re.captures_iter(&source) {
        match &selected {
            Some(idx) => out.push(Json::Array(
                idx.iter()
                    .map(|&i| Json::String(group_text(&caps, i)))
                    .collect(),
            )),
            None if ngroups <= 1 => out.push(Json::String(group_text(&caps, ngroups))),
            None => out.push(Json::Array(
                (1..=ngroups)
                    .map(|i| Json::String(group_text(&caps, i)))
                    .collect(),
            )),
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Dynamic(Json::Array(out))
    }
}

#[derive(Clone, Copy)]
enum Trim {
    Start,
    End,
    Both,
}

fn trim(args: &[Value], which: Trim) -> Value {
    let pattern = text(&args[0]);
    let source = text(&args[1]);
    let mut s: &str = &source;
    if matches!(which, Trim::Start | Trim::Both) {
        let Some(re) = cached_regex(&format!("^(?:{pattern})+")) else {
            return Value::string("");
        };
        if let Some(m) = re.find(s) {
            s = &s[m.end()..];
        }
    }
    if matches!(which, Trim::End | Trim::Both) {
        let Some(re) = cached_regex(&format!("(?:{pattern})+$")) else {
            return Value::string("");
        };
        if let Some(m) = re.find(s) {
            s = &s[..m.start()];
        }
    }
    Value::string(s)
}

fn strrep(args: &[Value]) -> Value {
    let s = text(&args[0]);
    let Some(n) = int_arg(&args[1]) else {
        return Value::string("");
    };
    if n <= 0 {
        return Value::string("");
    }
    let n = n.min(1024) as usize;
    let delim = args.get(1 + 1).map(text).unwrap_or_default();
    let total = s.len().saturating_add(delim.len()).saturating_mul(n);
    if total > MAX_BUILT_STRING {
        return Value::string("");
    }
    let mut out = String::with_capacity(total);
    for i in 0..n {
        if i > 0 {
            out.push_str(&delim);
        }
        out.push_str(&s);
    }
    Value::String(out)
}

fn countof(args: &[Value]) -> Value {
    let source = text(&args[0]);
    let search = text(&args[1]);
    let kind = args.get(2).map(text);
    match kind.as_deref() {
        None | Some("normal") => {
            if search.is_empty() {
                return Value::Long(0);
            }
            let mut count = 0;
            let mut from = 0;
            while let Some(rel) = source[from..].find(search.as_ref()) {
                count += 1;
                let at = from + rel;
                from = at + source[at..].chars().next().map(char::len_utf8).unwrap_or(1);
            }
            Value::Long(count)
        }
        Some("regex") => match cached_regex(&search) {
            Some(re) => Value::Long(re.find_iter(&source).count() as i64),
            None => Value::Null,
        },
        Some(_) => Value::Null,
    }
}

fn has_any_index(args: &[Value]) -> Value {
    let source = text(&args[0]);
    let Value::Dynamic(Json::Array(items)) = &args[1] else {
        return Value::Null;
    };
    for (i, item) in items.iter().enumerate() {
        let needle = match item {
            Json::Null => continue,
            Json::String(s) => s.clone(),
            other => crate::format::json_to_kql_text(other),
        };
        if needle.is_empty() {
            continue;
        }
        if crate::ops::string_op(crate::ops::StrKind::Has, false, &source, &needle) {
            return Value::Long(i as i64);
        }
    }
    Value::Long(-1)
}

/// RE2's `QuoteMeta`: every ASCII character other than `[A-Za-z0-9_]` is escaped.
fn regex_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if c == '\0' {
            out.push_str("\\x00");
        } else if c.is_ascii() && !c.is_ascii_alphanumeric() && c != '_' {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `CommandLineToArgvW` rules.
fn parse_windows_command_line(cmd: &str) -> Vec<String> {
    let chars: Vec<char> = cmd.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    let is_ws = |c: char| c == ' ' || c == '\t';
    // The program name: quoted up to the next quote, or up to whitespace.
    while i < chars.len() && is_ws(chars[i]) {
        i += 1;
    }
    if i >= chars.len() {
        return args;
    }
    let mut first = String::new();
    if chars[i] == '"' {
        i += 1;
        while i < chars.len() && chars[i] != '"' {
            first.push(chars[i]);
            i += 1;
        }
        i += 1;
    } else {
        while i < chars.len() && !is_ws(chars[i]) {
            first.push(chars[i]);
            i += 1;
        }
    }
    args.push(first);
    loop {
        while i < chars.len() && is_ws(chars[i]) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut in_quotes = false;
        while i < chars.len() {
            let c = chars[i];
            if is_ws(c) && !in_quotes {
                break;
            }
            if c == '\\' {
                let mut n = 0;
                while i < chars.len() && chars[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if in_quotes && i + 1 < chars.len() && chars[i + 1] == '"' {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                in_quotes = !in_quotes;
                i += 1;
                continue;
            }
            arg.push(c);
            i += 1;
        }
        args.push(arg);
    }
    args
}

/// The first record of a CSV text (RFC 4180 quoting).
fn parse_csv(s: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut in_quotes = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                in_quotes = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_field_start = true;
            }
            '\n' => break,
            '\r' if chars.peek() == Some(&'\n') => break,
            c => {
                cur.push(c);
                at_field_start = false;
            }
        }
    }
    fields.push(cur);
    fields
}

fn format_bytes(args: &[Value]) -> Value {
    const UNITS: [&str; 7] = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let Some(size) = num_arg(&args[0]) else {
        return Value::string("");
    };
    let Some(precision) = opt_int(args, 1, 0) else {
        return Value::string("");
    };
    let precision = precision.clamp(0, 15) as i32;
    let requested = args.get(2).map(text).filter(|u| !u.trim().is_empty());
    let unit = match requested {
        Some(u) => match UNITS.iter().position(|x| x.eq_ignore_ascii_case(u.trim())) {
            Some(i) => i,
            None => return Value::string(""),
        },
        None => {
            let mut i = 0;
            while i + 1 < UNITS.len() && size.abs() >= 1024f64.powi(i as i32 + 1) {
                i += 1;
            }
            i
        }
    };
    if !size.is_finite() {
        return Value::string("");
    }
    let scaled = size / 1024f64.powi(unit as i32);
    let factor = 10f64.powi(precision);
    let rounded = (scaled * factor).round() / factor;
    Value::String(format!(
        "{} {}",
        crate::format::format_real(rounded),
        UNITS[unit]
    ))
}

fn codepoints_to_string(args: &[Value]) -> Value {
    fn push(out: &mut String, cp: Option<i64>) -> bool {
        match cp
            .and_then(|c| u32::try_from(c).ok())
            .and_then(char::from_u32)
        {
            Some(c) => {
                out.push(c);
                true
            }
            None => false,
        }
    }
    let mut out = String::new();
    for a in args {
        let ok = match a {
            Value::Dynamic(Json::Array(items)) => items.iter().all(|j| {
                push(
                    &mut out,
                    match j {
                        Json::Number(n) => n.as_i64(),
                        _ => None,
                    },
                )
            }),
            Value::Null | Value::Dynamic(Json::Null) => true,
            other => push(&mut out, int_arg(other)),
        };
        if !ok {
            return Value::string("");
        }
    }
    Value::String(out)
}

// ---- hashes --------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest(args: &[Value], f: fn(&[u8]) -> Vec<u8>) -> Value {
    match &args[0] {
        Value::Null | Value::Dynamic(Json::Null) => Value::string(""),
        v => Value::String(hex(&f(text(v).as_bytes()))),
    }
}

fn xxhash(args: &[Value]) -> Value {
    let Some(bytes) = codec::hash_bytes(&args[0]) else {
        return Value::Null;
    };
    let h = codec::xxh64(&bytes, 0);
    match args.get(1) {
        None => Value::Long(h as i64),
        Some(m) => match int_arg(m) {
            Some(m) if m > 0 => Value::Long((h % m as u64) as i64),
            _ => Value::Null,
        },
    }
}

fn hash_combine(args: &[Value]) -> Value {
    let mut hs = Vec::with_capacity(args.len());
    for a in args {
        match int_arg(a) {
            Some(h) => hs.push(h as u64),
            None => return Value::Null,
        }
    }
    Value::Long(codec::combine_hashes(&hs) as i64)
}

fn hash_many(args: &[Value]) -> Value {
    let hs: Vec<u64> = args
        .iter()
        .map(|a| codec::hash_bytes(a).map_or(0, |b| codec::xxh64(&b, 0)))
        .collect();
    Value::Long(codec::combine_hashes(&hs) as i64)
}

fn new_guid() -> Value {
    let a = super::math::random_u64();
    let b = super::math::random_u64();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    Value::Guid(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn md5(b: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(b).to_vec()
}

fn sha1(b: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(b).to_vec()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b).to_vec()
}

// ---- base64 --------------------------------------------------------------------------

fn base64_decode_tostring(args: &[Value]) -> Value {
    let decoded = codec::b64_decode(&text(&args[0])).and_then(|b| String::from_utf8(b).ok());
    string_or_empty(decoded)
}

fn base64_decode_toarray(args: &[Value]) -> Value {
    match codec::b64_decode(&text(&args[0])) {
        Some(b) => Value::Dynamic(Json::Array(b.into_iter().map(Json::from).collect())),
        None => Value::Null,
    }
}

fn base64_encode_fromarray(args: &[Value]) -> Value {
    let Value::Dynamic(Json::Array(items)) = &args[0] else {
        return Value::string("");
    };
    let mut bytes = Vec::with_capacity(items.len());
    for it in items {
        match it.as_i64() {
            Some(b) if (-128..=255).contains(&b) => bytes.push(b as u8),
            _ => return Value::string(""),
        }
    }
    Value::String(codec::b64_encode(&bytes))
}

fn base64_encode_fromguid(args: &[Value]) -> Value {
    let g = match &args[0] {
        Value::Guid(g) => Some(g.clone()),
        Value::String(s) | Value::Dynamic(Json::String(s)) => {
            super::conversion::parse_guid_lenient(s)
        }
        _ => None,
    };
    string_or_empty(
        g.and_then(|g| codec::guid_to_bytes(&g))
            .map(|b| codec::b64_encode(&b)),
    )
}

fn base64_decode_toguid(args: &[Value]) -> Value {
    codec::b64_decode(&text(&args[0]))
        .and_then(|b| codec::guid_from_bytes(&b))
        .map(Value::Guid)
        .unwrap_or(Value::Null)
}

fn dyn_strings(items: Vec<String>) -> Value {
    Value::Dynamic(Json::Array(items.into_iter().map(Json::String).collect()))
}

fn text_fn(args: &[Value], f: fn(&str) -> String) -> Value {
    Value::String(f(&text(&args[0])))
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "strlen",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _: &EvalContext| match &a[0] {
            Value::Null => Value::Null,
            v => Value::Long(char_len(&text(v)) as i64),
        },
        volatile: false,
        doc: "Number of Unicode characters in the string.",
    },
    ScalarFunction {
        name: "string_size",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _| match &a[0] {
            Value::Null => Value::Null,
            v => Value::Long(text(v).len() as i64),
        },
        volatile: false,
        doc: "Size of the string in bytes (UTF-8).",
    },
    ScalarFunction {
        name: "strcat",
        aliases: &[],
        min_args: 1,
        max_args: 64,
        return_type: returns!(String),
        eval: |a, _| Value::String(a.iter().map(|v| text(v)).collect()),
        volatile: false,
        doc: "Concatenates the text of 1 to 64 arguments.",
    },
    ScalarFunction {
        name: "strcat_delim",
        aliases: &[],
        min_args: 3,
        max_args: 65,
        return_type: returns!(String),
        eval: |a, _| {
            let parts: Vec<_> = a[1..].iter().map(|v| text(v)).collect();
            Value::String(parts.join(&text(&a[0])))
        },
        volatile: false,
        doc: "strcat_delim(delimiter, a, b, ...): concatenates with a delimiter.",
    },
    ScalarFunction {
        name: "substring",
        aliases: &[],
        min_args: 2,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| substring(a),
        volatile: false,
        doc: "substring(source, start[, length]); a negative start counts from the end.",
    },
    ScalarFunction {
        name: "indexof",
        aliases: &[],
        min_args: 2,
        max_args: 5,
        return_type: returns!(Long),
        eval: |a, _| indexof(a),
        volatile: false,
        doc: "indexof(string, match[, start[, length[, occurrence]]]): zero-based index or -1.",
    },
    ScalarFunction {
        name: "indexof_regex",
        aliases: &[],
        min_args: 2,
        max_args: 5,
        return_type: returns!(Long),
        eval: |a, _| indexof_regex(a),
        volatile: false,
        doc: "indexof_regex(string, regex[, start[, length[, occurrence]]]).",
    },
    ScalarFunction {
        name: "split",
        aliases: &[],
        min_args: 2,
        max_args: 3,
        return_type: returns!(Dynamic),
        eval: |a, _| split(a),
        volatile: false,
        doc: "split(source, delimiter[, index]): dynamic array of the parts.",
    },
    ScalarFunction {
        name: "replace_string",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| replace_string(a),
        volatile: false,
        doc: "replace_string(text, lookup, rewrite): replaces all plain-string matches.",
    },
    ScalarFunction {
        name: "replace_regex",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| replace_regex(&text(&a[0]), &text(&a[1]), &text(&a[2])),
        volatile: false,
        doc: "replace_regex(source, regex, rewrite): `\\1`.. in rewrite refer to groups.",
    },
    ScalarFunction {
        name: "replace",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| replace_regex(&text(&a[2]), &text(&a[0]), &text(&a[1])),
        volatile: false,
        doc: "Deprecated replace(regex, rewrite, source); use replace_regex.",
    },
    ScalarFunction {
        name: "replace_strings",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| replace_strings(a),
        volatile: false,
        doc: "replace_strings(text, lookups, rewrites): several plain replacements at once.",
    },
    ScalarFunction {
        name: "translate",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| translate(a),
        volatile: false,
        doc: "translate(searchList, replacementList, source): character mapping.",
    },
    ScalarFunction {
        name: "extract",
        aliases: &[],
        min_args: 3,
        max_args: 4,
        return_type: returns!(String),
        eval: |a, _| extract(a),
        volatile: false,
        doc: "extract(regex, group, source[, typeof(T)]): the group's match or \"\". The \
              engine must type a 4-argument call as T and pass T's name as a string.",
    },
    ScalarFunction {
        name: "extract_all",
        aliases: &["extractall"],
        min_args: 2,
        max_args: 3,
        return_type: returns!(Dynamic),
        eval: |a, _| extract_all(a),
        volatile: false,
        doc: "extract_all(regex[, groups], source): all matches as a dynamic array.",
    },
    ScalarFunction {
        name: "trim",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(String),
        eval: |a, _| trim(a, Trim::Both),
        volatile: false,
        doc: "trim(regex, source): removes leading and trailing matches of the regex.",
    },
    ScalarFunction {
        name: "trim_start",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(String),
        eval: |a, _| trim(a, Trim::Start),
        volatile: false,
        doc: "trim_start(regex, source): removes leading matches of the regex.",
    },
    ScalarFunction {
        name: "trim_end",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(String),
        eval: |a, _| trim(a, Trim::End),
        volatile: false,
        doc: "trim_end(regex, source): removes trailing matches of the regex.",
    },
    ScalarFunction {
        name: "reverse",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, |s| s.chars().rev().collect()),
        volatile: false,
        doc: "The characters of the argument's text in reverse order.",
    },
    ScalarFunction {
        name: "toupper",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, str::to_uppercase),
        volatile: false,
        doc: "Upper-cases the string.",
    },
    ScalarFunction {
        name: "tolower",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, str::to_lowercase),
        volatile: false,
        doc: "Lower-cases the string.",
    },
    ScalarFunction {
        name: "strrep",
        aliases: &[],
        min_args: 2,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| strrep(a),
        volatile: false,
        doc: "strrep(value, multiplier[, delimiter]): repeats the text (at most 1024 times).",
    },
    ScalarFunction {
        name: "strcmp",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| Value::Long(text(&a[0]).cmp(&text(&a[1])) as i64),
        volatile: false,
        doc: "Ordinal comparison: -1, 0 or 1.",
    },
    ScalarFunction {
        name: "countof",
        aliases: &[],
        min_args: 2,
        max_args: 3,
        return_type: returns!(Long),
        eval: |a, _| countof(a),
        volatile: false,
        doc: "countof(source, search[, 'normal'|'regex']): plain matches may overlap.",
    },
    ScalarFunction {
        name: "has_any_index",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| has_any_index(a),
        volatile: false,
        doc: "Index of the first lookup term found in the source (`has`), or -1.",
    },
    ScalarFunction {
        name: "isascii",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| match &a[0] {
            Value::Null => Value::Null,
            v => Value::Bool(text(v).is_ascii()),
        },
        volatile: false,
        doc: "True if all characters are ASCII.",
    },
    ScalarFunction {
        name: "isutf8",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| match &a[0] {
            Value::Null => Value::Null,
            _ => Value::Bool(true),
        },
        volatile: false,
        doc: "True if the string is valid UTF-8 (always, for engine strings).",
    },
    ScalarFunction {
        name: "regex_quote",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, regex_quote),
        volatile: false,
        doc: "Escapes regex metacharacters.",
    },
    ScalarFunction {
        name: "parse_command_line",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Dynamic),
        eval: |a, _| {
            if !text(&a[1]).eq_ignore_ascii_case("windows") {
                return Value::Null;
            }
            dyn_strings(parse_windows_command_line(&text(&a[0])))
        },
        volatile: false,
        doc: "parse_command_line(command, 'windows'): the arguments as CommandLineToArgvW.",
    },
    ScalarFunction {
        name: "parse_csv",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Dynamic),
        eval: |a, _| dyn_strings(parse_csv(&text(&a[0]))),
        volatile: false,
        doc: "The fields of the first CSV record as a string array.",
    },
    ScalarFunction {
        name: "format_bytes",
        aliases: &[],
        min_args: 1,
        max_args: 3,
        return_type: returns!(String),
        eval: |a, _| format_bytes(a),
        volatile: false,
        doc: "format_bytes(size[, precision[, units]]): `19.08 MB`.",
    },
    ScalarFunction {
        name: "unicode_codepoints_from_string",
        aliases: &["to_utf8"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Dynamic),
        eval: |a, _| {
            Value::Dynamic(Json::Array(
                text(&a[0]).chars().map(|c| Json::from(c as u32)).collect(),
            ))
        },
        volatile: false,
        doc: "The Unicode code points of the string.",
    },
    ScalarFunction {
        name: "unicode_codepoints_to_string",
        aliases: &["make_string"],
        min_args: 1,
        max_args: usize::MAX,
        return_type: returns!(String),
        eval: |a, _| codepoints_to_string(a),
        volatile: false,
        doc: "Builds a string from code points (numbers or arrays of numbers).",
    },
    ScalarFunction {
        name: "punycode_from_string",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| string_or_empty(codec::punycode_encode(&text(&a[0]))),
        volatile: false,
        doc: "Punycode encoding of a string (no `xn--` prefix).",
    },
    ScalarFunction {
        name: "punycode_to_string",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| string_or_empty(codec::punycode_decode(&text(&a[0]))),
        volatile: false,
        doc: "Decodes a punycode string; empty when invalid.",
    },
    ScalarFunction {
        name: "punycode_domain_from_string",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| string_or_empty(codec::domain_from_punycode(&text(&a[0]))),
        volatile: false,
        doc: "Decodes the `xn--` labels of a domain name.",
    },
    ScalarFunction {
        name: "punycode_domain_to_string",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| string_or_empty(codec::domain_to_punycode(&text(&a[0]))),
        volatile: false,
        doc: "Encodes the non-ASCII labels of a domain name as `xn--` labels.",
    },
    ScalarFunction {
        name: "url_encode",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, |s| codec::url_encode(s, false)),
        volatile: false,
        doc: "URL-encodes the string (space as `+`).",
    },
    ScalarFunction {
        name: "url_encode_component",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, |s| codec::url_encode(s, true)),
        volatile: false,
        doc: "URL-encodes the string (space as `%20`).",
    },
    ScalarFunction {
        name: "url_decode",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, codec::url_decode),
        volatile: false,
        doc: "Decodes a URL-encoded string.",
    },
    ScalarFunction {
        name: "base64_encode_tostring",
        aliases: &["base64_encodestring"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| text_fn(a, |s| codec::b64_encode(s.as_bytes())),
        volatile: false,
        doc: "Base64 of the string's UTF-8 bytes.",
    },
    ScalarFunction {
        name: "base64_decode_tostring",
        aliases: &["base64_decodestring"],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| base64_decode_tostring(a),
        volatile: false,
        doc: "Decodes base64 to a UTF-8 string; empty when not valid UTF-8.",
    },
    ScalarFunction {
        name: "base64_encode_fromarray",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| base64_encode_fromarray(a),
        volatile: false,
        doc: "Base64 of an array of byte values.",
    },
    ScalarFunction {
        name: "base64_decode_toarray",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Dynamic),
        eval: |a, _| base64_decode_toarray(a),
        volatile: false,
        doc: "Decodes base64 to an array of byte values.",
    },
    ScalarFunction {
        name: "base64_encode_fromguid",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| base64_encode_fromguid(a),
        volatile: false,
        doc: "Base64 of a guid's 16 bytes (.NET byte order).",
    },
    ScalarFunction {
        name: "base64_decode_toguid",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Guid),
        eval: |a, _| base64_decode_toguid(a),
        volatile: false,
        doc: "Decodes base64 of 16 bytes to a guid; null otherwise.",
    },
    ScalarFunction {
        name: "hash_md5",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| digest(a, md5),
        volatile: false,
        doc: "MD5 of the value's text, as lower-case hex.",
    },
    ScalarFunction {
        name: "hash_sha1",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| digest(a, sha1),
        volatile: false,
        doc: "SHA-1 of the value's text, as lower-case hex.",
    },
    ScalarFunction {
        name: "hash_sha256",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _| digest(a, sha256),
        volatile: false,
        doc: "SHA-256 of the value's text, as lower-case hex.",
    },
    ScalarFunction {
        name: "hash",
        aliases: &[],
        min_args: 1,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| xxhash(a),
        volatile: false,
        doc: "hash(value[, mod]): XXH64 of the value (modulo `mod`).",
    },
    ScalarFunction {
        name: "hash_xxhash64",
        aliases: &[],
        min_args: 1,
        max_args: 2,
        return_type: returns!(Long),
        eval: |a, _| xxhash(a),
        volatile: false,
        doc: "hash_xxhash64(value[, mod]): XXH64 of the value (modulo `mod`).",
    },
    ScalarFunction {
        name: "hash_combine",
        aliases: &[],
        min_args: 2,
        max_args: usize::MAX,
        return_type: returns!(Long),
        eval: |a, _| hash_combine(a),
        volatile: false,
        doc: "Combines hash values (not bit-identical to Kusto's combiner).",
    },
    ScalarFunction {
        name: "hash_many",
        aliases: &[],
        min_args: 1,
        max_args: usize::MAX,
        return_type: returns!(Long),
        eval: |a, _| hash_many(a),
        volatile: false,
        doc: "Hashes each argument and combines the hashes.",
    },
    ScalarFunction {
        name: "new_guid",
        aliases: &[],
        min_args: 0,
        max_args: 0,
        return_type: returns!(Guid),
        eval: |_, _| new_guid(),
        volatile: true,
        doc: "A random (version 4) guid.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::lookup;
    use serde_json::json;

    fn eval(name: &str, args: &[Value]) -> Value {
        let f = lookup(name).unwrap_or_else(|| panic!("{name} not registered"));
        (f.eval)(args, &EvalContext::default())
    }

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    fn l(x: i64) -> Value {
        Value::Long(x)
    }

    fn d(j: Json) -> Value {
        Value::Dynamic(j)
    }

    #[test]
    fn lengths() {
        assert_eq!(eval("strlen", &[s("hello")]), l(5));
        assert_eq!(eval("strlen", &[s("⒦⒰⒮⒯⒪")]), l(5));
        assert_eq!(eval("strlen", &[s("C\u{327}edilla")]), l(8));
        assert_eq!(eval("string_size", &[s("hello")]), l(5));
        assert_eq!(eval("string_size", &[s("⒦⒰⒮⒯⒪")]), l(15));
    }

    #[test]
    fn concatenation() {
        assert_eq!(
            eval("strcat", &[s("hello"), s(" "), s("world")]),
            s("hello world")
        );
        assert_eq!(eval("strcat", &[s("a"), s("-"), l(123)]), s("a-123"));
        assert_eq!(
            eval(
                "strcat_delim",
                &[s("-"), l(1), s("2"), s("A"), Value::TimeSpan(1_000_000_000)]
            ),
            s("1-2-A-00:00:01")
        );
        assert_eq!(eval("strrep", &[s("ABC"), l(2)]), s("ABCABC"));
        assert_eq!(eval("strrep", &[l(123), l(3), s(".")]), s("123.123.123"));
        assert_eq!(
            eval("strrep", &[Value::TimeSpan(3_000_000_000), l(2), s(" ")]),
            s("00:00:03 00:00:03")
        );
    }

    #[test]
    fn substrings() {
        assert_eq!(eval("substring", &[s("123456"), l(1)]), s("23456"));
        assert_eq!(eval("substring", &[s("123456"), l(2), l(2)]), s("34"));
        assert_eq!(eval("substring", &[s("ABCD"), l(0), l(2)]), s("AB"));
        assert_eq!(eval("substring", &[s("123456"), l(-2), l(2)]), s("56"));
        assert_eq!(eval("substring", &[s("123456"), l(1), l(3)]), s("234"));
        assert_eq!(eval("substring", &[s("abc"), l(10)]), s(""));
        assert_eq!(eval("substring", &[s("abc"), l(-10), l(2)]), s("ab"));
    }

    #[test]
    fn indexof_cases() {
        let abc = s("abcdefg");
        assert_eq!(eval("indexof", &[abc.clone(), s("cde")]), l(2));
        assert_eq!(eval("indexof", &[abc.clone(), s("cde"), l(1), l(4)]), l(2));
        // The engine returns 2 where the docs say -1 (a match starting inside the window).
        assert_eq!(eval("indexof", &[abc.clone(), s("cde"), l(1), l(2)]), l(2));
        assert_eq!(eval("indexof", &[abc.clone(), s("cde"), l(3), l(4)]), l(-1));
        assert_eq!(eval("indexof", &[abc.clone(), s("cde"), l(-5)]), l(2));
        assert_eq!(eval("indexof", &[l(1234567), l(5), l(1), l(4)]), l(4));
        assert_eq!(eval("indexof", &[abc.clone(), s("cde"), l(2), l(-1)]), l(2));
        let twice = s("abcdefgabcdefg");
        assert_eq!(
            eval("indexof", &[twice.clone(), s("cde"), l(1), l(10), l(2)]),
            l(9)
        );
        assert_eq!(
            eval("indexof", &[twice, s("cde"), l(1), l(-1), l(3)]),
            l(-1)
        );
        assert_eq!(eval("indexof", &[abc, s("x"), l(0), l(-2)]), Value::Null);
    }

    #[test]
    fn indexof_regex_cases() {
        // doc-indexof-regex-function-00
        assert_eq!(eval("indexof_regex", &[s("abcabc"), s("a.c")]), l(0));
        assert_eq!(
            eval(
                "indexof_regex",
                &[s("abcabcdefg"), s("a.c"), l(0), l(9), l(2)]
            ),
            l(3)
        );
        assert_eq!(
            eval("indexof_regex", &[s("abcabc"), s("a.c"), l(1), l(-1), l(2)]),
            l(-1)
        );
        assert_eq!(
            eval("indexof_regex", &[s("ababaa"), s("a.a"), l(0), l(-1), l(2)]),
            l(-1)
        );
        assert_eq!(
            eval("indexof_regex", &[s("abcabc"), s("a|ab"), l(-1)]),
            Value::Null
        );
        assert_eq!(eval("indexof_regex", &[s("abc"), s("(")]), Value::Null);
    }

    #[test]
    fn split_cases() {
        assert_eq!(eval("split", &[s("aa_bb"), s("_")]), d(json!(["aa", "bb"])));
        assert_eq!(
            eval("split", &[s("aaa_bbb_ccc"), s("_"), l(1)]),
            d(json!(["bbb"]))
        );
        assert_eq!(eval("split", &[s(""), s("_")]), d(json!([""])));
        assert_eq!(
            eval("split", &[s("a__b"), s("_")]),
            d(json!(["a", "", "b"]))
        );
        assert_eq!(
            eval("split", &[s("aabbcc"), s("bb")]),
            d(json!(["aa", "cc"]))
        );
        assert_eq!(
            eval("split", &[s("艺术.com"), s(".")]),
            d(json!(["艺术", "com"]))
        );
        assert_eq!(eval("split", &[s("a_b"), s("_"), l(5)]), d(json!([])));
    }

    #[test]
    fn replacements() {
        assert_eq!(
            eval(
                "replace_string",
                &[
                    s("A magic trick can turn a cat into a dog"),
                    s("cat"),
                    s("hamster")
                ]
            ),
            s("A magic trick can turn a hamster into a dog")
        );
        assert_eq!(
            eval("replace_string", &[s("abcb"), s("b"), s("1")]),
            s("a1c1")
        );
        assert_eq!(
            eval(
                "replace_regex",
                &[s("Number is 1"), s(r"is (\d+)"), s(r"was: \1")]
            ),
            s("Number was: 1")
        );
        assert_eq!(
            eval(
                "replace",
                &[s(r"is (\d+)"), s(r"was: \1"), s("Number is 12")]
            ),
            s("Number was: 12")
        );
        let msg = s("A magic trick can turn a cat into a dog");
        assert_eq!(
            eval(
                "replace_strings",
                &[
                    msg.clone(),
                    d(json!(["cat", "dog"])),
                    d(json!(["dog", "pigeon"]))
                ]
            ),
            s("A magic trick can turn a dog into a pigeon")
        );
        assert_eq!(
            eval(
                "replace_strings",
                &[
                    msg,
                    d(json!(["turn", " into a dog"])),
                    d(json!(["disappear", ""]))
                ]
            ),
            s("A magic trick can disappear a cat")
        );
        let ex = s("This is an example of using replace_strings()");
        assert_eq!(
            eval(
                "replace_strings",
                &[
                    ex.clone(),
                    d(json!(["This", "is"])),
                    d(json!(["This", "was"]))
                ]
            ),
            s("This was an example of using replace_strings()")
        );
        assert_eq!(
            eval(
                "replace_strings",
                &[
                    ex.clone(),
                    d(json!(["is", "This"])),
                    d(json!(["was", "This"]))
                ]
            ),
            s("Thwas was an example of using replace_strings()")
        );
        assert_eq!(
            eval(
                "replace_strings",
                &[ex, d(json!(["This", "is"])), d(json!([12345, "was"]))]
            ),
            s("This was an example of using replace_strings()")
        );
        assert_eq!(eval("translate", &[s("abc"), s("x"), s("abcd")]), s("xxxd"));
    }

    #[test]
    fn extraction() {
        let text1 = s("User: James, Email: James@example.com, Age: 29");
        assert_eq!(
            eval("extract", &[s("User: ([^,]+)"), l(1), text1.clone()]),
            s("James")
        );
        assert_eq!(
            eval("extract", &[s(r"Email: (\S+),"), l(1), text1]),
            s("James@example.com")
        );
        assert_eq!(
            eval(
                "extract",
                &[s(r"Email: (\S+),"), l(1), s("User: David, Age: 35")]
            ),
            s("")
        );
        assert_eq!(
            eval("extract", &[s(r"\d+"), l(0), s("User: David, Age: 35")]),
            s("35")
        );
        assert_eq!(
            eval(
                "extract",
                &[s(r"-(\d{2})-"), l(1), s("21-07-2023"), s("int")]
            ),
            Value::Int(7)
        );
        assert_eq!(
            eval(
                "extract_all",
                &[s(r"(\d+)"), s("a set of numbers: 123, 567 and 789")]
            ),
            d(json!(["123", "567", "789"]))
        );
        let id = s("82b8be2d-dfa7-4bd1-8f63-24ad26d31449");
        assert_eq!(
            eval("extract_all", &[s(r"(\w)(\w+)(\w)"), id.clone()]),
            d(json!([
                ["8", "2b8be2", "d"],
                ["d", "fa", "7"],
                ["4", "bd", "1"],
                ["8", "f6", "3"],
                ["2", "4ad26d3144", "9"]
            ]))
        );
        assert_eq!(
            eval(
                "extract_all",
                &[s(r"(\w)(\w+)(\w)"), d(json!([1, 3])), id.clone()]
            ),
            d(json!([
                ["8", "d"],
                ["d", "7"],
                ["4", "1"],
                ["8", "3"],
                ["2", "9"]
            ]))
        );
        assert_eq!(
            eval(
                "extract_all",
                &[
                    s(r"(?P<first>\w)(?P<middle>\w+)(?P<last>\w)"),
                    d(json!(["first", 2, "last"])),
                    id.clone()
                ]
            ),
            d(json!([
                ["8", "2b8be2", "d"],
                ["d", "fa", "7"],
                ["4", "bd", "1"],
                ["8", "f6", "3"],
                ["2", "4ad26d3144", "9"]
            ]))
        );
        let bytes = eval("extract_all", &[s(r"([\da-f]{2})"), id]);
        assert_eq!(
            bytes,
            d(json!([
                "82", "b8", "be", "2d", "df", "a7", "4b", "d1", "8f", "63", "24", "ad", "26", "d3",
                "14", "49"
            ]))
        );
    }

    #[test]
    fn trimming() {
        assert_eq!(
            eval("trim", &[s("--"), s("--https://bing.com--")]),
            s("https://bing.com")
        );
        assert_eq!(
            eval("trim", &[s(r"[^\w]+"), s("-  Te st1// $")]),
            s("Te st1")
        );
        assert_eq!(
            eval("trim", &[s(r"\s+"), s("    Hello, world!    ")]),
            s("Hello, world!")
        );
        assert_eq!(eval("trim", &[s("1"), s("11")]), s(""));
        assert_eq!(eval("trim", &[s("1"), s("10")]), s("0"));
        assert_eq!(
            eval("trim_start", &[s("https://"), s("https://bing.com")]),
            s("bing.com")
        );
        assert_eq!(
            eval("trim_start", &[s(r"[^\w]+"), s("-  Te st1// $")]),
            s("Te st1// $")
        );
        assert_eq!(
            eval("trim_start", &[s(r"\s+"), s("    Hello, world!    ")]),
            s("Hello, world!    ")
        );
        assert_eq!(eval("trim_end", &[s(".com"), s("bing.com")]), s("bing"));
        assert_eq!(
            eval("trim_end", &[s(r"\s+"), s("    Hello, world!    ")]),
            s("    Hello, world!")
        );
    }

    #[test]
    fn misc_text() {
        assert_eq!(
            eval("reverse", &[s("ABCDEFGHIJKLMNOPQRSTUVWXYZ")]),
            s("ZYXWVUTSRQPONMLKJIHGFEDCBA")
        );
        assert_eq!(eval("reverse", &[l(12345)]), s("54321"));
        assert_eq!(eval("reverse", &[Value::Real(123.45)]), s("54.321"));
        let dt = crate::format::parse_datetime("2017-10-15 12:00").unwrap();
        assert_eq!(
            eval("reverse", &[Value::DateTime(dt)]),
            s("Z0000000.00:00:21T51-01-7102")
        );
        assert_eq!(
            eval("reverse", &[Value::TimeSpan(3 * 3600 * 1_000_000_000)]),
            s("00:00:30")
        );
        assert_eq!(eval("toupper", &[s("abc")]), s("ABC"));
        assert_eq!(eval("tolower", &[s("ABC")]), s("abc"));
        assert_eq!(eval("strcmp", &[s("ABC"), s("ABC")]), l(0));
        assert_eq!(eval("strcmp", &[s("abc"), s("ABC")]), l(1));
        assert_eq!(eval("strcmp", &[s("ABC"), s("abc")]), l(-1));
        assert_eq!(eval("strcmp", &[s("abcde"), s("abc")]), l(1));
        assert_eq!(eval("countof", &[s("aaa"), s("a")]), l(3));
        assert_eq!(eval("countof", &[s("aaaa"), s("aa")]), l(3));
        assert_eq!(eval("countof", &[s("ababa"), s("ab"), s("normal")]), l(2));
        assert_eq!(eval("countof", &[s("ababa"), s("aba")]), l(2));
        assert_eq!(eval("countof", &[s("ababa"), s("aba"), s("regex")]), l(1));
        assert_eq!(eval("countof", &[s("abcabc"), s("a.c"), s("regex")]), l(2));
        assert_eq!(eval("isascii", &[s("some string")]), Value::Bool(true));
        assert_eq!(eval("isascii", &[s("é")]), Value::Bool(false));
        assert_eq!(eval("isutf8", &[s("some string")]), Value::Bool(true));
        assert_eq!(
            eval("regex_quote", &[s("(so$me.Te^xt)")]),
            s(r"\(so\$me\.Te\^xt\)")
        );
    }

    #[test]
    fn has_any_index_cases() {
        let src = s("this is an example");
        assert_eq!(
            eval(
                "has_any_index",
                &[src.clone(), d(json!(["this", "example"]))]
            ),
            l(0)
        );
        assert_eq!(
            eval(
                "has_any_index",
                &[src.clone(), d(json!(["not", "example"]))]
            ),
            l(1)
        );
        assert_eq!(
            eval("has_any_index", &[src.clone(), d(json!(["not", "found"]))]),
            l(-1)
        );
        assert_eq!(
            eval(
                "has_any_index",
                &[s("Example number 2"), d(json!([1, 2, 3]))]
            ),
            l(1)
        );
        assert_eq!(eval("has_any_index", &[src, d(json!([]))]), l(-1));
    }

    #[test]
    fn parsing() {
        assert_eq!(
            eval(
                "parse_command_line",
                &[s("echo \"hello world!\""), s("windows")]
            ),
            d(json!(["echo", "hello world!"]))
        );
        assert_eq!(
            eval(
                "parse_command_line",
                &[s(r#"a.exe "b c" d\"e f\\"g h""#), s("windows")]
            ),
            d(json!(["a.exe", "b c", "d\"e", "f\\g h"]))
        );
        assert_eq!(
            eval(
                "parse_csv",
                &[s(
                    "aa,\"b,b,b\",cc,\"Escaping quotes: \"\"Title\"\"\",\"line1\nline2\""
                )]
            ),
            d(json!([
                "aa",
                "b,b,b",
                "cc",
                "Escaping quotes: \"Title\"",
                "line1\nline2"
            ]))
        );
        assert_eq!(
            eval("parse_csv", &[s("record1,a,b,c\nrecord2,x,y,z")]),
            d(json!(["record1", "a", "b", "c"]))
        );
    }

    #[test]
    fn bytes_formatting() {
        assert_eq!(eval("format_bytes", &[l(564)]), s("564 Bytes"));
        assert_eq!(eval("format_bytes", &[l(10332), l(1)]), s("10.1 KB"));
        assert_eq!(eval("format_bytes", &[l(20010332)]), s("19 MB"));
        assert_eq!(eval("format_bytes", &[l(20010332), l(2)]), s("19.08 MB"));
        assert_eq!(
            eval("format_bytes", &[l(20010332), l(0), s("KB")]),
            s("19541 KB")
        );
    }

    #[test]
    fn codepoints_and_punycode() {
        assert_eq!(
            eval("unicode_codepoints_from_string", &[s("⒦⒰⒮⒯⒪")]),
            d(json!([9382, 9392, 9390, 9391, 9386]))
        );
        assert_eq!(
            eval(
                "unicode_codepoints_to_string",
                &[l(75), l(117), l(115), l(116), l(111)]
            ),
            s("Kusto")
        );
        assert_eq!(
            eval(
                "unicode_codepoints_to_string",
                &[d(json!([75, 117, 115])), l(116), l(111)]
            ),
            s("Kusto")
        );
        assert_eq!(
            eval("punycode_from_string", &[s("académie-française")]),
            s("acadmie-franaise-npb1a")
        );
        assert_eq!(
            eval("punycode_to_string", &[s("acadmie-franaise-npb1a")]),
            s("académie-française")
        );
        assert_eq!(
            eval(
                "punycode_domain_from_string",
                &[s("xn--Ry-lja8c.xn--Jng-uta63a.xn--Bng-9ka.com")]
            ),
            s("Rúyì.Jīngū.Bàng.com")
        );
        assert_eq!(
            eval(
                "punycode_domain_from_string",
                &[s("xn--Lin-8na.Celtchair.org")]
            ),
            s("Lúin.Celtchair.org")
        );
        assert_eq!(
            eval(
                "punycode_domain_to_string",
                &[s("Lê Lợi。Thuận Thiên。com")]
            ),
            s("xn--L Li-gpa4517b.xn--Thun Thin-s4a7194f.com")
        );
        assert_eq!(
            eval(
                "punycode_domain_to_string",
                &[s("Riðill｡Skáldskaparmál｡org")]
            ),
            s("xn--Riill-jta.xn--Skldskaparml-dbbj.org")
        );
        assert_eq!(
            eval(
                "punycode_domain_to_string",
                &[s("Kaledvoulc'h.Artorījos.edu")]
            ),
            s("Kaledvoulc'h.xn--Artorjos-ejb.edu")
        );
    }

    #[test]
    fn url_and_base64() {
        assert_eq!(
            eval("url_encode", &[s("https://www.bing.com/hello world")]),
            s("https%3a%2f%2fwww.bing.com%2fhello+world")
        );
        assert_eq!(
            eval(
                "url_encode_component",
                &[s("https://www.bing.com/hello world/")]
            ),
            s("https%3a%2f%2fwww.bing.com%2fhello%20world%2f")
        );
        assert_eq!(eval("url_decode", &[s("hello%20world")]), s("hello world"));
        assert_eq!(
            eval("url_decode", &[s("https%3A%2F%2Fexample.com%3Fa%3Db")]),
            s("https://example.com?a=b")
        );
        assert_eq!(eval("base64_encode_tostring", &[s("Kusto")]), s("S3VzdG8="));
        assert_eq!(eval("base64_decode_tostring", &[s("S3VzdG8=")]), s("Kusto"));
        assert_eq!(
            eval(
                "base64_decode_tostring",
                &[s("U3RyaW5n0KHR0tGA0L7Rh9C60LA=")]
            ),
            s("")
        );
        assert_eq!(
            eval("base64_decode_toarray", &[s("S3VzdG8=")]),
            d(json!([75, 117, 115, 116, 111]))
        );
        assert_eq!(
            eval(
                "base64_encode_fromarray",
                &[d(json!([75, 117, 115, 116, 111]))]
            ),
            s("S3VzdG8=")
        );
        let empty = eval("base64_decode_toarray", &[s("U3RyaW5n0KHR0tGA0L7Rh9C60LA")]);
        assert_eq!(eval("base64_encode_fromarray", &[empty]), s(""));
        assert_eq!(
            eval(
                "base64_encode_fromguid",
                &[Value::Guid("ae3133f2-6e22-49ae-b06a-16e6a9b212eb".into())]
            ),
            s("8jMxriJurkmwahbmqbIS6w==")
        );
        assert_eq!(
            eval("base64_decode_toguid", &[s("JpbpECu8dUy7Pv5gbeJXAA==")]),
            Value::Guid("10e99626-bc2b-4c75-bb3e-fe606de25700".into())
        );
        assert_eq!(eval("base64_decode_toguid", &[s("abcd1231")]), Value::Null);
    }

    #[test]
    fn hashes() {
        let dt2020 = Value::DateTime(crate::format::parse_datetime("2020-01-01").unwrap());
        assert_eq!(
            eval("hash_md5", &[s("World")]),
            s("f5a7924e621e84c9280a9a27e1bcb7f6")
        );
        assert_eq!(
            eval("hash_md5", std::slice::from_ref(&dt2020)),
            s("786c530672d1f8db31fee25ea8a9390b")
        );
        assert_eq!(
            eval("hash_sha1", &[s("World")]),
            s("70c07ec18ef89c5309bbb0937f3a6342411e1fdd")
        );
        assert_eq!(
            eval("hash_sha1", std::slice::from_ref(&dt2020)),
            s("e903e533f4d636b4fc0dcf3cf81e7b7f330de776")
        );
        assert_eq!(
            eval("hash_sha256", &[s("World")]),
            s("78ae647dc5544d227130a0682a51e30bc7777fbb6d8a8f17007463a3ecd1d524")
        );
        assert_eq!(
            eval("hash_sha256", &[dt2020]),
            s("ba666752dc1a20eb750b0eb64e780cc4c968bc9fb8813461c1d7e750f302d71d")
        );
        assert_eq!(eval("hash", &[s("World")]), l(1846988464401551951));
        assert_eq!(eval("hash", &[s("Hello")]), l(753694413698530628));
        assert_eq!(eval("hash", &[s("World"), l(100)]), l(51));
        assert_eq!(eval("hash_xxhash64", &[s("World"), l(100)]), l(51));
        let dt2015 = Value::DateTime(crate::format::parse_datetime("2015-01-01").unwrap());
        assert_eq!(
            eval("hash", std::slice::from_ref(&dt2015)),
            l(1380966698541616202)
        );
        assert_eq!(eval("hash_xxhash64", &[dt2015]), l(1380966698541616202));
        // hash_combine/hash_many: deterministic and order-sensitive (not Kusto's values).
        let c1 = eval("hash_combine", &[l(1), l(2)]);
        assert_eq!(c1, eval("hash_combine", &[l(1), l(2)]));
        assert_ne!(c1, eval("hash_combine", &[l(2), l(1)]));
        assert_eq!(
            eval("hash_many", &[s("Hello"), s("World")]),
            eval(
                "hash_combine",
                &[l(753694413698530628), l(1846988464401551951)]
            )
        );
        let g1 = eval("new_guid", &[]);
        assert!(matches!(&g1, Value::Guid(g) if g.len() == 36 && g.as_bytes()[14] == b'4'));
        assert_ne!(g1, eval("new_guid", &[]));
    }
}
