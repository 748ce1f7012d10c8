//! The Kusto REST protocol through the router: v2 frames, v1 tables, management
//! commands, errors, request properties, gzip.

use crate::support::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value as Json};

fn frames(reply: &Reply) -> Vec<Json> {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json().as_array().unwrap().clone()
}

fn primary(frames: &[Json]) -> &Json {
    frames
        .iter()
        .find(|f| f["TableKind"] == "PrimaryResult")
        .expect("a PrimaryResult table")
}

#[tokio::test]
async fn v2_query_frames_types_and_values() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"db": "hunting", "csl": "Clicks | take 3"}),
    )
    .await;
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    assert!(r.headers.contains_key("x-ms-activity-id"));
    let f = frames(&r);
    assert_eq!(f.len(), 5);
    assert_eq!(
        f[0],
        json!({"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"InData"})
    );
    assert_eq!(f[1]["TableName"], "@ExtendedProperties");
    assert_eq!(f[1]["TableKind"], "QueryProperties");
    assert_eq!(f[2]["TableId"], 1);
    assert_eq!(f[3]["TableKind"], "QueryCompletionInformation");
    assert_eq!(
        f[4],
        json!({"FrameType":"DataSetCompletion","HasErrors":false,"Cancelled":false})
    );
    let t = primary(&f);
    let types: Vec<(&str, &str)> = t["Columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["ColumnName"].as_str().unwrap(),
                c["ColumnType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        vec![
            ("Timestamp", "datetime"),
            ("Url", "string"),
            ("IsClickedThrough", "bool"),
            ("Clicks", "int"),
            ("Bytes", "long"),
            ("Score", "real"),
            ("Price", "decimal"),
            ("Duration", "timespan"),
            ("Id", "guid"),
            ("Details", "dynamic"),
        ]
    );
    let rows = t["Rows"].as_array().unwrap();
    assert_eq!(
        rows[0],
        json!([
            "2024-03-26T09:39:50.7688641Z",
            "https://a.example/x",
            true,
            3,
            5_000_000_000i64,
            1.5,
            "12.5",
            "1.02:03:04.5000000",
            "74be27de-1e4e-49d9-b579-fe0b331d3642",
            {"a": [1, 2], "b": "x"}
        ])
    );
    assert_eq!(rows[1][5], "NaN");
    assert_eq!(rows[1][7], "-00:00:01");
    assert_eq!(
        rows[2],
        json!([null, "", null, null, null, null, null, null, null, null])
    );
    // The streaming reader needs Rows after the other table keys.
    let text = r.text();
    let line = text
        .lines()
        .find(|l| l.contains("\"PrimaryResult\""))
        .unwrap();
    assert!(line.find("\"Columns\"").unwrap() < line.find("\"Rows\"").unwrap());
}

#[tokio::test]
async fn v2_render_goes_to_extended_properties() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "Clicks | summarize count() by bin(Timestamp, 1d) | render timechart with (title='Clicks')"}),
    )
    .await;
    let f = frames(&r);
    let props = &f[1];
    assert_eq!(props["Rows"][0][0], 1);
    assert_eq!(props["Rows"][0][1], "Visualization");
    let v: Json = serde_json::from_str(props["Rows"][0][2].as_str().unwrap()).unwrap();
    assert_eq!(v["Visualization"], "timechart");
    assert_eq!(v["Title"], "Clicks");
}

#[tokio::test]
async fn v1_query_tables_with_data_types() {
    let st = open_state();
    let r = post(
        &st,
        "/v1/rest/query",
        json!({"db": "NetDefaultDB", "csl": "Clicks | take 1 | project Timestamp, IsClickedThrough, Price, Details"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let tables = v["Tables"].as_array().unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["TableName"], "Table_0");
    assert_eq!(
        tables[0]["Columns"],
        json!([
            {"ColumnName": "Timestamp", "DataType": "DateTime", "ColumnType": "datetime"},
            {"ColumnName": "IsClickedThrough", "DataType": "SByte", "ColumnType": "bool"},
            {"ColumnName": "Price", "DataType": "SqlDecimal", "ColumnType": "decimal"},
            {"ColumnName": "Details", "DataType": "Object", "ColumnType": "dynamic"},
        ])
    );
    assert_eq!(
        tables[0]["Rows"][0],
        json!(["2024-03-26T09:39:50.7688641Z", true, "12.5", {"a": [1, 2], "b": "x"}])
    );
}

#[tokio::test]
async fn get_with_query_string_and_properties_object() {
    let st = open_state();
    let r = send(
        &st,
        Request::get("/v1/rest/query?db=hunting&csl=print%20x%3D1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["Tables"][0]["Rows"], json!([[1]]));
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "print now()", "properties": {"Options": {"query_now": "2024-01-02T03:04:05Z"}}}),
    )
    .await;
    assert_eq!(
        primary(&frames(&r))["Rows"],
        json!([["2024-01-02T03:04:05.0000000Z"]])
    );
}

#[tokio::test]
async fn syntax_and_semantic_errors_are_one_api_errors_with_positions() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "Clicks\n| where Nope == 1"}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "General_BadRequest");
    assert_eq!(e["message"], "Request is invalid and cannot be executed.");
    assert_eq!(e["@type"], "Kusto.Data.Exceptions.SemanticException");
    assert_eq!(e["@permanent"], true);
    let m = e["@message"].as_str().unwrap();
    assert!(m.starts_with("Semantic error: SEM0100: "), "{m}");
    assert!(m.contains("Nope"), "{m}");
    assert!(m.contains("[line:position=2:9]"), "{m}");
    assert!(e["@context"]["activityId"].is_string());

    let r = post(&st, "/v2/rest/query", json!({"csl": "Clicks | where"})).await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["@type"], "Kusto.Data.Exceptions.SyntaxException");
    let m = e["@message"].as_str().unwrap();
    assert!(m.starts_with("Syntax error: SYN0002: "), "{m}");
    assert!(m.contains("[line:position=1:"), "{m}");
}

#[tokio::test]
async fn positions_ignore_statements_added_for_request_options() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "Clicks | where Nope", "properties": "{\"Options\":{\"truncationmaxrecords\":5}}"}),
    )
    .await;
    let m = r.json()["error"]["@message"].as_str().unwrap().to_string();
    assert!(m.contains("[line:position=1:16]"), "{m}");
}

#[tokio::test]
async fn truncation_is_a_partial_failure() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "Clicks", "properties": "{\"Options\":{\"truncationmaxrecords\":2}}"}),
    )
    .await;
    let f = frames(&r);
    let rows = primary(&f)["Rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "two rows and the error object");
    assert!(rows[2]["OneApiErrors"][0]["error"]["@message"]
        .as_str()
        .unwrap()
        .contains("E_QUERY_RESULT_SET_TOO_LARGE"));
    let done = f.last().unwrap();
    assert_eq!(done["HasErrors"], true);
    assert!(done["OneApiErrors"].is_array());
    let qci = f
        .iter()
        .find(|t| t["TableKind"] == "QueryCompletionInformation")
        .unwrap();
    assert!(qci["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|row| row[5] == 2));

    // notruncation and a set statement in the query both lift it.
    for body in [
        json!({"csl": "Clicks", "properties": {"Options": {"truncationmaxrecords": 2, "notruncation": true}}}),
        json!({"csl": "set notruncation;\nClicks", "properties": {"Options": {"truncationmaxrecords": 2}}}),
    ] {
        let f = frames(&post(&st, "/v2/rest/query", body).await);
        assert_eq!(primary(&f)["Rows"].as_array().unwrap().len(), 3);
        assert_eq!(f.last().unwrap()["HasErrors"], false);
    }

    // v1: QueryStatus + table of contents.
    let r = post(
        &st,
        "/v1/rest/query",
        json!({"csl": "set truncationmaxrecords = 1; Clicks"}),
    )
    .await;
    let v = r.json();
    let tables = v["Tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3);
    assert_eq!(tables[0]["Rows"].as_array().unwrap().len(), 1);
    assert_eq!(tables[1]["Rows"][0][1], 2);
    assert_eq!(tables[2]["Rows"][0][1], "QueryResult");
    assert_eq!(tables[2]["Rows"][1][1], "QueryStatus");
}

#[tokio::test]
async fn datetime_scope_option_filters_tables() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "Clicks | count", "properties": {"Options": {
            "query_datetimescope_column": "Timestamp",
            "query_datetimescope_from": "2024-03-01T00:00:00Z",
            "query_datetimescope_to": "2024-04-01T00:00:00Z"}}}),
    )
    .await;
    assert_eq!(primary(&frames(&r))["Rows"], json!([[1]]));
}

#[tokio::test]
async fn parameters_reach_declared_query_parameters() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "declare query_parameters(n:long = 1, u:string = 'x');\nprint n, u",
               "properties": {"Parameters": {"n": "42", "u": "hello"}}}),
    )
    .await;
    assert_eq!(primary(&frames(&r))["Rows"], json!([[42, "hello"]]));
}

#[tokio::test]
async fn unknown_database_and_bad_bodies() {
    let st = open_state();
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"db": "Other", "csl": "print 1"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["@message"]
        .as_str()
        .unwrap()
        .contains("'Other'"));
    let r = send(
        &st,
        Request::post("/v2/rest/query")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "General_BadRequest");
    let r = post(
        &st,
        "/v2/rest/query",
        json!({"csl": "print 1", "properties": {"Options": {"query_language": "sql"}}}),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn management_commands_from_the_engine() {
    let st = open_state();
    let mgmt = |csl: &str| post(&st, "/v1/rest/mgmt", json!({"db": "hunting", "csl": csl}));
    let r = mgmt(".show tables").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let t = &v["Tables"][0];
    assert_eq!(t["Columns"][0]["ColumnName"], "TableName");
    let names: Vec<&str> = t["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Clicks") && names.contains(&"UrlClickEvents"));

    let v = mgmt(".show version").await.json();
    assert_eq!(v["Tables"][0]["Columns"][0]["ColumnName"], "BuildVersion");

    let v = mgmt(".show databases").await.json();
    assert_eq!(v["Tables"][0]["Rows"][0][0], "hunting");
    assert_eq!(v["Tables"][0]["Columns"][3]["DataType"], "Boolean");

    let v = mgmt(".show databases schema as json").await.json();
    let schema: Json =
        serde_json::from_str(v["Tables"][0]["Rows"][0][0].as_str().unwrap()).unwrap();
    let cols = &schema["Databases"]["hunting"]["Tables"]["Clicks"]["OrderedColumns"];
    assert_eq!(
        cols[0],
        json!({"Name": "Timestamp", "Type": "System.DateTime", "CslType": "datetime"})
    );

    let v = mgmt(".show table Clicks schema as json").await.json();
    let schema: Json =
        serde_json::from_str(v["Tables"][0]["Rows"][0][1].as_str().unwrap()).unwrap();
    assert_eq!(schema["OrderedColumns"][9]["CslType"], "dynamic");

    let v = mgmt(".show database hunting schema").await.json();
    assert!(v["Tables"][0]["Rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[1] == "Clicks" && r[2] == "Url" && r[3] == "System.String"));

    assert_eq!(mgmt(".show functions").await.status, 200);
    assert_eq!(mgmt(".show cluster").await.status, 200);
    assert_eq!(mgmt(".show schema").await.status, 200);

    let r = mgmt(".show table Clickz schema as json").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("did you mean 'Clicks'?"), "{}", r.text());

    // Without a store, other commands are refused clearly.
    let r = mgmt(".create table T (a:string)").await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("without a data directory"),
        "{}",
        r.text()
    );

    // Grafana sends management commands to the query endpoint.
    let r = post(
        &st,
        "/v1/rest/query",
        json!({"csl": ".show databases schema as json"}),
    )
    .await;
    assert_eq!(r.status, 200);
    let f = frames(&post(&st, "/v2/rest/query", json!({"csl": ".show tables"})).await);
    assert_eq!(primary(&f)["Columns"][0]["ColumnName"], "TableName");
}

#[tokio::test]
async fn gzip_when_accepted() {
    let st = open_state();
    let req = Request::post("/v2/rest/query")
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip,deflate")
        .body(Body::from(
            json!({"csl": "range x from 1 to 2000 step 1"}).to_string(),
        ))
        .unwrap();
    let r = send(&st, req).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-encoding"], "gzip");
    let mut d = flate2::read::GzDecoder::new(&r.body[..]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut d, &mut text).unwrap();
    let f: Vec<Json> = serde_json::from_str(&text).unwrap();
    assert_eq!(primary(&f)["Rows"].as_array().unwrap().len(), 2000);
}

#[tokio::test]
async fn client_request_id_is_echoed() {
    let st = open_state();
    let req = Request::post("/v2/rest/query")
        .header("content-type", "application/json")
        .header("x-ms-client-request-id", "KPC.execute;1234")
        .body(Body::from(json!({"csl": "print 1"}).to_string()))
        .unwrap();
    let r = send(&st, req).await;
    assert_eq!(r.headers["x-ms-client-request-id"], "KPC.execute;1234");
    let f = frames(&r);
    let qci = f
        .iter()
        .find(|t| t["TableKind"] == "QueryCompletionInformation")
        .unwrap();
    assert_eq!(qci["Rows"][0][1], "KPC.execute;1234");
}
