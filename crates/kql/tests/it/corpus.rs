//! Parses every query of the shared conformance corpus: each must parse (unsupported
//! operators are fine: they parse to `OperatorKind::Unsupported`).

use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/kql-conformance")
}

/// (file name, query) for every case, or None if the corpus is not on this machine.
fn corpus() -> Option<Vec<(String, String)>> {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid corpus JSON");
        if let Some(q) = json.get("query").and_then(|q| q.as_str()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, q.to_string()));
        }
    }
    out.sort();
    Some(out)
}

#[test]
fn corpus_queries_parse() {
    let Some(cases) = corpus() else {
        println!(
            "note: {} not found; skipping the corpus test",
            corpus_dir().display()
        );
        return;
    };
    let mut failures = Vec::new();
    for (name, query) in &cases {
        if let Err(diags) = kql::parse(query) {
            let rendered: Vec<String> = diags.iter().map(|d| d.render(query)).collect();
            failures.push(format!("{name}:\n{}", rendered.join("")));
        }
    }
    let parsed = cases.len() - failures.len();
    println!("corpus: {parsed}/{} queries parse", cases.len());
    for f in &failures {
        println!("{f}");
    }
    assert!(
        parsed * 100 >= cases.len() * 99,
        "only {parsed}/{} corpus queries parse; failures:\n{}",
        cases.len(),
        failures.join("\n")
    );
}
