//! String functions: `strlen`, `tolower`, `toupper`, `substring`, `strcat`, ...

use super::{returns, ScalarFunction};
use crate::value::Value;

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[ScalarFunction {
    name: "strlen",
    aliases: &[],
    min_args: 1,
    max_args: 1,
    return_type: returns!(Long),
    eval: |a, _| match &a[0] {
        Value::Null => Value::Null,
        v => Value::Long(v.as_str_cow().chars().count() as i64),
    },
    volatile: false,
    doc: "Number of Unicode characters in the string.",
}];
