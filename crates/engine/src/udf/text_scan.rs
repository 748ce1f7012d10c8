//! Text columns evaluated a buffer at a time.
//!
//! String operators (`contains`, `has`, ...) with a constant needle search for the needle
//! once per Arrow data buffer, not once per value; each value then only looks up the
//! matches that fall inside it. Functions that return a piece of their input
//! (`tostring(parse_url(x).Host)`) remember their result per distinct value of a buffer.
//!
//! Parquet's dictionary pages decode to `Utf8View` values that all point into one
//! buffer holding the dictionary, shared by every batch of the column chunk: a
//! per-thread cache keeps what was found for such a buffer, so a popular URL is looked
//! at once per row group instead of once per click.

use crate::types::as_utf8;
use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, ByteView,
    StringArray, StringBuilder, StringViewArray, MAX_INLINE_VIEW_LEN,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use kql_value::ops::StrMatcher;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// Calls `f` with each value of a text column in order (null as "", the empty string
/// Kusto strings are; other Arrow types are cast to text first).
pub(crate) fn for_each_text(a: &ArrayRef, f: impl FnMut(&str)) -> Result<()> {
    fn each<'a>(a: impl ArrayAccessor<Item = &'a str>, mut f: impl FnMut(&'a str)) {
        for i in 0..a.len() {
            f(if a.is_null(i) { "" } else { a.value(i) });
        }
    }
    match a.data_type() {
        DataType::Utf8View => each(a.as_string_view(), f),
        _ => each(as_utf8(a)?.as_string::<i32>(), f),
    }
    Ok(())
}

/// The view of a value that lives in a data buffer (longer than the inline limit).
fn out_of_line(view: u128) -> Option<ByteView> {
    ((view as u32) > MAX_INLINE_VIEW_LEN).then(|| ByteView::from(view))
}

/// Values kept per Arrow buffer and key, per thread, most recently used first. Each
/// entry holds a clone of its buffer, so the memory cannot be freed and reused by
/// another buffer while the entry lives: pointer equality then means the same bytes.
struct BufferCache<T> {
    entries: Vec<(Buffer, String, T)>,
}

const CACHE_ENTRIES: usize = 16;

fn same_buffer(a: &Buffer, b: &Buffer) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

impl<T> BufferCache<T> {
    const fn new() -> Self {
        BufferCache {
            entries: Vec::new(),
        }
    }

    /// Takes the value kept for `buffer` under `key` out of the cache.
    fn take(&mut self, buffer: &Buffer, key: &str) -> Option<T> {
        let i = self
            .entries
            .iter()
            .position(|(b, k, _)| same_buffer(b, buffer) && k == key)?;
        Some(self.entries.remove(i).2)
    }

    /// Keeps `value` for `buffer` under `key`, first in line; the least recently used
    /// entries beyond [`CACHE_ENTRIES`] go.
    fn put(&mut self, buffer: &Buffer, key: &str, value: T) {
        self.entries
            .insert(0, (buffer.clone(), key.to_string(), value));
        self.entries.truncate(CACHE_ENTRIES);
    }
}

/// Needle positions in one buffer.
struct BufferMatches {
    starts: Vec<u32>,
    /// Bit `i` set when a start falls in bytes `64 * i .. 64 * (i + 1)`: most values hold
    /// no match, and this answers that without searching `starts`.
    blocks: Vec<u64>,
    /// Positions of the buffer's non-ASCII bytes (for case-insensitive matching only).
    non_ascii: Vec<u32>,
}

/// What the match cache knows of a buffer.
enum Known {
    /// Not searched yet: bytes of its values matched one by one so far.
    Used(usize),
    Found(Arc<BufferMatches>),
}

thread_local! {
    static MATCHES: RefCell<BufferCache<Known>> = const { RefCell::new(BufferCache::new()) };
}

/// `m` (negated when asked) over every value of a text column; null is the empty
/// string, as Kusto strings are never null.
pub(crate) fn match_text(a: &ArrayRef, m: &StrMatcher, negated: bool) -> Result<BooleanArray> {
    let out = match a.data_type() {
        DataType::Utf8View => match_views(a.as_string_view(), m),
        _ => match_offsets(as_utf8(a)?.as_string::<i32>(), m),
    };
    Ok(if negated {
        BooleanArray::new(!out.values(), None)
    } else {
        out
    })
}

fn finish(
    mut bits: BooleanBufferBuilder,
    nulls: Option<&NullBuffer>,
    m: &StrMatcher,
) -> BooleanArray {
    let values = bits.finish();
    let values = match nulls {
        // Null rows are "": their result is the matcher's answer for "".
        Some(n) if n.null_count() > 0 => {
            if m.matches("") {
                &values | &!n.inner()
            } else {
                &values & n.inner()
            }
        }
        _ => values,
    };
    BooleanArray::new(values, None)
}

impl BufferMatches {
    fn search(m: &StrMatcher, buf: &[u8]) -> Option<BufferMatches> {
        let starts = m.find_all(buf)?;
        let non_ascii = if m.positions_need_ascii() && !buf.is_ascii() {
            buf.iter()
                .enumerate()
                .filter(|(_, b)| !b.is_ascii())
                .map(|(i, _)| i as u32)
                .collect()
        } else {
            Vec::new()
        };
        let mut blocks = vec![0u64; buf.len() / (64 * 64) + 1];
        for &p in &starts {
            let block = p as usize / 64;
            blocks[block / 64] |= 1 << (block % 64);
        }
        Some(BufferMatches {
            starts,
            blocks,
            non_ascii,
        })
    }

    /// Whether a start may fall in `at..end` (`at < end`): some 64-byte block the range
    /// touches holds one.
    fn blocks_hit(&self, at: usize, end: usize) -> bool {
        (at / 64..=(end - 1) / 64).any(|b| {
            self.blocks
                .get(b / 64)
                .is_some_and(|w| w & (1 << (b % 64)) != 0)
        })
    }

    /// The matches of `buffer`, from the cache or searched now (and cached) when
    /// worth it: once the values that live in it (`used` bytes in this array, added
    /// up over the arrays that shared it so far) cover at least half of it. A large
    /// dictionary that each batch touches a little is then searched once per row
    /// group, after a few batches were matched value by value.
    fn of(m: &StrMatcher, buffer: &Buffer, used: usize) -> Option<Arc<BufferMatches>> {
        let (needle, case_sensitive) = m.search_key();
        let key = format!("{}:{needle}", if case_sensitive { "cs" } else { "ci" });
        MATCHES.with_borrow_mut(|cache| {
            let before = match cache.take(buffer, &key) {
                Some(Known::Found(found)) => {
                    cache.put(buffer, &key, Known::Found(found.clone()));
                    return Some(found);
                }
                Some(Known::Used(before)) => before,
                None => 0,
            };
            let used = before.saturating_add(used);
            if used.saturating_mul(2) < buffer.len() {
                cache.put(buffer, &key, Known::Used(used));
                return None;
            }
            let found = Arc::new(BufferMatches::search(m, buffer.as_slice())?);
            cache.put(buffer, &key, Known::Found(found.clone()));
            Some(found)
        })
    }
}

/// Whether the value at `at..at + len` of the buffer matches, given the buffer's needle
/// starts (ascending); `row` yields its text when it must be looked at.
fn row_matches<'a>(
    m: &StrMatcher,
    at: usize,
    len: usize,
    found: &BufferMatches,
    row: impl FnOnce() -> &'a str,
) -> bool {
    if len == 0 {
        return m.matches("");
    }
    let end = at + len;
    let within = |v: &[u32]| {
        let i = v.partition_point(|&p| (p as usize) < at);
        (i, v.get(i).is_some_and(|&p| (p as usize) < end))
    };
    // Case-insensitive positions hold for ASCII values only; others fold.
    if m.positions_need_ascii() && !found.non_ascii.is_empty() && within(&found.non_ascii).1 {
        return m.matches(row());
    }
    let (first, any) = if found.blocks_hit(at, end) {
        within(&found.starts)
    } else {
        (0, false)
    };
    if !any {
        // `find_all` only serves non-empty needles that must occur in the value.
        return false;
    }
    let starts = found.starts[first..]
        .iter()
        .map(|&p| p as usize)
        .take_while(|&p| p < end)
        .map(|p| p - at);
    m.matches_at(row(), starts)
}

fn match_offsets(a: &StringArray, m: &StrMatcher) -> BooleanArray {
    let mut bits = BooleanBufferBuilder::new(a.len());
    let offsets = a.value_offsets();
    let (lo, hi) = (offsets[0] as usize, offsets[a.len()] as usize);
    let values = a.values();
    match values.get(lo..hi).and_then(|b| BufferMatches::search(m, b)) {
        Some(found) => {
            for i in 0..a.len() {
                let at = offsets[i] as usize - lo;
                let len = offsets[i + 1] as usize - offsets[i] as usize;
                bits.append(row_matches(m, at, len, &found, || a.value(i)));
            }
        }
        None => {
            for i in 0..a.len() {
                bits.append(m.matches(a.value(i)));
            }
        }
    }
    finish(bits, a.nulls(), m)
}

fn match_views(a: &StringViewArray, m: &StrMatcher) -> BooleanArray {
    let buffers = a.data_buffers();
    // Bytes of this array's values per buffer: a buffer mostly unused here (a few
    // rows left by a filter) is not worth searching whole.
    let mut used = vec![0usize; buffers.len()];
    for v in a.views().iter().filter_map(|&v| out_of_line(v)) {
        if let Some(u) = used.get_mut(v.buffer_index as usize) {
            *u += v.length as usize;
        }
    }
    let found: Vec<Option<Arc<BufferMatches>>> = buffers
        .iter()
        .zip(&used)
        .map(|(b, &u)| (u > 0).then(|| BufferMatches::of(m, b, u)).flatten())
        .collect();
    let mut bits = BooleanBufferBuilder::new(a.len());
    let mut inline = InlineMemo::default();
    for (i, &v) in a.views().iter().enumerate() {
        let hit = match out_of_line(v) {
            Some(ov) => match found.get(ov.buffer_index as usize).and_then(Option::as_ref) {
                Some(f) => row_matches(m, ov.offset as usize, ov.length as usize, f, || a.value(i)),
                None => m.matches(a.value(i)),
            },
            // Short values live in the view itself: the view is the value.
            None => inline.get_or(v, || m.matches(a.value(i))),
        };
        bits.append(hit);
    }
    finish(bits, a.nulls(), m)
}

/// Answers for short (inline) values, keyed by their whole view: the few short values
/// of a column like ThreatTypes or ActionType are matched once per batch, not per row.
/// Direct-mapped: a value whose slot another value took is matched again.
struct InlineMemo {
    slots: [Option<(u128, bool)>; 64],
}

impl Default for InlineMemo {
    fn default() -> Self {
        InlineMemo { slots: [None; 64] }
    }
}

impl InlineMemo {
    fn get_or(&mut self, view: u128, f: impl FnOnce() -> bool) -> bool {
        let h = ((view as u64) ^ ((view >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = &mut self.slots[(h >> 58) as usize];
        match *slot {
            Some((v, hit)) if v == view => hit,
            _ => {
                let hit = f();
                *slot = Some((view, hit));
                hit
            }
        }
    }
}

/// A text function's results per value of one buffer: (offset, length) of the value →
/// where its result lies inside the value, or `None` when it must be computed each time.
type SliceMemo = HashMap<u64, Option<(u32, u32)>>;

thread_local! {
    static SLICES: RefCell<BufferCache<SliceMemo>> = const { RefCell::new(BufferCache::new()) };
}

/// `f` over every value of a text column, where `f` returns a piece of its input
/// (`tostring(parse_url(x).Host)`): over `Utf8View` values in a shared buffer (Parquet
/// dictionary pages) each distinct value is computed once per thread and buffer, and
/// remembered under `function` (which must name `f` with its arguments). Null is "".
pub(crate) fn map_text_slices(
    a: &ArrayRef,
    function: &str,
    f: impl Fn(&str) -> Option<&str>,
) -> Result<StringArray> {
    let mut out = StringBuilder::with_capacity(a.len(), 0);
    let DataType::Utf8View = a.data_type() else {
        for_each_text(a, |s| out.append_value(f(s).unwrap_or("")))?;
        return Ok(out.finish());
    };
    let a = a.as_string_view();
    let buffers = a.data_buffers();
    SLICES.with_borrow_mut(|cache| {
        // This array's distinct buffers with their memos (taken out of the cache while
        // in use), and which of them each buffer index is.
        let mut memos: Vec<(&Buffer, SliceMemo)> = Vec::new();
        let slot: Vec<usize> = buffers
            .iter()
            .map(
                |b| match memos.iter().position(|(m, _)| same_buffer(m, b)) {
                    Some(i) => i,
                    None => {
                        memos.push((b, cache.take(b, function).unwrap_or_default()));
                        memos.len() - 1
                    }
                },
            )
            .collect();
        for (i, &v) in a.views().iter().enumerate() {
            let value = if a.is_null(i) { "" } else { a.value(i) };
            let memo = out_of_line(v).filter(|_| !a.is_null(i)).and_then(|v| {
                let (_, memo) = memos.get_mut(*slot.get(v.buffer_index as usize)?)?;
                Some((u64::from(v.offset) << 32 | u64::from(v.length), memo))
            });
            let Some((key, memo)) = memo else {
                out.append_value(f(value).unwrap_or(""));
                continue;
            };
            let piece = *memo.entry(key).or_insert_with(|| {
                f(value).and_then(|p| {
                    let start = (p.as_ptr() as usize).checked_sub(value.as_ptr() as usize)?;
                    (start + p.len() <= value.len()).then_some((start as u32, p.len() as u32))
                })
            });
            match piece {
                Some((start, n)) => out.append_value(&value[start as usize..(start + n) as usize]),
                // Not a piece of the value (or empty): computed each time.
                None => out.append_value(f(value).unwrap_or("")),
            }
        }
        for (b, memo) in memos {
            cache.put(b, function, memo);
        }
    });
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewBuilder;
    use kql_value::ops::StrKind;
    use proptest::prelude::*;

    fn expected(rows: &[Option<String>], m: &StrMatcher, negated: bool) -> Vec<bool> {
        rows.iter()
            .map(|r| m.matches(r.as_deref().unwrap_or("")) != negated)
            .collect()
    }

    fn check(rows: &[Option<String>], needle: &str) {
        let utf8: ArrayRef = Arc::new(StringArray::from(rows.to_vec()));
        // Views over one shared buffer, as Parquet dictionary pages decode to, and
        // the same rows sliced (offsets not starting at 0).
        let mut vb = StringViewBuilder::new().with_fixed_block_size(1 << 20);
        for r in rows {
            vb.append_option(r.as_deref());
        }
        let views: ArrayRef = Arc::new(vb.finish());
        for kind in StrKind::ALL {
            for cs in [false, true] {
                let m = StrMatcher::new(kind, needle, cs);
                for negated in [false, true] {
                    let want = expected(rows, &m, negated);
                    for a in [&utf8, &views] {
                        // Twice: the second time from the cache.
                        for _ in 0..2 {
                            let got = match_text(a, &m, negated).unwrap();
                            assert_eq!(got.null_count(), 0);
                            let got: Vec<bool> = got.iter().map(|b| b.unwrap()).collect();
                            assert_eq!(
                                got, want,
                                "{kind:?} cs={cs} negated={negated} {needle:?} {rows:?}"
                            );
                        }
                    }
                    if rows.len() > 2 {
                        let sliced = utf8.slice(1, rows.len() - 2);
                        let got = match_text(&sliced, &m, negated).unwrap();
                        let got: Vec<bool> = got.iter().map(|b| b.unwrap()).collect();
                        assert_eq!(got, want[1..rows.len() - 1]);
                    }
                }
            }
        }
    }

    #[test]
    fn agrees_with_matching_each_value() {
        let rows: Vec<Option<String>> = [
            Some("https://contoso.com/login?next=/LOGIN"),
            None,
            Some(""),
            Some("login"),
            Some("xlogin"),
            Some("https://payroll.example.com/PayRoll/update-details"),
            Some("logi"),
            Some("n-login-"),
            Some("Straße login İstanbul KELVIN \u{212A}elvin"),
            Some("aaaaaaaaaaaaaaaaaaaa"),
        ]
        .iter()
        .map(|s| s.map(String::from))
        .collect();
        for needle in [
            "login", "LOGIN", "payroll", "aa", "a", "", "in", "kelvin", "ß", "-",
        ] {
            check(&rows, needle);
        }
    }

    #[test]
    fn a_buffer_each_batch_touches_a_little_is_searched_once_enough_was_used() {
        // 300 values in one buffer; batches of 10 use a thirtieth of it each, so the
        // first batches match value by value and the later ones use the search.
        let rows: Vec<Option<String>> = (0..300)
            .map(|i| {
                Some(format!(
                    "https://site{i}.example/path/{}",
                    ["login", "payroll", "x"][i % 3]
                ))
            })
            .collect();
        let mut vb = StringViewBuilder::new().with_fixed_block_size(1 << 20);
        for r in &rows {
            vb.append_option(r.as_deref());
        }
        let views: ArrayRef = Arc::new(vb.finish());
        for needle in ["payroll", "LOGIN", "site1"] {
            let m = StrMatcher::new(StrKind::Contains, needle, false);
            let before = MATCHES.with_borrow(|c| c.entries.len());
            for start in (0..rows.len()).step_by(10) {
                let got = match_text(&views.slice(start, 10), &m, false).unwrap();
                let got: Vec<bool> = got.iter().map(|b| b.unwrap()).collect();
                assert_eq!(
                    got,
                    expected(&rows[start..start + 10], &m, false),
                    "{needle}"
                );
            }
            let (key, _) = m.search_key();
            let searched = MATCHES.with_borrow(|c| {
                c.entries
                    .iter()
                    .any(|(_, k, v)| k.ends_with(&key) && matches!(v, Known::Found(_)))
            });
            assert!(
                searched,
                "{needle}: the shared buffer was never searched ({before} entries before)"
            );
        }
    }

    /// A host-like piece: the text between "//" and the next "/", if any.
    fn host(s: &str) -> Option<&str> {
        let rest = s.split_once("//")?.1;
        Some(rest.split('/').next().unwrap_or(rest))
    }

    fn check_slices(rows: &[Option<String>]) {
        let want: Vec<String> = rows
            .iter()
            .map(|r| host(r.as_deref().unwrap_or("")).unwrap_or("").to_string())
            .collect();
        let utf8: ArrayRef = Arc::new(StringArray::from(rows.to_vec()));
        let mut vb = StringViewBuilder::new().with_fixed_block_size(1 << 20);
        for r in rows {
            vb.append_option(r.as_deref());
        }
        let views: ArrayRef = Arc::new(vb.finish());
        for a in [&utf8, &views] {
            // Twice: the second time from the memo.
            for _ in 0..2 {
                let got = map_text_slices(a, "test-host", host).unwrap();
                assert_eq!(got.null_count(), 0);
                let got: Vec<String> = got.iter().map(|v| v.unwrap().to_string()).collect();
                assert_eq!(got, want, "{rows:?}");
            }
        }
        // A different function over the same buffer is not served from this memo.
        let got = map_text_slices(&views, "test-first-char", |s| s.get(..1)).unwrap();
        for (g, r) in got.iter().zip(rows) {
            assert_eq!(
                g.unwrap(),
                r.as_deref().unwrap_or("").get(..1).unwrap_or("")
            );
        }
    }

    #[test]
    fn text_slices_agree_with_each_value() {
        let rows: Vec<Option<String>> = [
            Some("https://contoso.com/login"),
            Some("https://contoso.com/login"),
            None,
            Some(""),
            Some("no slashes at all, long enough"),
            Some("https://short"),
            Some("https://payroll.example.com/a"),
            Some("https://contoso.com/login"),
        ]
        .iter()
        .map(|s| s.map(String::from))
        .collect();
        check_slices(&rows);
    }

    proptest! {
        #[test]
        fn agrees_on_random_text(
            rows in proptest::collection::vec(proptest::option::of("[aAbB1 .\u{e9}\u{212A}kK-]{0,20}"), 0..24),
            needle in "[aAbB1 .kK-]{0,3}",
        ) {
            check(&rows, &needle);
        }

        #[test]
        fn text_slices_agree_on_random_text(
            rows in proptest::collection::vec(proptest::option::of("[a/\u{e9}.]{0,24}"), 0..24),
        ) {
            check_slices(&rows);
        }
    }
}
