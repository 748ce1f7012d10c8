//! The table catalog and the Kusto management commands that change it.
//!
//! The catalog is the built-in Defender tables (always present, schemas from
//! `engine::catalog::DEFENDER_TABLES`, never persisted so a newer binary's schemas win)
//! plus user tables, each with a retention period. It is persisted as
//! `<root>/catalog.json`, replaced atomically on every change.
//!
//! Management commands (`.create table`, `.show tables`, ...) are parsed here, not in
//! the `kql` crate: they are a separate little language (Kusto's control commands) and
//! only the store can carry them out. Parse errors carry the 1-based line and column.

use crate::storage::StoreError;
use engine::Col;
use kql_value::KqlType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Kusto's and Defender's default soft-delete period.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// What `.show tables` reports as the database.
pub const DATABASE_NAME: &str = "hunting";
const CATALOG_FILE: &str = "catalog.json";
const FORMAT: u32 = 1;

/// One table: its columns, in order, and how long its rows are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: String,
    pub columns: Vec<Col>,
    /// Rows whose day partition ended longer ago than this are dropped.
    pub retention: Duration,
    /// A Defender table: cannot be dropped or have its schema changed.
    pub builtin: bool,
    pub folder: String,
    pub docstring: String,
}

impl TableDef {
    /// `Name:type, ...` as Kusto's `cslschema` prints it.
    pub fn csl_schema(&self) -> String {
        self.columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.ty.name()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Built-in tables plus user tables, by name (case-sensitive, as in Kusto).
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    tables: BTreeMap<String, TableDef>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::builtin()
    }
}

#[derive(Serialize, Deserialize)]
struct CatalogFile {
    format: u32,
    tables: Vec<TableFile>,
}

#[derive(Serialize, Deserialize)]
struct TableFile {
    name: String,
    #[serde(default)]
    builtin: bool,
    /// Absent for built-in tables: their schema comes from the binary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    columns: Vec<ColumnFile>,
    /// Kusto timespan text, e.g. `30.00:00:00`.
    retention: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    folder: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    docstring: String,
}

#[derive(Serialize, Deserialize)]
struct ColumnFile {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

impl Catalog {
    /// Only the built-in Defender tables, with the default retention.
    pub fn builtin() -> Catalog {
        let tables = engine::catalog::DEFENDER_TABLES
            .iter()
            .map(|(name, spec)| {
                let def = TableDef {
                    name: name.to_string(),
                    columns: engine::catalog::parse_columns(spec),
                    retention: DEFAULT_RETENTION,
                    builtin: true,
                    folder: String::new(),
                    docstring: String::new(),
                };
                (name.to_string(), def)
            })
            .collect();
        Catalog { tables }
    }

    pub(crate) fn path(root: &Path) -> PathBuf {
        root.join(CATALOG_FILE)
    }

    /// Reads `<root>/catalog.json`; a missing file is a catalog of built-ins only.
    pub fn load(root: &Path) -> Result<Catalog, StoreError> {
        let path = Self::path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Catalog::builtin()),
            Err(e) => {
                return Err(StoreError::Io {
                    context: format!("reading {}", path.display()),
                    source: e,
                })
            }
        };
        let corrupt = |message: String| StoreError::CorruptCatalog {
            path: path.clone(),
            message,
        };
        let file: CatalogFile = serde_json::from_str(&text)
            .map_err(|e| corrupt(format!("line {}, column {}: {e}", e.line(), e.column())))?;
        if file.format != FORMAT {
            return Err(corrupt(format!(
                "format {} is not supported (this clickhunt reads format {FORMAT})",
                file.format
            )));
        }
        let mut cat = Catalog::builtin();
        for t in file.tables {
            let retention = parse_retention_text(&t.retention).ok_or_else(|| {
                corrupt(format!(
                    "table `{}`: bad retention `{}`",
                    t.name, t.retention
                ))
            })?;
            if t.builtin {
                // A table dropped from a newer binary's built-ins is simply gone.
                if let Some(def) = cat.tables.get_mut(&t.name) {
                    def.retention = retention;
                    def.folder = t.folder;
                    def.docstring = t.docstring;
                }
                continue;
            }
            validate_table_name(&t.name).map_err(corrupt)?;
            let mut columns = Vec::new();
            for c in &t.columns {
                let ty = KqlType::parse(&c.ty).ok_or_else(|| {
                    corrupt(format!(
                        "table `{}`, column `{}`: unknown type `{}`",
                        t.name, c.name, c.ty
                    ))
                })?;
                columns.push(Col::new(c.name.clone(), ty));
            }
            if columns.is_empty() || cat.tables.contains_key(&t.name) {
                return Err(corrupt(format!(
                    "table `{}` has no columns or is listed twice",
                    t.name
                )));
            }
            cat.tables.insert(
                t.name.clone(),
                TableDef {
                    name: t.name,
                    columns,
                    retention,
                    builtin: false,
                    folder: t.folder,
                    docstring: t.docstring,
                },
            );
        }
        Ok(cat)
    }

    /// Writes `<root>/catalog.json` atomically (temp file, fsync, rename).
    pub(crate) fn save(&self, root: &Path) -> Result<(), StoreError> {
        let file = CatalogFile {
            format: FORMAT,
            tables: self
                .tables
                .values()
                .map(|t| TableFile {
                    name: t.name.clone(),
                    builtin: t.builtin,
                    columns: if t.builtin {
                        vec![]
                    } else {
                        t.columns
                            .iter()
                            .map(|c| ColumnFile {
                                name: c.name.clone(),
                                ty: c.ty.name().to_string(),
                            })
                            .collect()
                    },
                    retention: format_retention(t.retention),
                    folder: t.folder.clone(),
                    docstring: t.docstring.clone(),
                })
                .collect(),
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| StoreError::Internal(format!("encoding the catalog: {e}")))?;
        crate::storage::write_atomically(&Self::path(root), text.as_bytes())
    }

    pub fn get(&self, name: &str) -> Option<&TableDef> {
        self.tables.get(name)
    }

    /// All tables, by name.
    pub fn tables(&self) -> impl Iterator<Item = &TableDef> {
        self.tables.values()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    pub(crate) fn unknown(&self, name: &str) -> StoreError {
        StoreError::unknown_table(name, self.names())
    }

    /// `.create table` / `.create-merge table`. Returns whether anything changed.
    pub(crate) fn create(
        &mut self,
        name: &str,
        columns: Vec<Col>,
        merge: bool,
    ) -> Result<bool, String> {
        validate_table_name(name)?;
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                return Err(format!("column `{}` is declared twice", c.name));
            }
        }
        let Some(existing) = self.tables.get_mut(name) else {
            if let Some(other) = self.tables.keys().find(|k| k.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "table `{other}` already exists; names differing only in case would share a \
                     directory on case-insensitive filesystems"
                ));
            }
            self.tables.insert(
                name.to_string(),
                TableDef {
                    name: name.to_string(),
                    columns,
                    retention: DEFAULT_RETENTION,
                    builtin: false,
                    folder: String::new(),
                    docstring: String::new(),
                },
            );
            return Ok(true);
        };
        // Same column with another type is an error in both forms (Kusto's rule).
        for c in &columns {
            if let Some(old) = existing.columns.iter().find(|o| o.name == c.name) {
                if old.ty != c.ty {
                    return Err(format!(
                        "column `{}` of table `{name}` is {}, not {}; a column's type cannot change",
                        c.name, old.ty, c.ty
                    ));
                }
            }
        }
        let added: Vec<Col> = columns
            .iter()
            .filter(|c| !existing.columns.iter().any(|o| o.name == c.name))
            .cloned()
            .collect();
        if added.is_empty() && (merge || columns.len() == existing.columns.len()) {
            return Ok(false);
        }
        if existing.builtin {
            return Err(format!(
                "`{name}` is a built-in Defender table; its schema cannot be changed"
            ));
        }
        if !merge {
            return Err(format!(
                "table `{name}` already exists with a different schema ({}); use \
                 `.create-merge table` to add columns",
                existing.csl_schema()
            ));
        }
        existing.columns.extend(added);
        Ok(true)
    }

    pub(crate) fn drop_table(&mut self, name: &str) -> Result<TableDef, StoreError> {
        match self.tables.get(name) {
            None => Err(self.unknown(name)),
            Some(t) if t.builtin => Err(StoreError::Rejected(format!(
                "`{name}` is a built-in Defender table and cannot be dropped"
            ))),
            Some(_) => self.tables.remove(name).ok_or_else(|| self.unknown(name)),
        }
    }

    pub(crate) fn set_retention(
        &mut self,
        name: &str,
        retention: Duration,
    ) -> Result<(), StoreError> {
        match self.tables.get_mut(name) {
            Some(t) => {
                t.retention = retention;
                Ok(())
            }
            None => Err(self.unknown(name)),
        }
    }
}

/// Table names become directory names, so they are plain identifiers.
fn validate_table_name(name: &str) -> Result<(), String> {
    let ok_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok_start || !ok_rest || name.len() > 255 {
        return Err(format!(
            "`{name}` is not a valid table name: use letters, digits and `_`, starting with a \
             letter or `_` (at most 255 characters)"
        ));
    }
    if name.eq_ignore_ascii_case("LOCK") {
        return Err("`LOCK` is reserved for the data directory's lock file".into());
    }
    Ok(())
}

/// Retention as Kusto writes timespans (`30.00:00:00`).
pub fn format_retention(d: Duration) -> String {
    kql_value::format::format_timespan(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn parse_retention_text(text: &str) -> Option<Duration> {
    let ns = kql_value::format::parse_timespan(text)?;
    u64::try_from(ns).ok().map(Duration::from_nanos)
}

// ---------------------------------------------------------------------------------
// Management commands
// ---------------------------------------------------------------------------------

/// True when `text` is a management command: its first character after whitespace
/// and `//` comments is `.`.
pub fn is_management_command(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        match rest.strip_prefix("//") {
            Some(r) => rest = r.split_once('\n').map_or("", |(_, after)| after),
            None => return rest.starts_with('.'),
        }
    }
}

/// A parsed management command. Names carry their byte offset for error messages.
#[derive(Debug, Clone, PartialEq)]
pub enum ManagementCommand {
    /// `.create table T (A:string, ...)`; `merge` for `.create-merge table`.
    CreateTable {
        name: Named,
        columns: Vec<Col>,
        merge: bool,
    },
    /// `.drop table T [ifexists]`.
    DropTable { name: Named, if_exists: bool },
    /// `.show tables`.
    ShowTables,
    /// `.show table T ...`.
    ShowTable { name: Named, what: ShowTable },
    /// `.alter[-merge] table T policy retention ...`.
    AlterRetention {
        name: Named,
        merge: bool,
        soft_delete: Option<Duration>,
        recoverability: Option<bool>,
    },
}

/// What `.show table T` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowTable {
    /// `.show table T` / `.show table T details`: one row per column.
    Columns,
    /// `.show table T schema`: one row per column (ColumnName, ColumnType).
    Schema,
    /// `.show table T schema as json`.
    SchemaJson,
    /// `.show table T cslschema`.
    CslSchema,
    /// `.show table T policy retention`.
    RetentionPolicy,
}

/// A name and where it was written (byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Command(String),
    Ident(String),
    /// A quoted string literal (its unescaped contents).
    Str(String),
    /// Text starting with a digit: a timespan such as `30d` or `30.00:00:00`.
    Word(String),
    Punct(char),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    at: usize,
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn error_at(text: &str, offset: usize, message: impl Into<String>) -> StoreError {
    let (line, column) = line_col(text, offset);
    StoreError::Command {
        message: message.into(),
        line,
        column,
        offset,
    }
}

pub(crate) fn name_error(text: &str, name: &Named, e: StoreError) -> StoreError {
    match e {
        StoreError::UnknownTable { .. } | StoreError::Rejected(_) | StoreError::Schema { .. } => {
            error_at(text, name.offset, e.to_string())
        }
        other => other,
    }
}

fn lex(text: &str) -> Result<Vec<Token>, StoreError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        let start = i;
        let tok = match c {
            b'.' => {
                i += 1;
                while i < bytes.len() && (ident_char(bytes[i]) || bytes[i] == b'-') {
                    i += 1;
                }
                Tok::Command(text[start..i].to_string())
            }
            b'[' => {
                let quote = bytes.get(i + 1).copied();
                if !matches!(quote, Some(b'\'') | Some(b'"')) {
                    return Err(error_at(text, i, "expected `['name']` or `[\"name\"]`"));
                }
                let (s, end) = lex_string(text, i + 1)?;
                if bytes.get(end) != Some(&b']') {
                    return Err(error_at(text, end, "expected `]` after the quoted name"));
                }
                i = end + 1;
                Tok::Ident(s)
            }
            b'\'' | b'"' => {
                let (s, end) = lex_string(text, i)?;
                i = end;
                Tok::Str(s)
            }
            b'@' if matches!(bytes.get(i + 1), Some(b'\'') | Some(b'"')) => {
                let q = bytes[i + 1] as char;
                let body = &text[i + 2..];
                let Some(n) = body.find(q) else {
                    return Err(error_at(text, i, "unterminated string literal"));
                };
                i = i + 2 + n + 1;
                Tok::Str(body[..n].to_string())
            }
            b'`' if text[i..].starts_with("```") => {
                let body = &text[i + 3..];
                let Some(n) = body.find("```") else {
                    return Err(error_at(text, i, "unterminated ``` literal"));
                };
                i = i + 3 + n + 3;
                Tok::Str(body[..n].to_string())
            }
            b'(' | b')' | b',' | b':' | b'=' | b';' => {
                i += 1;
                Tok::Punct(c as char)
            }
            c if c.is_ascii_digit() => {
                while i < bytes.len()
                    && (ident_char(bytes[i]) || bytes[i] == b'.' || bytes[i] == b':')
                {
                    i += 1;
                }
                Tok::Word(text[start..i].to_string())
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && ident_char(bytes[i]) {
                    i += 1;
                }
                Tok::Ident(text[start..i].to_string())
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(error_at(text, i, format!("unexpected character `{ch}`")));
            }
        };
        out.push(Token { tok, at: start });
    }
    out.push(Token {
        tok: Tok::End,
        at: text.len(),
    });
    Ok(out)
}

/// A `'...'` or `"..."` literal starting at `start`, with `\` escapes.
fn lex_string(text: &str, start: usize) -> Result<(String, usize), StoreError> {
    let quote = text.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((k, ch)) = chars.next() {
        match ch {
            c if c == quote => return Ok((out, start + 1 + k + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, e)) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(error_at(text, start, "unterminated string literal"))
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn err(&self, t: &Token, message: impl Into<String>) -> StoreError {
        error_at(self.text, t.at, message)
    }

    fn describe(t: &Token) -> String {
        match &t.tok {
            Tok::Command(s) | Tok::Ident(s) | Tok::Word(s) => format!("`{s}`"),
            Tok::Str(_) => "a string literal".into(),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::End => "the end of the command".into(),
        }
    }

    fn is_keyword(t: &Token, kw: &str) -> bool {
        matches!(&t.tok, Tok::Ident(s) if s == kw)
    }

    fn keyword(&mut self, kw: &str, context: &str) -> Result<(), StoreError> {
        let t = self.next();
        if Self::is_keyword(&t, kw) {
            Ok(())
        } else {
            Err(self.err(
                &t,
                format!("expected `{kw}` {context}, found {}", Self::describe(&t)),
            ))
        }
    }

    fn punct(&mut self, p: char, context: &str) -> Result<(), StoreError> {
        let t = self.next();
        if t.tok == Tok::Punct(p) {
            Ok(())
        } else {
            Err(self.err(
                &t,
                format!("expected `{p}` {context}, found {}", Self::describe(&t)),
            ))
        }
    }

    fn name(&mut self, what: &str) -> Result<Named, StoreError> {
        let t = self.next();
        match t.tok {
            Tok::Ident(s) => Ok(Named {
                name: s,
                offset: t.at,
            }),
            _ => Err(self.err(&t, format!("expected {what}, found {}", Self::describe(&t)))),
        }
    }

    fn end(&mut self) -> Result<(), StoreError> {
        if self.peek().tok == Tok::Punct(';') {
            self.pos += 1;
        }
        let t = self.next();
        if t.tok == Tok::End {
            Ok(())
        } else {
            Err(self.err(
                &t,
                format!("unexpected {} after the command", Self::describe(&t)),
            ))
        }
    }
}

/// Parses one management command.
pub fn parse_command(text: &str) -> Result<ManagementCommand, StoreError> {
    let toks = lex(text)?;
    let mut p = Parser { text, toks, pos: 0 };
    let first = p.next();
    let Tok::Command(cmd) = &first.tok else {
        return Err(p.err(
            &first,
            "a management command starts with `.` (for example `.show tables`)",
        ));
    };
    let parsed = match cmd.as_str() {
        ".create" | ".create-merge" => {
            let merge = cmd == ".create-merge";
            let t = p.peek().clone();
            if Parser::is_keyword(&t, "tables") {
                return Err(p.err(&t, format!("`{cmd} tables` is not supported; create tables one at a time")));
            }
            p.keyword("table", &format!("after `{cmd}`"))?;
            let name = p.name("a table name")?;
            let columns = parse_columns(&mut p)?;
            skip_with_clause(&mut p)?;
            ManagementCommand::CreateTable {
                name,
                columns,
                merge,
            }
        }
        ".drop" => {
            p.keyword("table", "after `.drop`")?;
            let name = p.name("a table name")?;
            let if_exists = Parser::is_keyword(p.peek(), "ifexists");
            if if_exists {
                p.pos += 1;
            }
            ManagementCommand::DropTable { name, if_exists }
        }
        ".show" => {
            let t = p.next();
            if Parser::is_keyword(&t, "tables") {
                if Parser::is_keyword(p.peek(), "details") {
                    p.pos += 1;
                }
                ManagementCommand::ShowTables
            } else if Parser::is_keyword(&t, "table") {
                let name = p.name("a table name")?;
                let what = parse_show_table(&mut p)?;
                ManagementCommand::ShowTable { name, what }
            } else {
                return Err(p.err(
                    &t,
                    format!(
                        "expected `tables` or `table` after `.show`, found {} (supported: `.show tables`, \
                         `.show table T [schema [as json] | cslschema | policy retention]`)",
                        Parser::describe(&t)
                    ),
                ));
            }
        }
        ".alter" | ".alter-merge" => {
            let merge = cmd == ".alter-merge";
            p.keyword("table", &format!("after `{cmd}`"))?;
            let name = p.name("a table name")?;
            p.keyword("policy", "after the table name")?;
            p.keyword("retention", "after `policy` (only the retention policy is supported)")?;
            let (soft_delete, recoverability) = parse_retention(&mut p)?;
            ManagementCommand::AlterRetention {
                name,
                merge,
                soft_delete,
                recoverability,
            }
        }
        _ => {
            return Err(p.err(
                &first,
                format!(
                    "unsupported management command `{cmd}` (supported: .create table, .create-merge table, \
                     .drop table, .show tables, .show table, .alter[-merge] table ... policy retention)"
                ),
            ))
        }
    };
    p.end()?;
    Ok(parsed)
}

fn parse_columns(p: &mut Parser) -> Result<Vec<Col>, StoreError> {
    p.punct('(', "before the column list")?;
    let mut cols = Vec::new();
    if p.peek().tok == Tok::Punct(')') {
        let t = p.peek().clone();
        return Err(p.err(&t, "a table needs at least one column"));
    }
    loop {
        let name = p.name("a column name")?;
        p.punct(':', &format!("after column `{}`", name.name))?;
        let t = p.next();
        let Tok::Ident(ty_name) = &t.tok else {
            return Err(p.err(
                &t,
                format!(
                    "expected the type of column `{}`, found {}",
                    name.name,
                    Parser::describe(&t)
                ),
            ));
        };
        let Some(ty) = KqlType::parse(ty_name) else {
            return Err(p.err(
                &t,
                format!(
                    "unknown type `{ty_name}` for column `{}` (types: bool, int, long, real, decimal, string, \
                     datetime, timespan, guid, dynamic)",
                    name.name
                ),
            ));
        };
        cols.push(Col::new(name.name, ty));
        let t = p.next();
        match t.tok {
            Tok::Punct(',') => continue,
            Tok::Punct(')') => return Ok(cols),
            _ => {
                return Err(p.err(
                    &t,
                    format!(
                        "expected `,` or `)` in the column list, found {}",
                        Parser::describe(&t)
                    ),
                ))
            }
        }
    }
}

/// `with (docstring = "...", folder = "...")`: accepted and ignored.
fn skip_with_clause(p: &mut Parser) -> Result<(), StoreError> {
    if !Parser::is_keyword(p.peek(), "with") {
        return Ok(());
    }
    p.pos += 1;
    p.punct('(', "after `with`")?;
    loop {
        let t = p.next();
        match t.tok {
            Tok::Punct(')') => return Ok(()),
            Tok::End => return Err(p.err(&t, "unterminated `with (...)` clause")),
            _ => {}
        }
    }
}

fn parse_show_table(p: &mut Parser) -> Result<ShowTable, StoreError> {
    let t = p.peek().clone();
    let what = match &t.tok {
        Tok::End | Tok::Punct(';') => return Ok(ShowTable::Columns),
        Tok::Ident(s) if s == "details" => ShowTable::Columns,
        Tok::Ident(s) if s == "cslschema" => ShowTable::CslSchema,
        Tok::Ident(s) if s == "schema" => {
            p.pos += 1;
            if Parser::is_keyword(p.peek(), "as") {
                p.pos += 1;
                p.keyword("json", "after `schema as`")?;
                return Ok(ShowTable::SchemaJson);
            }
            return Ok(ShowTable::Schema);
        }
        Tok::Ident(s) if s == "policy" => {
            p.pos += 1;
            p.keyword("retention", "after `policy` (only the retention policy is supported)")?;
            return Ok(ShowTable::RetentionPolicy);
        }
        _ => {
            return Err(p.err(
                &t,
                format!(
                    "expected `schema`, `cslschema`, `details` or `policy retention` after the table name, found {}",
                    Parser::describe(&t)
                ),
            ))
        }
    };
    p.pos += 1;
    Ok(what)
}

/// `softdelete = 30d [recoverability = enabled|disabled]` or a JSON policy string.
fn parse_retention(p: &mut Parser) -> Result<(Option<Duration>, Option<bool>), StoreError> {
    let t = p.peek().clone();
    if let Tok::Str(json) = &t.tok {
        p.pos += 1;
        return retention_from_json(json).map_err(|m| p.err(&t, m));
    }
    let mut soft = None;
    let mut recover = None;
    loop {
        let t = p.peek().clone();
        if matches!(t.tok, Tok::End | Tok::Punct(';')) {
            break;
        }
        let key = p.name("`softdelete` or `recoverability`")?;
        p.punct('=', &format!("after `{}`", key.name))?;
        let v = p.next();
        match (key.name.to_ascii_lowercase().as_str(), &v.tok) {
            ("softdelete", Tok::Word(w)) => match parse_retention_text(w) {
                Some(d) => soft = Some(d),
                None => {
                    return Err(p.err(
                        &v,
                        format!("`{w}` is not a timespan (write e.g. `30d` or `365d`)"),
                    ))
                }
            },
            ("softdelete", _) => {
                return Err(p.err(
                    &v,
                    format!(
                        "expected a timespan such as `30d`, found {}",
                        Parser::describe(&v)
                    ),
                ))
            }
            ("recoverability", Tok::Ident(s)) if s.eq_ignore_ascii_case("enabled") => {
                recover = Some(true)
            }
            ("recoverability", Tok::Ident(s)) if s.eq_ignore_ascii_case("disabled") => {
                recover = Some(false)
            }
            ("recoverability", _) => {
                return Err(p.err(
                    &v,
                    format!(
                        "expected `enabled` or `disabled`, found {}",
                        Parser::describe(&v)
                    ),
                ))
            }
            _ => {
                let at = Token {
                    tok: Tok::Ident(key.name.clone()),
                    at: key.offset,
                };
                return Err(p.err(
                    &at,
                    format!(
                        "unknown retention property `{}` (use `softdelete` or `recoverability`)",
                        key.name
                    ),
                ));
            }
        }
    }
    if soft.is_none() && recover.is_none() {
        let t = p.peek().clone();
        return Err(p.err(
            &t,
            "expected `softdelete = <timespan>` (for example `softdelete = 30d`)",
        ));
    }
    Ok((soft, recover))
}

fn retention_from_json(json: &str) -> Result<(Option<Duration>, Option<bool>), String> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| format!("the retention policy is not valid JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("the retention policy must be a JSON object like {\"SoftDeletePeriod\": \"30.00:00:00\"}".into());
    };
    let mut soft = None;
    let mut recover = None;
    for (k, v) in obj {
        match k.to_ascii_lowercase().as_str() {
            "softdeleteperiod" => {
                let text = v
                    .as_str()
                    .ok_or("SoftDeletePeriod must be a timespan string like \"30.00:00:00\"")?;
                soft = Some(
                    parse_retention_text(text)
                        .ok_or_else(|| format!("SoftDeletePeriod `{text}` is not a timespan"))?,
                );
            }
            "recoverability" => {
                recover = match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("enabled") => Some(true),
                    Some("disabled") => Some(false),
                    _ => return Err("Recoverability must be \"Enabled\" or \"Disabled\"".into()),
                }
            }
            _ => return Err(format!("unknown retention policy property `{k}`")),
        }
    }
    if soft.is_none() && recover.is_none() {
        return Err("the retention policy sets nothing (expected SoftDeletePeriod)".into());
    }
    Ok((soft, recover))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_commands_after_comments() {
        assert!(is_management_command("  // hi\n .show tables"));
        assert!(!is_management_command("T | take 1"));
        assert!(!is_management_command("// .show tables"));
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
