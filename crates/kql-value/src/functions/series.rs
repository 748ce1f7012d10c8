//! series functions.

use super::ScalarFunction;

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[];
