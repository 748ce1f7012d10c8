//! Math functions: `abs`, `round`, `pow`, `log`, trigonometry, `gamma`, `erf`, the beta
//! distribution, `rand`, `around` and the `convert_*` unit conversions.

use super::conversion::{int_arg, num_arg, text};
use super::{returns, same_as_first, EvalContext, ScalarFunction};
use crate::value::{KqlType, Value};
use std::cell::Cell;

#[path = "math_special.rs"]
mod special;
#[path = "math_units.rs"]
mod units;

// ---- randomness ----------------------------------------------------------------------

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(now);
    h.write_u64(&h as *const _ as u64);
    h.finish() | 1
}

/// A pseudo-random u64 (SplitMix64 over a per-thread randomly seeded state).
pub(super) fn random_u64() -> u64 {
    RNG.with(|s| {
        let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(x);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

fn rand_unit() -> f64 {
    (random_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

// ---- helpers -------------------------------------------------------------------------

fn real1(args: &[Value], f: fn(f64) -> f64) -> Value {
    num_arg(&args[0])
        .map(|x| Value::Real(f(x)))
        .unwrap_or(Value::Null)
}

/// Like `real1` but null where the function is undefined (`log(-1)`, `sqrt(-1)`).
fn real1_domain(args: &[Value], ok: fn(f64) -> bool, f: fn(f64) -> f64) -> Value {
    match num_arg(&args[0]) {
        Some(x) if x.is_nan() || ok(x) => Value::Real(f(x)),
        _ => Value::Null,
    }
}

fn real2(args: &[Value], f: fn(f64, f64) -> f64) -> Value {
    match (num_arg(&args[0]), num_arg(&args[1])) {
        (Some(a), Some(b)) => Value::Real(f(a, b)),
        _ => Value::Null,
    }
}

fn real3(args: &[Value], f: fn(f64, f64, f64) -> f64) -> Value {
    match (num_arg(&args[0]), num_arg(&args[1]), num_arg(&args[2])) {
        (Some(a), Some(b), Some(c)) => Value::Real(f(a, b, c)),
        _ => Value::Null,
    }
}

fn abs(v: &Value) -> Value {
    match v {
        Value::Int(i) => Value::Long((*i as i64).abs()),
        Value::Long(i) => i.checked_abs().map(Value::Long).unwrap_or(Value::Null),
        Value::Real(f) => Value::Real(f.abs()),
        Value::Decimal(f) => Value::Decimal(f.abs()),
        Value::TimeSpan(t) => t.checked_abs().map(Value::TimeSpan).unwrap_or(Value::Null),
        other => num_arg(other)
            .map(|f| Value::Real(f.abs()))
            .unwrap_or(Value::Null),
    }
}

fn abs_type(args: &[KqlType]) -> Result<KqlType, String> {
    Ok(match args.first() {
        Some(KqlType::Int | KqlType::Long) => KqlType::Long,
        Some(KqlType::Decimal) => KqlType::Decimal,
        Some(KqlType::TimeSpan) => KqlType::TimeSpan,
        _ => KqlType::Real,
    })
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x.is_nan() {
        f64::NAN
    } else {
        0.0
    }
}

/// Rounds half away from zero to `digits` decimal digits (negative: tens, hundreds...).
fn round_real(x: f64, digits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let d = digits.clamp(-308, 308) as i32;
    if d >= 0 {
        let p = 10f64.powi(d);
        let scaled = x * p;
        if !scaled.is_finite() {
            return x;
        }
        scaled.round() / p
    } else {
        let p = 10f64.powi(-d);
        (x / p).round() * p
    }
}

fn round_int(x: i64, digits: i64) -> Option<i64> {
    if digits >= 0 {
        return Some(x);
    }
    if digits < -18 {
        return Some(0);
    }
    let p = 10i64.pow((-digits) as u32);
    let q = x / p;
    let r = x % p;
    let q = if r.abs() * 2 >= p { q + r.signum() } else { q };
    q.checked_mul(p)
}

fn round(args: &[Value]) -> Value {
    let Some(digits) = args.get(1).map_or(Some(0), int_arg) else {
        return Value::Null;
    };
    match &args[0] {
        Value::Int(i) => round_int(*i as i64, digits)
            .and_then(|v| i32::try_from(v).ok())
            .map(Value::Int)
            .unwrap_or(Value::Null),
        Value::Long(i) => round_int(*i, digits)
            .map(Value::Long)
            .unwrap_or(Value::Null),
        Value::Decimal(f) => Value::Decimal(round_real(*f, digits)),
        other => num_arg(other)
            .map(|f| Value::Real(round_real(f, digits)))
            .unwrap_or(Value::Null),
    }
}

fn float_test(args: &[Value], f: fn(f64) -> bool) -> Value {
    match &args[0] {
        Value::Null => Value::Null,
        v => num_arg(v).map(|x| Value::Bool(f(x))).unwrap_or(Value::Null),
    }
}

fn around(args: &[Value]) -> Value {
    match (&args[0], &args[1], &args[2]) {
        (Value::DateTime(v), Value::DateTime(c), Value::TimeSpan(d))
        | (Value::TimeSpan(v), Value::TimeSpan(c), Value::TimeSpan(d)) => {
            let (v, c, d) = (*v as i128, *c as i128, *d as i128);
            Value::Bool(v >= c - d && v <= c + d)
        }
        (a, b, c) => match (num_arg(a), num_arg(b), num_arg(c)) {
            (Some(v), Some(c), Some(d)) => Value::Bool(v >= c - d && v <= c + d),
            _ => Value::Null,
        },
    }
}

fn rand(args: &[Value]) -> Value {
    match args.first() {
        None => Value::Real(rand_unit()),
        Some(n) => match int_arg(n) {
            Some(n) if n > 0 => Value::Real((rand_unit() * n as f64).floor().min((n - 1) as f64)),
            _ => Value::Null,
        },
    }
}

fn convert(args: &[Value], f: fn(f64, &str, &str) -> Option<f64>) -> Value {
    let Some(v) = num_arg(&args[0]) else {
        return Value::Null;
    };
    f(v, &text(&args[1]), &text(&args[2]))
        .map(Value::Real)
        .unwrap_or(Value::Null)
}

macro_rules! real_fn {
    ($name:expr, $f:expr, $doc:expr) => {
        ScalarFunction {
            name: $name,
            aliases: &[],
            min_args: 1,
            max_args: 1,
            return_type: returns!(Real),
            eval: |a, _| real1(a, $f),
            volatile: false,
            doc: $doc,
        }
    };
}

macro_rules! convert_fn {
    ($name:expr, $f:expr, $doc:expr) => {
        ScalarFunction {
            name: $name,
            aliases: &[],
            min_args: 3,
            max_args: 3,
            return_type: returns!(Real),
            eval: |a, _| convert(a, $f),
            volatile: false,
            doc: $doc,
        }
    };
}

pub(crate) const FUNCTIONS: &[ScalarFunction] = &[
    ScalarFunction {
        name: "abs",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: abs_type,
        eval: |a, _: &EvalContext| abs(&a[0]),
        volatile: false,
        doc: "Absolute value (long for integers, timespan for timespans).",
    },
    ScalarFunction {
        name: "sign",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1(a, sign),
        volatile: false,
        doc: "-1, 0 or +1 as a real.",
    },
    ScalarFunction {
        name: "ceiling",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1(a, f64::ceil),
        volatile: false,
        doc: "The smallest integer (as a real) not less than the argument.",
    },
    ScalarFunction {
        name: "round",
        aliases: &[],
        min_args: 1,
        max_args: 2,
        return_type: same_as_first,
        eval: |a, _| round(a),
        volatile: false,
        doc: "round(number[, precision]): rounds half away from zero to `precision` digits.",
    },
    ScalarFunction {
        name: "sqrt",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| x >= 0.0, f64::sqrt),
        volatile: false,
        doc: "Square root; null for negative numbers.",
    },
    ScalarFunction {
        name: "pow",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Real),
        eval: |a, _| real2(a, f64::powf),
        volatile: false,
        doc: "pow(base, exponent).",
    },
    real_fn!("exp", f64::exp, "e raised to the argument."),
    real_fn!("exp2", f64::exp2, "2 raised to the argument."),
    real_fn!("exp10", |x| 10f64.powf(x), "10 raised to the argument."),
    ScalarFunction {
        name: "log",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| x >= 0.0, f64::ln),
        volatile: false,
        doc: "Natural logarithm; null for negative numbers.",
    },
    ScalarFunction {
        name: "log2",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| x >= 0.0, f64::log2),
        volatile: false,
        doc: "Base-2 logarithm; null for negative numbers.",
    },
    ScalarFunction {
        name: "log10",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| x >= 0.0, f64::log10),
        volatile: false,
        doc: "Base-10 logarithm; null for negative numbers.",
    },
    real_fn!("sin", f64::sin, "Sine of an angle in radians."),
    real_fn!("cos", f64::cos, "Cosine of an angle in radians."),
    real_fn!("tan", f64::tan, "Tangent of an angle in radians."),
    real_fn!(
        "cot",
        |x| 1.0 / x.tan(),
        "Cotangent of an angle in radians."
    ),
    ScalarFunction {
        name: "asin",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| (-1.0..=1.0).contains(&x), f64::asin),
        volatile: false,
        doc: "Arc sine; null outside [-1, 1].",
    },
    ScalarFunction {
        name: "acos",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| real1_domain(a, |x| (-1.0..=1.0).contains(&x), f64::acos),
        volatile: false,
        doc: "Arc cosine; null outside [-1, 1].",
    },
    real_fn!("atan", f64::atan, "Arc tangent."),
    ScalarFunction {
        name: "atan2",
        aliases: &[],
        min_args: 2,
        max_args: 2,
        return_type: returns!(Real),
        eval: |a, _| real2(a, f64::atan2),
        volatile: false,
        doc: "atan2(y, x): the angle in radians between the x axis and (x, y).",
    },
    real_fn!("degrees", f64::to_degrees, "Radians to degrees."),
    real_fn!("radians", f64::to_radians, "Degrees to radians."),
    ScalarFunction {
        name: "pi",
        aliases: &[],
        min_args: 0,
        max_args: 0,
        return_type: returns!(Real),
        eval: |_, _| Value::Real(std::f64::consts::PI),
        volatile: false,
        doc: "The constant π.",
    },
    ScalarFunction {
        name: "isnan",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| float_test(a, f64::is_nan),
        volatile: false,
        doc: "True if the argument is NaN.",
    },
    ScalarFunction {
        name: "isinf",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| float_test(a, f64::is_infinite),
        volatile: false,
        doc: "True if the argument is positive or negative infinity.",
    },
    ScalarFunction {
        name: "isfinite",
        aliases: &[],
        min_args: 1,
        max_args: 1,
        return_type: returns!(Bool),
        eval: |a, _| float_test(a, f64::is_finite),
        volatile: false,
        doc: "True if the argument is neither infinite nor NaN.",
    },
    real_fn!("gamma", special::gamma, "The gamma function."),
    real_fn!(
        "loggamma",
        special::lgamma,
        "Natural logarithm of |gamma(x)|."
    ),
    real_fn!("erf", special::erf, "The error function."),
    real_fn!("erfc", special::erfc, "The complementary error function."),
    ScalarFunction {
        name: "beta_cdf",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Real),
        eval: |a, _| real3(a, special::beta_cdf),
        volatile: false,
        doc: "beta_cdf(x, alpha, beta): the beta cumulative distribution function.",
    },
    ScalarFunction {
        name: "beta_pdf",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Real),
        eval: |a, _| real3(a, special::beta_pdf),
        volatile: false,
        doc: "beta_pdf(x, alpha, beta): the beta probability density function.",
    },
    ScalarFunction {
        name: "beta_inv",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Real),
        eval: |a, _| match (num_arg(&a[0]), num_arg(&a[1]), num_arg(&a[2])) {
            (Some(p), Some(x), Some(y)) => special::beta_inv(p, x, y)
                .map(Value::Real)
                .unwrap_or(Value::Null),
            _ => Value::Null,
        },
        volatile: false,
        doc: "beta_inv(probability, alpha, beta): inverse of beta_cdf; null outside [0, 1].",
    },
    ScalarFunction {
        name: "around",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Bool),
        eval: |a, _| around(a),
        volatile: false,
        doc: "around(value, center, delta): true if value is within center ± delta.",
    },
    ScalarFunction {
        name: "rand",
        aliases: &[],
        min_args: 0,
        max_args: 1,
        return_type: returns!(Real),
        eval: |a, _| rand(a),
        volatile: true,
        doc: "rand(): uniform in [0, 1); rand(N): one of 0.0, 1.0, ..., N-1.",
    },
    ScalarFunction {
        name: "convert_angle",
        aliases: &[],
        min_args: 3,
        max_args: 3,
        return_type: returns!(Real),
        eval: |a, _| convert(a, units::convert_angle),
        volatile: false,
        doc: "convert_angle(value, from, to), e.g. 'Degree' to 'Radian'.",
    },
    convert_fn!(
        "convert_energy",
        |v, f, t| units::convert_linear(units::ENERGY, v, f, t),
        "convert_energy(value, from, to), e.g. 'Joule' to 'KilowattHour'."
    ),
    convert_fn!(
        "convert_force",
        |v, f, t| units::convert_linear(units::FORCE, v, f, t),
        "convert_force(value, from, to), e.g. 'Newton' to 'PoundForce'."
    ),
    convert_fn!(
        "convert_length",
        |v, f, t| units::convert_linear(units::LENGTH, v, f, t),
        "convert_length(value, from, to), e.g. 'Meter' to 'Foot'."
    ),
    convert_fn!(
        "convert_mass",
        |v, f, t| units::convert_linear(units::MASS, v, f, t),
        "convert_mass(value, from, to), e.g. 'Kilogram' to 'Pound'."
    ),
    convert_fn!(
        "convert_speed",
        |v, f, t| units::convert_linear(units::SPEED, v, f, t),
        "convert_speed(value, from, to), e.g. 'MeterPerSecond' to 'Knot'."
    ),
    convert_fn!(
        "convert_temperature",
        units::convert_temperature,
        "convert_temperature(value, from, to), e.g. 'Kelvin' to 'DegreeCelsius'."
    ),
    convert_fn!(
        "convert_volume",
        |v, f, t| units::convert_linear(units::VOLUME, v, f, t),
        "convert_volume(value, from, to), e.g. 'CubicMeter' to 'Liter'."
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::lookup;

    fn eval(name: &str, args: &[Value]) -> Value {
        let f = lookup(name).unwrap_or_else(|| panic!("{name} not registered"));
        (f.eval)(args, &EvalContext::default())
    }

    fn real(v: Value) -> f64 {
        match v {
            Value::Real(f) => f,
            other => panic!("expected a real, got {other:?}"),
        }
    }

    fn approx(v: Value, want: f64) {
        let got = real(v);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
            "got {got}, want {want}"
        );
    }

    fn r(x: f64) -> Value {
        Value::Real(x)
    }

    fn l(x: i64) -> Value {
        Value::Long(x)
    }

    #[test]
    fn basic_arithmetic() {
        assert_eq!(eval("abs", &[l(-5)]), l(5));
        assert_eq!(eval("abs", &[Value::Int(-5)]), l(5));
        assert_eq!(eval("abs", &[r(-2.5)]), r(2.5));
        assert_eq!(eval("abs", &[l(i64::MIN)]), Value::Null);
        assert_eq!(abs_type(&[KqlType::Long]), Ok(KqlType::Long));
        assert_eq!(eval("sign", &[l(-42)]), r(-1.0));
        assert_eq!(eval("sign", &[l(0)]), r(0.0));
        assert_eq!(eval("sign", &[r(11.2)]), r(1.0));
        assert_eq!(eval("ceiling", &[r(-1.1)]), r(-1.0));
        assert_eq!(eval("ceiling", &[l(0)]), r(0.0));
        assert_eq!(eval("ceiling", &[r(0.9)]), r(1.0));
        assert_eq!(eval("pow", &[l(2), l(3)]), r(8.0));
        assert_eq!(eval("pow", &[r(10.0), r(-1.0)]), r(0.1));
        assert_eq!(eval("pow", &[Value::Null, r(3.0)]), Value::Null);
        assert_eq!(eval("exp2", &[l(3)]), r(8.0));
        assert_eq!(eval("exp10", &[l(2)]), r(100.0));
        approx(eval("exp", &[l(2)]), 7.38905609893065);
    }

    #[test]
    fn rounding() {
        assert_eq!(eval("round", &[r(2.98765), l(3)]), r(2.988));
        assert_eq!(eval("round", &[r(2.15), l(1)]), r(2.2));
        assert_eq!(eval("round", &[r(2.15)]), r(2.0));
        assert_eq!(eval("round", &[r(-50.55), l(-2)]), r(-100.0));
        assert_eq!(eval("round", &[r(21.5), l(-1)]), r(20.0));
        assert_eq!(eval("round", &[l(1234), l(-2)]), l(1200));
        assert_eq!(eval("round", &[l(-1250), l(-2)]), l(-1300));
        assert_eq!(eval("round", &[r(2.5)]), r(3.0));
    }

    #[test]
    fn logs_and_trig() {
        approx(eval("log", &[l(5)]), 1.6094379124341003);
        approx(eval("log10", &[l(5)]), 0.6989700043360189);
        approx(eval("log2", &[l(5)]), 2.321928094887362);
        assert_eq!(eval("log", &[l(-1)]), Value::Null);
        assert_eq!(eval("sqrt", &[l(-1)]), Value::Null);
        assert_eq!(eval("sqrt", &[l(4)]), r(2.0));
        approx(eval("cos", &[l(1)]), 0.5403023058681398);
        approx(eval("sin", &[l(1)]), 0.8414709848078965);
        approx(eval("cot", &[l(1)]), 0.6420926159343306);
        approx(eval("atan2", &[l(1), l(1)]), std::f64::consts::FRAC_PI_4);
        approx(eval("atan2", &[l(0), l(-1)]), std::f64::consts::PI);
        approx(eval("atan2", &[l(-1), l(0)]), -std::f64::consts::FRAC_PI_2);
        let pi = eval("pi", &[]);
        approx(eval("degrees", &[r(real(pi.clone()) / 4.0)]), 45.0);
        approx(eval("degrees", &[r(real(pi) * 1.5)]), 270.0);
        assert_eq!(eval("degrees", &[l(0)]), r(0.0));
        approx(eval("radians", &[l(90)]), std::f64::consts::FRAC_PI_2);
        approx(eval("radians", &[l(180)]), std::f64::consts::PI);
        approx(eval("radians", &[l(360)]), std::f64::consts::TAU);
        assert_eq!(eval("asin", &[l(2)]), Value::Null);
    }

    #[test]
    fn float_classes() {
        assert_eq!(eval("isnan", &[r(f64::NAN)]), Value::Bool(true));
        assert_eq!(eval("isnan", &[r(-1.0)]), Value::Bool(false));
        assert_eq!(eval("isinf", &[r(f64::NEG_INFINITY)]), Value::Bool(true));
        assert_eq!(eval("isinf", &[r(f64::NAN)]), Value::Bool(false));
        assert_eq!(eval("isfinite", &[r(f64::INFINITY)]), Value::Bool(false));
        assert_eq!(eval("isfinite", &[r(f64::NAN)]), Value::Bool(false));
        assert_eq!(eval("isfinite", &[l(1)]), Value::Bool(true));
    }

    #[test]
    fn special_functions() {
        assert_eq!(eval("gamma", &[l(5)]), r(24.0));
        approx(eval("loggamma", &[l(5)]), 3.1780538303479458);
        let erf = [
            (-3, -0.9999779095030014),
            (-2, -0.9953222650189527),
            (-1, -0.8427007929497149),
            (0, 0.0),
            (1, 0.8427007929497149),
            (2, 0.9953222650189527),
            (3, 0.9999779095030014),
        ];
        for (x, want) in erf {
            let got = real(eval("erf", &[l(x)]));
            assert!((got - want).abs() <= 1e-15, "erf({x}) = {got}");
        }
        let erfc = [
            (-3, 1.9999779095030015),
            (-2, 1.9953222650189528),
            (-1, 1.842700792949715),
            (0, 1.0),
            (1, 0.15729920705028513),
            (2, 0.004677734981047265),
            (3, 2.2090496998585438e-05),
        ];
        for (x, want) in erfc {
            let got = real(eval("erfc", &[l(x)]));
            assert!(
                (got - want).abs() <= 1e-11 * want.abs(),
                "erfc({x}) = {got}"
            );
        }
        // doc-beta-inv-function-00 / doc-beta-pdf-function-00
        let b = real(eval("beta_inv", &[r(0.1), r(10.0), r(20.0)]));
        assert!((b - 0.22641502238874897).abs() < 1e-11);
        assert_eq!(eval("beta_inv", &[r(1.5), r(10.0), r(20.0)]), Value::Null);
        assert!(real(eval("beta_inv", &[r(0.1), r(-1.0), r(20.0)])).is_nan());
        approx(
            eval("beta_pdf", &[r(0.5), r(10.0), r(20.0)]),
            0.746176019310951,
        );
        assert!(real(eval("beta_pdf", &[r(-10.0), r(10.0), r(20.0)])).is_nan());
        assert!(real(eval("beta_pdf", &[r(0.1), r(-1.0), r(20.0)])).is_nan());
        let c = real(eval("beta_cdf", &[r(0.9), r(10.0), r(20.0)]));
        assert!((c - 0.999999999999959).abs() < 1e-13);
    }

    #[test]
    fn around_and_rand() {
        let min = 60_000_000_000i64;
        let center = 1_609_464_600 * 1_000_000_000i64;
        let at = |m: i64| {
            eval(
                "around",
                &[
                    Value::DateTime(center + m * min),
                    Value::DateTime(center),
                    Value::TimeSpan(min),
                ],
            )
        };
        assert_eq!(at(-1), Value::Bool(true));
        assert_eq!(at(1), Value::Bool(true));
        assert_eq!(at(2), Value::Bool(false));
        assert_eq!(eval("around", &[r(1.5), l(1), r(0.5)]), Value::Bool(true));
        for _ in 0..100 {
            let x = real(eval("rand", &[]));
            assert!((0.0..1.0).contains(&x));
            let n = real(eval("rand", &[l(10)]));
            assert!((0.0..10.0).contains(&n) && n.fract() == 0.0);
        }
        assert!(lookup("rand").unwrap().volatile);
    }

    #[test]
    fn unit_conversions() {
        let c = |f: &str, v: f64, a: &str, b: &str| {
            eval(f, &[r(v), Value::string(a), Value::string(b)])
        };
        approx(c("convert_angle", 1.2, "Degree", "Arcminute"), 72.0);
        approx(
            c("convert_energy", 1.2, "Joule", "BritishThermalUnit"),
            0.0011373805443759806,
        );
        approx(c("convert_force", 1.2, "Newton", "Decanewton"), 0.12);
        approx(
            c("convert_length", 1.2, "Meter", "Foot"),
            3.9370078740157477,
        );
        approx(
            c("convert_mass", 1.2, "Kilogram", "Pound"),
            2.6455471462185307,
        );
        approx(
            c("convert_speed", 1.2, "MeterPerSecond", "CentimeterPerHour"),
            432000.0,
        );
        approx(
            c("convert_temperature", 1.2, "Kelvin", "DegreeCelsius"),
            -271.95,
        );
        approx(
            c("convert_volume", 1.2, "CubicMeter", "AcreFoot"),
            0.0009728568,
        );
        approx(
            c(
                "convert_temperature",
                100.0,
                "DegreeCelsius",
                "DegreeFahrenheit",
            ),
            212.0,
        );
        approx(
            c("convert_angle", 0.5, "Tilt", "Degree"),
            30.000000000000004,
        );
        assert_eq!(c("convert_length", 1.0, "Meter", "Parsnip"), Value::Null);
    }
}
