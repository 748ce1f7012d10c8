//! The catalog and Kusto management commands: each command's result shape, persistence
//! across reopen, and errors (bad syntax with positions, unknown types, built-ins).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::arrow::record_batch::RecordBatch;
use engine::{Engine, QueryResult};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use store::catalog::{is_management_command, parse_command, Catalog, ManagementCommand};
use store::storage::{Store, StoreError, StoreOptions};

fn open(dir: &Path) -> Store {
    Store::open_with(
        dir,
        StoreOptions {
            background: false,
            gc_grace: Duration::ZERO,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// The result as rows of text (every management result column is a string or int).
fn rows(r: &QueryResult) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| match c.data_type() {
                        datafusion::arrow::datatypes::DataType::Utf8 => {
                            c.as_string::<i32>().value(i).to_string()
                        }
                        _ => datafusion::arrow::util::display::array_value_to_string(c, i).unwrap(),
                    })
                    .collect(),
            );
        }
    }
    out
}

fn names(r: &QueryResult) -> Vec<&str> {
    r.columns.iter().map(|c| c.name.as_str()).collect()
}

async fn run(store: &Store, cmd: &str) -> QueryResult {
    store
        .execute_management(cmd)
        .await
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

async fn fails(store: &Store, cmd: &str) -> StoreError {
    match store.execute_management(cmd).await {
        Ok(r) => panic!("{cmd} succeeded: {:?}", rows(&r)),
        Err(e) => e,
    }
}

#[tokio::test]
async fn create_show_alter_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let r = run(
        &store,
        ".create table Hunts (Timestamp:datetime, Name:string, Hits:long)",
    )
    .await;
    assert_eq!(
        names(&r),
        ["TableName", "Schema", "DatabaseName", "Folder", "DocString"]
    );
    assert_eq!(
        rows(&r)[0][..2],
        ["Hunts", "Timestamp:datetime,Name:string,Hits:long"]
    );
    // Creating the same table again is a no-op, as in Kusto.
    run(
        &store,
        ".create table Hunts (Timestamp:datetime, Name:string, Hits:long)",
    )
    .await;

    let r = run(&store, ".show tables").await;
    assert_eq!(
        names(&r),
        ["TableName", "DatabaseName", "Folder", "DocString"]
    );
    let tables: Vec<String> = rows(&r).into_iter().map(|r| r[0].clone()).collect();
    assert!(
        tables.contains(&"Hunts".to_string()) && tables.contains(&"UrlClickEvents".to_string())
    );

    let r = run(&store, ".show table Hunts schema").await;
    assert_eq!(
        names(&r),
        ["ColumnName", "ColumnOrdinal", "DataType", "ColumnType"]
    );
    assert_eq!(rows(&r)[2], ["Hits", "2", "System.Int64", "long"]);
    let r = run(&store, ".show table Hunts cslschema").await;
    assert_eq!(rows(&r)[0][1], "Timestamp:datetime,Name:string,Hits:long");
    let r = run(&store, ".show table Hunts schema as json").await;
    let json: serde_json::Value = serde_json::from_str(&rows(&r)[0][1]).unwrap();
    assert_eq!(json["OrderedColumns"][1]["CslType"], "string");
    assert_eq!(json["OrderedColumns"][0]["Type"], "System.DateTime");

    let r = run(&store, ".show table Hunts policy retention").await;
    assert_eq!(
        names(&r),
        [
            "PolicyName",
            "EntityName",
            "Policy",
            "ChildEntities",
            "EntityType"
        ]
    );
    let policy: serde_json::Value = serde_json::from_str(&rows(&r)[0][2]).unwrap();
    assert_eq!(policy["SoftDeletePeriod"], "30.00:00:00");

    let r = run(
        &store,
        ".alter-merge table Hunts policy retention softdelete = 90d",
    )
    .await;
    let policy: serde_json::Value = serde_json::from_str(&rows(&r)[0][2]).unwrap();
    assert_eq!(policy["SoftDeletePeriod"], "90.00:00:00");
    run(
        &store,
        r#".alter table UrlClickEvents policy retention '{"SoftDeletePeriod": "10.00:00:00", "Recoverability": "Disabled"}'"#,
    )
    .await;

    // Rows go in and come out through the engine.
    let batch = RecordBatch::try_from_iter(vec![
        (
            "Name",
            Arc::new(datafusion::arrow::array::StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        ("Hits", Arc::new(Int64Array::from(vec![1, 2]))),
    ])
    .unwrap();
    store.append("Hunts", batch).await.unwrap();
    let engine = Engine::new();
    store.register_into(&engine);
    let r = engine.query("Hunts | summarize sum(Hits)").await.unwrap();
    assert_eq!(
        r.batches[0].column(0).as_primitive::<Int64Type>().value(0),
        3
    );

    // .create-merge adds a column; older rows read it as null.
    run(
        &store,
        ".create-merge table Hunts (Hunter:string, Hits:long)",
    )
    .await;
    store.flush().await.unwrap();
    store.register_into(&engine);
    let r = engine
        .query("Hunts | where isempty(Hunter) | count")
        .await
        .unwrap();
    assert_eq!(
        r.batches[0].column(0).as_primitive::<Int64Type>().value(0),
        2
    );

    // Everything survives a reopen.
    store.close().await.unwrap();
    let store = open(dir.path());
    let cat = store.catalog();
    let hunts = cat.get("Hunts").unwrap();
    assert_eq!(
        hunts.csl_schema(),
        "Timestamp:datetime,Name:string,Hits:long,Hunter:string"
    );
    assert_eq!(hunts.retention, Duration::from_secs(90 * 86_400));
    assert_eq!(
        cat.get("UrlClickEvents").unwrap().retention,
        Duration::from_secs(10 * 86_400)
    );
    assert_eq!(Catalog::load(dir.path()).unwrap(), cat);
    let engine = Engine::new();
    store.register_into(&engine);
    let r = engine.query("Hunts | count").await.unwrap();
    assert_eq!(
        r.batches[0].column(0).as_primitive::<Int64Type>().value(0),
        2
    );

    let r = run(&store, ".drop table Hunts").await;
    assert_eq!(names(&r), ["TableName", "DatabaseName"]);
    assert!(!rows(&r).iter().any(|r| r[0] == "Hunts"));
    assert!(!dir.path().join("Hunts").exists());
    run(&store, ".drop table Hunts ifexists").await;
    store.close().await.unwrap();
    let store = open(dir.path());
    assert!(store.catalog().get("Hunts").is_none());
}

#[tokio::test]
async fn errors_name_the_problem_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());

    let e = fails(&store, ".create table T (A string)").await;
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            StoreError::Command {
                line: 1,
                column: 20,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("expected `:` after column `A`"), "{msg}");

    let e = fails(&store, ".create table T (A:string,\n  B:strng)").await;
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            StoreError::Command {
                line: 2,
                column: 5,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("unknown type `strng`"), "{msg}");

    let msg = fails(&store, ".create table T ()").await.to_string();
    assert!(msg.contains("at least one column"), "{msg}");
    let msg = fails(&store, ".create table T (A:int, A:long)")
        .await
        .to_string();
    assert!(msg.contains("`A` is declared twice"), "{msg}");
    let msg = fails(&store, ".create table LOCK (A:int)")
        .await
        .to_string();
    assert!(msg.contains("reserved"), "{msg}");

    let e = fails(&store, ".drop table UrlClickEvents").await;
    let msg = e.to_string();
    assert!(
        msg.contains("built-in") && msg.contains("column 13"),
        "{msg}"
    );
    let msg = fails(&store, ".create-merge table UrlClickEvents (Extra:string)")
        .await
        .to_string();
    assert!(msg.contains("built-in"), "{msg}");
    let msg = fails(&store, ".drop table Nope").await.to_string();
    assert!(msg.contains("unknown table `Nope`"), "{msg}");
    let msg = fails(&store, ".show table UrlClikEvents schema")
        .await
        .to_string();
    assert!(msg.contains("did you mean `UrlClickEvents`"), "{msg}");

    run(&store, ".create table T (A:string)").await;
    let msg = fails(&store, ".create table T (A:string, B:int)")
        .await
        .to_string();
    assert!(msg.contains(".create-merge"), "{msg}");
    let msg = fails(&store, ".create-merge table T (A:long)")
        .await
        .to_string();
    assert!(msg.contains("cannot change"), "{msg}");

    let msg = fails(&store, ".show databases").await.to_string();
    assert!(msg.contains("expected `tables` or `table`"), "{msg}");
    let msg = fails(&store, ".purge table T").await.to_string();
    assert!(
        msg.contains("unsupported management command `.purge`"),
        "{msg}"
    );
    let msg = fails(&store, ".alter table T policy retention softdelete = soon")
        .await
        .to_string();
    assert!(msg.contains("timespan"), "{msg}");
    let msg = fails(&store, ".alter table T policy caching hot = 1d")
        .await
        .to_string();
    assert!(msg.contains("only the retention policy"), "{msg}");
    let msg = fails(
        &store,
        ".alter table T policy retention '{\"SoftDeletePeriod\": 3'",
    )
    .await
    .to_string();
    assert!(msg.contains("not valid JSON"), "{msg}");
    let msg = fails(&store, ".show tables extra").await.to_string();
    assert!(msg.contains("unexpected `extra`"), "{msg}");
    let msg = fails(&store, ".create table T (A:string").await.to_string();
    assert!(msg.contains("end of the command"), "{msg}");
    let msg = fails(&store, ".show table T '").await.to_string();
    assert!(msg.contains("unterminated"), "{msg}");

    let ro = Store::open_read_only(dir.path()).unwrap();
    let e = ro
        .execute_management(".create table U (A:int)")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::ReadOnly(_)), "{e}");
    assert_eq!(
        rows(
            &ro.execute_management(".show table T cslschema")
                .await
                .unwrap()
        )[0][1],
        "A:string"
    );
}

#[test]
fn parsing_accepts_kusto_spellings() {
    assert!(is_management_command("\n// comment\n  .show tables"));
    assert!(!is_management_command("UrlClickEvents | take 10"));
    let cmd = parse_command(
        ".create table ['My_T'] (a:boolean, b:int64, c:double, d:date, e:time, f:guid, g:dynamic) with (folder = 'x', docstring = \"y\")",
    )
    .unwrap();
    let ManagementCommand::CreateTable {
        name,
        columns,
        merge,
    } = cmd
    else {
        panic!("{cmd:?}")
    };
    assert_eq!((name.name.as_str(), merge), ("My_T", false));
    let types: Vec<&str> = columns.iter().map(|c| c.ty.name()).collect();
    assert_eq!(
        types,
        ["bool", "long", "real", "datetime", "timespan", "guid", "dynamic"]
    );
    assert!(parse_command(
        ".alter-merge table T policy retention softdelete = 365d recoverability = disabled;"
    )
    .is_ok());
    assert!(parse_command(
        ".alter table T policy retention ```{\"SoftDeletePeriod\": \"1.00:00:00\"}```"
    )
    .is_ok());
    assert!(parse_command(".alter table T policy retention softdelete = 30.00:00:00").is_ok());
    assert!(parse_command(".drop table T ifexists").is_ok());
    assert!(parse_command(".show table T details").is_ok());
    // Never panics on junk.
    for junk in [
        ".",
        ".create",
        ".create table",
        "(",
        ".show table",
        "'",
        "[",
        "[x",
        ".alter table T policy retention",
        "\u{1F600}",
        ".create table T (A:",
    ] {
        let _ = parse_command(junk);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Any text, and any mutation of a real command: an answer or an error inside
    /// the text, never a panic.
    #[test]
    fn parse_never_panics_and_errors_point_into_the_text(
        text in proptest::prelude::any::<String>(),
        pick in 0usize..6,
        at in 0usize..80,
        insert in "[ -~]{0,3}",
    ) {
        let seeds = [
            ".create table T (A:string, B:long) with (folder='x')",
            ".create-merge table ['T'] (A:datetime)",
            ".alter-merge table T policy retention softdelete = 30d recoverability = disabled",
            ".alter table T policy retention '{\"SoftDeletePeriod\": \"1.00:00:00\"}'",
            ".show table T schema as json",
            ".drop table T ifexists",
        ];
        let seed = seeds[pick];
        let cut = (0..=at.min(seed.len())).rev().find(|i| seed.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &seed[..cut], insert, &seed[cut..]);
        for t in [text.as_str(), mutated.as_str(), &seed[..cut]] {
            if let Err(StoreError::Command { offset, line, column, .. }) = parse_command(t) {
                proptest::prop_assert!(offset <= t.len() && line >= 1 && column >= 1);
            }
        }
    }
}
