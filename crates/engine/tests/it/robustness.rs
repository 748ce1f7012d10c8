//! No query text makes the parser or the planner panic: random text and mutations of
//! the conformance corpus are planned (and sub-queries run) under `catch_unwind`.

use engine::Engine;
use proptest::prelude::*;
use std::sync::OnceLock;

fn corpus() -> &'static Vec<String> {
    static C: OnceLock<Vec<String>> = OnceLock::new();
    C.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/kql-conformance");
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                        if let Some(q) = v["query"].as_str() {
                            out.push(q.to_string());
                        }
                    }
                }
            }
        }
        out.sort();
        if out.is_empty() {
            out.push(
                "UrlClickEvents | where Url has 'x' | summarize count() by bin(Timestamp, 1h)"
                    .into(),
            );
        }
        out
    })
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(Engine::new)
}

fn plans_without_panic(q: &str) {
    let r = std::panic::catch_unwind(|| {
        let _ = engine().plan_at(q, 0);
    });
    assert!(r.is_ok(), "planning panicked on {q:?}");
}

const NOISE: &[&str] = &[
    "|",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "'",
    ",",
    "==",
    " by ",
    " on ",
    "dynamic(",
    "*",
    "-",
    ";",
    "let x = ",
    "datetime(",
    "1d",
    "$left.",
    "toscalar(",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_queries_never_panic(i in 0usize..10_000, cut in 0usize..400, n in 0usize..NOISE.len(), at in 0usize..400) {
        let c = corpus();
        let q = &c[i % c.len()];
        let mut chars: Vec<char> = q.chars().collect();
        let at = at % (chars.len() + 1);
        for (k, ch) in NOISE[n].chars().enumerate() {
            chars.insert(at + k, ch);
        }
        let cut = cut % (chars.len() + 1);
        let truncated: String = chars[..cut.max(at.min(chars.len()))].iter().collect();
        plans_without_panic(&chars.iter().collect::<String>());
        plans_without_panic(&truncated);
    }

    #[test]
    fn random_text_never_panics(s in "[ -~\\n]{0,80}") {
        plans_without_panic(&s);
        plans_without_panic(&format!("print {s}"));
        plans_without_panic(&format!("UrlClickEvents | where {s}"));
    }
}
