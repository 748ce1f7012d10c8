//! No input makes the parser panic or overflow the stack: random text, random token soup,
//! mutated corpus queries, and pathologically deep nesting.

use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Parses and, on success, touches the tree (Debug-formats it) so that recursion over the
/// result is exercised too.
fn check(src: &str) {
    match kql::parse(src) {
        Ok(q) => {
            let _ = format!("{q:?}");
        }
        Err(diags) => {
            assert!(!diags.is_empty());
            assert!(diags.len() <= 10, "too many diagnostics: {}", diags.len());
            for d in &diags {
                assert!(d.span.start <= d.span.end, "{d:?}");
                assert!(
                    d.span.end as usize <= src.len(),
                    "{d:?} beyond {}",
                    src.len()
                );
                let _ = d.render(src);
            }
        }
    }
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    let n = 20_000;
    let cases = [
        format!("print {}1{}", "(".repeat(n), ")".repeat(n)),
        format!("print {}", "(".repeat(n)),
        format!("print {}1", "-".repeat(n)),
        format!("print {}1", "- ".repeat(n)),
        format!("print {}1{}", "f(".repeat(n), ")".repeat(n)),
        format!("print {}1{}", "x in (".repeat(n), ")".repeat(n)),
        format!("print dynamic({}1{})", "[".repeat(n), "]".repeat(n)),
        format!("print dynamic({})", "{\"a\":".repeat(n)),
        format!("print x{}", "[0]".repeat(n)),
        format!("print x{}", ".a".repeat(n)),
        format!("print 1{}", " + 1".repeat(n)),
        format!("print 1{}", " or x".repeat(n)),
        format!("T{}", " | where x".repeat(n)),
        format!(
            "let f = () {{ {} 1 {} }}; print 1",
            "let g = () {".repeat(n),
            "}".repeat(n)
        ),
        format!(
            "T | join ({}T{}) on x",
            "(T | join ".repeat(n),
            ") on x)".repeat(n)
        ),
        format!(
            "T | mv-apply x on ({} where x {})",
            "mv-apply y on (".repeat(n),
            ")".repeat(n)
        ),
        format!(
            "print {}1{}",
            "toscalar(T | where ".repeat(n),
            ")".repeat(n)
        ),
        "(".repeat(n),
        "[".repeat(n),
        "{".repeat(n),
        "|".repeat(n),
    ];
    for src in &cases {
        check(src);
        assert!(kql::parse(src).is_err(), "{}", &src[..40]);
    }
    check(&"'".repeat(n + 1));
    check(&"\"".repeat(n));
    // Long but shallow expressions still parse.
    let ors = format!("T | where {}", vec!["x == 1"; 500].join(" or "));
    assert!(kql::parse(&ors).is_ok());
    let pipes = format!("T{}", " | where x".repeat(300));
    assert!(kql::parse(&pipes).is_ok());
    let nested = format!("print {}1{}", "(".repeat(40), ")".repeat(40));
    assert!(kql::parse(&nested).is_ok());
    let list = format!("T | where x in ({})", vec!["'a'"; 5000].join(", "));
    assert!(kql::parse(&list).is_ok());
}

#[test]
fn odd_text_does_not_panic() {
    for src in [
        "",
        " ",
        "\n",
        "é",
        "👍 | where",
        "\u{0}",
        "\u{feff}T",
        "T | where x == 'é",
        "print '\\u",
        "print '\\uD83D'",
        "print \"\\U0011FFFF\"",
        "print 0x",
        "print 0xFFFFFFFFFFFFFFFFF",
        "print 1e",
        "print 1e99999",
        "print 1.",
        "print .5",
        "print 1..",
        "print datetime(",
        "print datetime()",
        "print time(99999999999999999999d)",
        "print dynamic(",
        "print dynamic()",
        "print dynamic([1,])",
        "print dynamic({'a'})",
        "print guid()",
        "print int()",
        "T | where $",
        "T | project-",
        "T | project-away -",
        "T | mv-apply x on (",
        "T | mv-apply x on ()",
        "let",
        "let x",
        "let x =",
        "let f = (",
        "let f = () {",
        "let f = () {}",
        "set",
        "set x =",
        "declare",
        "declare query_parameters(",
        "T | join",
        "T | join (",
        "T | join () on",
        "T | top-nested",
        "T | top-nested 1 of",
        "T | render",
        "T | render x with (",
        "T | make-series",
        "T | make-series c=count() on",
        "T | parse x with",
        "range",
        "range x",
        "datatable",
        "datatable(",
        "datatable(a:int)",
        "datatable(a:int)[",
        "union",
        "search",
        "evaluate",
        "evaluate x",
        "print x between (1",
        "print x between (1 ..",
        "print !",
        "print a !",
        "print a ! in (1)",
        "print a in~",
        "print a matches",
        "print [",
        "print ['a'",
        "print ['a']",
        "h'",
        "h@'",
        "@",
        "@'",
        "```",
        "print h```x",
        "T | where x in (T | ",
        "T | scan (",
        "T | scan )",
        "T | fork )",
        "print 1; ;; ; print 2;",
        "T | summarize by",
        "T | summarize (a, b) =",
        "T | summarize (a, b",
        "print x.",
        "print x.(",
        "print x.[",
        "print f(a=)",
        "print f(a:)",
        "print f(,)",
        "print (,)",
        "T | as",
        "T | invoke",
        "T | invoke f",
        "T | sort by",
        "T | sort by x nulls",
        "T | take",
        "T | extend (a) = 1",
    ] {
        check(src);
    }
}

fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kql-conformance");
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                if let Some(q) = json.get("query").and_then(|q| q.as_str()) {
                    out.push(q.to_string());
                }
            }
        }
        out.sort();
        if out.is_empty() {
            // Without the corpus, mutate a few representative queries instead.
            out = vec![
                "let x = 1;\nT | where a == x and b has 'y' | summarize count() by bin(ts, 1h)".into(),
                "datatable(a:int, b:string) [1, 'x'] | join kind=inner (U) on a | project-away b*".into(),
                "print d = dynamic({'a': [1, 2.5, datetime(2024-01-01)]}), t = time(1.02:03:04)".into(),
                "T | mv-apply x to typeof(long) on (top 1 by x) | render timechart with (title='t')".into(),
            ];
        }
        out
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Insert(usize, char),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        '|', '(', ')', '[', ']', '"', '\'', '{', '}', ';', ',', '=', '!', '~', '.', '-', '*', '@',
        '`', '/', '\n', 'é', '😀', '\\', ':',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), special).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

/// Applies a mutation at a character index (so the text stays valid UTF-8).
fn mutate(src: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    match *m {
        Mutation::Delete(i) if n > 0 => {
            chars.remove(i % n);
        }
        Mutation::Insert(i, c) => chars.insert(i % (n + 1), c),
        Mutation::Truncate(i) => chars.truncate(i % (n + 1)),
        Mutation::Duplicate(i, len) if n > 0 => {
            let start = i % n;
            let end = (start + len).min(n);
            let piece: Vec<char> = chars[start..end].to_vec();
            for (k, c) in piece.into_iter().enumerate() {
                chars.insert(end + k, c);
            }
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// KQL-ish tokens, so random sequences reach deep into the grammar.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "T",
        "|",
        "where",
        "extend",
        "project",
        "project-away",
        "summarize",
        "by",
        "join",
        "kind",
        "=",
        "inner",
        "on",
        "$left",
        ".",
        "$right",
        "==",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ";",
        "1",
        "-",
        "+",
        "*",
        "/",
        "1.5",
        "1d",
        "'s'",
        "\"t\"",
        "@'v'",
        "h'x'",
        "datetime(2024-01-01)",
        "time(1:00)",
        "dynamic",
        "let",
        "set",
        "x",
        "y",
        "count()",
        "in",
        "~",
        "!",
        "!in~",
        "between",
        "..",
        "has",
        "and",
        "or",
        "mv-apply",
        "mv-expand",
        "to",
        "typeof",
        "long",
        "parse",
        "with",
        "render",
        "make-series",
        "from",
        "step",
        "range",
        "print",
        "datatable",
        "union",
        "search",
        "evaluate",
        "top-nested",
        "of",
        "scan",
        "view",
        "top",
        "sort",
        "asc",
        "nulls",
        "first",
        "take",
        "distinct",
        "lookup",
        "as",
        "invoke",
        "f",
        "contains",
        "matches",
        "regex",
        "//c\n",
        "```m```",
        "null",
        "true",
        ":",
        "string",
        "declare",
        "query_parameters",
        "others",
        "default",
        "limit",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(src in "\\PC{0,200}") {
        check(&src);
    }

    #[test]
    fn random_kql_characters_never_panic(src in "[a-z0-9 |()\\[\\]{}\"'=<>!~.,;:*+/%@`\\\\\n-]{0,200}") {
        check(&src);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..60)) {
        check(&tokens.join(" "));
    }

    #[test]
    fn mutated_corpus_queries_never_panic(
        index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let queries = corpus();
        let mut src = queries[index % queries.len()].clone();
        for m in &mutations {
            src = mutate(&src, m);
        }
        check(&src);
    }
}
