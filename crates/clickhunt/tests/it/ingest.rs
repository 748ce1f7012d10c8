//! `clickhunt ingest`: whole files or nothing, while loading as it decodes.

use std::process::Command;

fn clickhunt(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clickhunt"))
        .args(args)
        .output()
        .expect("run clickhunt");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"Timestamp\":\"2026-10-{:02}T00:00:{:02}.1234567Z\",\"Url\":\"https://{tag}.example/{i}\",\"ActionType\":\"ClickAllowed\",\"IsClickedThrough\":false}}\n",
                1 + i % 28,
                i % 60
            )
        })
        .collect()
}

fn count(dir: &str) -> String {
    let (ok, out, err) = clickhunt(&[
        "query",
        "--data",
        dir,
        "--format",
        "csv",
        "UrlClickEvents | count",
    ]);
    assert!(ok, "{err}");
    out
}

#[test]
fn a_bad_row_late_in_a_large_file_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data = data.to_str().unwrap();
    let small = tmp.path().join("UrlClickEvents.small.jsonl");
    std::fs::write(&small, rows(3, "first")).unwrap();
    let (ok, _, err) = clickhunt(&["ingest", "--data", data, small.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(count(data), "Count\r\n3\r\n");

    // 70 000 good rows (several decoded chunks, already being written) and one bad.
    let big = tmp.path().join("UrlClickEvents.big.jsonl");
    let mut text = rows(70_000, "big");
    text.push_str("{\"Timestamp\":\"not a time\",\"Url\":\"https://bad.example/\"}\n");
    std::fs::write(&big, &text).unwrap();
    let (ok, _, err) = clickhunt(&["ingest", "--data", data, big.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("1 bad row") && err.contains("line 70001"),
        "{err}"
    );
    assert!(err.contains("Timestamp"), "{err}");
    assert_eq!(
        count(data),
        "Count\r\n3\r\n",
        "nothing of the bad file is visible"
    );
    let segments = |d: &str| {
        walk(std::path::Path::new(d))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .count()
    };
    let before = segments(data);

    // The same rows without the bad one all arrive, with all 7 fractional digits.
    std::fs::write(&big, rows(70_000, "big")).unwrap();
    let (ok, out, err) = clickhunt(&["ingest", "--data", data, big.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("70000 rows"), "{out}");
    assert_eq!(count(data), "Count\r\n70003\r\n");
    assert!(segments(data) > before);
    let (ok, out, err) = clickhunt(&[
        "query",
        "--data",
        data,
        "--format",
        "csv",
        "UrlClickEvents | where Url == 'https://big.example/61' | project Timestamp",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out, "Timestamp\r\n2026-10-06T00:00:01.1234567Z\r\n");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
