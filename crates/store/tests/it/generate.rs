//! The synthetic data generator: deterministic, linked, plausibly proportioned, and
//! readable back by the ingest decoders in every format it writes.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::TimestampNanosecondType;
use std::collections::{BTreeMap, HashMap, HashSet};
use store::generate::{self, FileFormat, GenerateOptions, Generator, GENERATED_TABLES};
use store::ingest::{self, DecodeOptions, Format};

fn opts(seed: u64, clicks: u64) -> GenerateOptions {
    GenerateOptions {
        seed,
        clicks,
        days: 14,
        chunk_clicks: 4_000,
        ..GenerateOptions::default()
    }
}

/// All rows of each table, concatenated.
fn tables(g: &Generator) -> BTreeMap<&'static str, RecordBatch> {
    let mut parts: BTreeMap<&'static str, Vec<RecordBatch>> = BTreeMap::new();
    for (t, b) in g.batches() {
        parts.entry(t).or_default().push(b);
    }
    parts
        .into_iter()
        .map(|(t, bs)| (t, concat_batches(&bs[0].schema(), &bs).unwrap()))
        .collect()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<String> {
    let a = b.column_by_name(col).unwrap().as_string::<i32>();
    (0..a.len()).map(|i| a.value(i).to_string()).collect()
}

fn bools(b: &RecordBatch, col: &str) -> Vec<bool> {
    let a = b.column_by_name(col).unwrap().as_boolean();
    (0..a.len()).map(|i| a.value(i)).collect()
}

fn times(b: &RecordBatch) -> Vec<i64> {
    b.column_by_name("Timestamp")
        .unwrap()
        .as_primitive::<TimestampNanosecondType>()
        .values()
        .to_vec()
}

#[test]
fn same_seed_same_rows() {
    let a = tables(&Generator::new(opts(7, 9_000)));
    let b = tables(&Generator::new(opts(7, 9_000)));
    assert_eq!(a, b);
    let c = tables(&Generator::new(opts(8, 9_000)));
    assert_ne!(a["UrlClickEvents"], c["UrlClickEvents"]);
    assert_eq!(a["UrlClickEvents"].num_rows(), 9_000);
    for t in GENERATED_TABLES {
        let cols = engine::catalog::builtin_schema(t).unwrap();
        assert_eq!(a[t].schema(), engine::Engine::arrow_schema(&cols), "{t}");
    }
}

#[test]
fn clicks_link_to_their_messages() {
    let t = tables(&Generator::new(opts(3, 20_000)));
    let (ee, ui, uc) = (&t["EmailEvents"], &t["EmailUrlInfo"], &t["UrlClickEvents"]);
    let recipients: HashSet<(String, String)> = strs(ee, "NetworkMessageId")
        .into_iter()
        .zip(strs(ee, "RecipientEmailAddress"))
        .collect();
    let urls: HashSet<(String, String)> = strs(ui, "NetworkMessageId")
        .into_iter()
        .zip(strs(ui, "Url"))
        .collect();
    let (nm, url, upn, wl, src) = (
        strs(uc, "NetworkMessageId"),
        strs(uc, "Url"),
        strs(uc, "AccountUpn"),
        strs(uc, "Workload"),
        strs(uc, "SourceId"),
    );
    let mut email = 0;
    for i in 0..uc.num_rows() {
        if wl[i] != "Email" {
            assert_eq!(nm[i], "", "non-email clicks have no message");
            continue;
        }
        email += 1;
        assert!(
            recipients.contains(&(nm[i].clone(), upn[i].clone())),
            "row {i}: no such recipient"
        );
        assert!(
            urls.contains(&(nm[i].clone(), url[i].clone())),
            "row {i}: URL not in the message"
        );
        assert_eq!(src[i], nm[i], "SourceId = NetworkMessageId for Email");
    }
    assert!(email > uc.num_rows() / 2);
    // Click time follows the message.
    let sent: HashMap<String, i64> = strs(ee, "NetworkMessageId")
        .into_iter()
        .zip(times(ee))
        .collect();
    for (i, ts) in times(uc).into_iter().enumerate() {
        if wl[i] == "Email" {
            assert!(ts >= sent[&nm[i]], "row {i} clicked before it was sent");
        }
    }
}

#[test]
fn click_throughs_share_report_id() {
    let t = tables(&Generator::new(opts(5, 30_000)));
    let uc = &t["UrlClickEvents"];
    let (ids, through, action) = (
        strs(uc, "ReportId"),
        bools(uc, "IsClickedThrough"),
        strs(uc, "ActionType"),
    );
    let mut by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        by_id.entry(id).or_default().push(i);
    }
    let mut pairs = 0;
    for rows in by_id.values() {
        match rows.as_slice() {
            [one] => assert!(!through[*one]),
            [a, b] => {
                pairs += 1;
                assert!(
                    !through[*a] && through[*b],
                    "first row is the click, second the click-through"
                );
                assert_eq!(action[*a], action[*b]);
                assert!(["ClickBlocked", "UrlScanInProgress"].contains(&action[*a].as_str()));
            }
            more => panic!("{} rows share a ReportId", more.len()),
        }
    }
    assert!(pairs > 10, "{pairs} click-through pairs");
}

#[test]
fn proportions_look_like_a_tenant() {
    let t = tables(&Generator::new(opts(11, 40_000)));
    let uc = &t["UrlClickEvents"];
    let n = uc.num_rows() as f64;
    let share = |col: &str, v: &str| strs(uc, col).iter().filter(|x| *x == v).count() as f64 / n;
    assert!(share("ActionType", "ClickAllowed") > 0.8);
    for a in [
        "ClickBlocked",
        "ClickBlockedByTenantPolicy",
        "UrlScanInProgress",
        "UrlErrorPage",
    ] {
        let s = share("ActionType", a);
        assert!(s > 0.002 && s < 0.12, "{a}: {s}");
    }
    assert!((share("Workload", "Email") - 0.8).abs() < 0.05);
    for w in ["Teams", "Office", "Copilot"] {
        assert!(share("Workload", w) > 0.005, "{w}");
    }
    let threats: HashSet<String> = strs(uc, "ThreatTypes").into_iter().collect();
    for v in ["", "Phish", "Malware", "Spam"] {
        assert!(threats.contains(v), "{v}");
    }
    // DetectionMethods and UrlChain are JSON strings; the chain starts with the Url.
    for (i, dm) in strs(uc, "DetectionMethods")
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(dm).unwrap();
        assert!(v.is_object(), "row {i}: {dm}");
    }
    for (chain, url) in strs(uc, "UrlChain").iter().zip(strs(uc, "Url")) {
        let v: serde_json::Value = serde_json::from_str(chain).unwrap();
        assert_eq!(v[0], serde_json::Value::String(url));
    }
    let ips = strs(uc, "IPAddress");
    assert!(ips.iter().any(|ip| ip.contains(':')) && ips.iter().any(|ip| ip.contains('.')));
    assert!(strs(uc, "AccountUpn")
        .iter()
        .all(|u| *u == u.to_lowercase()));
    // Inside the window, busier in office hours than at night.
    let o = opts(11, 40_000);
    let start = o.end - o.days as i64 * 86_400_000_000_000;
    let mut hours = [0usize; 24];
    for ts in times(uc) {
        assert!(ts >= start && ts < o.end);
        assert_eq!(ts % 100, 0, "100 ns ticks");
        hours[((ts / 3_600_000_000_000) % 24) as usize] += 1;
    }
    assert!(hours[9] > 3 * hours[3], "{hours:?}");
    assert!(strs(uc, "AppName").contains(&"Mail".to_string()));
}

#[test]
fn every_written_format_ingests_back_unchanged() {
    let g = Generator::new(GenerateOptions {
        chunk_clicks: 700,
        ..opts(2, 1_500)
    });
    let want = tables(&g);
    for format in [
        FileFormat::Parquet,
        FileFormat::Jsonl,
        FileFormat::Csv,
        FileFormat::Defender,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let written = generate::write_files(&g, format, dir.path(), &[], None).unwrap();
        assert_eq!(written.files.len(), 3);
        for (table, path, rows) in &written.files {
            assert_eq!(*rows as usize, want[table.as_str()].num_rows());
            let d = ingest::decode_file(
                path,
                Format::Auto,
                &DecodeOptions::default(),
                &ingest::builtin_schema,
            )
            .unwrap_or_else(|e| panic!("{format:?} {table}: {e}"));
            let expected_format = match format {
                FileFormat::Parquet => Format::Parquet,
                FileFormat::Jsonl => Format::Jsonl,
                FileFormat::Csv => Format::Csv,
                FileFormat::Defender => Format::Defender,
            };
            assert_eq!(d.format, expected_format);
            let bs: Vec<RecordBatch> = d.batches.into_iter().map(|(_, b)| b).collect();
            let got = concat_batches(&bs[0].schema(), &bs).unwrap();
            assert_eq!(&got, &want[table.as_str()], "{format:?} {table}");
        }
    }
}
