//! Encodings and hashes behind the string functions: punycode (RFC 3492), URL
//! encoding as .NET's `HttpUtility` does it, base64, guid byte order, XXH64, and the
//! byte form each scalar type hashes as.

use crate::value::Value;
use base64::Engine as _;
use serde_json::Value as Json;

// ---- punycode (RFC 3492) --------------------------------------------------------------

const BASE: u32 = 36;
const TMIN: u32 = 1;
const TMAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;
/// The algorithm is quadratic; domain labels are at most 63 characters anyway.
const MAX_PUNYCODE_INPUT: usize = 1 << 16;

fn adapt(mut delta: u32, numpoints: u32, first: bool) -> u32 {
    delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / numpoints.max(1);
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (BASE - TMIN + 1) * delta / (delta + SKEW)
}

fn encode_digit(d: u32) -> char {
    // 0..25 -> a..z, 26..35 -> 0..9
    if d < 26 {
        (b'a' + d as u8) as char
    } else {
        (b'0' + (d - 26) as u8) as char
    }
}

fn decode_digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32 + 26),
        'a'..='z' => Some(c as u32 - 'a' as u32),
        'A'..='Z' => Some(c as u32 - 'A' as u32),
        _ => None,
    }
}

/// Punycode of a label (without the `xn--` prefix). Case of basic characters is kept.
pub(super) fn punycode_encode(input: &str) -> Option<String> {
    if input.len() > MAX_PUNYCODE_INPUT {
        return None;
    }
    let chars: Vec<u32> = input.chars().map(|c| c as u32).collect();
    let mut output: String = input.chars().filter(|c| c.is_ascii()).collect();
    let basic = output.chars().count() as u32;
    let mut h = basic;
    if basic > 0 {
        output.push('-');
    }
    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let total = chars.len() as u32;
    while h < total {
        let m = chars.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(h + 1)?)?;
        n = m;
        for &c in &chars {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(encode_digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(encode_digit(q));
                bias = adapt(delta, h + 1, h == basic);
                delta = 0;
                h += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(output)
}

/// Decodes a punycode label (without the `xn--` prefix); `None` when malformed.
pub(super) fn punycode_decode(input: &str) -> Option<String> {
    if input.len() > MAX_PUNYCODE_INPUT {
        return None;
    }
    let (basic, rest) = match input.rfind('-') {
        Some(p) => (&input[..p], &input[p + 1..]),
        None => ("", input),
    };
    if !basic.is_ascii() {
        return None;
    }
    let mut output: Vec<u32> = basic.chars().map(|c| c as u32).collect();
    let mut n = INITIAL_N;
    let mut i: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut it = rest.chars().peekable();
    while it.peek().is_some() {
        let oldi = i;
        let mut w: u32 = 1;
        let mut k = BASE;
        loop {
            let digit = decode_digit(it.next()?)?;
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = output.len() as u32 + 1;
        bias = adapt(i - oldi, len, oldi == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        char::from_u32(n)?;
        output.insert(i as usize, n);
        i += 1;
    }
    output.into_iter().map(char::from_u32).collect()
}

fn is_label_separator(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// `punycode_domain_to_string`: labels with non-ASCII characters become `xn--` labels.
pub(super) fn domain_to_punycode(domain: &str) -> Option<String> {
    let mut out = Vec::new();
    for label in domain.split(is_label_separator) {
        if label.is_ascii() {
            out.push(label.to_string());
        } else {
            out.push(format!("xn--{}", punycode_encode(label)?));
        }
    }
    Some(out.join("."))
}

/// `punycode_domain_from_string`: `xn--` labels are decoded.
pub(super) fn domain_from_punycode(domain: &str) -> Option<String> {
    let mut out = Vec::new();
    for label in domain.split('.') {
        let lower = label.get(..4).map(|p| p.eq_ignore_ascii_case("xn--"));
        if lower == Some(true) {
            out.push(punycode_decode(&label[4..])?);
        } else {
            out.push(label.to_string());
        }
    }
    Some(out.join("."))
}

// ---- URL encoding ---------------------------------------------------------------------

fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'*' | b'(' | b')')
}

/// .NET `HttpUtility.UrlEncode`: lower-case hex escapes; a space becomes `+`
/// (`%20` when `component`).
pub(super) fn url_encode(s: &str, component: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if url_safe(b) {
            out.push(b as char);
        } else if b == b' ' && !component {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// .NET `HttpUtility.UrlDecode`: `%xx` bytes (UTF-8), `%uXXXX`, `+` as space; malformed
/// escapes are kept as they are.
pub(super) fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut bytes: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                bytes.push(b' ');
                i += 1;
            }
            b'%' => {
                if i + 5 < b.len() && (b[i + 1] == b'u' || b[i + 1] == b'U') {
                    let h: Option<u32> = b[i + 2..i + 6]
                        .iter()
                        .try_fold(0u32, |acc, &c| hex_val(c).map(|d| acc * 16 + d as u32));
                    if let Some(cp) = h.and_then(char::from_u32) {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(cp.encode_utf8(&mut buf).as_bytes());
                        i += 6;
                        continue;
                    }
                }
                if i + 2 < b.len() {
                    if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                        bytes.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                }
                bytes.push(b'%');
                i += 1;
            }
            c => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---- base64 and guids -----------------------------------------------------------------

pub(super) fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

/// The 16 bytes of a guid in .NET's `Guid.ToByteArray` order (first three fields
/// little-endian).
pub(super) fn guid_to_bytes(guid: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = guid.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (k, pair) in hex.chunks(2).enumerate() {
        raw[k] = hex_val(pair[0])? * 16 + hex_val(pair[1])?;
    }
    let mut out = raw;
    out[0..4].copy_from_slice(&[raw[3], raw[2], raw[1], raw[0]]);
    out[4..6].copy_from_slice(&[raw[5], raw[4]]);
    out[6..8].copy_from_slice(&[raw[7], raw[6]]);
    Some(out)
}

pub(super) fn guid_from_bytes(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    let mut raw = [0u8; 16];
    raw.copy_from_slice(b);
    raw[0..4].copy_from_slice(&[b[3], b[2], b[1], b[0]]);
    raw[4..6].copy_from_slice(&[b[5], b[4]]);
    raw[6..8].copy_from_slice(&[b[7], b[6]]);
    let h: String = raw.iter().map(|x| format!("{x:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

// ---- XXH64 ----------------------------------------------------------------------------

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

fn round(acc: u64, input: u64) -> u64 {
    acc.wrapping_add(input.wrapping_mul(P2))
        .rotate_left(31)
        .wrapping_mul(P1)
}

fn merge_round(acc: u64, val: u64) -> u64 {
    (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
}

fn read64(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

fn read32(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(a) as u64
}

fn avalanche(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

/// XXH64 as specified by Yann Collet (xxhash.com).
pub(super) fn xxh64(b: &[u8], seed: u64) -> u64 {
    let n = b.len();
    let mut i = 0;
    let mut h = if n >= 32 {
        let mut v1 = seed.wrapping_add(P1).wrapping_add(P2);
        let mut v2 = seed.wrapping_add(P2);
        let mut v3 = seed;
        let mut v4 = seed.wrapping_sub(P1);
        while i + 32 <= n {
            v1 = round(v1, read64(b, i));
            v2 = round(v2, read64(b, i + 8));
            v3 = round(v3, read64(b, i + 16));
            v4 = round(v4, read64(b, i + 24));
            i += 32;
        }
        let mut h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        h = merge_round(h, v1);
        h = merge_round(h, v2);
        h = merge_round(h, v3);
        merge_round(h, v4)
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(n as u64);
    while i + 8 <= n {
        h ^= round(0, read64(b, i));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        i += 8;
    }
    if i + 4 <= n {
        h ^= read32(b, i).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        i += 4;
    }
    while i < n {
        h ^= (b[i] as u64).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
        i += 1;
    }
    avalanche(h)
}

/// .NET ticks (100 ns since 0001-01-01) of a datetime in Unix nanoseconds.
pub(super) fn dotnet_ticks(ns: i64) -> i64 {
    ns.div_euclid(100).wrapping_add(621_355_968_000_000_000)
}

/// The bytes `hash()` digests for a value: UTF-8 text for strings, little-endian .NET
/// ticks for datetimes and timespans, the 8 little-endian bytes of longs (ints widened)
/// and of reals' IEEE bits. `None` for null.
pub(super) fn hash_bytes(v: &Value) -> Option<Vec<u8>> {
    Some(match v {
        Value::Null | Value::Dynamic(Json::Null) => return None,
        Value::String(s) | Value::Dynamic(Json::String(s)) => s.as_bytes().to_vec(),
        Value::Int(i) => (*i as i64).to_le_bytes().to_vec(),
        Value::Long(i) => i.to_le_bytes().to_vec(),
        Value::Real(f) => f.to_bits().to_le_bytes().to_vec(),
        Value::Bool(b) => vec![*b as u8],
        Value::DateTime(ns) => dotnet_ticks(*ns).to_le_bytes().to_vec(),
        Value::TimeSpan(ns) => ns.div_euclid(100).to_le_bytes().to_vec(),
        Value::Guid(g) => guid_to_bytes(g)
            .map(|b| b.to_vec())
            .unwrap_or_else(|| g.as_bytes().to_vec()),
        Value::Dynamic(Json::Number(n)) => match n.as_i64() {
            Some(i) => i.to_le_bytes().to_vec(),
            None => n.as_f64().unwrap_or(0.0).to_bits().to_le_bytes().to_vec(),
        },
        other => super::super::conversion::text(other).as_bytes().to_vec(),
    })
}

/// Combines 64-bit hashes the way .NET's `HashCode` does (an XXH64-style mixing of the
/// hashes as 64-bit lanes). Kusto's exact combiner is not documented; see the module
/// report: this does not reproduce the engine's `hash_combine` values.
pub(super) fn combine_hashes(hashes: &[u64]) -> u64 {
    let mut bytes = Vec::with_capacity(hashes.len() * 8);
    for h in hashes {
        bytes.extend_from_slice(&h.to_le_bytes());
    }
    xxh64(&bytes, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_vectors() {
        assert_eq!(xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a", 0), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc", 0), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition", 0),
            0xFBCE_A83C_8A37_8BF1
        );
        // Kusto docs: hash("World") == 1846988464401551951.
        assert_eq!(xxh64(b"World", 0) as i64, 1_846_988_464_401_551_951);
    }

    #[test]
    fn punycode_round_trip() {
        assert_eq!(
            punycode_encode("académie-française").as_deref(),
            Some("acadmie-franaise-npb1a")
        );
        assert_eq!(punycode_encode("艺术").as_deref(), Some("cqv902d"));
        assert_eq!(
            punycode_decode("acadmie-franaise-npb1a").as_deref(),
            Some("académie-française")
        );
        assert_eq!(punycode_decode("Ge-mia").as_deref(), Some("Gáe"));
        assert_eq!(punycode_decode("!!!"), None);
    }

    #[test]
    fn guid_bytes_order() {
        let b = b64_decode("JpbpECu8dUy7Pv5gbeJXAA==").unwrap();
        assert_eq!(
            guid_from_bytes(&b).as_deref(),
            Some("10e99626-bc2b-4c75-bb3e-fe606de25700")
        );
        let back = guid_to_bytes("10e99626-bc2b-4c75-bb3e-fe606de25700").unwrap();
        assert_eq!(back.to_vec(), b);
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            url_encode("https://www.bing.com/hello world", false),
            "https%3a%2f%2fwww.bing.com%2fhello+world"
        );
        assert_eq!(
            url_encode("https://www.bing.com/hello world/", true),
            "https%3a%2f%2fwww.bing.com%2fhello%20world%2f"
        );
        assert_eq!(
            url_decode("https%3a%2f%2fwww.bing.com%2f"),
            "https://www.bing.com/"
        );
        assert_eq!(url_decode("a%2"), "a%2");
        assert_eq!(url_decode("%u00e9+x%"), "é x%");
    }
}
