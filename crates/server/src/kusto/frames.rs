//! Kusto response bodies: v1 `{"Tables": [...]}` and v2 frame arrays.
//!
//! Field order is part of the protocol: the Python client's streaming reader needs
//! `FrameType, TableId, TableKind, TableName, Columns` before `Rows`, so every frame is a
//! struct serialised in declaration order (see `KUSTO-PROTOCOL.md` §5).

use crate::wire::{self, BodyParts, RowShape, StreamedRows};
use engine::{KqlType, QueryResult};
use serde::Serialize;
use serde_json::Value as Json;
use std::sync::Arc;

/// The rows of a table: a query result (streamed, converted batch by batch) or ready
/// JSON (small tables: commands, completion information).
pub(crate) enum TableRows {
    Result(Arc<QueryResult>),
    Json(Vec<Vec<Json>>),
}

/// One table of a response.
pub(crate) struct OutTable {
    pub name: String,
    /// v2 `TableKind`: PrimaryResult, QueryProperties, QueryCompletionInformation.
    pub kind: &'static str,
    pub columns: Vec<(String, KqlType)>,
    pub rows: TableRows,
    /// A partial-failure error object written as the last row (v2).
    pub trailing_error: Option<Json>,
    /// v1 `DataType` names for command results (`Boolean`) rather than query results
    /// (`SByte`).
    pub command: bool,
}

impl OutTable {
    pub fn primary(result: Arc<QueryResult>) -> OutTable {
        OutTable {
            name: "PrimaryResult".into(),
            kind: "PrimaryResult",
            columns: result
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .collect(),
            rows: TableRows::Result(result.clone()),
            trailing_error: None,
            command: false,
        }
    }

    pub fn json(
        name: &str,
        kind: &'static str,
        columns: &[(&str, KqlType)],
        rows: Vec<Vec<Json>>,
    ) -> OutTable {
        OutTable {
            name: name.into(),
            kind,
            columns: columns.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            rows: TableRows::Json(rows),
            trailing_error: None,
            command: true,
        }
    }

    pub fn row_count(&self) -> usize {
        match &self.rows {
            TableRows::Result(r) => r.num_rows(),
            TableRows::Json(rows) => rows.len(),
        }
    }
}

impl Serialize for TableRowsSer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match &self.0.rows {
            // Streamed into the empty array by `BodyParts::push_with_rows`.
            TableRows::Result(_) => s.serialize_seq(Some(0))?.end(),
            TableRows::Json(rows) => {
                let mut seq = s.serialize_seq(Some(rows.len()))?;
                for r in rows {
                    seq.serialize_element(r)?;
                }
                if let Some(e) = &self.0.trailing_error {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
        }
    }
}

struct TableRowsSer<'t>(&'t OutTable);

impl OutTable {
    /// The rows to stream into this table's `Rows`, if they are a query result.
    fn streamed(&self) -> Option<StreamedRows> {
        match &self.rows {
            TableRows::Result(r) => Some(StreamedRows {
                result: r.clone(),
                shape: RowShape::Array,
                trailing: self.trailing_error.clone(),
            }),
            TableRows::Json(_) => None,
        }
    }
}

/// v1 `DataType`: the .NET type of the column.
fn v1_data_type(ty: KqlType, command: bool) -> &'static str {
    match ty {
        KqlType::Bool if command => "Boolean",
        KqlType::Bool => "SByte",
        KqlType::Decimal => "SqlDecimal",
        other => other.clr_name(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct V1Column<'a> {
    column_name: &'a str,
    data_type: &'static str,
    column_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct V1Table<'t> {
    table_name: String,
    columns: Vec<V1Column<'t>>,
    rows: TableRowsSer<'t>,
}

/// A v1 response. Tables are named `Table_0`, `Table_1`, ...; with more than two, the
/// caller must end with a table of contents (the Python client requires it).
pub(crate) fn v1_body(tables: &[OutTable]) -> Result<BodyParts, serde_json::Error> {
    let mut out = BodyParts::default();
    out.push(b"{\"Tables\":[");
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.push(b",");
        }
        let table = V1Table {
            table_name: format!("Table_{i}"),
            columns: t
                .columns
                .iter()
                .map(|(n, ty)| V1Column {
                    column_name: n,
                    data_type: v1_data_type(*ty, t.command),
                    column_type: ty.name(),
                })
                .collect(),
            rows: TableRowsSer(t),
        };
        out.push_with_rows(&table, t.streamed())?;
    }
    out.push(b"]}");
    Ok(out)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataSetHeader {
    frame_type: &'static str,
    is_progressive: bool,
    version: &'static str,
    is_fragmented: bool,
    error_reporting_placement: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct V2Column<'a> {
    column_name: &'a str,
    column_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataTable<'t> {
    frame_type: &'static str,
    table_id: usize,
    table_kind: &'static str,
    table_name: &'t str,
    columns: Vec<V2Column<'t>>,
    rows: TableRowsSer<'t>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataSetCompletion<'a> {
    frame_type: &'static str,
    has_errors: bool,
    cancelled: bool,
    #[serde(rename = "OneApiErrors", skip_serializing_if = "Option::is_none")]
    one_api_errors: Option<&'a [Json]>,
}

/// A v2 response: header, one `DataTable` frame per table (ids in order), completion.
/// `errors` are the OneApiError objects of a partial failure.
pub(crate) fn v2_body(
    tables: &[OutTable],
    errors: &[Json],
) -> Result<BodyParts, serde_json::Error> {
    let mut out = BodyParts::default();
    out.push(b"[");
    out.push_with_rows(
        &DataSetHeader {
            frame_type: "DataSetHeader",
            is_progressive: false,
            version: "v2.0",
            is_fragmented: false,
            error_reporting_placement: "InData",
        },
        None,
    )?;
    for (i, t) in tables.iter().enumerate() {
        out.push(b"\r\n,");
        let frame = DataTable {
            frame_type: "DataTable",
            table_id: i,
            table_kind: t.kind,
            table_name: &t.name,
            columns: t
                .columns
                .iter()
                .map(|(n, ty)| V2Column {
                    column_name: n,
                    column_type: ty.name(),
                })
                .collect(),
            rows: TableRowsSer(t),
        };
        out.push_with_rows(&frame, t.streamed())?;
    }
    out.push(b"\r\n,");
    out.push_with_rows(
        &DataSetCompletion {
            frame_type: "DataSetCompletion",
            has_errors: !errors.is_empty(),
            cancelled: false,
            one_api_errors: (!errors.is_empty()).then_some(errors),
        },
        None,
    )?;
    out.push(b"\r\n]");
    Ok(out)
}

/// `@ExtendedProperties`' `Visualization` value: the `render` hint in Kusto's shape
/// (a JSON *string*, every property present).
pub(crate) fn visualization_json(render: Option<&engine::RenderHint>) -> String {
    const KEYS: &[(&str, &str)] = &[
        ("title", "Title"),
        ("xcolumn", "XColumn"),
        ("series", "Series"),
        ("ycolumns", "YColumns"),
        ("anomalycolumns", "AnomalyColumns"),
        ("xtitle", "XTitle"),
        ("ytitle", "YTitle"),
        ("xaxis", "XAxis"),
        ("yaxis", "YAxis"),
        ("legend", "Legend"),
        ("ysplit", "YSplit"),
        ("accumulate", "Accumulate"),
        ("isquerysorted", "IsQuerySorted"),
        ("kind", "Kind"),
        ("ymin", "Ymin"),
        ("ymax", "Ymax"),
        ("xmin", "Xmin"),
        ("xmax", "Xmax"),
    ];
    let mut m = serde_json::Map::new();
    m.insert(
        "Visualization".into(),
        render.map_or(Json::Null, |r| Json::String(r.visualization.clone())),
    );
    for (key, out) in KEYS {
        // A list property (`ycolumns=a, b`) arrives as one pair per item.
        let given = render.and_then(|r| {
            let mut values: Vec<Json> = r
                .properties
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
                .collect();
            match values.len() {
                0 => None,
                1 => values.pop(),
                _ => Some(Json::Array(values)),
            }
        });
        let v = match (given, *key) {
            (Some(Json::Array(items)), _) => Json::String(
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (Some(v), _) => v,
            (None, "accumulate" | "isquerysorted") => Json::Bool(false),
            (None, "ymin" | "ymax") => Json::String("NaN".into()),
            (None, _) => Json::Null,
        };
        m.insert(out.to_string(), v);
    }
    Json::Object(m).to_string()
}

/// The `@ExtendedProperties` table for primary result table `table_id`.
pub(crate) fn extended_properties(
    table_id: usize,
    render: Option<&engine::RenderHint>,
) -> OutTable {
    OutTable::json(
        "@ExtendedProperties",
        "QueryProperties",
        &[
            ("TableId", KqlType::Int),
            ("Key", KqlType::String),
            ("Value", KqlType::Dynamic),
        ],
        vec![vec![
            Json::from(table_id),
            Json::String("Visualization".into()),
            Json::String(visualization_json(render)),
        ]],
    )
}

/// The QueryCompletionInformation table: one Info row, plus one Error row per partial
/// failure (`Level` < 4 is what clients count as errors).
pub(crate) fn completion_information(
    ids: &crate::query::RequestIds,
    rows: usize,
    errors: &[String],
) -> OutTable {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let activity = Json::String(ids.activity_id.clone());
    let row = |level: i32, level_name: &str, code: i64, code_name: &str, payload: Json| {
        vec![
            wire::datetime(now),
            Json::String(ids.client_request_id.clone()),
            activity.clone(),
            Json::String(uuid::Uuid::new_v4().to_string()),
            activity.clone(),
            Json::from(level),
            Json::String(level_name.into()),
            Json::from(code),
            Json::String(code_name.into()),
            Json::from(4),
            Json::String("QueryInfo".into()),
            Json::String(payload.to_string()),
        ]
    };
    let mut out = vec![row(
        4,
        "Info",
        0,
        "S_OK (0)",
        serde_json::json!({"Count": rows, "Text": "Query completed successfully"}),
    )];
    for e in errors {
        out.push(row(
            2,
            "Error",
            -2133196797,
            "LimitsExceeded (0x80DA0003)",
            serde_json::json!({"Count": 1, "Text": e}),
        ));
    }
    OutTable::json(
        "QueryCompletionInformation",
        "QueryCompletionInformation",
        &[
            ("Timestamp", KqlType::DateTime),
            ("ClientRequestId", KqlType::String),
            ("ActivityId", KqlType::Guid),
            ("SubActivityId", KqlType::Guid),
            ("ParentActivityId", KqlType::Guid),
            ("Level", KqlType::Int),
            ("LevelName", KqlType::String),
            ("StatusCode", KqlType::Int),
            ("StatusCodeName", KqlType::String),
            ("EventType", KqlType::Int),
            ("EventTypeName", KqlType::String),
            ("Payload", KqlType::String),
        ],
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_frames_put_rows_last() {
        let t = OutTable::json(
            "PrimaryResult",
            "PrimaryResult",
            &[("x", KqlType::Long)],
            vec![vec![Json::from(1)]],
        );
        let body = String::from_utf8(v2_body(&[t], &[]).unwrap().into_bytes().unwrap()).unwrap();
        let frames: Vec<Json> = serde_json::from_str(&body).unwrap();
        assert_eq!(frames.len(), 3);
        let table = body.lines().nth(1).unwrap();
        let pos = |k: &str| table.find(k).unwrap();
        assert!(pos("\"FrameType\"") < pos("\"TableId\""));
        assert!(pos("\"TableName\"") < pos("\"Columns\""));
        assert!(pos("\"Columns\"") < pos("\"Rows\""));
        assert_eq!(frames[2]["HasErrors"], false);
    }

    #[test]
    fn visualization_has_every_property() {
        let hint = engine::RenderHint {
            visualization: "timechart".into(),
            properties: vec![
                ("title".into(), Json::String("Clicks".into())),
                ("ycolumns".into(), Json::String("Blocked".into())),
                ("ycolumns".into(), Json::String("Allowed".into())),
            ],
        };
        let v: Json = serde_json::from_str(&visualization_json(Some(&hint))).unwrap();
        assert_eq!(v["Visualization"], "timechart");
        assert_eq!(v["Title"], "Clicks");
        assert_eq!(v["YColumns"], "Blocked,Allowed");
        assert_eq!(v["Ymin"], "NaN");
        assert_eq!(v["Accumulate"], false);
        let none: Json = serde_json::from_str(&visualization_json(None)).unwrap();
        assert_eq!(none["Visualization"], Json::Null);
    }
}
