//! Compression and number encodings: `gzip_compress_to_base64_string`,
//! `gzip_decompress_from_base64_string`, `zlib_compress_to_base64_string`,
//! `zlib_decompress_from_base64_string`, `tohex`.
//!
//! Kusto's compressors emit *stored* (uncompressed) deflate blocks: the documented
//! outputs (`H4sIAAAAAAAA/wEUAOv/...`, `eAEBFADr/...`) are a gzip header with mtime 0,
//! XFL 0, OS 255 or a zlib header `78 01`, then stored blocks. We produce exactly that
//! (blocks of at most 65535 bytes), so short inputs match byte for byte; any deflate
//! stream is accepted when decompressing.

use super::dynamic::sf;
use super::{returns, EvalContext, ScalarFunction};
use crate::value::Value;
use base64::Engine as _;
use std::io::Read;

/// Decompressed output larger than this is treated as invalid (zip-bomb guard).
const MAX_DECOMPRESSED: u64 = 256 << 20;

/// Raw deflate data made of stored blocks.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 65535 + 1));
    let mut chunks: Vec<&[u8]> = data.chunks(65535).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (i, c) in chunks.iter().enumerate() {
        out.push(if i == last { 1 } else { 0 });
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff];
    out.extend(deflate_stored(data));
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn zlib_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    out.extend(deflate_stored(data));
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let t = s.trim();
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(t))
        .ok()
}

fn read_limited(r: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    r.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out).ok()?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return None;
    }
    Some(out)
}

fn compress(a: &[Value], zlib: bool) -> Value {
    if a[0].is_null() {
        return Value::String(String::new());
    }
    let text = a[0].to_kql_string();
    let bytes = if zlib {
        zlib_bytes(text.as_bytes())
    } else {
        gzip_bytes(text.as_bytes())
    };
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decompress(a: &[Value], zlib: bool) -> Value {
    let text = a[0].to_kql_string();
    let out = b64_decode(&text).and_then(|raw| {
        if zlib {
            read_limited(flate2::read::ZlibDecoder::new(raw.as_slice()))
        } else {
            read_limited(flate2::read::GzDecoder::new(raw.as_slice()))
        }
    });
    Value::String(
        out.and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
    )
}

/// `tohex(value[, min_length])`: two's complement hex, 32-bit for `int`, 64-bit for
/// `long`; zero-padded to `min_length`.
fn tohex(a: &[Value], _: &EvalContext) -> Value {
    let hex = match &a[0] {
        Value::Int(i) => format!("{:x}", *i as u32),
        Value::Long(l) => format!("{:x}", *l as u64),
        Value::Bool(b) => format!("{:x}", *b as u8),
        v @ Value::Dynamic(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => {
            match v.as_i64() {
                Some(l) => format!("{:x}", l as u64),
                None => return Value::String(String::new()),
            }
        }
        _ => return Value::String(String::new()),
    };
    let width = match a.get(1) {
        None => 0,
        Some(v) if v.is_null() => 0,
        Some(v) => v.as_i64().unwrap_or(0).clamp(0, 64) as usize,
    };
    Value::String(format!("{hex:0>width$}"))
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    sf(
        "gzip_compress_to_base64_string",
        &[],
        1,
        1,
        returns!(String),
        |a, _| compress(a, false),
        "Gzip-compresses a string (UTF-8) and encodes the result as base64.",
    ),
    sf(
        "gzip_decompress_from_base64_string",
        &[],
        1,
        1,
        returns!(String),
        |a, _| decompress(a, false),
        "Decodes base64 and gunzips it to a UTF-8 string; empty string when invalid.",
    ),
    sf(
        "zlib_compress_to_base64_string",
        &[],
        1,
        1,
        returns!(String),
        |a, _| compress(a, true),
        "Zlib-compresses a string (UTF-8) and encodes the result as base64.",
    ),
    sf(
        "zlib_decompress_from_base64_string",
        &[],
        1,
        1,
        returns!(String),
        |a, _| decompress(a, true),
        "Decodes base64 and inflates zlib data to a UTF-8 string; empty string when invalid.",
    ),
    sf(
        "tohex",
        &[],
        1,
        2,
        returns!(String),
        tohex,
        "Hexadecimal text of an int or long (two's complement), zero-padded to an optional length.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> Value {
        let f = crate::functions::lookup(name).unwrap_or_else(|| panic!("{name} missing"));
        (f.eval)(args, &EvalContext::default())
    }
    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn gzip_matches_kusto() {
        assert_eq!(
            call(
                "gzip_compress_to_base64_string",
                &[s("1234567890qwertyuiop")]
            ),
            s("H4sIAAAAAAAA/wEUAOv/MTIzNDU2Nzg5MHF3ZXJ0eXVpb3A6m7f2FAAAAA==")
        );
        assert_eq!(
            call(
                "gzip_decompress_from_base64_string",
                &[s(
                    "H4sIAAAAAAAA/wEUAOv/MTIzNDU2Nzg5MHF3ZXJ0eXVpb3A6m7f2FAAAAA=="
                )]
            ),
            s("1234567890qwertyuiop")
        );
        assert_eq!(
            call("gzip_decompress_from_base64_string", &[s("x0x0x0")]),
            s("")
        );
        let long: String = (0..200_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let c = call("gzip_compress_to_base64_string", &[s(&long)]);
        assert_eq!(call("gzip_decompress_from_base64_string", &[c]), s(&long));
        let e = call("gzip_compress_to_base64_string", &[s("")]);
        assert_eq!(call("gzip_decompress_from_base64_string", &[e]), s(""));
    }

    #[test]
    fn zlib_matches_kusto() {
        assert_eq!(
            call(
                "zlib_compress_to_base64_string",
                &[s("1234567890qwertyuiop")]
            ),
            s("eAEBFADr/zEyMzQ1Njc4OTBxd2VydHl1aW9wOAkGdw==")
        );
        assert_eq!(
            call(
                "zlib_decompress_from_base64_string",
                &[s("eJwLSS0uUSguKcrMS1cwNDIGACxqBQ4=")]
            ),
            s("Test string 123")
        );
        assert_eq!(
            call("zlib_decompress_from_base64_string", &[s("x0x0x0")]),
            s("")
        );
        let long: String = "héllo wörld ".repeat(20_000);
        let c = call("zlib_compress_to_base64_string", &[s(&long)]);
        assert_eq!(call("zlib_decompress_from_base64_string", &[c]), s(&long));
    }

    #[test]
    fn tohex_cases() {
        assert_eq!(call("tohex", &[Value::Long(256)]), s("100"));
        assert_eq!(call("tohex", &[Value::Long(-256)]), s("ffffffffffffff00"));
        assert_eq!(
            call("tohex", &[Value::Int(-256), Value::Long(8)]),
            s("ffffff00")
        );
        assert_eq!(
            call("tohex", &[Value::Long(256), Value::Long(8)]),
            s("00000100")
        );
        assert_eq!(call("tohex", &[Value::Long(256), Value::Long(2)]), s("100"));
        assert_eq!(call("tohex", &[Value::Long(0xCAFEF00D)]), s("cafef00d"));
        assert_eq!(call("tohex", &[Value::Null]), s(""));
        assert_eq!(
            call("tohex", &[Value::Long(1), Value::Long(i64::MAX)])
                .to_kql_string()
                .len(),
            64
        );
    }
}
