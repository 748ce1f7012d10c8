//! The ingest decoders on the real export formats in `shared/sample-data/`, on bad
//! input, and (proptest) on random and mutated input, which must never panic.

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::datatypes::TimestampNanosecondType;
use engine::{Col, KqlType};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use store::ingest::{self, decode, DecodeOptions, Decoded, Format, IngestError};

fn sample_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for up in ["../../../shared/sample-data", "../../shared/sample-data"] {
        let p = here.join(up);
        if p.is_dir() {
            return p;
        }
    }
    panic!("shared/sample-data not found");
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(sample_dir().join(name)).unwrap()
}

fn builtin(t: &str) -> Option<Vec<Col>> {
    ingest::builtin_schema(t)
}

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

fn with_table(t: &str) -> DecodeOptions {
    DecodeOptions {
        table: Some(t.to_string()),
        ..DecodeOptions::default()
    }
}

fn run(bytes: &[u8], format: Format, o: &DecodeOptions) -> Result<Decoded, IngestError> {
    decode(bytes, "input", format, o, &builtin)
}

/// Records per table, counted from the file with serde_json alone.
fn categories<'a>(records: impl Iterator<Item = &'a serde_json::Value>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        let c = r["category"].as_str().unwrap();
        *m.entry(c.strip_prefix("AdvancedHunting-").unwrap().to_string())
            .or_default() += 1;
    }
    m
}

fn split_known(
    counts: BTreeMap<String, usize>,
) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    counts.into_iter().partition(|(t, _)| builtin(t).is_some())
}

fn column<'a>(d: &'a Decoded, table: &str, col: &str) -> Vec<&'a dyn Array> {
    d.batches
        .iter()
        .filter(|(t, _)| t == table)
        .map(|(_, b)| b.column_by_name(col).unwrap().as_ref())
        .collect()
}

fn strings(d: &Decoded, table: &str, col: &str) -> Vec<String> {
    column(d, table, col)
        .into_iter()
        .flat_map(|a| {
            let s = a.as_string::<i32>();
            (0..s.len())
                .map(|i| s.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn timestamps(d: &Decoded, table: &str) -> Vec<i64> {
    column(d, table, "Timestamp")
        .into_iter()
        .flat_map(|a| {
            a.as_primitive::<TimestampNanosecondType>()
                .values()
                .to_vec()
        })
        .collect()
}

#[test]
fn storage_stream_routes_by_category() {
    let bytes = sample("defender-stream-storage.jsonl");
    let text = std::str::from_utf8(&bytes).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (known, unknown) = split_known(categories(records.iter()));
    assert!(
        !unknown.is_empty(),
        "the sample has tables outside the built-in set"
    );

    let d = run(&bytes, Format::Auto, &opts()).unwrap();
    assert_eq!(d.format, Format::Defender);
    assert_eq!(d.rows_by_table(), known);
    assert_eq!(d.unknown, unknown);
    assert!(d.rejected.is_empty());
    // Explicit format gives the same.
    let e = run(&bytes, Format::Defender, &opts()).unwrap();
    assert_eq!(e.rows_by_table(), known);
    // Every batch has its table's schema.
    for (t, b) in &d.batches {
        let cols = builtin(t).unwrap();
        assert_eq!(b.schema(), engine::Engine::arrow_schema(&cols), "{t}");
    }
}

#[test]
fn event_hub_message_routes_by_category() {
    let bytes = sample("defender-stream-eventhub.json");
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let (known, unknown) = split_known(categories(doc["records"].as_array().unwrap().iter()));
    let d = run(&bytes, Format::Auto, &opts()).unwrap();
    assert_eq!(d.format, Format::Defender);
    assert_eq!(d.rows_by_table(), known);
    assert_eq!(d.unknown, unknown);
    // EmailEvents To/Cc are native arrays: kept as JSON text in dynamic columns.
    let to = strings(&d, "EmailEvents", "To");
    assert!(
        to.iter().all(|t| t.is_empty() || t.starts_with('[')),
        "{to:?}"
    );
    assert!(to.contains(&"[\"megan.bowen@contoso.com\"]".to_string()));
    // JSON null in a string column is "".
    assert!(strings(&d, "EmailEvents", "ThreatTypes").contains(&String::new()));
}

#[test]
fn timestamps_keep_seven_digits() {
    let d = run(
        &sample("defender-stream-eventhub.json"),
        Format::Auto,
        &opts(),
    )
    .unwrap();
    let want = kql_value::format::parse_datetime("2026-07-19T17:02:06.1314605Z").unwrap();
    let ts = timestamps(&d, "UrlClickEvents");
    assert!(ts.contains(&want), "{ts:?}");
    assert_eq!(
        kql_value::format::format_datetime(want),
        "2026-07-19T17:02:06.1314605Z"
    );
    // UrlChain with ", " stays the string it was.
    assert!(strings(&d, "UrlClickEvents", "UrlChain")
        .iter()
        .any(|c| c.contains("\", \"")));
}

#[test]
fn portal_csv_export_fills_the_fifteen_columns() {
    let bytes = sample("portal-export-urlclickevents.csv");
    let text = std::str::from_utf8(&bytes).unwrap();
    let data_lines = text.split("\r\n").filter(|l| !l.is_empty()).count() - 1;
    let d = run(&bytes, Format::Auto, &with_table("UrlClickEvents")).unwrap();
    assert_eq!(d.format, Format::Csv);
    assert_eq!(d.rows_by_table()["UrlClickEvents"], data_lines);
    let b = &d.batches[0].1;
    assert_eq!(b.num_columns(), 15);
    for c in ["AppName", "AppVersion", "SourceId"] {
        assert!(
            strings(&d, "UrlClickEvents", c)
                .iter()
                .all(String::is_empty),
            "{c}"
        );
    }
    // 0/1 bools; rows 3-4 are a click-through pair sharing a ReportId.
    let ct: &BooleanArray = b.column_by_name("IsClickedThrough").unwrap().as_boolean();
    assert!(!ct.value(2) && ct.value(3));
    let ids = strings(&d, "UrlClickEvents", "ReportId");
    assert_eq!(ids[2], ids[3]);
    // JSON with doubled quotes, whole-second timestamps.
    assert_eq!(
        strings(&d, "UrlClickEvents", "DetectionMethods")[2],
        r#"{"Phish":["URL detonation reputation"]}"#
    );
    let t0 = timestamps(&d, "UrlClickEvents")[0];
    assert_eq!(
        kql_value::format::format_datetime(t0),
        "2023-12-21T19:56:05Z"
    );
}

#[test]
fn csv_export_answers_the_schema_page_query() {
    let d = run(
        &sample("portal-export-urlclickevents.csv"),
        Format::Csv,
        &with_table("UrlClickEvents"),
    )
    .unwrap();
    let engine = engine::Engine::new();
    let batches: Vec<RecordBatch> = d.batches.into_iter().map(|(_, b)| b).collect();
    engine
        .register_batches(
            "UrlClickEvents",
            builtin("UrlClickEvents").unwrap(),
            batches,
        )
        .unwrap();
    let q = r#"UrlClickEvents
| where ActionType == "ClickAllowed" or IsClickedThrough !="0"
| where ThreatTypes has "Phish"
| summarize by ReportId, IsClickedThrough, AccountUpn, NetworkMessageId, ThreatTypes, Timestamp"#;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(engine.query(q)).unwrap();
    let rows = engine::format::result_rows(&r).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0][0].to_kql_string(),
        "b1805299-1a63-4c53-fe55-08dc022fc6cc"
    );
}

#[test]
fn gzip_input_is_detected() {
    for (name, table) in [
        ("defender-stream-storage.jsonl", None),
        ("defender-stream-eventhub.json", None),
        ("portal-export-urlclickevents.csv", Some("UrlClickEvents")),
    ] {
        let bytes = sample(name);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let gz = gz.finish().unwrap();
        let o = DecodeOptions {
            table: table.map(str::to_string),
            ..opts()
        };
        let plain = run(&bytes, Format::Auto, &o).unwrap();
        let zipped = run(&gz, Format::Auto, &o).unwrap();
        assert_eq!(plain.rows_by_table(), zipped.rows_by_table(), "{name}");
        assert_eq!(plain.format, zipped.format);
        // A truncated gzip stream is a clear error, not a panic.
        let cut = run(&gz[..gz.len() / 2], Format::Auto, &o).unwrap_err();
        assert!(cut.to_string().contains("gzip"), "{cut}");
    }
}

#[test]
fn create_tables_infers_unknown_tables() {
    let o = DecodeOptions {
        create_tables: true,
        ..opts()
    };
    let d = run(&sample("defender-stream-storage.jsonl"), Format::Auto, &o).unwrap();
    assert!(d.unknown.is_empty());
    let dne = d
        .created
        .iter()
        .find(|t| t.name == "DeviceNetworkEvents")
        .expect("DeviceNetworkEvents created");
    let ty = |n: &str| dne.columns.iter().find(|c| c.name == n).unwrap().ty;
    assert_eq!(ty("ReportId"), KqlType::Long);
    assert_eq!(ty("Timestamp"), KqlType::DateTime);
    assert_eq!(ty("IsInitiatingProcessRemoteSession"), KqlType::Bool);
    assert_eq!(ty("RemoteUrl"), KqlType::String); // only nulls seen
    assert_eq!(d.rows_by_table()["DeviceNetworkEvents"], 1);
}

#[test]
fn table_from_a_files_own_columns() {
    let jsonl =
        b"{\"When\":\"2024-01-02T03:04:05.1234567Z\",\"N\":3,\"Tags\":[\"a\"],\"Ok\":true}\n\
                  {\"When\":\"2024-01-02T03:04:06Z\",\"N\":4.5,\"Tags\":null,\"Ok\":false}\n";
    let o = DecodeOptions {
        table: Some("MyTable".into()),
        create_tables: true,
        ..opts()
    };
    let d = run(jsonl, Format::Auto, &o).unwrap();
    assert_eq!(d.format, Format::Jsonl);
    let cols: Vec<(String, KqlType)> = d.created[0]
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("When".into(), KqlType::DateTime),
            ("N".into(), KqlType::Real),
            ("Tags".into(), KqlType::Dynamic),
            ("Ok".into(), KqlType::Bool)
        ]
    );
    let csv = b"A,B,C\r\n1,x,2024-01-01T00:00:00Z\r\n2,,\r\n";
    let d = run(csv, Format::Auto, &o).unwrap();
    let tys: Vec<KqlType> = d.created[0].columns.iter().map(|c| c.ty).collect();
    assert_eq!(tys, [KqlType::Long, KqlType::String, KqlType::DateTime]);
    assert_eq!(d.total_rows(), 2);
    // Without create_tables the unknown table is an error naming it.
    let e = run(csv, Format::Auto, &with_table("MyTable")).unwrap_err();
    assert!(matches!(e, IngestError::UnknownTable { .. }), "{e}");
}

#[test]
fn parquet_any_timestamp_unit_reads_as_utc() {
    use datafusion::arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let ms = 1_700_000_000_123i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "Timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
        Field::new("Url", DataType::Utf8, true),
        Field::new("IsClickedThrough", DataType::Utf8, true),
        Field::new("Extra", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![Some(ms), None])),
            Arc::new(StringArray::from(vec![Some("https://a.example/"), None])),
            Arc::new(StringArray::from(vec![Some("True"), Some("0")])),
            Arc::new(Int64Array::from(vec![1, 2])),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let d = run(&buf, Format::Auto, &with_table("UrlClickEvents")).unwrap();
    assert_eq!(d.format, Format::Parquet);
    let b = &d.batches[0].1;
    assert_eq!(b.num_columns(), 15);
    assert_eq!(timestamps(&d, "UrlClickEvents")[0], ms * 1_000_000);
    assert_eq!(
        strings(&d, "UrlClickEvents", "Url"),
        ["https://a.example/", ""]
    );
    let ct = b.column_by_name("IsClickedThrough").unwrap().as_boolean();
    assert!(ct.value(0) && !ct.value(1));
    assert_eq!(strings(&d, "UrlClickEvents", "AppName"), ["", ""]);
    assert!(d.ignored_columns["UrlClickEvents"].contains("Extra"));
}

// ---- bad input ----

fn bad_rows(e: IngestError) -> (usize, Vec<ingest::RowError>) {
    match e {
        IngestError::BadRows { total, rows, .. } => (total, rows),
        other => panic!("expected bad rows, got {other}"),
    }
}

#[test]
fn truncated_json_names_its_line() {
    let bytes = sample("defender-stream-storage.jsonl");
    let cut = &bytes[..bytes.len() - 100];
    let lines = std::str::from_utf8(cut).unwrap().lines().count();
    let e = run(cut, Format::Auto, &opts()).unwrap_err();
    let msg = e.to_string();
    let (total, rows) = bad_rows(e);
    assert_eq!(total, 1);
    assert_eq!(rows[0].line, lines);
    assert!(rows[0].reason.contains("truncated JSON"), "{msg}");
    // The Event Hubs message cut inside a record.
    let eh = sample("defender-stream-eventhub.json");
    let e = run(&eh[..eh.len() / 2], Format::Auto, &opts()).unwrap_err();
    let (_, rows) = bad_rows(e);
    assert!(rows[0].reason.contains("truncated"), "{:?}", rows[0]);
    assert!(rows[0].line > 1);
}

#[test]
fn wrong_types_name_line_and_column() {
    let jsonl = "{\"Timestamp\":\"2024-01-01T00:00:00Z\",\"IsClickedThrough\":false}\n\
                 {\"Timestamp\":\"yesterday\",\"IsClickedThrough\":false}\n\
                 {\"Timestamp\":\"2024-01-01T00:00:00Z\",\"IsClickedThrough\":\"maybe\"}\n";
    let e = run(
        jsonl.as_bytes(),
        Format::Jsonl,
        &with_table("UrlClickEvents"),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 2, column Timestamp"), "{msg}");
    assert!(msg.contains("line 3, column IsClickedThrough"), "{msg}");
    let (total, _) = bad_rows(e);
    assert_eq!(total, 2);
}

#[test]
fn skip_bad_rows_returns_them() {
    let jsonl = "{\"Timestamp\":\"2024-01-01T00:00:00Z\",\"Url\":\"a\"}\n\
                 {\"Timestamp\":12,\"Url\":\"b\"}\n\
                 not json\n\
                 {\"Timestamp\":\"2024-01-01T00:00:01.5Z\",\"Url\":\"c\"}\n";
    let o = DecodeOptions {
        skip_bad_rows: true,
        ..with_table("UrlClickEvents")
    };
    let d = run(jsonl.as_bytes(), Format::Jsonl, &o).unwrap();
    assert_eq!(d.total_rows(), 2);
    assert_eq!(strings(&d, "UrlClickEvents", "Url"), ["a", "c"]);
    let lines: Vec<usize> = d.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3]);
    assert_eq!(d.rejected[0].column.as_deref(), Some("Timestamp"));
    assert_eq!(d.rejected[1].raw.as_deref(), Some("not json"));
}

#[test]
fn unknown_category_is_counted_not_dropped() {
    let line = r#"{"time":"2026-01-01T00:00:00Z","category":"AdvancedHunting-NoSuchTable","properties":{"A":1}}"#;
    let d = run(
        format!("{line}\n{line}\n").as_bytes(),
        Format::Auto,
        &opts(),
    )
    .unwrap();
    assert_eq!(d.unknown["NoSuchTable"], 2);
    assert_eq!(d.total_rows(), 0);
    // A category that is not an advanced hunting one is a bad row.
    let other = r#"{"category":"SignInLogs","properties":{}}"#;
    let e = run(other.as_bytes(), Format::Defender, &opts()).unwrap_err();
    assert!(e.to_string().contains("column category"), "{e}");
}

#[test]
fn csv_missing_column_and_missing_field() {
    // The header lacks DetectionMethods: that column is empty.
    let csv = "Timestamp,Url,IsClickedThrough\r\n2024-01-01T00:00:00Z,https://x.example/,1\r\n";
    let d = run(csv.as_bytes(), Format::Csv, &with_table("UrlClickEvents")).unwrap();
    assert_eq!(strings(&d, "UrlClickEvents", "DetectionMethods"), [""]);
    // A row with a field missing is a bad row on its own line.
    let csv = "Timestamp,Url,IsClickedThrough\r\n2024-01-01T00:00:00Z,https://x.example/,1\r\n2024-01-01T00:00:00Z,1\r\n";
    let e = run(csv.as_bytes(), Format::Csv, &with_table("UrlClickEvents")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("line 3") && msg.contains("expected 3 fields"),
        "{msg}"
    );
    // A header with no column of the table at all.
    let e = run(
        b"Foo,Bar\r\n1,2\r\n",
        Format::Csv,
        &with_table("UrlClickEvents"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no column of the header"), "{e}");
}

#[test]
fn non_utf8_bytes_are_a_bad_row() {
    let mut jsonl = b"{\"Url\":\"ok\"}\n{\"Url\":\"bad \xff\xfe\"}\n".to_vec();
    let e = run(&jsonl, Format::Jsonl, &with_table("UrlClickEvents")).unwrap_err();
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("UTF-8"),
        "{e}"
    );
    jsonl = b"Url,ActionType\r\nok,ClickAllowed\r\nbad\xff,ClickAllowed\r\n".to_vec();
    let e = run(&jsonl, Format::Csv, &with_table("UrlClickEvents")).unwrap_err();
    assert!(e.to_string().contains("line 3, column Url"), "{e}");
}

#[test]
fn ten_megabyte_field_is_refused_clearly() {
    let big = "x".repeat(10 << 20);
    let jsonl = format!("{{\"Url\":\"{big}\"}}\n");
    let e = run(
        jsonl.as_bytes(),
        Format::Jsonl,
        &with_table("UrlClickEvents"),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("line 1, column Url") && msg.contains("limit"),
        "{msg}"
    );
    let csv = format!("Url\r\n{big}\r\n");
    let e = run(csv.as_bytes(), Format::Csv, &with_table("UrlClickEvents")).unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

#[test]
fn overlong_line_is_skipped_without_holding_it() {
    let o = DecodeOptions {
        max_value_bytes: 1024,
        skip_bad_rows: true,
        ..with_table("UrlClickEvents")
    };
    let long = format!("{{\"Url\":\"{}\"}}", "y".repeat(200_000));
    let input = format!("{{\"Url\":\"a\"}}\n{long}\n{{\"Url\":\"b\"}}\n");
    let d = run(input.as_bytes(), Format::Jsonl, &o).unwrap();
    assert_eq!(strings(&d, "UrlClickEvents", "Url"), ["a", "b"]);
    assert_eq!(d.rejected.len(), 1);
    assert_eq!(d.rejected[0].line, 2);
    assert!(
        d.rejected[0].reason.contains("longer than"),
        "{:?}",
        d.rejected[0]
    );
}

#[test]
fn empty_input_is_an_error() {
    for input in [&b""[..], b"\n\r\n  ", b"\xEF\xBB\xBF"] {
        let e = run(input, Format::Auto, &opts()).unwrap_err();
        assert!(matches!(e, IngestError::Empty { .. }), "{e}");
    }
    let e = run(b"", Format::Csv, &with_table("UrlClickEvents")).unwrap_err();
    assert!(matches!(e, IngestError::Empty { .. }), "{e}");
    let e = run(b"PAR1garbage", Format::Auto, &with_table("UrlClickEvents")).unwrap_err();
    assert!(e.to_string().contains("Parquet"), "{e}");
}

#[test]
fn table_name_rules() {
    // Plain rows without a table: the source name's stem is the table.
    let d = decode(
        b"{\"Url\":\"a\"}\n",
        "dir/UrlClickEvents.jsonl.gz",
        Format::Auto,
        &opts(),
        &builtin,
    )
    .unwrap();
    assert_eq!(d.rows_by_table()["UrlClickEvents"], 1);
    // Streaming records route themselves; a table name is refused.
    let e = run(
        &sample("defender-stream-storage.jsonl"),
        Format::Auto,
        &with_table("UrlClickEvents"),
    )
    .unwrap_err();
    assert!(matches!(e, IngestError::TableForRoutedInput { .. }), "{e}");
}

// ---- never panic ----

fn all_formats() -> [Format; 5] {
    [
        Format::Auto,
        Format::Defender,
        Format::Jsonl,
        Format::Csv,
        Format::Parquet,
    ]
}

fn decode_any(bytes: &[u8]) {
    for f in all_formats() {
        for skip in [false, true] {
            let o = DecodeOptions {
                table: (f != Format::Defender).then(|| "UrlClickEvents".to_string()),
                skip_bad_rows: skip,
                create_tables: skip,
                batch_rows: 3,
                ..opts()
            };
            let _ = run(bytes, f, &o);
        }
    }
}

fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(pos, byte, op) in edits {
        if v.is_empty() {
            v.push(byte);
            continue;
        }
        let p = pos % v.len();
        match op % 4 {
            0 => v[p] = byte,
            1 => v.insert(p, byte),
            2 => {
                v.remove(p);
            }
            _ => v.truncate(p),
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_any(&bytes);
    }

    #[test]
    fn mutated_samples_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let name = ["defender-stream-storage.jsonl", "defender-stream-eventhub.json", "portal-export-urlclickevents.csv"][which];
        decode_any(&mutate(&sample(name), &edits));
    }

    #[test]
    fn mutated_gzip_and_parquet_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
    ) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&sample("portal-export-urlclickevents.csv")).unwrap();
        decode_any(&mutate(&gz.finish().unwrap(), &edits));
        decode_any(&mutate(&parquet_sample(), &edits));
    }
}

fn parquet_sample() -> Vec<u8> {
    let d = run(
        &sample("portal-export-urlclickevents.csv"),
        Format::Csv,
        &with_table("UrlClickEvents"),
    )
    .unwrap();
    let b = &d.batches[0].1;
    let mut buf = Vec::new();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut buf, b.schema(), None).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
    buf
}

/// Plain rows past the first are decoded in chunks straight from the read buffer:
/// blank lines, CRLF, a missing final newline and bad rows deep inside keep their line
/// numbers, and every row arrives once, in order.
#[test]
fn chunked_json_lines_keep_line_numbers_and_order() {
    let mut input = String::new();
    for i in 1..=30_000 {
        match i {
            7 | 20_001 => input.push_str("\r\n"),
            15_000 => input.push_str("{\"Url\":\"u15000\",\"IsClickedThrough\":\"maybe\"}\r\n"),
            25_000 => input.push_str("{\"Url\": \"u25000\"\n"),
            _ => input.push_str(&format!(
                "{{\"Url\":\"u{i}\",\"Timestamp\":\"2024-01-01T00:00:00.1234567Z\"}}\r\n"
            )),
        }
    }
    input.push_str("{\"Url\":\"last\"}"); // no newline at the end
    let o = DecodeOptions {
        skip_bad_rows: true,
        ..with_table("UrlClickEvents")
    };
    let d = run(input.as_bytes(), Format::Jsonl, &o).unwrap();
    let urls = strings(&d, "UrlClickEvents", "Url");
    let mut want: Vec<String> = (1..=30_000)
        .filter(|i| ![7, 20_001, 15_000, 25_000].contains(i))
        .map(|i| format!("u{i}"))
        .collect();
    want.push("last".into());
    assert_eq!(urls.len(), want.len());
    assert!(urls == want, "rows out of order or lost");
    let bad: Vec<(usize, Option<String>)> = d
        .rejected
        .iter()
        .map(|r| (r.line, r.column.clone()))
        .collect();
    assert_eq!(
        bad,
        [
            (15_000, Some("IsClickedThrough".to_string())),
            (25_000, None)
        ]
    );
    // Without skipping, the same input is refused whole, naming both lines.
    let e = run(
        input.as_bytes(),
        Format::Jsonl,
        &with_table("UrlClickEvents"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("2 bad rows") && e.contains("line 15000") && e.contains("line 25000"),
        "{e}"
    );
}
