//! Compiled regexes, cached per thread: KQL regex arguments are usually constants but
//! the row-wise evaluator sees them once per row.

use regex::Regex;
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// Runs `f` with the compiled `pattern`; None if it does not compile.
pub fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> Option<T> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 256 {
            c.clear();
        }
        let re = c
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok());
        re.as_ref().map(f)
    })
}
