//! Conversions and type tests: `tostring`, `toint`, ..., `isnull`, `isempty`, `gettype`.

use super::{returns, EvalContext, ScalarFunction};
use crate::value::{KqlType, Value};

fn to(ty: KqlType, args: &[Value]) -> Value {
    args[0].convert(ty)
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "tostring",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(String),
        eval: |a, _: &EvalContext| to(KqlType::String, a),
        volatile: false,
        doc: "Converts the input to its string representation.",
    },
    ScalarFunction {
        name: "tolong",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Long),
        eval: |a, _| to(KqlType::Long, a),
        volatile: false,
        doc: "Converts the input to a long; null when it cannot.",
    },
    ScalarFunction {
        name: "isempty",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| {
            Value::Bool(match &a[0] {
                Value::Null => true,
                v => v.is_null() || v.as_str_cow().is_empty(),
            })
        },
        volatile: false,
        doc: "True if the argument is an empty string or null.",
    },
];
