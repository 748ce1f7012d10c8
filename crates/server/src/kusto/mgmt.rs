//! The management commands clients send on their own to discover a cluster
//! (`.show version`, `.show databases`, schemas, `.show tables`, `.show functions`,
//! `.show cluster`), answered from the engine's tables. Every other command goes to the
//! store (`.create table`, `.drop table`, retention, ...).

use super::frames::OutTable;
use engine::{Engine, KqlType};
use serde_json::{json, Value as Json};

/// A command this module answers itself.
#[derive(Debug, PartialEq)]
pub(crate) enum Builtin {
    Version,
    Databases,
    /// `.show databases schema`, `.show database X schema`, `.show schema`; `json` for
    /// `as json`; `database` when one was named.
    Schema {
        json: bool,
        database: Option<String>,
    },
    Tables,
    /// `.show table T schema as json`
    TableSchemaJson(String),
    /// `.show table T` / `.show table T cslschema`: its columns.
    TableColumns(String),
    Functions,
    Function(String),
    Cluster,
    Diagnostics,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Name(String),
    Punct(char),
}

fn tokenize(text: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c == '[' {
            let end = chars[i..].iter().position(|&c| c == ']')? + i;
            let inner: String = chars[i + 1..end].iter().collect();
            let inner = inner.trim();
            let unquoted = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                .unwrap_or(inner);
            out.push(Tok::Name(unquoted.to_string()));
            i = end + 1;
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..].iter().position(|&x| x == c)? + i + 1;
            out.push(Tok::Name(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c == '(' || c == ')' || c == ',' {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            let start = i;
            while i < chars.len()
                && !chars[i].is_whitespace()
                && !matches!(chars[i], '(' | ')' | ',' | '[' | ';')
            {
                i += 1;
            }
            out.push(Tok::Word(chars[start..i].iter().collect()));
        }
    }
    Some(out)
}

impl Tok {
    fn kw(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }
    fn name(&self) -> Option<String> {
        match self {
            Tok::Word(w) | Tok::Name(w) => Some(w.clone()),
            Tok::Punct(_) => None,
        }
    }
}

/// Recognises the commands answered here; `None` for everything else.
pub(crate) fn parse_builtin(text: &str) -> Option<Builtin> {
    let toks = tokenize(text)?;
    let kws: Vec<Option<String>> = toks.iter().map(Tok::kw).collect();
    let kw = |i: usize| kws.get(i).cloned().flatten();
    let is = |i: usize, w: &str| kw(i).as_deref() == Some(w);
    let as_json_at = |i: usize| is(i, "as") && is(i + 1, "json") && toks.len() == i + 2;
    // `schema` at `i`, optionally followed by `as json`, ending the command.
    let schema_at = |i: usize, database: Option<String>| {
        (is(i, "schema") && (toks.len() == i + 1 || as_json_at(i + 1))).then(|| Builtin::Schema {
            json: toks.len() > i + 1,
            database,
        })
    };
    if !is(0, ".show") {
        return None;
    }
    match kw(1).as_deref() {
        Some("version") if toks.len() == 2 => Some(Builtin::Version),
        Some("cluster") if toks.len() == 2 || (toks.len() == 3 && is(2, "details")) => {
            Some(Builtin::Cluster)
        }
        Some("diagnostics") => Some(Builtin::Diagnostics),
        Some("databases") => {
            if toks.len() == 2 || (toks.len() == 3 && is(2, "details")) {
                return Some(Builtin::Databases);
            }
            let mut i = 2;
            let mut database = None;
            if toks.get(2) == Some(&Tok::Punct('(')) {
                let close = toks.iter().position(|t| *t == Tok::Punct(')'))?;
                database = toks[3..close].iter().find_map(Tok::name);
                i = close + 1;
            }
            schema_at(i, database)
        }
        Some("database") => {
            if toks.len() == 2 {
                return Some(Builtin::Databases);
            }
            let (database, i) = if is(2, "schema") {
                (None, 2)
            } else {
                (toks.get(2).and_then(Tok::name), 3)
            };
            if toks.len() == i && database.is_some() {
                return Some(Builtin::Databases);
            }
            schema_at(i, database)
        }
        Some("schema") if toks.len() == 2 || as_json_at(2) => Some(Builtin::Schema {
            json: toks.len() > 2,
            database: None,
        }),
        Some("tables") if toks.len() == 2 || (toks.len() == 3 && is(2, "details")) => {
            Some(Builtin::Tables)
        }
        Some("table") => {
            let name = toks.get(2).and_then(Tok::name)?;
            if toks.len() == 3 || (toks.len() == 4 && is(3, "cslschema")) {
                Some(Builtin::TableColumns(name))
            } else if is(3, "schema") && as_json_at(4) {
                Some(Builtin::TableSchemaJson(name))
            } else {
                None
            }
        }
        Some("functions") if toks.len() == 2 => Some(Builtin::Functions),
        Some("function") if toks.len() == 3 => {
            toks.get(2).and_then(Tok::name).map(Builtin::Function)
        }
        _ => None,
    }
}

/// Whether a command only reads (a reader key may run it).
pub(crate) fn is_read_only(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t.starts_with(".show ") || t == ".show"
}

/// `System.*` type names used by `.show ... schema` (bool is `SByte` in Kusto).
fn system_type(ty: KqlType) -> &'static str {
    match ty {
        KqlType::Bool => "System.SByte",
        KqlType::Int => "System.Int32",
        KqlType::Long => "System.Int64",
        KqlType::Real => "System.Double",
        KqlType::Decimal => "System.Data.SqlTypes.SqlDecimal",
        KqlType::String => "System.String",
        KqlType::DateTime => "System.DateTime",
        KqlType::TimeSpan => "System.TimeSpan",
        KqlType::Guid => "System.Guid",
        KqlType::Dynamic => "System.Object",
    }
}

/// Context the commands report.
pub(crate) struct ClusterInfo<'a> {
    pub database: &'a str,
    pub started: i64,
    pub address: String,
}

/// The result of a built-in command, or an error message (unknown table/database).
pub(crate) fn execute(
    cmd: &Builtin,
    engine: &Engine,
    info: &ClusterInfo<'_>,
) -> Result<OutTable, String> {
    let db = info.database;
    let s = |v: &str| Json::String(v.to_string());
    let tables = || {
        engine
            .table_names()
            .into_iter()
            .filter_map(|t| engine.table_columns(&t).map(|c| (t, c)))
            .collect::<Vec<_>>()
    };
    let check_db = |name: &Option<String>| match name {
        Some(n) if !n.eq_ignore_ascii_case(db) => Err(format!(
            "Entity ID '{n}' of kind 'Database' was not found: this server has one database, '{db}'"
        )),
        _ => Ok(()),
    };
    let t = match cmd {
        Builtin::Version => OutTable::json(
            "Table_0",
            "PrimaryResult",
            &[
                ("BuildVersion", KqlType::String),
                ("BuildTime", KqlType::DateTime),
                ("ServiceType", KqlType::String),
                ("ProductVersion", KqlType::String),
            ],
            vec![vec![
                s(env!("CARGO_PKG_VERSION")),
                crate::wire::datetime(info.started),
                s("Engine"),
                s(&format!("clickhunt {}", env!("CARGO_PKG_VERSION"))),
            ]],
        ),
        Builtin::Databases => OutTable::json(
            "Table_0",
            "PrimaryResult",
            &[
                ("DatabaseName", KqlType::String),
                ("PersistentStorage", KqlType::String),
                ("Version", KqlType::String),
                ("IsCurrent", KqlType::Bool),
                ("DatabaseAccessMode", KqlType::String),
                ("PrettyName", KqlType::String),
                ("ReservedSlot1", KqlType::Bool),
                ("DatabaseId", KqlType::Guid),
                ("InTransitionTo", KqlType::String),
            ],
            vec![vec![
                s(db),
                s(""),
                s("v1.0"),
                Json::Bool(true),
                s("ReadWrite"),
                Json::Null,
                Json::Bool(false),
                s(&uuid::Uuid::nil().to_string()),
                s(""),
            ]],
        ),
        Builtin::Schema { json: true, database } => {
            check_db(database)?;
            let mut tmap = serde_json::Map::new();
            for (name, cols) in tables() {
                tmap.insert(
                    name.clone(),
                    json!({
                        "Name": name,
                        "EntityType": "Table",
                        "OrderedColumns": cols.iter().map(|c| json!({
                            "Name": c.name, "Type": system_type(c.ty), "CslType": c.ty.name(),
                        })).collect::<Vec<_>>(),
                        "Folder": Json::Null,
                        "DocString": Json::Null,
                    }),
                );
            }
            let schema = json!({"Databases": {db: {
                "Name": db,
                "Tables": tmap,
                "ExternalTables": {},
                "MaterializedViews": {},
                "Functions": {},
                "EntityGroups": {},
                "MajorVersion": 1,
                "MinorVersion": 0,
                "DatabaseAccessMode": "ReadWrite",
            }}});
            OutTable::json(
                "Table_0",
                "PrimaryResult",
                &[("DatabaseSchema", KqlType::String)],
                vec![vec![Json::String(schema.to_string())]],
            )
        }
        Builtin::Schema {
            json: false,
            database,
        } => {
            check_db(database)?;
            let row = |t: &str, c: &str, ty: &str| {
                vec![
                    s(db),
                    s(t),
                    s(c),
                    s(ty),
                    Json::Bool(false),
                    Json::Bool(false),
                    s(""),
                    s(if t.is_empty() { "v1.0" } else { "" }),
                    s(""),
                    s(""),
                ]
            };
            let mut rows = vec![row("", "", "")];
            for (name, cols) in tables() {
                rows.push(row(&name, "", ""));
                for c in cols {
                    rows.push(row(&name, &c.name, system_type(c.ty)));
                }
            }
            OutTable::json(
                "Table_0",
                "PrimaryResult",
                &[
                    ("DatabaseName", KqlType::String),
                    ("TableName", KqlType::String),
                    ("ColumnName", KqlType::String),
                    ("ColumnType", KqlType::String),
                    ("IsDefaultTable", KqlType::Bool),
                    ("IsDefaultColumn", KqlType::Bool),
                    ("PrettyName", KqlType::String),
                    ("Version", KqlType::String),
                    ("Folder", KqlType::String),
                    ("DocString", KqlType::String),
                ],
                rows,
            )
        }
        Builtin::Tables => OutTable::json(
            "Table_0",
            "PrimaryResult",
            &[
                ("TableName", KqlType::String),
                ("DatabaseName", KqlType::String),
                ("Folder", KqlType::String),
                ("DocString", KqlType::String),
            ],
            engine
                .table_names()
                .into_iter()
                .map(|t| vec![s(&t), s(db), s(""), s("")])
                .collect(),
        ),
        Builtin::TableSchemaJson(name) => {
            let cols = engine
                .table_columns(name)
                .ok_or_else(|| unknown_table(engine, name))?;
            let schema = json!({
                "Name": name,
                "OrderedColumns": cols.iter().map(|c| json!({
                    "Name": c.name, "Type": system_type(c.ty), "CslType": c.ty.name(),
                })).collect::<Vec<_>>(),
            });
            table_schema(name, schema.to_string(), db)
        }
        Builtin::TableColumns(name) => {
            let cols = engine
                .table_columns(name)
                .ok_or_else(|| unknown_table(engine, name))?;
            let csl = cols
                .iter()
                .map(|c| format!("{}:{}", c.name, c.ty.name()))
                .collect::<Vec<_>>()
                .join(",");
            table_schema(name, csl, db)
        }
        Builtin::Functions => OutTable::json(
            "Table_0",
            "PrimaryResult",
            &[
                ("Name", KqlType::String),
                ("Parameters", KqlType::String),
                ("Body", KqlType::String),
                ("Folder", KqlType::String),
                ("DocString", KqlType::String),
            ],
            vec![],
        ),
        Builtin::Function(name) => {
            return Err(format!(
                "Entity ID '{name}' of kind 'Function' was not found: this server has no stored functions"
            ))
        }
        Builtin::Cluster => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            OutTable::json(
                "Table_0",
                "PrimaryResult",
                &[
                    ("NodeId", KqlType::String),
                    ("Address", KqlType::String),
                    ("Name", KqlType::String),
                    ("StartTime", KqlType::DateTime),
                    ("IsAdmin", KqlType::Bool),
                    ("MachineTotalMemory", KqlType::Long),
                    ("MachineAvailableMemory", KqlType::Long),
                    ("ProcessorCount", KqlType::Int),
                    ("HostName", KqlType::String),
                    ("ProductVersion", KqlType::String),
                ],
                vec![vec![
                    s("clickhunt-0"),
                    s(&info.address),
                    s("clickhunt"),
                    crate::wire::datetime(info.started),
                    Json::Bool(true),
                    Json::Null,
                    Json::Null,
                    Json::from(cores),
                    s("clickhunt"),
                    s(env!("CARGO_PKG_VERSION")),
                ]],
            )
        }
        Builtin::Diagnostics => OutTable::json(
            "Table_0",
            "PrimaryResult",
            &[
                ("IsHealthy", KqlType::Bool),
                ("MachinesTotal", KqlType::Int),
                ("MachinesOffline", KqlType::Int),
            ],
            vec![vec![Json::Bool(true), Json::from(1), Json::from(0)]],
        ),
    };
    Ok(t)
}

/// `.show table T schema as json` / `cslschema`: one row, the schema as text.
fn table_schema(name: &str, schema: String, db: &str) -> OutTable {
    let s = |v: &str| Json::String(v.to_string());
    OutTable::json(
        "Table_0",
        "PrimaryResult",
        &[
            ("TableName", KqlType::String),
            ("Schema", KqlType::String),
            ("DatabaseName", KqlType::String),
            ("Folder", KqlType::String),
            ("DocString", KqlType::String),
        ],
        vec![vec![s(name), Json::String(schema), s(db), s(""), s("")]],
    )
}

fn unknown_table(engine: &Engine, name: &str) -> String {
    let names = engine.table_names();
    let hint = engine::error::suggest(name, names.iter().map(String::as_str))
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!("Entity ID '{name}' of kind 'Table' was not found{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_client_discovery_commands() {
        assert_eq!(parse_builtin(".show version"), Some(Builtin::Version));
        assert_eq!(parse_builtin(".show databases"), Some(Builtin::Databases));
        assert_eq!(
            parse_builtin(".show databases schema as json"),
            Some(Builtin::Schema {
                json: true,
                database: None
            })
        );
        assert_eq!(
            parse_builtin(".show databases (['hunting']) schema as json"),
            Some(Builtin::Schema {
                json: true,
                database: Some("hunting".into())
            })
        );
        assert_eq!(
            parse_builtin(".show database ['hunting'] schema"),
            Some(Builtin::Schema {
                json: false,
                database: Some("hunting".into())
            })
        );
        assert_eq!(
            parse_builtin(".show schema"),
            Some(Builtin::Schema {
                json: false,
                database: None
            })
        );
        assert_eq!(parse_builtin(".SHOW TABLES;"), Some(Builtin::Tables));
        assert_eq!(
            parse_builtin(".show table UrlClickEvents schema as json"),
            Some(Builtin::TableSchemaJson("UrlClickEvents".into()))
        );
        assert_eq!(parse_builtin(".show functions"), Some(Builtin::Functions));
        assert_eq!(parse_builtin(".show cluster"), Some(Builtin::Cluster));
        assert_eq!(parse_builtin(".create table T (a:string)"), None);
        assert_eq!(parse_builtin(".show table T policy retention"), None);
    }
}
