//! `clickhunt query` on the Defender portal export sample.

use std::path::PathBuf;
use std::process::Command;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/demo/urlclickevents.csv")
}

fn run(query: &str, format: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clickhunt"))
        .args(["query", "--format", format, "--table"])
        .arg(format!("UrlClickEvents={}", sample().display()))
        .arg(query)
        .output()
        .expect("run clickhunt");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example on the UrlClickEvents schema page, after its table line.
const SCHEMA_PAGE_BODY: &str = "// Phishing clicks that were allowed or clicked through\n\
| where ActionType == \"ClickAllowed\" or IsClickedThrough !=\"0\"\n\
| where ThreatTypes has \"Phish\"\n\
| summarize by ReportId, IsClickedThrough, AccountUpn, NetworkMessageId, ThreatTypes, Timestamp";

#[test]
fn schema_page_example_returns_the_click_through() {
    let query = format!("UrlClickEvents\n{SCHEMA_PAGE_BODY}");
    let (ok, stdout, stderr) = run(&query, "json");
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{stdout}");
    let names: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let col = |n: &str| &rows[0][names.iter().position(|x| *x == n).unwrap()];
    assert_eq!(col("ReportId"), "b1805299-1a63-4c53-fe55-08dc022fc6cc");
    assert_eq!(col("Timestamp"), "2023-12-21T14:19:41Z");
    assert_eq!(col("IsClickedThrough"), true);
    assert_eq!(v["columns"][1]["type"], "bool");
}

#[test]
fn query_without_its_table_line_says_a_table_must_come_first() {
    let (ok, stdout, stderr) = run(SCHEMA_PAGE_BODY, "json");
    assert!(!ok);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("must start with a table name"), "{msg}");
    assert!(msg.contains("UrlClickEvents"), "{msg}");
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["error"]["column"], 1);
    assert!(stderr.contains("^"), "{stderr}");
}

#[test]
fn unknown_names_get_a_place_and_a_suggestion() {
    let (ok, stdout, _) = run("UrlClickEvents\n| where Timestamps > ago(1d)", "json");
    assert!(!ok);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("'where' operator: Failed to resolve scalar expression named 'Timestamps'"),
        "{msg}"
    );
    assert!(msg.contains("did you mean 'Timestamp'?"), "{msg}");
    assert_eq!(
        (v["error"]["line"].as_u64(), v["error"]["column"].as_u64()),
        (Some(2), Some(9))
    );

    let (ok, stdout, _) = run("UrlClikEvents | take 1", "json");
    assert!(!ok);
    assert!(
        stdout.contains("did you mean 'UrlClickEvents'?"),
        "{stdout}"
    );

    let (ok, stdout, _) = run("UrlClickEvents | extend x = tolowr(Url)", "json");
    assert!(!ok);
    assert!(
        stdout.contains("Unknown function: 'tolowr'") && stdout.contains("did you mean 'tolower'?"),
        "{stdout}"
    );
}

#[test]
fn unsupported_operators_are_named() {
    let (ok, stdout, _) = run("UrlClickEvents | scan with (step s1: true;)", "json");
    assert!(!ok);
    assert!(stdout.contains("'scan'"), "{stdout}");
}

#[test]
fn formats_and_sentinel_time_column() {
    let (ok, stdout, stderr) = run(
        "UrlClickEvents | where TimeGenerated > datetime(2023-12-21 19:55) | project Timestamp, ActionType",
        "csv",
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "Timestamp,ActionType\r\n2023-12-21T19:56:05Z,ClickAllowed\r\n"
    );
    let (ok, stdout, _) = run(
        "UrlClickEvents | summarize n = count() by Workload | sort by Workload asc",
        "jsonl",
    );
    assert!(ok);
    assert!(
        stdout.starts_with("{\"Workload\":\"Email\",\"n\":7}\n{\"Workload\":\"Teams\""),
        "{stdout}"
    );
    let (ok, stdout, _) = run("UrlClickEvents | count", "table");
    assert!(ok);
    assert!(stdout.contains("Count"), "{stdout}");
}

/// Ingests the sample into a fresh store and returns its directory.
fn sample_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clickhunt"))
        .args(["ingest", "--table", "UrlClickEvents", "--data"])
        .arg(dir.path())
        .arg(sample())
        .output()
        .expect("run clickhunt ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn run_on_store(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clickhunt"))
        .args(["query", "--data"])
        .arg(dir)
        .args(args)
        .output()
        .expect("run clickhunt query");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn schema_page_example_and_explain_on_a_store() {
    let dir = sample_store();
    let query = format!("UrlClickEvents\n{SCHEMA_PAGE_BODY}");
    let (ok, stdout, stderr) = run_on_store(dir.path(), &["--format", "json", &query]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1, "{stdout}");
    assert_eq!(v["rows"][0][0], "b1805299-1a63-4c53-fe55-08dc022fc6cc");

    // The sample spans 2023-11-24 and 2023-12-20..21: a December filter prunes November.
    let (ok, stdout, stderr) = run_on_store(
        dir.path(),
        &[
            "--explain",
            "UrlClickEvents | where Timestamp > datetime(2023-12-01) | count",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Physical plan:"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("UrlClickEvents:"))
        .unwrap_or_else(|| panic!("no scan line: {stdout}"));
    assert!(
        line.contains("2 files scanned (6 rows), 1 pruned (2 rows)"),
        "{line}"
    );
    assert!(
        stdout.contains("pruned segments/date=2023-11-24/"),
        "{stdout}"
    );

    // --repeat runs the query several times and --timings records each run.
    let timings = dir.path().join("timings.json");
    let (ok, stdout, stderr) = run_on_store(
        dir.path(),
        &[
            "--repeat",
            "3",
            "--timings",
            timings.to_str().unwrap(),
            "--format",
            "csv",
            "UrlClickEvents | count",
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "Count\r\n8\r\n");
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    assert_eq!(t["runs_ms"].as_array().unwrap().len(), 3, "{t}");
}
