//! Parser tests. Expressions are compared through a compact S-expression rendering
//! (`(and a (== b 1))`) so that precedence and shape are visible at a glance.

use crate::ast::*;
use crate::parse;

fn lit(l: &Literal) -> String {
    match l {
        Literal::Null(t) => format!("null:{}", t.as_str()),
        Literal::Bool(b) => b.to_string(),
        Literal::Int(v) => format!("int:{v}"),
        Literal::Long(v) => v.to_string(),
        Literal::Real(v) => format!("real:{v}"),
        Literal::Decimal(v) => format!("decimal:{v}"),
        Literal::String(s) => format!("{s:?}"),
        Literal::DateTime(s) => format!("datetime:{s}"),
        Literal::TimeSpan(ns) => format!("ts:{ns}"),
        Literal::Guid(g) => format!("guid:{g}"),
        Literal::Dynamic(v) => format!("dyn:{v}"),
    }
}

fn binop(op: BinaryOp) -> String {
    match op {
        BinaryOp::Add => "+".into(),
        BinaryOp::Sub => "-".into(),
        BinaryOp::Mul => "*".into(),
        BinaryOp::Div => "/".into(),
        BinaryOp::Mod => "%".into(),
        BinaryOp::Eq => "==".into(),
        BinaryOp::NotEq => "!=".into(),
        BinaryOp::Lt => "<".into(),
        BinaryOp::LtEq => "<=".into(),
        BinaryOp::Gt => ">".into(),
        BinaryOp::GtEq => ">=".into(),
        BinaryOp::And => "and".into(),
        BinaryOp::Or => "or".into(),
        BinaryOp::EqCi => "=~".into(),
        BinaryOp::NotEqCi => "!~".into(),
        BinaryOp::MatchesRegex => "matches-regex".into(),
        BinaryOp::Str(s) => s.text(),
    }
}

fn sx(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(l) => lit(l),
        ExprKind::Name(i) => i.name.clone(),
        ExprKind::Star => "*".into(),
        ExprKind::Member { base, name } => format!("{}.{}", sx(base), name.name),
        ExprKind::Index { base, index } => format!("{}[{}]", sx(base), sx(index)),
        ExprKind::Unary { op, expr } => {
            format!(
                "({} {})",
                if *op == UnaryOp::Neg { "-" } else { "+" },
                sx(expr)
            )
        }
        ExprKind::Binary { op, left, right } => {
            format!("({} {} {})", binop(*op), sx(left), sx(right))
        }
        ExprKind::List { op, expr, items } => {
            let op = match op {
                ListOp::In => "in",
                ListOp::NotIn => "!in",
                ListOp::InCi => "in~",
                ListOp::NotInCi => "!in~",
                ListOp::HasAny => "has_any",
                ListOp::HasAll => "has_all",
            };
            format!("({op} {} [{}])", sx(expr), list(items))
        }
        ExprKind::Between {
            expr,
            low,
            high,
            negated,
        } => format!(
            "({}between {} {} {})",
            if *negated { "!" } else { "" },
            sx(expr),
            sx(low),
            sx(high)
        ),
        ExprKind::Call { name, args } => format!("{}({})", name.name, args_sx(args)),
        ExprKind::Paren(e) => format!("paren({})", sx(e)),
        ExprKind::Pipe { input, op } => format!("{} | {}", sx(input), op_sx(op)),
        ExprKind::Source(op) => op_sx(op),
    }
}

fn list(items: &[Expr]) -> String {
    items.iter().map(sx).collect::<Vec<_>>().join(" ")
}

fn args_sx(args: &[Arg]) -> String {
    args.iter()
        .map(|a| match &a.name {
            Some(n) => format!("{}={}", n.name, sx(&a.value)),
            None => sx(&a.value),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn named(n: &[NamedExpr]) -> String {
    n.iter()
        .map(|n| {
            let names: Vec<&str> = n.names.iter().map(|i| i.name.as_str()).collect();
            match names.len() {
                0 => sx(&n.expr),
                1 => format!("{}={}", names[0], sx(&n.expr)),
                _ => format!("({})={}", names.join(","), sx(&n.expr)),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn keys(k: &[SortKey]) -> String {
    k.iter()
        .map(|k| {
            let mut s = sx(&k.expr);
            match k.descending {
                Some(true) => s += " desc",
                Some(false) => s += " asc",
                None => {}
            }
            match k.nulls_first {
                Some(true) => s += " nulls-first",
                Some(false) => s += " nulls-last",
                None => {}
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mv_items(items: &[MvExpandItem]) -> String {
    items
        .iter()
        .map(|i| {
            let mut s = match &i.name {
                Some(n) => format!("{}={}", n.name, sx(&i.expr)),
                None => sx(&i.expr),
            };
            if let Some(t) = i.to_type {
                s += &format!(" to {}", t.as_str());
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn op_sx(op: &Operator) -> String {
    let mut s = match &op.kind {
        OperatorKind::Where(e) => format!("where {}", sx(e)),
        OperatorKind::Extend(n) => format!("extend {}", named(n)),
        OperatorKind::Project(n) => format!("project {}", named(n)),
        OperatorKind::ProjectAway(p) => format!("project-away {}", patterns(p)),
        OperatorKind::ProjectKeep(p) => format!("project-keep {}", patterns(p)),
        OperatorKind::ProjectRename(p) => format!(
            "project-rename {}",
            p.iter()
                .map(|(a, b)| format!("{}={}", a.name, b.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OperatorKind::ProjectReorder(p) => format!(
            "project-reorder {}",
            p.iter()
                .map(|(c, o)| match o {
                    Some(o) => format!("{} {o}", c.pattern),
                    None => c.pattern.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        OperatorKind::Summarize { aggregates, by } => {
            format!("summarize {} by {}", named(aggregates), named(by))
        }
        OperatorKind::Sort(k) => format!("sort {}", keys(k)),
        OperatorKind::Top { count, by } => format!("top {} by {}", sx(count), keys(by)),
        OperatorKind::Take(e) => format!("take {}", sx(e)),
        OperatorKind::Distinct(n) => format!("distinct {}", named(n)),
        OperatorKind::Count => "count".into(),
        OperatorKind::Join { right, on } => format!("join {{{}}} on {}", sx(right), list(on)),
        OperatorKind::Lookup { right, on } => format!("lookup {{{}}} on {}", sx(right), list(on)),
        OperatorKind::Union(legs) => format!("union {}", list(legs)),
        OperatorKind::MvExpand(items) => format!("mv-expand {}", mv_items(items)),
        OperatorKind::MvApply { items, on } => {
            format!("mv-apply {} on {{{}}}", mv_items(items), sx(on))
        }
        OperatorKind::Parse {
            source,
            pattern,
            filter,
        } => format!(
            "{} {} with {}",
            if *filter { "parse-where" } else { "parse" },
            sx(source),
            pattern
                .iter()
                .map(|p| match p {
                    ParsePart::Literal(s) => format!("{s:?}"),
                    ParsePart::Wildcard => "*".into(),
                    ParsePart::Column { name, ty: None } => name.name.clone(),
                    ParsePart::Column { name, ty: Some(t) } => {
                        format!("{}:{}", name.name, t.as_str())
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        OperatorKind::Render { chart, properties } => {
            format!("render {}{}", chart.name, opts(properties))
        }
        OperatorKind::MakeSeries {
            aggregates,
            on,
            from,
            to,
            step,
            by,
        } => format!(
            "make-series {} on {} from {} to {} step {} by {}",
            aggregates
                .iter()
                .map(|a| {
                    let mut s = match &a.name {
                        Some(n) => format!("{}={}", n.name, sx(&a.expr)),
                        None => sx(&a.expr),
                    };
                    if let Some(d) = &a.default {
                        s += &format!(" default={}", sx(d));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", "),
            sx(on),
            from.as_ref().map(sx).unwrap_or_default(),
            to.as_ref().map(sx).unwrap_or_default(),
            sx(step),
            named(by)
        ),
        OperatorKind::Evaluate { plugin, args } => {
            format!("evaluate {}({})", plugin.name, args_sx(args))
        }
        OperatorKind::Serialize(n) => format!("serialize {}", named(n)),
        OperatorKind::GetSchema => "getschema".into(),
        OperatorKind::As(n) => format!("as {}", n.name),
        OperatorKind::Invoke { function, args } => {
            format!("invoke {}({})", function.name, args_sx(args))
        }
        OperatorKind::Search { tables, predicate } => format!(
            "search in({}) {}",
            tables
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            sx(predicate)
        ),
        OperatorKind::Print(n) => format!("print {}", named(n)),
        OperatorKind::Range {
            column,
            from,
            to,
            step,
        } => format!("range {} {} {} {}", column.name, sx(from), sx(to), sx(step)),
        OperatorKind::Datatable { columns, values } => format!(
            "datatable({}) [{}]",
            columns
                .iter()
                .map(|c| format!("{}:{}", c.name.name, c.ty.as_str()))
                .collect::<Vec<_>>()
                .join(","),
            list(values)
        ),
        OperatorKind::Sample(e) => format!("sample {}", sx(e)),
        OperatorKind::TopNested(levels) => format!(
            "top-nested {}",
            levels
                .iter()
                .map(|l| format!(
                    "[{} of {}{} by {}{}]",
                    l.count.as_ref().map(sx).unwrap_or_default(),
                    named(std::slice::from_ref(&l.of)),
                    l.others
                        .as_ref()
                        .map(|o| format!(" others={}", sx(o)))
                        .unwrap_or_default(),
                    named(std::slice::from_ref(&l.by)),
                    match l.descending {
                        Some(true) => " desc",
                        Some(false) => " asc",
                        None => "",
                    }
                ))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        OperatorKind::Unsupported(n) => format!("unsupported:{n}"),
    };
    if !op.options.is_empty() && !matches!(op.kind, OperatorKind::Render { .. }) {
        s += &format!(" options{}", opts(&op.options));
    }
    s
}

fn patterns(p: &[ColumnPattern]) -> String {
    p.iter()
        .map(|p| p.pattern.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn opts(o: &[OpOption]) -> String {
    if o.is_empty() {
        return String::new();
    }
    format!(
        "({})",
        o.iter()
            .map(|o| format!("{}={}", o.name.name, sx(&o.value)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn parse_ok(src: &str) -> Query {
    match parse(src) {
        Ok(q) => q,
        Err(d) => panic!(
            "{src}\n{}",
            d.iter().map(|d| d.render(src)).collect::<String>()
        ),
    }
}

/// The last statement (a query), rendered.
fn q(src: &str) -> String {
    let query = parse_ok(src);
    match query.statements.last() {
        Some(Statement::Query(e)) => sx(e),
        other => panic!("{src}: last statement is {other:?}"),
    }
}

/// The expression of `print <expr>`.
fn e(expr: &str) -> String {
    let src = format!("print {expr}");
    let query = parse_ok(&src);
    match query.statements.last() {
        Some(Statement::Query(Expr {
            kind: ExprKind::Source(op),
            ..
        })) => match &op.kind {
            OperatorKind::Print(n) if n.len() == 1 => sx(&n[0].expr),
            _ => panic!("{op:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match parse(src) {
        Ok(q) => panic!("{src} parsed: {q:?}"),
        Err(d) => d,
    }
}

/// The only diagnostic's message.
fn err1(src: &str) -> String {
    let d = errors(src);
    assert_eq!(d.len(), 1, "{src}: {d:#?}");
    d[0].message.clone()
}

use crate::diagnostic::Diagnostic;

// ----- literals --------------------------------------------------------------------

#[test]
fn string_literals() {
    assert_eq!(e(r#""a\tb""#), r#""a\tb""#);
    assert_eq!(e(r#"'it\'s'"#), r#""it's""#);
    assert_eq!(e(r#"@"C:\temp""#), r#""C:\\temp""#);
    assert_eq!(e(r#"@'say ''hi'''"#), r#""say 'hi'""#);
    assert_eq!(e("```line1\nline2```"), r#""line1\nline2""#);
    assert_eq!(e(r#"h"secret""#), r#""secret""#);
    assert_eq!(e(r#"h@'c:\x'"#), r#""c:\\x""#);
    assert_eq!(e(r#""\u0041\x42\103""#), r#""ABC""#);
    // Adjacent literals concatenate, across lines and quote styles.
    assert_eq!(e("\"a\" 'b'\n @\"c\""), r#""abc""#);
}

#[test]
fn numeric_literals() {
    assert_eq!(e("5"), "5");
    assert_eq!(e("1.5"), "real:1.5");
    assert_eq!(e("1e3"), "real:1000");
    assert_eq!(e("1.0e-5"), "real:0.00001");
    assert_eq!(e("0x1F"), "31");
    assert_eq!(e("-5"), "-5");
    assert_eq!(e("- 2.5"), "real:-2.5");
    assert_eq!(e("-9223372036854775808"), "-9223372036854775808");
    assert_eq!(
        err1("print 9223372036854775808"),
        "integer literal 9223372036854775808 is out of range for a long"
    );
    assert_eq!(
        err1("print 99999999999999999999999"),
        "integer literal '99999999999999999999999' is too large for a long"
    );
}

#[test]
fn timespan_literals() {
    let s = 1_000_000_000i64;
    for (text, ns) in [
        ("1d", 86_400 * s),
        ("2days", 2 * 86_400 * s),
        ("1h", 3_600 * s),
        ("3hrs", 3 * 3_600 * s),
        ("1.5h", 5_400 * s),
        ("30m", 1_800 * s),
        ("5min", 300 * s),
        ("2minutes", 120 * s),
        ("10s", 10 * s),
        ("1sec", s),
        ("100ms", 100_000_000),
        ("7milliseconds", 7_000_000),
        ("3microsecond", 3_000),
        ("1tick", 100),
        ("15ticks", 1_500),
        ("4nanoseconds", 4),
        ("0.5d", 43_200 * s),
    ] {
        assert_eq!(e(text), format!("ts:{ns}"), "{text}");
    }
    assert_eq!(e("-1d"), format!("ts:{}", -86_400 * s));
    assert_eq!(
        e("time(1.02:03:04)"),
        format!("ts:{}", (86_400 + 7_384) * s)
    );
    assert_eq!(e("timespan(00:30:00)"), format!("ts:{}", 1_800 * s));
    assert_eq!(e("time(2d)"), format!("ts:{}", 2 * 86_400 * s));
    assert_eq!(e("time(2)"), format!("ts:{}", 2 * 86_400 * s));
    assert_eq!(e("timespan(15 seconds)"), format!("ts:{}", 15 * s));
    assert_eq!(e("time(-0.12:00:00)"), format!("ts:{}", -43_200 * s));
    assert_eq!(e("time(null)"), "null:timespan");
}

#[test]
fn typed_literals() {
    assert_eq!(e("int(5)"), "int:5");
    assert_eq!(e("int(-5)"), "int:-5");
    assert_eq!(e("long(5)"), "5");
    assert_eq!(e("real(5)"), "real:5");
    assert_eq!(e("double(1.5)"), "real:1.5");
    assert_eq!(e("real(nan)"), "real:NaN");
    assert_eq!(e("real(+inf)"), "real:inf");
    assert_eq!(e("real(-inf)"), "real:-inf");
    assert_eq!(e("decimal(1.5)"), "decimal:1.5");
    assert_eq!(e("bool(true)"), "true");
    assert_eq!(e("true"), "true");
    assert_eq!(e("FALSE"), "false");
    for (src, ty) in [
        ("int", "int"),
        ("long", "long"),
        ("real", "real"),
        ("double", "real"),
        ("bool", "bool"),
        ("datetime", "datetime"),
        ("timespan", "timespan"),
        ("time", "timespan"),
        ("guid", "guid"),
        ("decimal", "decimal"),
    ] {
        assert_eq!(e(&format!("{src}(null)")), format!("null:{ty}"));
    }
    assert_eq!(e("dynamic(null)"), "dyn:null");
    assert_eq!(
        err1("print int(3000000000)"),
        "3000000000 is out of range for an int"
    );
    assert_eq!(err1("print long(x)"), "invalid long literal 'long(x)'");
}

#[test]
fn datetime_and_guid_literals() {
    assert_eq!(e("datetime(2024-01-01)"), "datetime:2024-01-01");
    assert_eq!(
        e("datetime( 2024-01-01 10:00 )"),
        "datetime:2024-01-01 10:00"
    );
    assert_eq!(
        e("datetime(2024-01-01T10:00:00.1234567Z)"),
        "datetime:2024-01-01T10:00:00.1234567Z"
    );
    assert_eq!(
        e("datetime(2015-12-31 23:59:59.9)"),
        "datetime:2015-12-31 23:59:59.9"
    );
    assert_eq!(e("datetime(\"01-01-2022\")"), "datetime:01-01-2022");
    assert_eq!(e("date(2024-01-01)"), "datetime:2024-01-01");
    assert_eq!(
        e("guid(74be27de-1e4e-49d9-b579-fe0b331d3642)"),
        "guid:74be27de-1e4e-49d9-b579-fe0b331d3642"
    );
    assert_eq!(
        e("74be27de-1e4e-49d9-b579-fe0b331d3642"),
        "guid:74be27de-1e4e-49d9-b579-fe0b331d3642"
    );
    // `todatetime(...)` is an ordinary call.
    assert_eq!(e("todatetime('2024-01-01')"), r#"todatetime("2024-01-01")"#);
    // A space before `(` makes it a call, as in Kusto.
    assert_eq!(e("datetime (x)"), "datetime(x)");
}

#[test]
fn dynamic_literals() {
    assert_eq!(
        e("dynamic([1, 2.0, -3, 'a', \"b\", true, null])"),
        r#"dyn:[1,2.0,-3,"a","b",true,null]"#
    );
    assert_eq!(
        e("dynamic({'a': {\"b\": [1, {}]}, 'c': []})"),
        r#"dyn:{"a":{"b":[1,{}]},"c":[]}"#
    );
    assert_eq!(
        e("dynamic([datetime(2015-12-31 23:59:59.9), datetime(\"01-01-2022\"), 1h, time(1d), guid(74BE27DE-1E4E-49D9-B579-FE0B331D3642), int(null), long(7), real(1.5)])"),
        r#"dyn:["2015-12-31T23:59:59.9000000Z","2022-01-01T00:00:00.0000000Z","01:00:00","1.00:00:00","74be27de-1e4e-49d9-b579-fe0b331d3642",null,7,1.5]"#
    );
    assert_eq!(e("dynamic({'X': dynamic({})})"), r#"dyn:{"X":{}}"#);
    assert_eq!(e("dynamic('a')"), r#"dyn:"a""#);
    // Key order is preserved.
    assert_eq!(e("dynamic({'z':1,'a':2})"), r#"dyn:{"z":1,"a":2}"#);
    assert_eq!(
        err1("print dynamic([1, foo])"),
        "expected a value (string, number, true, false, null, [...] or {...}), found 'foo'"
    );
}

// ----- names and expressions ---------------------------------------------------------

#[test]
fn names() {
    assert_eq!(e("['Click Count']"), "Click Count");
    assert_eq!(e(r#"["x y"] + 1"#), "(+ x y 1)");
    assert_eq!(
        q("T | project by, on, kind, with, to, from, step, asc, desc"),
        "T | project by, on, kind, with, to, from, step, asc, desc"
    );
    assert_eq!(
        q("T | extend on = 1, ['a b'] = 2"),
        "T | extend on=1, a b=2"
    );
    assert_eq!(
        q("T | join U on $left.a == $right.b"),
        "T | join {U} on (== $left.a $right.b)"
    );
    assert_eq!(e("_x1"), "_x1");
}

#[test]
fn precedence() {
    assert_eq!(
        e("a or b and c == d + e * f"),
        "(or a (and b (== c (+ d (* e f)))))"
    );
    assert_eq!(e("a * b + c * d"), "(+ (* a b) (* c d))");
    assert_eq!(e("a - b - c"), "(- (- a b) c)");
    assert_eq!(e("-a * b"), "(* (- a) b)");
    assert_eq!(e("- -a"), "(- (- a))");
    assert_eq!(e("(a or b) and c"), "(and paren((or a b)) c)");
    assert_eq!(e("a + b has 'x'"), r#"(has (+ a b) "x")"#);
    assert_eq!(
        e("a has 'x' and b !contains_cs 'y'"),
        r#"(and (has a "x") (!contains_cs b "y"))"#
    );
    assert_eq!(e("a =~ 'x' or a !~ 'y'"), r#"(or (=~ a "x") (!~ a "y"))"#);
    assert_eq!(e("a <> b"), "(!= a b)");
    assert_eq!(e("a % 2 == 0"), "(== (% a 2) 0)");
    assert_eq!(
        e("a < 1 and b >= 2 and c <= 3 and d > 4"),
        "(and (and (and (< a 1) (>= b 2)) (<= c 3)) (> d 4))"
    );
}

#[test]
fn string_operators() {
    for op in [
        "contains",
        "!contains",
        "contains_cs",
        "!contains_cs",
        "startswith",
        "!startswith",
        "startswith_cs",
        "!startswith_cs",
        "endswith",
        "!endswith",
        "endswith_cs",
        "!endswith_cs",
        "has",
        "!has",
        "has_cs",
        "!has_cs",
        "hasprefix",
        "!hasprefix",
        "hasprefix_cs",
        "!hasprefix_cs",
        "hassuffix",
        "!hassuffix",
        "hassuffix_cs",
        "!hassuffix_cs",
    ] {
        assert_eq!(e(&format!("a {op} 'x'")), format!("({op} a \"x\")"));
    }
    assert_eq!(e("a matches regex @'\\d+'"), r#"(matches-regex a "\\d+")"#);
    assert_eq!(e("a containscs 'x'"), r#"(contains_cs a "x")"#);
    assert_eq!(e("a notcontains 'x'"), r#"(!contains a "x")"#);
}

#[test]
fn list_and_between_operators() {
    assert_eq!(e("a in (1, 2)"), "(in a [1 2])");
    assert_eq!(e("a !in (1)"), "(!in a [1])");
    assert_eq!(e("a in~ ('x', 'y')"), r#"(in~ a ["x" "y"])"#);
    assert_eq!(e("a !in~ ('x')"), r#"(!in~ a ["x"])"#);
    assert_eq!(
        e("a has_any (dynamic(['x']))"),
        r#"(has_any a [dyn:["x"]])"#
    );
    assert_eq!(e("a has_all ('x', b)"), r#"(has_all a ["x" b])"#);
    assert_eq!(e("a in (T | project x)"), "(in a [T | project x])");
    assert_eq!(e("a in ((T | project x))"), "(in a [paren(T | project x)])");
    assert_eq!(e("a in (list)"), "(in a [list])");
    assert_eq!(e("a in (1, 2) and b"), "(and (in a [1 2]) b)");
    assert_eq!(e("a between (1 .. 10)"), "(between a 1 10)");
    assert_eq!(e("a between(1..10)"), "(between a 1 10)");
    assert_eq!(
        e("a !between (ago(1d) .. now())"),
        "(!between a ago(ts:86400000000000) now())"
    );
    assert_eq!(e("a notbetween (1 .. 2)"), "(!between a 1 2)");
    // `in` as a column name still works where it cannot be an operator.
    assert_eq!(q("T | project in"), "T | project in");
}

#[test]
fn postfix_and_calls() {
    assert_eq!(e("x.a['b'][0]"), r#"x.a["b"][0]"#);
    assert_eq!(e("x[-1]"), "x[-1]");
    assert_eq!(e("parse_json(s).a"), "parse_json(s).a");
    assert_eq!(e("parse_url(Url).Host"), "parse_url(Url).Host");
    assert_eq!(e("split(x, ',')[0].y"), r#"split(x, ",")[0].y"#);
    assert_eq!(
        e("p['Query Parameters'].[param]"),
        r#"p["Query Parameters"][param]"#
    );
    assert_eq!(e("count()"), "count()");
    assert_eq!(e("count(*)"), "count(*)");
    assert_eq!(e("arg_max(x, *)"), "arg_max(x, *)");
    assert_eq!(e("f(a, b = 1, c='x')"), r#"f(a, b=1, c="x")"#);
    assert_eq!(e("typeof(long)"), "typeof(long)");
    assert_eq!(
        e("toscalar(T | summarize count())"),
        "toscalar(T | summarize count() by )"
    );
    assert_eq!(e("materialize(T | where x)"), "materialize(T | where x)");
    assert_eq!(e("toscalar(print 1)"), "toscalar(print 1)");
    assert_eq!(e("range(1, 5, 2)"), "range(1, 5, 2)");
    assert_eq!(e("not(a)"), "not(a)");
    assert_eq!(e("iff(a > 1, 'x', 'y')"), r#"iff((> a 1), "x", "y")"#);
}

// ----- statements --------------------------------------------------------------------

#[test]
fn let_statements() {
    let query = parse_ok(
        "let a = 1;\nlet T = X | where y;\nlet f = (a:int, b:string = \"x\", T:(*), U:(x:long, y:string)) { let y = 1; T | where a > y };\nlet v = view () { print 1 };;\nf(1)",
    );
    assert_eq!(query.statements.len(), 5);
    let Statement::Let(a) = &query.statements[0] else {
        panic!()
    };
    assert_eq!(a.name.name, "a");
    assert_eq!(a.span, Span::new(0, 9));
    let Statement::Let(f) = &query.statements[2] else {
        panic!()
    };
    let LetValue::Function(def) = &f.value else {
        panic!()
    };
    assert!(!def.is_view);
    assert_eq!(def.params.len(), 4);
    assert_eq!(def.params[0].ty, ParamType::Scalar(TypeName::Int));
    assert_eq!(
        def.params[1].default.as_ref().map(sx).as_deref(),
        Some("\"x\"")
    );
    assert_eq!(def.params[2].ty, ParamType::Tabular(None));
    let ParamType::Tabular(Some(cols)) = &def.params[3].ty else {
        panic!()
    };
    assert_eq!(cols.len(), 2);
    assert_eq!(def.lets.len(), 1);
    assert_eq!(sx(&def.body), "T | where (> a y)");
    let Statement::Let(v) = &query.statements[3] else {
        panic!()
    };
    assert!(matches!(&v.value, LetValue::Function(d) if d.is_view && d.params.is_empty()));
    // A parenthesized expression is not a function.
    assert_eq!(q("let x = (1 + 2); print x"), "print x");
}

#[test]
fn set_and_declare_statements() {
    let query = parse_ok(
        "set query_now = datetime(2024-01-01);\nset truncationmaxrecords = 10;\nset notruncation;\ndeclare query_parameters(n:long = 5, s:string = 'x');\nprint n",
    );
    let names: Vec<String> = query
        .statements
        .iter()
        .map(|s| match s {
            Statement::Set { name, value, .. } => {
                format!(
                    "set {}={}",
                    name.name,
                    value.as_ref().map(sx).unwrap_or_default()
                )
            }
            Statement::Let(l) => format!("let {}", l.name.name),
            Statement::Query(e) => sx(e),
        })
        .collect();
    assert_eq!(
        names,
        [
            "set query_now=datetime:2024-01-01",
            "set truncationmaxrecords=10",
            "set notruncation=",
            "let n",
            "let s",
            "print n"
        ]
    );
    assert_eq!(
        err1("declare query_parameters(n:long); print n"),
        "query parameter 'n' has no default value"
    );
}

#[test]
fn comments_and_empty_statements() {
    let query = parse_ok("// only a comment\n;;\nprint 1 // trailing\n;\n// end");
    assert_eq!(query.statements.len(), 1);
    assert!(parse_ok("").statements.is_empty());
    assert!(parse_ok("// nothing").statements.is_empty());
}

// ----- operators ---------------------------------------------------------------------

#[test]
fn filter_and_projection_operators() {
    assert_eq!(
        q("T | where a == 1 | filter b"),
        "T | where (== a 1) | where b"
    );
    assert_eq!(
        q("T | extend x = 1, y, z = a.b"),
        "T | extend x=1, y, z=a.b"
    );
    assert_eq!(q("T | project a, b = c + 1"), "T | project a, b=(+ c 1)");
    assert_eq!(
        q("T | project-away a, Account*, *Id, ['x y']"),
        "T | project-away a, Account*, *Id, x y"
    );
    assert_eq!(q("T | project-keep a*b"), "T | project-keep a*b");
    assert_eq!(
        q("T | project-rename n = o, ['a b'] = c"),
        "T | project-rename n=o, a b=c"
    );
    assert_eq!(
        q("T | project-reorder c, a* asc, b* granny-desc, d"),
        "T | project-reorder c, a* asc, b* granny-desc, d"
    );
    assert_eq!(q("T | distinct a, b"), "T | distinct a, b");
    assert_eq!(q("T | distinct *"), "T | distinct *");
    assert_eq!(q("T | count"), "T | count");
    assert_eq!(q("T | take 10 | limit 5"), "T | take 10 | take 5");
    assert_eq!(q("T | sample 3"), "T | sample 3");
    assert_eq!(
        q("T | serialize | serialize r = row_number()"),
        "T | serialize  | serialize r=row_number()"
    );
    assert_eq!(q("T | getschema"), "T | getschema");
    assert_eq!(
        q("T | as hint.materialized=true X"),
        "T | as X options(hint.materialized=true)"
    );
    assert_eq!(q("T | invoke f(1, 'a')"), r#"T | invoke f(1, "a")"#);
}

#[test]
fn summarize_sort_top() {
    assert_eq!(
        q("T | summarize count(), c = dcount(x) by bin(Timestamp, 1h), k"),
        "T | summarize count(), c=dcount(x) by bin(Timestamp, ts:3600000000000), k"
    );
    assert_eq!(q("T | summarize by k"), "T | summarize  by k");
    assert_eq!(
        q("T | summarize make_set(x)"),
        "T | summarize make_set(x) by "
    );
    assert_eq!(
        q("T | summarize (Ts, Id) = arg_max(Timestamp, *) by User"),
        "T | summarize (Ts,Id)=arg_max(Timestamp, *) by User"
    );
    assert_eq!(
        q("T | summarize hint.shufflekey = k hint.strategy=shuffle count() by k"),
        "T | summarize count() by k options(hint.shufflekey=k, hint.strategy=shuffle)"
    );
    assert_eq!(
        q("T | sort by a, b asc, c desc nulls first | order by d nulls last"),
        "T | sort a, b asc, c desc nulls-first | sort d nulls-last"
    );
    assert_eq!(
        q("T | top 5 by x desc nulls last"),
        "T | top 5 by x desc nulls-last"
    );
    assert_eq!(
        q("T | top-nested 3 of a with others = 'o' by s = sum(x) desc, top-nested of b by max(1)"),
        r#"T | top-nested [3 of a others="o" by s=sum(x) desc] [ of b by max(1)]"#
    );
}

#[test]
fn join_lookup_union() {
    assert_eq!(
        q("T | join kind=leftouter hint.strategy=broadcast (U | where x) on a, $left.b == $right.c and $left.d == $right.e"),
        "T | join {paren(U | where x)} on a (== $left.b $right.c) (== $left.d $right.e) options(kind=leftouter, hint.strategy=broadcast)"
    );
    assert_eq!(q("T | join U on a"), "T | join {U} on a");
    assert_eq!(
        q("T | lookup kind=inner (U) on a"),
        "T | lookup {paren(U)} on a options(kind=inner)"
    );
    assert_eq!(
        q("union withsource=Src isfuzzy=true T, Device*, (U | take 1), view()"),
        "union T Device* paren(U | take 1) view() options(withsource=Src, isfuzzy=true)"
    );
    assert_eq!(
        q("T | union kind=outer U"),
        "T | union U options(kind=outer)"
    );
    assert_eq!(
        q("range x from 1 to 5 step 1 | as T1 | union withsource=TableName (range x from 1 to 5 step 1 | as T2)"),
        "range x 1 5 1 | as T1 | union paren(range x 1 5 1 | as T2) options(withsource=TableName)"
    );
}

#[test]
fn mv_expand_and_mv_apply() {
    assert_eq!(
        q("T | mv-expand bagexpansion=array with_itemindex=i a, b = parse_json(c) to typeof(string) limit 10"),
        "T | mv-expand a, b=parse_json(c) to string options(bagexpansion=array, with_itemindex=i, limit=10)"
    );
    assert_eq!(
        q("T | mv-apply x to typeof(long) on (summarize s = sum(x) | where s > 1)"),
        "T | mv-apply x to long on {$input | summarize s=sum(x) by  | where (> s 1)}"
    );
    let query = parse_ok("T | mv-apply x on (top 1 by x)");
    let Some(Statement::Query(Expr {
        kind: ExprKind::Pipe { op, .. },
        ..
    })) = query.statements.last()
    else {
        panic!()
    };
    let OperatorKind::MvApply { on, .. } = &op.kind else {
        panic!()
    };
    let ExprKind::Pipe { input, .. } = &on.kind else {
        panic!()
    };
    assert!(matches!(&input.kind, ExprKind::Name(i) if i.name == "$input"));
}

#[test]
fn parse_operator() {
    assert_eq!(
        q(r#"T | parse Text with * "id=" Id:long "," Rest"#),
        r#"T | parse Text with * "id=" Id:long "," Rest"#
    );
    assert_eq!(
        q(r#"T | parse-where kind = regex flags=i Text with * "a=" x: long "," *"#),
        r#"T | parse-where Text with * "a=" x:long "," * options(kind=regex, flags=i)"#
    );
    assert_eq!(
        q(r#"T | parse kind=simple Text with "a" "b" x"#),
        r#"T | parse Text with "ab" x options(kind=simple)"#
    );
}

#[test]
fn render_operator() {
    assert_eq!(q("T | render timechart"), "T | render timechart");
    assert_eq!(
        q("T | render columnchart with (kind=stacked, title='x', ycolumns=a, b, ymin=0)"),
        r#"T | render columnchart(kind=stacked, title="x", ycolumns=a, ycolumns=b, ymin=0)"#
    );
    assert_eq!(
        q("T | render piechart title='x' legend=hidden"),
        r#"T | render piechart(title="x", legend=hidden)"#
    );
}

#[test]
fn make_series_and_evaluate() {
    assert_eq!(
        q("T | make-series kind=nonempty c = count() default = 0, avg(x) on Timestamp from ago(1d) to now() step 1h by k"),
        "T | make-series c=count() default=0, avg(x) on Timestamp from ago(ts:86400000000000) to now() step ts:3600000000000 by k options(kind=nonempty)"
    );
    assert_eq!(
        q("T | make-series sum(x) on t in range(a, b, 1d)"),
        "T | make-series sum(x) on t from a to b step ts:86400000000000 by "
    );
    assert_eq!(
        q("T | make-series sum(x) on t step 1d"),
        "T | make-series sum(x) on t from  to  step ts:86400000000000 by "
    );
    assert_eq!(
        q("T | evaluate bag_unpack(d, columnsConflict='keep_source')"),
        r#"T | evaluate bag_unpack(d, columnsConflict="keep_source")"#
    );
    assert_eq!(
        q("evaluate hint.distribution=per_node python(typeof(*, x:int), 'code')"),
        r#"evaluate python(typeof(*, x=int), "code") options(hint.distribution=per_node)"#
    );
}

#[test]
fn search_operator() {
    assert_eq!(q("search 'x'"), r#"search in() "x""#);
    assert_eq!(
        q("search in (T1, T*) x has 'y'"),
        r#"search in(T1,T*) (has x "y")"#
    );
    assert_eq!(
        q("search kind=case_sensitive 'X'"),
        r#"search in() "X" options(kind=case_sensitive)"#
    );
    assert_eq!(q("T | search * has 'x'"), r#"T | search in() (has * "x")"#);
}

#[test]
fn source_operators() {
    assert_eq!(q("print a = 1, 2"), "print a=1, 2");
    assert_eq!(q("range x from 1 to 10 step 2"), "range x 1 10 2");
    assert_eq!(
        q("datatable(a:int, b:string, c: dynamic) [1, 'x', dynamic([1]), -2, \"y\", dynamic(null),]"),
        r#"datatable(a:int,b:string,c:dynamic) [int:1 "x" dyn:[1] -2 "y" dyn:null]"#
            .replace("int:1", "1")
    );
    assert_eq!(
        q("let T = datatable(a:long)[1]; T | where a > 0"),
        "T | where (> a 0)"
    );
}

#[test]
fn unsupported_operators_parse_by_name() {
    assert_eq!(
        q("T | scan declare (s:long=0) with (step a: x > 1 => s = 1; step b: true;) | project x"),
        "T | unsupported:scan | project x"
    );
    assert_eq!(
        q("T | partition hint.strategy=native by k ( top 1 by x ) | count"),
        "T | unsupported:partition | count"
    );
    assert_eq!(
        q("T | make-graph a --> b with n on id"),
        "T | unsupported:make-graph"
    );
    assert_eq!(q("T | fork (where x) (take 1)"), "T | unsupported:fork");
    assert_eq!(q("T | project-smart a"), "T | unsupported:project-smart");
    assert_eq!(
        q("externaldata (a:string) ['https://x']"),
        "unsupported:externaldata"
    );
    assert_eq!(q("find 'x'"), "unsupported:find");
    assert_eq!(
        q("declare pattern p = (a:string) { ('x') = { print 1 }; };\nprint 1"),
        "print 1"
    );
}

#[test]
fn spans() {
    let src = "T | where a == 1";
    let query = parse_ok(src);
    let Statement::Query(e) = &query.statements[0] else {
        panic!()
    };
    assert_eq!(e.span, Span::new(0, 16));
    let ExprKind::Pipe { input, op } = &e.kind else {
        panic!()
    };
    assert_eq!(input.span, Span::new(0, 1));
    assert_eq!(op.span, Span::new(4, 16));
    assert_eq!(op.keyword_span, Span::new(4, 9));
    let OperatorKind::Where(w) = &op.kind else {
        panic!()
    };
    assert_eq!(w.span, Span::new(10, 16));
    let ExprKind::Binary { left, right, .. } = &w.kind else {
        panic!()
    };
    assert_eq!(
        (left.span, right.span),
        (Span::new(10, 11), Span::new(15, 16))
    );

    let src = "T | project-away ['a b'] | extend x = f(1)[0]";
    let query = parse_ok(src);
    let Statement::Query(Expr {
        kind: ExprKind::Pipe { input, op },
        ..
    }) = &query.statements[0]
    else {
        panic!()
    };
    assert_eq!(&src[op.keyword_span.range()], "extend");
    let OperatorKind::Extend(n) = &op.kind else {
        panic!()
    };
    assert_eq!(&src[n[0].span.range()], "x = f(1)[0]");
    assert_eq!(&src[n[0].expr.span.range()], "f(1)[0]");
    let ExprKind::Pipe { op, .. } = &input.kind else {
        panic!()
    };
    assert_eq!(&src[op.keyword_span.range()], "project-away");
    let OperatorKind::ProjectAway(p) = &op.kind else {
        panic!()
    };
    assert_eq!(&src[p[0].span.range()], "['a b']");
}

// ----- errors ------------------------------------------------------------------------

#[test]
fn error_expected_expression() {
    let d = errors("T | where x == | project y");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].message, "expected an expression after '==', found '|'");
    assert_eq!(d[0].span, Span::new(15, 16));
    assert_eq!(
        err1("T | where | take 1"),
        "expected an expression after 'where', found '|'"
    );
    assert_eq!(
        err1("T | extend x = "),
        "expected an expression after '=', found end of query"
    );
    assert_eq!(
        err1("print 1 +"),
        "expected an expression after '+', found end of query"
    );
}

#[test]
fn error_unclosed_bracket() {
    assert_eq!(
        err1("print f(1, 2"),
        "expected ')' to close '(' opened at line 1, column 8, found end of query"
    );
    assert_eq!(
        err1("T\n| where (a or b\n| take 1"),
        "expected ')' to close '(' opened at line 2, column 9, found end of query"
    );
    assert_eq!(
        err1("print x[1"),
        "expected ']' to close '[' opened at line 1, column 8, found end of query"
    );
}

#[test]
fn error_lexical() {
    let d = errors("print 'abc\n| take 1");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].message, "unterminated string literal");
    assert_eq!(d[0].span, Span::new(6, 10));
    assert_eq!(
        err1("print 'a\\qb'"),
        "invalid escape sequence '\\q' in string literal"
    );
    assert_eq!(
        err1("print datetime(2024-01-01"),
        "expected ')' to close 'datetime(' on the same line"
    );
    assert_eq!(err1("print a # b"), "unexpected character '#'");
}

#[test]
fn error_unknown_operator() {
    let d = errors("T | wher x > 1");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].message, "unknown operator 'wher' after '|'");
    assert_eq!(d[0].help.as_deref(), Some("did you mean 'where'?"));
    assert_eq!(d[0].span, Span::new(4, 8));
    let d = errors("T | summarise count()");
    assert_eq!(d[0].help.as_deref(), Some("did you mean 'summarize'?"));
    let d = errors("T | project-awy a");
    assert_eq!(d[0].help.as_deref(), Some("did you mean 'project-away'?"));
    let d = errors("T | Where a");
    assert_eq!(d[0].help.as_deref(), Some("did you mean 'where'?"));
    let d = errors("T | xyzzy");
    assert_eq!(d[0].message, "unknown operator 'xyzzy' after '|'");
    assert!(d[0]
        .help
        .as_deref()
        .unwrap()
        .starts_with("expected an operator such as"));
}

#[test]
fn error_query_starts_with_pipe() {
    for src in [
        "| where Url has 'x'",
        "// Find clicks\n// on bad URLs\n| where ActionType == 'ClickAllowed'\n| take 10",
        "let x = 1;\n| where a",
    ] {
        let d = errors(src);
        assert_eq!(d.len(), 1, "{src}: {d:?}");
        assert_eq!(
            d[0].message,
            "A query must start with a table name (or a source such as print, range, datatable), not '|'"
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some("put the table to read first, e.g. `UrlClickEvents`")
        );
        assert_eq!(&src[d[0].span.range()], "|");
    }
    // Other mistakes after the missing table are still reported.
    let d = errors("| where x == | take 1");
    assert_eq!(d.len(), 2);
}

#[test]
fn errors_recover_without_cascading() {
    // Independent mistakes are each reported once.
    let d = errors("T | wher x | project y | extnd z = 1 | take");
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "unknown operator 'wher' after '|'",
            "unknown operator 'extnd' after '|'",
            "expected an expression after 'take', found end of query"
        ]
    );
    // One mistake inside brackets is one diagnostic.
    assert_eq!(errors("T | where (a == ) | project x").len(), 1);
    assert_eq!(errors("T | join (U | wher y) on k | project a").len(), 1);
    assert_eq!(errors("let a = ;\nlet b = 1 +;\nprint a").len(), 2);
    assert_eq!(errors("T | where a b | take 1").len(), 1);
    assert_eq!(
        err1("T | where a b"),
        "expected '|' or ';' after the 'where' operator, found 'b'"
    );
    assert_eq!(
        err1("T | take 1)"),
        "unmatched ')'; expected '|' or ';' after the 'take' operator"
    );
    // The number of diagnostics is capped.
    let many = vec!["T | wher x"; 30].join(";\n");
    assert_eq!(errors(&many).len(), 10);
}

#[test]
fn error_messages_name_what_was_expected() {
    assert_eq!(err1("T | sort a"), "expected 'by' after 'sort', found 'a'");
    assert_eq!(
        err1("T | top 5 x"),
        "expected 'by' after the count in 'top', found 'x'"
    );
    assert_eq!(
        err1("T | join U"),
        "expected 'on' and the join keys after the right side of 'join', found end of query"
    );
    assert_eq!(
        err1("T | parse x \"a\" y"),
        "expected 'with' and a pattern after the expression to parse, found string \"a\""
    );
    assert_eq!(
        err1("range x from 1 to 10"),
        "expected 'step' after the end of the range, found end of query"
    );
    assert_eq!(
        err1("datatable(a:integer) [1]"),
        "unknown type 'integer'; expected one of bool, int, long, real, decimal, string, datetime, timespan, guid, dynamic"
    );
    assert_eq!(
        err1("T | print x"),
        "'print' starts a query; it cannot follow '|'"
    );
    assert_eq!(err1("T |"), "expected an operator after '|' (such as where, extend, project, summarize), found end of query");
    assert_eq!(
        err1("print a in"),
        "expected '(' and a list of values after 'in', found end of query"
    );
}

#[test]
fn help_for_common_slips() {
    let d = errors("T | where a = 1");
    assert_eq!(
        d[0].message,
        "expected '|' or ';' after the 'where' operator, found '='"
    );
    assert_eq!(d[0].help.as_deref(), Some("use '==' to compare values"));
    let d = errors("T | where a && b");
    assert_eq!(d[0].message, "unexpected character '&'");
    assert_eq!(
        d[0].help.as_deref(),
        Some("use 'and' to combine conditions")
    );
    let d = errors("T | where a || b");
    assert_eq!(d.len(), 1);
    assert!(d[0].help.as_deref().unwrap().starts_with("use 'or'"));
    let d = errors("let x = 1\nT");
    assert_eq!(d[0].message, "expected '|' or ';' after '1', found 'T'");
    assert_eq!(
        d[0].help.as_deref(),
        Some("did you forget a ';' at the end of the previous line?")
    );
    let d = errors("T | where !a");
    assert_eq!(
        d[0].message,
        "expected an expression after 'where', found '!'"
    );
}

#[test]
fn diagnostics_render_with_a_caret() {
    let src = "T\n| wher x";
    let d = errors(src);
    let r = d[0].render(src);
    assert!(r.contains("2 | | wher x"), "{r}");
    assert!(r.contains("  |   ^^^^"), "{r}");
    assert!(r.contains("help: did you mean 'where'?"), "{r}");
}
