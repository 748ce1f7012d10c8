//! Carrying out Kusto management commands (parsed in `crate::catalog`) and shaping
//! their results like Kusto's, so the CLI and the HTTP APIs print them as query results.

use super::error::{Result, StoreError};
use super::table::TableShared;
use super::{Store, StoreInner};
use crate::catalog::{
    format_retention, name_error, parse_command, Catalog, ManagementCommand, Named, ShowTable,
    TableDef, DATABASE_NAME,
};
use datafusion::arrow::record_batch::RecordBatch;
use engine::{Col, Engine, KqlType, QueryResult, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Store {
    /// Runs one management command (`.create table`, `.show tables`, ...) and returns
    /// its result table. Errors in the text carry a line and column.
    pub async fn execute_management(&self, text: &str) -> Result<QueryResult, StoreError> {
        let cmd = parse_command(text)?;
        let inner = &self.inner;
        let at = |name: &Named, e: StoreError| name_error(text, name, e);
        match cmd {
            ManagementCommand::ShowTables => {
                let cat = self.catalog();
                Ok(tables_result(&cat, true))
            }
            ManagementCommand::ShowTable { name, what } => {
                let cat = self.catalog();
                let def = cat
                    .get(&name.name)
                    .ok_or_else(|| at(&name, cat.unknown(&name.name)))?;
                Ok(show_table(def, what))
            }
            ManagementCommand::CreateTable {
                name,
                columns,
                merge,
            } => {
                inner.check_writable()?;
                let _ddl = inner.ddl.lock().await;
                let mut cat = self.catalog();
                cat.create(&name.name, columns, merge)
                    .map_err(|m| at(&name, StoreError::Rejected(m)))?;
                let def = cat
                    .get(&name.name)
                    .cloned()
                    .ok_or_else(|| cat.unknown(&name.name))?;
                self.commit_catalog(cat)?;
                inner.upsert_table(&def)?;
                Ok(schema_row(&def, def.csl_schema()))
            }
            ManagementCommand::DropTable { name, if_exists } => {
                inner.check_writable()?;
                let _ddl = inner.ddl.lock().await;
                let mut cat = self.catalog();
                match cat.drop_table(&name.name) {
                    Ok(_) => {}
                    Err(StoreError::UnknownTable { .. }) if if_exists => {
                        return Ok(tables_result(&cat, false))
                    }
                    Err(e) => return Err(at(&name, e)),
                }
                self.commit_catalog(cat.clone())?;
                inner.remove_table(&name.name).await?;
                Ok(tables_result(&cat, false))
            }
            ManagementCommand::AlterRetention {
                name,
                merge,
                soft_delete,
                recoverability,
            } => {
                inner.check_writable()?;
                if recoverability == Some(true) {
                    return Err(at(
                        &name,
                        StoreError::Rejected(
                            "recoverability = enabled is not supported: clickhunt deletes expired data for good"
                                .into(),
                        ),
                    ));
                }
                let _ddl = inner.ddl.lock().await;
                let mut cat = self.catalog();
                let Some(current) = cat.get(&name.name).map(|d| d.retention) else {
                    return Err(at(&name, cat.unknown(&name.name)));
                };
                let period = match (soft_delete, merge) {
                    (Some(p), _) => p,
                    (None, true) => current,
                    (None, false) => {
                        return Err(at(
                            &name,
                            StoreError::Rejected(
                                "`.alter table ... policy retention` replaces the policy and needs `softdelete = <timespan>`; \
                                 use `.alter-merge` to change only some properties"
                                    .into(),
                            ),
                        ))
                    }
                };
                cat.set_retention(&name.name, period)
                    .map_err(|e| at(&name, e))?;
                let def = cat
                    .get(&name.name)
                    .cloned()
                    .ok_or_else(|| cat.unknown(&name.name))?;
                self.commit_catalog(cat)?;
                Ok(show_table(&def, ShowTable::RetentionPolicy))
            }
        }
    }

    fn commit_catalog(&self, cat: Catalog) -> Result<()> {
        cat.save(&self.inner.root)?;
        *self
            .inner
            .catalog
            .write()
            .unwrap_or_else(|e| e.into_inner()) = cat;
        Ok(())
    }
}

impl StoreInner {
    /// Opens a new table's state, or widens an existing one's schema.
    fn upsert_table(&self, def: &TableDef) -> Result<()> {
        let schema = Engine::arrow_schema(&def.columns);
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        match tables.get(&def.name) {
            Some(t) => *t.schema.write().unwrap_or_else(|e| e.into_inner()) = schema,
            None => {
                let t = TableShared::open(&self.root, &def.name, schema, true)?;
                tables.insert(def.name.clone(), Arc::new(t));
            }
        }
        Ok(())
    }

    /// Forgets a dropped table and deletes its files.
    async fn remove_table(&self, name: &str) -> Result<()> {
        let removed = self
            .tables
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let Some(t) = removed else {
            return Ok(());
        };
        t.dropped.store(true, Ordering::SeqCst);
        let _guard = t.maintenance.lock().await;
        for (path, _) in self.segments.list(name).await? {
            self.segments.delete(name, &path).await?;
        }
        match std::fs::remove_dir_all(&t.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(format!("removing {}", t.dir.display()), e)),
        }
    }
}

fn result(columns: Vec<(&str, KqlType)>, rows: Vec<Vec<Value>>) -> QueryResult {
    let cols: Vec<Col> = columns.iter().map(|(n, t)| Col::new(*n, *t)).collect();
    let schema = Engine::arrow_schema(&cols);
    let arrays = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| r.get(i).cloned().unwrap_or(Value::Null))
                .collect();
            engine::types::values_to_array(&values, c.ty)
        })
        .collect();
    let batches = match RecordBatch::try_new(schema, arrays) {
        Ok(b) => vec![b],
        Err(_) => vec![],
    };
    QueryResult {
        columns: cols,
        batches,
        render: None,
        truncated: false,
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::string(v)
}

/// `.show tables` (TableName, DatabaseName, Folder, DocString); `.drop table` answers
/// with the remaining tables' names and database, as Kusto does.
fn tables_result(cat: &Catalog, details: bool) -> QueryResult {
    if details {
        let rows = cat
            .tables()
            .map(|t| vec![s(&t.name), s(DATABASE_NAME), s(&t.folder), s(&t.docstring)])
            .collect();
        result(
            vec![
                ("TableName", KqlType::String),
                ("DatabaseName", KqlType::String),
                ("Folder", KqlType::String),
                ("DocString", KqlType::String),
            ],
            rows,
        )
    } else {
        let rows = cat
            .tables()
            .map(|t| vec![s(&t.name), s(DATABASE_NAME)])
            .collect();
        result(
            vec![
                ("TableName", KqlType::String),
                ("DatabaseName", KqlType::String),
            ],
            rows,
        )
    }
}

/// `.create table` / `.show table T cslschema|schema as json`: TableName, Schema,
/// DatabaseName, Folder, DocString; `schema` is the Schema column's text.
fn schema_row(def: &TableDef, schema: String) -> QueryResult {
    result(
        vec![
            ("TableName", KqlType::String),
            ("Schema", KqlType::String),
            ("DatabaseName", KqlType::String),
            ("Folder", KqlType::String),
            ("DocString", KqlType::String),
        ],
        vec![vec![
            s(&def.name),
            s(schema),
            s(DATABASE_NAME),
            s(&def.folder),
            s(&def.docstring),
        ]],
    )
}

fn clr(ty: KqlType) -> String {
    format!("System.{}", ty.clr_name())
}

fn show_table(def: &TableDef, what: ShowTable) -> QueryResult {
    match what {
        ShowTable::Columns => result(
            vec![
                ("AttributeName", KqlType::String),
                ("AttributeType", KqlType::String),
                ("CslType", KqlType::String),
            ],
            def.columns
                .iter()
                .map(|c| vec![s(&c.name), s(clr(c.ty)), s(c.ty.name())])
                .collect(),
        ),
        ShowTable::Schema => result(
            vec![
                ("ColumnName", KqlType::String),
                ("ColumnOrdinal", KqlType::Int),
                ("DataType", KqlType::String),
                ("ColumnType", KqlType::String),
            ],
            def.columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    vec![
                        s(&c.name),
                        Value::Int(i as i32),
                        s(clr(c.ty)),
                        s(c.ty.name()),
                    ]
                })
                .collect(),
        ),
        ShowTable::CslSchema => schema_row(def, def.csl_schema()),
        ShowTable::SchemaJson => {
            let json = serde_json::json!({
                "Name": def.name,
                "OrderedColumns": def.columns.iter().map(|c| serde_json::json!({
                    "Name": c.name,
                    "Type": clr(c.ty),
                    "CslType": c.ty.name(),
                })).collect::<Vec<_>>(),
            });
            schema_row(def, json.to_string())
        }
        ShowTable::RetentionPolicy => {
            let policy = serde_json::json!({
                "SoftDeletePeriod": format_retention(def.retention),
                "Recoverability": "Disabled",
            });
            result(
                vec![
                    ("PolicyName", KqlType::String),
                    ("EntityName", KqlType::String),
                    ("Policy", KqlType::String),
                    ("ChildEntities", KqlType::String),
                    ("EntityType", KqlType::String),
                ],
                vec![vec![
                    s("RetentionPolicy"),
                    s(format!("[{DATABASE_NAME}].[{}]", def.name)),
                    s(policy.to_string()),
                    s(""),
                    s("Table"),
                ]],
            )
        }
    }
}
