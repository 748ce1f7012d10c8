//! The scalar function registry: every KQL scalar function implemented over [`Value`]s
//! is declared once here (name, arity, return type, implementation, one-line doc).
//!
//! The engine looks functions up by name, checks arity, asks for the return type from
//! the argument types, and evaluates row by row (or once, for constant arguments).
//! Functions the engine plans itself (aggregates, window functions such as `prev`,
//! `toscalar`, `materialize`, `column_ifexists`, `pack_all`) are not here.

use crate::value::{KqlType, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

mod conversion;
mod datetime;
mod dynamic;
mod encoding;
mod math;
mod network;
pub use network::{url_part, URL_STRING_PARTS};
mod series;
pub mod sketches;
mod strings;

/// What a function may need beyond its arguments.
#[derive(Clone, Debug, Default)]
pub struct EvalContext {
    /// `now()` for this query, nanoseconds since the epoch (fixed once per query).
    pub now: i64,
}

/// Computes the result type from the argument types, or says why they are wrong.
pub type ReturnTypeFn = fn(&[KqlType]) -> Result<KqlType, String>;
/// Evaluates one call. Arguments arrive with their own types (an `int` column gives
/// `Value::Int`); a null argument is `Value::Null`. Must not panic on any input.
pub type EvalFn = fn(&[Value], &EvalContext) -> Value;

pub struct ScalarFunction {
    pub name: &'static str,
    /// Other names for the same function (`iif` for `iff`, `todouble` for `toreal`).
    pub aliases: &'static [&'static str],
    pub min_args: usize,
    /// `usize::MAX` for variadic functions.
    pub max_args: usize,
    pub return_type: ReturnTypeFn,
    pub eval: EvalFn,
    /// True for functions whose result changes between calls with the same arguments
    /// (`rand`, `new_guid`): the engine must not constant-fold them.
    pub volatile: bool,
    pub doc: &'static str,
}

impl std::fmt::Debug for ScalarFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScalarFunction")
            .field("name", &self.name)
            .finish()
    }
}

fn modules() -> impl Iterator<Item = &'static ScalarFunction> {
    [
        conversion::FUNCTIONS,
        datetime::FUNCTIONS,
        dynamic::FUNCTIONS,
        encoding::FUNCTIONS,
        math::FUNCTIONS,
        network::FUNCTIONS,
        series::FUNCTIONS,
        sketches::FUNCTIONS,
        strings::FUNCTIONS,
    ]
    .into_iter()
    .flat_map(|m| m.iter())
}

fn registry() -> &'static HashMap<&'static str, &'static ScalarFunction> {
    static REGISTRY: OnceLock<HashMap<&'static str, &'static ScalarFunction>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut map = HashMap::new();
        for f in modules() {
            map.insert(f.name, f);
            for a in f.aliases {
                map.insert(*a, f);
            }
        }
        map
    })
}

/// The function called `name` (Kusto function names are case-sensitive).
pub fn lookup(name: &str) -> Option<&'static ScalarFunction> {
    registry().get(name).copied()
}

/// Every registered name (with aliases), for "did you mean" suggestions and completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    registry().keys().copied()
}

// ---- helpers for declaring functions -------------------------------------------------

/// A return-type function that always gives `T`.
macro_rules! returns {
    ($t:ident) => {{
        fn f(_: &[$crate::value::KqlType]) -> Result<$crate::value::KqlType, String> {
            Ok($crate::value::KqlType::$t)
        }
        f as $crate::functions::ReturnTypeFn
    }};
}
pub(crate) use returns;

/// The type of the first argument (`abs`, `bin`, `min_of`...).
pub(crate) fn same_as_first(args: &[KqlType]) -> Result<KqlType, String> {
    Ok(args.first().copied().unwrap_or(KqlType::Dynamic))
}

/// The common type of several arguments: all equal → that type; mixed numerics → the
/// widest (int < long < real); otherwise dynamic.
pub(crate) fn common_type(args: &[KqlType]) -> KqlType {
    let mut it = args.iter().copied();
    let Some(mut t) = it.next() else {
        return KqlType::Dynamic;
    };
    for u in it {
        if u == t {
            continue;
        }
        t = match (t, u) {
            (a, b) if a.is_numeric() && b.is_numeric() => a.max(b),
            _ => return KqlType::Dynamic,
        };
    }
    t
}
