//! Network and text-structure functions: IPv4/IPv6 (`ipv4_*`, `ipv6_*`, `parse_ipv4`,
//! `format_ipv4`, `has_ipv4`, ...), `parse_url`, `parse_urlquery`, `parse_path`,
//! `parse_version`.
//!
//! IP texts may carry an IP-prefix suffix (`192.168.1.1/24`). IPv4 addresses used with
//! the IPv6 functions are IPv4-mapped (`::ffff:a.b.c.d`) and their suffix counts IPv4
//! bits (`/24` is `/120`); the same holds for any dotted IPv6 text (`::a.b.c.d/24`).

use super::dynamic::{arr_arg, int_arg, is_null_arg, sf, str_arg};
use super::{returns, EvalContext, ScalarFunction};
use crate::value::Value;
use serde_json::{Map, Value as Json};
use std::net::Ipv6Addr;

// ---- IPv4 ----------------------------------------------------------------------------------

/// `a.b.c.d`: four decimal parts of 1–3 digits, each at most 255.
fn parse_v4_addr(s: &str) -> Option<u32> {
    let mut parts = s.split('.');
    let mut v: u32 = 0;
    for _ in 0..4 {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        if n > 255 {
            return None;
        }
        v = (v << 8) | n;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(v)
}

fn parse_prefix(s: &str, max: u32) -> Option<u32> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 3 {
        return None;
    }
    let p: u32 = t.parse().ok()?;
    (p <= max).then_some(p)
}

/// An IPv4 text with optional `/prefix` → (address, prefix).
fn parse_v4(s: &str) -> Option<(u32, u32)> {
    let t = s.trim();
    match t.split_once('/') {
        Some((a, p)) => Some((parse_v4_addr(a.trim())?, parse_prefix(p, 32)?)),
        None => Some((parse_v4_addr(t)?, 32)),
    }
}

fn v4_arg(args: &[Value], i: usize) -> Option<(u32, u32)> {
    parse_v4(&str_arg(args, i)?)
}

fn mask4(v: u32, prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        v & (u32::MAX << (32 - prefix.min(32)))
    }
}

fn v4_text(v: u32) -> String {
    let b = v.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// An optional explicit prefix argument in `0..=max`: Ok(None) when absent, Err when
/// present but invalid.
fn prefix_arg(args: &[Value], i: usize, max: u32) -> Result<Option<u32>, ()> {
    if args.len() <= i {
        return Ok(None);
    }
    match int_arg(args, i) {
        Some(p) if (0..=max as i64).contains(&p) => Ok(Some(p as u32)),
        _ => Err(()),
    }
}

fn ipv4_cmp(args: &[Value]) -> Option<std::cmp::Ordering> {
    let (a, pa) = v4_arg(args, 0)?;
    let (b, pb) = v4_arg(args, 1)?;
    let p = match prefix_arg(args, 2, 32).ok()? {
        Some(p) => pa.min(pb).min(p),
        None => pa.min(pb),
    };
    Some(mask4(a, p).cmp(&mask4(b, p)))
}

fn ord_long(o: Option<std::cmp::Ordering>) -> Value {
    match o {
        Some(o) => Value::Long(o as i64),
        None => Value::Null,
    }
}

fn ipv4_in_range(ip: u32, range: &str) -> Option<bool> {
    let (r, p) = parse_v4(range)?;
    Some(mask4(ip, p) == mask4(r, p))
}

/// The string items of variadic arguments from `from` on: scalars and dynamic arrays.
fn string_items(args: &[Value], from: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, v) in args.iter().enumerate().skip(from) {
        match v {
            Value::Dynamic(Json::Array(_)) => {
                if let Some(a) = arr_arg(args, i) {
                    for j in a {
                        match j {
                            Json::String(s) => out.push(s.clone()),
                            Json::Null => {}
                            other => out.push(crate::format::json_to_kql_text(other)),
                        }
                    }
                }
            }
            v if v.is_null() => {}
            v => out.push(v.to_kql_string()),
        }
    }
    out
}

fn ipv4_is_in_any_range(a: &[Value], _: &EvalContext) -> Value {
    let Some((ip, _)) = v4_arg(a, 0) else {
        return Value::Null;
    };
    let ranges = string_items(a, 1);
    Value::Bool(ranges.iter().any(|r| ipv4_in_range(ip, r).unwrap_or(false)))
}

fn ipv4_is_private(a: &[Value], _: &EvalContext) -> Value {
    let Some((ip, p)) = v4_arg(a, 0) else {
        return Value::Null;
    };
    let ip = mask4(ip, p);
    let private = [(0x0A00_0000u32, 8u32), (0xAC10_0000, 12), (0xC0A8_0000, 16)];
    Value::Bool(private.iter().any(|&(net, len)| mask4(ip, len) == net))
}

/// An IPv4 address given as text (with optional prefix) or as a number.
fn v4_text_or_number(v: &Value) -> Option<(u32, u32)> {
    match v {
        Value::Int(_) | Value::Long(_) | Value::Real(_) | Value::Decimal(_) => {
            let n = v.as_i64()?;
            u32::try_from(n).ok().map(|x| (x, 32))
        }
        Value::Dynamic(Json::Number(_)) => {
            let n = v.as_i64()?;
            u32::try_from(n).ok().map(|x| (x, 32))
        }
        v if v.is_null() => None,
        v => parse_v4(&v.to_kql_string()),
    }
}

fn format_ipv4_impl(a: &[Value], with_mask: bool) -> Value {
    let empty = Value::String(String::new());
    let Some((ip, p)) = v4_text_or_number(&a[0]) else {
        return empty;
    };
    let mask = if a.len() > 1 {
        match int_arg(a, 1) {
            Some(m) if (0..=32).contains(&m) => m as u32,
            _ => return empty,
        }
    } else {
        32
    };
    let p = p.min(mask);
    let text = v4_text(mask4(ip, p));
    Value::String(if with_mask {
        format!("{text}/{p}")
    } else {
        text
    })
}

fn ipv4_range_to_cidr_list(a: &[Value], _: &EvalContext) -> Value {
    let (Some((start, _)), Some((end, _))) = (v4_arg(a, 0), v4_arg(a, 1)) else {
        return Value::Dynamic(Json::Null);
    };
    let mut out = Vec::new();
    let (mut cur, end) = (start as u64, end as u64);
    while cur <= end {
        // Largest block aligned at `cur` that fits in [cur, end].
        let mut size_bits = if cur == 0 {
            32
        } else {
            cur.trailing_zeros().min(32)
        };
        while size_bits > 0 && cur + (1u64 << size_bits) - 1 > end {
            size_bits -= 1;
        }
        out.push(Json::String(format!(
            "{}/{}",
            v4_text(cur as u32),
            32 - size_bits
        )));
        cur += 1u64 << size_bits;
    }
    Value::Dynamic(Json::Array(out))
}

// ---- IPv6 ----------------------------------------------------------------------------------

/// A parsed IPv6 (or IPv4-as-IPv6) text: the address as written, its prefix in IPv6
/// bits, and whether the text used dotted IPv4 notation.
#[derive(Clone, Copy, Debug)]
struct V6 {
    addr: u128,
    prefix: u32,
    dotted: bool,
}

impl V6 {
    /// The address used for comparisons: a dotted IPv4-compatible address (`::a.b.c.d`)
    /// compares as IPv4-mapped, like plain IPv4 text does.
    fn cmp_addr(&self) -> u128 {
        if self.dotted && self.addr >> 32 == 0 {
            self.addr | (0xffffu128 << 32)
        } else {
            self.addr
        }
    }
}

fn parse_v6(s: &str) -> Option<V6> {
    let t = s.trim();
    let (addr_text, prefix_text) = match t.split_once('/') {
        Some((a, p)) => (a.trim(), Some(p)),
        None => (t, None),
    };
    let dotted = addr_text.contains('.');
    let addr = if let Some(v4) = parse_v4_addr(addr_text) {
        (0xffffu128 << 32) | v4 as u128
    } else {
        u128::from(addr_text.parse::<Ipv6Addr>().ok()?)
    };
    let prefix = match prefix_text {
        None => 128,
        Some(p) => {
            let p = parse_prefix(p, 128)?;
            if dotted {
                if p > 32 {
                    return None;
                }
                p + 96
            } else {
                p
            }
        }
    };
    Some(V6 {
        addr,
        prefix,
        dotted,
    })
}

fn v6_arg(args: &[Value], i: usize) -> Option<V6> {
    parse_v6(&str_arg(args, i)?)
}

fn mask6(v: u128, prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        v & (u128::MAX << (128 - prefix.min(128)))
    }
}

fn v6_text(v: u128) -> String {
    let b = v.to_be_bytes();
    let groups: Vec<String> = b
        .chunks(2)
        .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
        .collect();
    groups.join(":")
}

fn ipv6_cmp(args: &[Value]) -> Option<std::cmp::Ordering> {
    let a = v6_arg(args, 0)?;
    let b = v6_arg(args, 1)?;
    let mut p = a.prefix.min(b.prefix);
    if let Some(x) = prefix_arg(args, 2, 128).ok()? {
        p = p.min(x);
    }
    Some(mask6(a.cmp_addr(), p).cmp(&mask6(b.cmp_addr(), p)))
}

fn ipv6_in_range(ip: &V6, range: &str) -> Option<bool> {
    let r = parse_v6(range)?;
    Some(mask6(ip.cmp_addr(), r.prefix) == mask6(r.cmp_addr(), r.prefix))
}

fn ipv6_is_in_any_range(a: &[Value], _: &EvalContext) -> Value {
    let Some(ip) = v6_arg(a, 0) else {
        return Value::Null;
    };
    Value::Bool(
        string_items(a, 1)
            .iter()
            .any(|r| ipv6_in_range(&ip, r).unwrap_or(false)),
    )
}

fn parse_ipv6_mask(a: &[Value], _: &EvalContext) -> Value {
    let Some(ip) = v6_arg(a, 0) else {
        return Value::String(String::new());
    };
    let p = match prefix_arg(a, 1, 128) {
        Ok(Some(p)) => ip.prefix.min(p),
        Ok(None) => ip.prefix,
        Err(()) => return Value::String(String::new()),
    };
    Value::String(v6_text(mask6(ip.addr, p)))
}

// ---- IPv4 in text (has_ipv4 family) ----------------------------------------------------

/// The valid, properly delimited IPv4 addresses in a text: maximal runs of digits and
/// dots with no alphanumeric character on either side.
fn ipv4_in_text(text: &str) -> Vec<[u8; 4]> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let before_ok = start == 0 || !chars[start - 1].is_alphanumeric();
        let after_ok = i >= chars.len() || !chars[i].is_alphanumeric();
        if before_ok && after_ok {
            let run: String = chars[start..i].iter().collect();
            if let Some(v) = parse_v4_addr(run.trim_end_matches('.')) {
                out.push(v.to_be_bytes());
            }
        }
    }
    out
}

/// A valid IPv4 prefix for `has_ipv4_prefix`: a full address, or 1–3 octets each
/// followed by a dot.
fn parse_v4_prefix(p: &str) -> Option<Vec<u8>> {
    let t = p.trim();
    if let Some(v) = parse_v4_addr(t) {
        return Some(v.to_be_bytes().to_vec());
    }
    let body = t.strip_suffix('.')?;
    let mut octets = Vec::new();
    for part in body.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = part.parse().ok()?;
        if n > 255 {
            return None;
        }
        octets.push(n as u8);
    }
    if octets.is_empty() || octets.len() > 3 {
        return None;
    }
    Some(octets)
}

fn has_any_ipv4_impl(a: &[Value], prefix: bool) -> Value {
    let text = a[0].to_kql_string();
    let wanted: Vec<Vec<u8>> = string_items(a, 1)
        .iter()
        .filter_map(|s| {
            if prefix {
                parse_v4_prefix(s)
            } else {
                parse_v4_addr(s.trim()).map(|v| v.to_be_bytes().to_vec())
            }
        })
        .collect();
    if wanted.is_empty() {
        return Value::Bool(false);
    }
    let found = ipv4_in_text(&text);
    Value::Bool(
        found
            .iter()
            .any(|addr| wanted.iter().any(|w| addr.starts_with(w))),
    )
}

// ---- URLs and paths ------------------------------------------------------------------------

fn query_params(q: &str) -> Json {
    let mut m: Map<String, Json> = Map::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let k = k.into_owned();
        let v = v.into_owned();
        match m.get_mut(&k) {
            Some(Json::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                m.insert(k, Json::String(v));
            }
        }
    }
    Json::Object(m)
}

fn valid_scheme(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic())
        && it.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The string parts of an absolute URL, as `parse_url` reports them ("" when absent).
struct UrlParts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: &'a str,
    path: &'a str,
    user: &'a str,
    password: &'a str,
    query: &'a str,
    fragment: &'a str,
}

fn url_parts(text: &str) -> UrlParts<'_> {
    let t = text.trim();
    let mut p = UrlParts {
        scheme: "",
        host: "",
        port: "",
        path: "",
        user: "",
        password: "",
        query: "",
        fragment: "",
    };
    let Some((s, rest)) = t.split_once("://") else {
        return p;
    };
    if !valid_scheme(s) {
        return p;
    }
    p.scheme = s;
    let (before_frag, frag) = rest.split_once('#').unwrap_or((rest, ""));
    p.fragment = frag;
    let (before_query, q) = before_frag.split_once('?').unwrap_or((before_frag, ""));
    p.query = q;
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    p.path = path;
    let hostport = match authority.rfind('@') {
        Some(i) => {
            let userinfo = &authority[..i];
            let (u, pw) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            p.user = u;
            p.password = pw;
            &authority[i + 1..]
        }
        None => authority,
    };
    if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(end) => {
                p.host = &hostport[..=end];
                p.port = hostport[end + 1..].strip_prefix(':').unwrap_or("");
            }
            None => p.host = hostport,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                p.host = h;
                p.port = port;
            }
            _ => p.host = hostport,
        }
    }
    p
}

/// `parse_url`: `{"Scheme","Host","Port","Path","Username","Password","Query Parameters",
/// "Fragment"}`; every part is a string ("" when absent), query parameters a bag.
fn parse_url(a: &[Value], _: &EvalContext) -> Value {
    let text = a[0].to_kql_string();
    let p = url_parts(&text);
    let mut m = Map::new();
    let s = |x: &str| Json::String(x.to_string());
    m.insert("Scheme".into(), s(p.scheme));
    m.insert("Host".into(), s(p.host));
    m.insert("Port".into(), s(p.port));
    m.insert("Path".into(), s(p.path));
    m.insert("Username".into(), s(p.user));
    m.insert("Password".into(), s(p.password));
    m.insert("Query Parameters".into(), query_params(p.query));
    m.insert("Fragment".into(), s(p.fragment));
    Value::Dynamic(Json::Object(m))
}

/// The parts of `parse_url`'s bag that are strings, by key.
pub const URL_STRING_PARTS: [&str; 7] = [
    "Scheme", "Host", "Port", "Path", "Username", "Password", "Fragment",
];

/// One string part of `parse_url(url)` by its key ("Host"...), `None` for another key.
pub fn url_part<'a>(url: &'a str, part: &str) -> Option<&'a str> {
    let p = url_parts(url);
    Some(match part {
        "Scheme" => p.scheme,
        "Host" => p.host,
        "Port" => p.port,
        "Path" => p.path,
        "Username" => p.user,
        "Password" => p.password,
        "Fragment" => p.fragment,
        _ => return None,
    })
}

/// `parse_url(x).Part` without building the bag: the planner's rewrite of a member
/// access on `parse_url` (same value: a dynamic string).
fn parse_url_part(a: &[Value], _: &EvalContext) -> Value {
    let text = a[0].to_kql_string();
    match url_part(&text, &a[1].to_kql_string()) {
        Some(part) => Value::Dynamic(Json::String(part.to_string())),
        None => Value::Null,
    }
}

/// `tostring(parse_url(x).Part)`: the part as text (the engine runs it vectorised).
fn parse_url_part_text(a: &[Value], _: &EvalContext) -> Value {
    let text = a[0].to_kql_string();
    Value::String(
        url_part(&text, &a[1].to_kql_string())
            .unwrap_or("")
            .to_string(),
    )
}

fn parse_urlquery(a: &[Value], _: &EvalContext) -> Value {
    let text = a[0].to_kql_string();
    let q = text.trim();
    let q = q.strip_prefix('?').unwrap_or(q);
    let mut m = Map::new();
    m.insert("Query Parameters".into(), query_params(q));
    Value::Dynamic(Json::Object(m))
}

/// `parse_path`: `{"Scheme","RootPath","DirectoryPath","DirectoryName","Filename",
/// "Extension","AlternateDataStreamName"}`.
fn parse_path(a: &[Value], _: &EvalContext) -> Value {
    let text = a[0].to_kql_string();
    let mut scheme = "";
    let mut rest = text.as_str();
    if let Some((s, r)) = text.split_once("://") {
        if valid_scheme(s) {
            scheme = s;
            rest = r;
        }
    }
    let b = rest.as_bytes();
    let is_sep = |c: char| c == '\\' || c == '/';
    let has_drive = b.len() >= 3
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (b[2] == b'\\' || b[2] == b'/');
    let root = if has_drive { &rest[..3] } else { "" };
    let (dir, file) = match rest.rfind(is_sep) {
        Some(i) => {
            let d = if has_drive && i == 2 {
                &rest[..3]
            } else {
                &rest[..i]
            };
            (d, &rest[i + 1..])
        }
        None => ("", rest),
    };
    let (filename, ads) = match file.split_once(':') {
        Some((f, s)) => (f, s),
        None => (file, ""),
    };
    let extension = match filename.rfind('.') {
        Some(i) => &filename[i + 1..],
        None => "",
    };
    let dir_name = if dir == root {
        ""
    } else {
        match dir.rfind(is_sep) {
            Some(i) => &dir[i + 1..],
            None => dir,
        }
    };
    let mut m = Map::new();
    let s = |x: &str| Json::String(x.to_string());
    m.insert("Scheme".into(), s(scheme));
    m.insert("RootPath".into(), s(root));
    m.insert("DirectoryPath".into(), s(dir));
    m.insert("DirectoryName".into(), s(dir_name));
    m.insert("Filename".into(), s(filename));
    m.insert("Extension".into(), s(extension));
    m.insert("AlternateDataStreamName".into(), s(ads));
    Value::Dynamic(Json::Object(m))
}

/// `parse_version`: 1–4 dot-separated parts of up to 8 digits →
/// `p0·10^24 + p1·10^16 + p2·10^8 + p3` as a decimal.
fn parse_version_value(s: &str) -> Option<i128> {
    let t = s.trim();
    let parts: Vec<&str> = t.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut total: i128 = 0;
    for i in 0..4 {
        let n: i128 = match parts.get(i) {
            Some(p) => {
                if p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                p.parse().ok()?
            }
            None => 0,
        };
        total = total * 100_000_000 + n;
    }
    Some(total)
}

fn parse_version(a: &[Value], _: &EvalContext) -> Value {
    if is_null_arg(a, 0) {
        return Value::Null;
    }
    match parse_version_value(&a[0].to_kql_string()) {
        Some(v) => Value::Decimal(v as f64),
        None => Value::Null,
    }
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    sf(
        "ipv4_compare",
        &[],
        2,
        3,
        returns!(Long),
        |a, _| ord_long(ipv4_cmp(a)),
        "Compares two IPv4 addresses (-1, 0, 1), honouring IP-prefix suffixes and an optional prefix.",
    ),
    sf(
        "ipv4_is_match",
        &[],
        2,
        3,
        returns!(Bool),
        |a, _| match ipv4_cmp(a) {
            Some(o) => Value::Bool(o.is_eq()),
            None => Value::Null,
        },
        "True if two IPv4 addresses match under their prefixes (and an optional prefix).",
    ),
    sf(
        "ipv4_is_in_range",
        &[],
        2,
        2,
        returns!(Bool),
        |a, _| {
            let (Some((ip, _)), Some(r)) = (v4_arg(a, 0), str_arg(a, 1)) else {
                return Value::Null;
            };
            match ipv4_in_range(ip, &r) {
                Some(b) => Value::Bool(b),
                None => Value::Null,
            }
        },
        "True if the IPv4 address is in the IPv4 range (address/prefix).",
    ),
    sf(
        "ipv4_is_in_any_range",
        &[],
        2,
        usize::MAX,
        returns!(Bool),
        ipv4_is_in_any_range,
        "True if the IPv4 address is in any of the ranges (arguments or dynamic arrays).",
    ),
    sf(
        "ipv4_is_private",
        &[],
        1,
        1,
        returns!(Bool),
        ipv4_is_private,
        "True if the IPv4 address is in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.",
    ),
    sf(
        "ipv4_netmask_suffix",
        &[],
        1,
        1,
        returns!(Long),
        |a, _| match v4_arg(a, 0) {
            Some((_, p)) => Value::Long(p as i64),
            None => Value::Null,
        },
        "The IP-prefix length of an IPv4 text (32 without a suffix).",
    ),
    sf(
        "parse_ipv4",
        &[],
        1,
        1,
        returns!(Long),
        |a, _| match v4_arg(a, 0) {
            Some((ip, p)) => Value::Long(mask4(ip, p) as i64),
            None => Value::Null,
        },
        "An IPv4 text as a long (masked by its IP-prefix).",
    ),
    sf(
        "parse_ipv4_mask",
        &[],
        2,
        2,
        returns!(Long),
        |a, _| {
            let Some((ip, p)) = v4_arg(a, 0) else {
                return Value::Null;
            };
            match int_arg(a, 1) {
                Some(m) if (0..=32).contains(&m) => {
                    Value::Long(mask4(ip, p.min(m as u32)) as i64)
                }
                _ => Value::Null,
            }
        },
        "An IPv4 text as a long, masked to the given prefix.",
    ),
    sf(
        "format_ipv4",
        &[],
        1,
        2,
        returns!(String),
        |a, _| format_ipv4_impl(a, false),
        "Dotted IPv4 text of an address (text or long), masked by the optional prefix.",
    ),
    sf(
        "format_ipv4_mask",
        &[],
        1,
        2,
        returns!(String),
        |a, _| format_ipv4_impl(a, true),
        "IPv4 text with its prefix (a.b.c.d/n) of an address (text or long).",
    ),
    sf(
        "ipv4_range_to_cidr_list",
        &[],
        2,
        2,
        returns!(Dynamic),
        ipv4_range_to_cidr_list,
        "The CIDR blocks covering an IPv4 address range.",
    ),
    sf(
        "ipv6_compare",
        &[],
        2,
        3,
        returns!(Long),
        |a, _| ord_long(ipv6_cmp(a)),
        "Compares two IPv6/IPv4 addresses (-1, 0, 1), honouring prefixes.",
    ),
    sf(
        "ipv6_is_match",
        &[],
        2,
        3,
        returns!(Bool),
        |a, _| match ipv6_cmp(a) {
            Some(o) => Value::Bool(o.is_eq()),
            None => Value::Null,
        },
        "True if two IPv6/IPv4 addresses match under their prefixes.",
    ),
    sf(
        "ipv6_is_in_range",
        &[],
        2,
        2,
        returns!(Bool),
        |a, _| {
            let (Some(ip), Some(r)) = (v6_arg(a, 0), str_arg(a, 1)) else {
                return Value::Null;
            };
            match ipv6_in_range(&ip, &r) {
                Some(b) => Value::Bool(b),
                None => Value::Null,
            }
        },
        "True if the IPv6 address is in the IPv6 range.",
    ),
    sf(
        "ipv6_is_in_any_range",
        &[],
        2,
        usize::MAX,
        returns!(Bool),
        ipv6_is_in_any_range,
        "True if the IPv6 address is in any of the ranges (arguments or dynamic arrays).",
    ),
    sf(
        "parse_ipv6",
        &[],
        1,
        1,
        returns!(String),
        |a, _| match v6_arg(a, 0) {
            Some(ip) => Value::String(v6_text(mask6(ip.addr, ip.prefix))),
            None => Value::String(String::new()),
        },
        "Canonical IPv6 text (8 groups of 4 hex digits) of an IPv6/IPv4 address.",
    ),
    sf(
        "parse_ipv6_mask",
        &[],
        2,
        2,
        returns!(String),
        parse_ipv6_mask,
        "Canonical IPv6 text of an address masked to the given prefix.",
    ),
    sf(
        "has_ipv4",
        &[],
        2,
        2,
        returns!(Bool),
        |a, _| has_any_ipv4_impl(a, false),
        "True if the text contains the IPv4 address (properly delimited).",
    ),
    sf(
        "has_ipv4_prefix",
        &[],
        2,
        2,
        returns!(Bool),
        |a, _| has_any_ipv4_impl(a, true),
        "True if the text contains an IPv4 address with the prefix (`10.` ... or a full address).",
    ),
    sf(
        "has_any_ipv4",
        &[],
        2,
        usize::MAX,
        returns!(Bool),
        |a, _| has_any_ipv4_impl(a, false),
        "True if the text contains any of the IPv4 addresses.",
    ),
    sf(
        "has_any_ipv4_prefix",
        &[],
        2,
        usize::MAX,
        returns!(Bool),
        |a, _| has_any_ipv4_impl(a, true),
        "True if the text contains an IPv4 address with any of the prefixes.",
    ),
    sf(
        "parse_url",
        &["parseurl"],
        1,
        1,
        returns!(Dynamic),
        parse_url,
        "Parts of an absolute URL as a bag (Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment).",
    ),
    sf(
        "__parse_url_part",
        &[],
        2,
        2,
        returns!(Dynamic),
        parse_url_part,
        "Internal: parse_url(url).Part for the string parts, without building the bag.",
    ),
    sf(
        "__parse_url_part_text",
        &[],
        2,
        2,
        returns!(String),
        parse_url_part_text,
        "Internal: tostring(parse_url(url).Part) for the string parts.",
    ),
    sf(
        "parse_urlquery",
        &["parseurlquery"],
        1,
        1,
        returns!(Dynamic),
        parse_urlquery,
        "Query parameters of a URL query string, as {\"Query Parameters\": {...}}.",
    ),
    sf(
        "parse_path",
        &[],
        1,
        1,
        returns!(Dynamic),
        parse_path,
        "Parts of a file path as a bag (Scheme, RootPath, DirectoryPath, DirectoryName, Filename, Extension, AlternateDataStreamName).",
    ),
    sf(
        "parse_version",
        &[],
        1,
        1,
        returns!(Decimal),
        parse_version,
        "A version string (up to 4 parts of up to 8 digits) as a comparable decimal.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, args: &[Value]) -> Value {
        let f = crate::functions::lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        (f.eval)(args, &EvalContext::default())
    }
    fn s(x: &str) -> Value {
        Value::string(x)
    }
    fn d(j: Json) -> Value {
        Value::Dynamic(j)
    }
    fn l(x: i64) -> Value {
        Value::Long(x)
    }

    #[test]
    fn format_ipv4_cases() {
        let rows = [
            ("192.168.1.1", 24, "192.168.1.0", "192.168.1.0/24"),
            ("192.168.1.1", 32, "192.168.1.1", "192.168.1.1/32"),
            ("192.168.1.1/24", 32, "192.168.1.0", "192.168.1.0/24"),
            ("192.168.1.1/24", -1, "", ""),
        ];
        for (ip, m, want, want_mask) in rows {
            assert_eq!(call("format_ipv4", &[s(ip), l(m)]), s(want));
            assert_eq!(call("format_ipv4_mask", &[s(ip), l(m)]), s(want_mask));
        }
        assert_eq!(call("format_ipv4", &[l(3232235777)]), s("192.168.1.1"));
        assert_eq!(call("format_ipv4", &[l(-1)]), s(""));
    }

    #[test]
    fn ipv4_functions() {
        for (a, b) in [
            ("192.168.1.0", "192.168.1.0"),
            ("192.168.1.1/24", "192.168.1.255"),
            ("192.168.1.1", "192.168.1.255/24"),
            ("192.168.1.1/30", "192.168.1.255/24"),
        ] {
            assert_eq!(call("ipv4_compare", &[s(a), s(b)]), l(0));
            assert_eq!(call("ipv4_is_match", &[s(a), s(b)]), Value::Bool(true));
        }
        for (a, b, p) in [
            ("192.168.1.1", "192.168.1.0", 31),
            ("192.168.1.1/24", "192.168.1.255", 31),
            ("192.168.1.1", "192.168.1.255", 24),
        ] {
            assert_eq!(call("ipv4_compare", &[s(a), s(b), l(p)]), l(0));
            assert_eq!(
                call("ipv4_is_match", &[s(a), s(b), l(p)]),
                Value::Bool(true)
            );
        }
        assert_eq!(call("ipv4_compare", &[s("10.0.0.1"), s("10.0.0.2")]), l(-1));
        assert_eq!(call("ipv4_compare", &[s("10.0.0.3"), s("10.0.0.2")]), l(1));
        assert_eq!(
            call("ipv4_compare", &[s("10.0.0.256"), s("10.0.0.2")]),
            Value::Null
        );
        assert_eq!(
            call("ipv4_compare", &[s("10.0.0.1"), s("10.0.0.2"), l(33)]),
            Value::Null
        );

        assert_eq!(
            call("ipv4_is_in_range", &[s("192.168.1.1"), s("192.168.1.1")]),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                "ipv4_is_in_range",
                &[s("192.168.1.1"), s("192.168.1.255/24")]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                "ipv4_is_in_any_range",
                &[
                    s("192.168.1.6"),
                    s("192.168.1.1/24"),
                    s("10.0.0.1/8"),
                    s("127.1.0.1/16")
                ]
            ),
            Value::Bool(true)
        );
        assert_eq!(
            call(
                "ipv4_is_in_any_range",
                &[s("127.0.0.1"), d(json!(["127.0.0.1", "192.168.1.1"]))]
            ),
            Value::Bool(true)
        );
        let nets = d(json!(["192.168.1.1/16", "127.0.0.1/8", "10.0.0.1/8"]));
        for (ip, want) in [
            ("10.1.2.3", true),
            ("192.168.1.5", true),
            ("123.1.11.21", false),
            ("1.1.1.1", false),
        ] {
            assert_eq!(
                call("ipv4_is_in_any_range", &[s(ip), nets.clone()]),
                Value::Bool(want)
            );
        }
        for (ip, want) in [
            ("10.1.2.3", true),
            ("192.168.1.1/24", true),
            ("127.0.0.1", false),
            ("202.1.2.3", false),
            ("172.31.0.1", true),
        ] {
            assert_eq!(call("ipv4_is_private", &[s(ip)]), Value::Bool(want));
        }
        for (ip, want) in [
            ("10.1.2.3", 32),
            ("192.168.1.1/24", 24),
            ("127.0.0.1/16", 16),
        ] {
            assert_eq!(call("ipv4_netmask_suffix", &[s(ip)]), l(want));
        }
        for (ip, want) in [
            ("192.168.1.1", 3232235777),
            ("192.168.1.1/24", 3232235776),
            ("255.255.255.255/31", 4294967294),
        ] {
            assert_eq!(call("parse_ipv4", &[s(ip)]), l(want));
        }
        assert_eq!(call("parse_ipv4", &[s("1.2.3")]), Value::Null);
        assert_eq!(
            call("parse_ipv4_mask", &[s("127.0.0.1"), l(24)]),
            l(2130706432)
        );
        assert_eq!(
            call(
                "ipv4_range_to_cidr_list",
                &[s("1.1.128.0"), s("1.1.140.255")]
            ),
            d(json!(["1.1.128.0/21", "1.1.136.0/22", "1.1.140.0/24"]))
        );
        assert_eq!(
            call(
                "ipv4_range_to_cidr_list",
                &[s("0.0.0.0"), s("255.255.255.255")]
            ),
            d(json!(["0.0.0.0/0"]))
        );
    }

    #[test]
    fn ipv6_functions() {
        let eq_cases = [
            ("192.168.1.1", "192.168.1.1"),
            ("192.168.1.1/24", "192.168.1.255"),
            ("192.168.1.1", "192.168.1.255/24"),
            ("192.168.1.1/30", "192.168.1.255/24"),
            ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7994"),
            ("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998"),
            ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7998/120"),
            (
                "fe80::85d:e82c:9446:7994/120",
                "fe80::85d:e82c:9446:7998/120",
            ),
            ("192.168.1.1", "::ffff:c0a8:0101"),
            ("192.168.1.1/24", "::ffff:c0a8:01ff"),
            ("::ffff:c0a8:0101", "192.168.1.255/24"),
            ("::192.168.1.1/30", "192.168.1.255/24"),
        ];
        for (a, b) in eq_cases {
            assert_eq!(call("ipv6_compare", &[s(a), s(b)]), l(0), "{a} {b}");
            assert_eq!(call("ipv6_is_match", &[s(a), s(b)]), Value::Bool(true));
        }
        let prefixed = [
            ("192.168.1.1", "192.168.1.0", 31),
            ("192.168.1.1/24", "192.168.1.255", 31),
            ("192.168.1.1", "192.168.1.255", 24),
            ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", 127),
            (
                "fe80::85d:e82c:9446:7994/127",
                "fe80::85d:e82c:9446:7998",
                120,
            ),
            (
                "fe80::85d:e82c:9446:7994/120",
                "fe80::85d:e82c:9446:7998",
                127,
            ),
            ("192.168.1.1/24", "::ffff:c0a8:01ff", 127),
            ("::ffff:c0a8:0101", "192.168.1.255", 120),
            ("::192.168.1.1/30", "192.168.1.255/24", 127),
        ];
        for (a, b, p) in prefixed {
            assert_eq!(
                call("ipv6_compare", &[s(a), s(b), l(p)]),
                l(0),
                "{a} {b} {p}"
            );
            assert_eq!(
                call("ipv6_is_match", &[s(a), s(b), l(p)]),
                Value::Bool(true)
            );
        }
        assert_eq!(call("ipv6_compare", &[s("::1"), s("::2")]), l(-1));
        assert_eq!(call("ipv6_compare", &[s("::1"), s("nope")]), Value::Null);

        let ip = "a5e:f127:8a9d:146d:e102:b5d3:c755:abcd";
        for (r, want) in [
            ("a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112", true),
            ("a5e:f127:8a9d:146d:e102:b5d3:c755:abcd", true),
            ("0:0:0:0:0:ffff:c0a8:ac/60", false),
        ] {
            assert_eq!(call("ipv6_is_in_range", &[s(ip), s(r)]), Value::Bool(want));
        }
        let nets = d(json!([
            "a5e:f127:8a9d:146d:e102:b5d3:c755:f6cd/112",
            "0:0:0:0:0:ffff:c0a8:ac/60"
        ]));
        for (ip, want) in [
            ("a5e:f127:8a9d:146d:e102:b5d3:c755:abcd", true),
            ("a5e:f127:8a9d:146d:e102:b5d3:c755:abcf", true),
            ("a5e:f127:8a9d:146d:e102:b5d3:c756:abd1", false),
        ] {
            assert_eq!(
                call("ipv6_is_in_any_range", &[s(ip), nets.clone()]),
                Value::Bool(want)
            );
        }

        for (ip, want) in [
            ("192.168.255.255", "0000:0000:0000:0000:0000:ffff:c0a8:ffff"),
            (
                "192.168.255.255/24",
                "0000:0000:0000:0000:0000:ffff:c0a8:ff00",
            ),
            ("255.255.255.255", "0000:0000:0000:0000:0000:ffff:ffff:ffff"),
        ] {
            assert_eq!(call("parse_ipv6", &[s(ip)]), s(want));
        }
        for (ip, m, want) in [
            (
                "192.168.255.255",
                120,
                "0000:0000:0000:0000:0000:ffff:c0a8:ff00",
            ),
            (
                "192.168.255.255/24",
                124,
                "0000:0000:0000:0000:0000:ffff:c0a8:ff00",
            ),
            (
                "255.255.255.255",
                128,
                "0000:0000:0000:0000:0000:ffff:ffff:ffff",
            ),
            (
                "fe80::85d:e82c:9446:7994",
                128,
                "fe80:0000:0000:0000:085d:e82c:9446:7994",
            ),
            (
                "fe80::85d:e82c:9446:7994/120",
                124,
                "fe80:0000:0000:0000:085d:e82c:9446:7900",
            ),
            (
                "::192.168.255.255",
                128,
                "0000:0000:0000:0000:0000:0000:c0a8:ffff",
            ),
            (
                "::192.168.255.255/24",
                128,
                "0000:0000:0000:0000:0000:0000:c0a8:ff00",
            ),
        ] {
            assert_eq!(call("parse_ipv6_mask", &[s(ip), l(m)]), s(want), "{ip}");
        }
    }

    #[test]
    fn has_ipv4_family() {
        let log = "05:04:54 127.0.0.1 GET /favicon.ico 404";
        let bad = "05:04:54 127.0.0.256 GET /favicon.ico 404";
        let glued = "05:04:54127.0.0.1 GET /favicon.ico 404";
        let t = Value::Bool(true);
        let f = Value::Bool(false);
        assert_eq!(call("has_ipv4", &[s(log), s("127.0.0.1")]), t);
        assert_eq!(call("has_ipv4", &[s(bad), s("127.0.0.256")]), f);
        assert_eq!(call("has_ipv4", &[s(glued), s("127.0.0.1")]), f);
        assert_eq!(call("has_ipv4_prefix", &[s(log), s("127.0.")]), t);
        assert_eq!(call("has_ipv4_prefix", &[s(log), s("127.0")]), f);
        assert_eq!(call("has_ipv4_prefix", &[s(bad), s("127.0.")]), f);
        assert_eq!(call("has_ipv4_prefix", &[s(glued), s("127.0.")]), f);
        assert_eq!(
            call("has_any_ipv4", &[s(log), s("127.0.0.1"), s("127.0.0.2")]),
            t
        );
        assert_eq!(
            call(
                "has_any_ipv4",
                &[s(log), d(json!(["127.0.0.1", "127.0.0.2"]))]
            ),
            t
        );
        assert_eq!(
            call(
                "has_any_ipv4",
                &[s(bad), d(json!(["127.0.0.256", "192.168.1.1"]))]
            ),
            f
        );
        assert_eq!(
            call(
                "has_any_ipv4",
                &[s(glued), s("127.0.0.1"), s("192.168.1.1")]
            ),
            f
        );
        assert_eq!(
            call("has_any_ipv4_prefix", &[s(log), s("127.0."), s("192.168.")]),
            t
        );
        assert_eq!(
            call(
                "has_any_ipv4_prefix",
                &[s(log), d(json!(["127.0.", "192.168."]))]
            ),
            t
        );
        assert_eq!(call("has_any_ipv4_prefix", &[s(log), s("127.0")]), f);
        assert_eq!(
            call("has_any_ipv4_prefix", &[s(glued), s("127.0."), s("192.")]),
            f
        );
        assert_eq!(
            call(
                "has_ipv4",
                &[
                    s("These requests came from: 192.168.1.1, 10.1.1.115 and 10.1.1.201."),
                    s("10.1.1.201")
                ]
            ),
            t
        );
    }

    #[test]
    fn urls_and_paths() {
        let r = call(
            "parse_url",
            &[s(
                "scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment",
            )],
        );
        assert_eq!(
            serde_json::to_string(&r.to_json()).unwrap(),
            r#"{"Scheme":"scheme","Host":"host","Port":"1234","Path":"/this/is/a/path","Username":"username","Password":"password","Query Parameters":{"k1":"v1","k2":"v2"},"Fragment":"fragment"}"#
        );
        assert_eq!(
            call("parse_urlquery", &[s("k1=v1&k2=v2&k3=v3")]),
            d(json!({"Query Parameters": {"k1": "v1", "k2": "v2", "k3": "v3"}}))
        );
        assert_eq!(
            call("parse_urlquery", &[s("view=vs-2019&preserve-view=true")]),
            d(json!({"Query Parameters": {"view": "vs-2019", "preserve-view": "true"}}))
        );

        let rows = [
            (
                r"C:\temp\file.txt",
                json!({"Scheme": "", "RootPath": "C:\\", "DirectoryPath": "C:\\temp", "DirectoryName": "temp", "Filename": "file.txt", "Extension": "txt", "AlternateDataStreamName": ""}),
            ),
            (
                r"temp\file.txt",
                json!({"Scheme": "", "RootPath": "", "DirectoryPath": "temp", "DirectoryName": "temp", "Filename": "file.txt", "Extension": "txt", "AlternateDataStreamName": ""}),
            ),
            (
                "file://C:/temp/file.txt:some.exe",
                json!({"Scheme": "file", "RootPath": "C:/", "DirectoryPath": "C:/temp", "DirectoryName": "temp", "Filename": "file.txt", "Extension": "txt", "AlternateDataStreamName": "some.exe"}),
            ),
            (
                r"\\shared\users\temp\file.txt.gz",
                json!({"Scheme": "", "RootPath": "", "DirectoryPath": "\\\\shared\\users\\temp", "DirectoryName": "temp", "Filename": "file.txt.gz", "Extension": "gz", "AlternateDataStreamName": ""}),
            ),
            (
                "/usr/lib/temp/file.txt",
                json!({"Scheme": "", "RootPath": "", "DirectoryPath": "/usr/lib/temp", "DirectoryName": "temp", "Filename": "file.txt", "Extension": "txt", "AlternateDataStreamName": ""}),
            ),
        ];
        for (p, want) in rows {
            let got = call("parse_path", &[s(p)]);
            assert_eq!(
                serde_json::to_string(&got.to_json()).unwrap(),
                serde_json::to_string(&want).unwrap(),
                "{p}"
            );
        }
    }

    #[test]
    fn versions() {
        for (v, want) in [
            ("0.0.0.5", 5i128),
            ("0.0.7.0", 700000000),
            ("0.0.3", 300000000),
            ("0.2", 20000000000000000),
            ("0.1.2.0", 10000000200000000),
            ("1.2.3.4", 1000000020000000300000004),
            ("1", 1000000000000000000000000),
        ] {
            assert_eq!(parse_version_value(v), Some(want), "{v}");
            assert_eq!(call("parse_version", &[s(v)]), Value::Decimal(want as f64));
        }
        assert_eq!(call("parse_version", &[s("1.2.3.4.5")]), Value::Null);
        assert_eq!(call("parse_version", &[s("123456789")]), Value::Null);
        assert_eq!(call("parse_version", &[s("a.b")]), Value::Null);
        assert_eq!(call("parse_version", &[s("")]), Value::Null);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            Value::Null,
            Value::Long(i64::MIN),
            Value::Long(4294967296),
            Value::Real(f64::NAN),
            s(""),
            s("/"),
            s("1.2.3.4/"),
            s("::/999"),
            s("://@:[/?#"),
            s("é.é.é.é"),
            d(json!([null, 1, "1.2.3.4"])),
            d(json!({})),
        ];
        for f in FUNCTIONS {
            let n = f.min_args.clamp(1, 3);
            for a in &odd {
                for b in &odd {
                    let mut args = vec![a.clone(); n];
                    if n > 1 {
                        args[1] = b.clone();
                    }
                    let _ = (f.eval)(&args, &EvalContext::default());
                }
            }
        }
    }
}
