//! The KQL abstract syntax tree. Every node that a user can get wrong carries a byte
//! [`Span`] into the query text so that the binder can point at it.
//!
//! The tree is purely syntactic: whether `Foo` names a column, a scalar `let`, a tabular
//! `let` or a table is decided by the binder in the engine crate.

use std::fmt;

/// A half-open byte range `[start, end)` into the query text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// A name as written: plain (`Url`), bracketed (`['Click Count']`) or `$left`/`$right`.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole query: `set` options, `let` statements and one or more tabular statements,
/// separated by `;`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Query {
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// `let name = value`
    Let(LetStatement),
    /// `set name [= value]` — a client request property.
    Set {
        name: Ident,
        value: Option<Expr>,
        span: Span,
    },
    /// A tabular expression whose result is returned (the last one is "the" result).
    Query(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LetStatement {
    pub name: Ident,
    pub value: LetValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LetValue {
    /// A scalar or tabular expression; the binder tells which.
    Expr(Expr),
    /// `(params) { body }` or `view (params) { body }`.
    Function(FunctionDef),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionDef {
    pub params: Vec<Param>,
    /// `let` statements inside the body, in order.
    pub lets: Vec<LetStatement>,
    /// The body's final expression (scalar or tabular).
    pub body: Box<Expr>,
    pub is_view: bool,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: ParamType,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParamType {
    Scalar(TypeName),
    /// `T:(*)` (None) or `T:(a:int, b:string)`.
    Tabular(Option<Vec<ColumnDecl>>),
}

/// A scalar type name as written in `datatable`, casts, `to typeof(...)`, parse patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeName {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl TypeName {
    /// Parses a type name with Kusto's synonyms (`boolean`, `double`, `date`, `time`, `uuid`...).
    pub fn parse(s: &str) -> Option<TypeName> {
        Some(match s {
            "bool" | "boolean" => TypeName::Bool,
            "int" | "int32" => TypeName::Int,
            "long" | "int64" => TypeName::Long,
            "real" | "double" | "float" => TypeName::Real,
            "decimal" => TypeName::Decimal,
            "string" => TypeName::String,
            "datetime" | "date" => TypeName::DateTime,
            "timespan" | "time" => TypeName::TimeSpan,
            "guid" | "uuid" | "uniqueid" => TypeName::Guid,
            "dynamic" => TypeName::Dynamic,
            _ => return None,
        })
    }
    /// The canonical Kusto name.
    pub fn as_str(self) -> &'static str {
        match self {
            TypeName::Bool => "bool",
            TypeName::Int => "int",
            TypeName::Long => "long",
            TypeName::Real => "real",
            TypeName::Decimal => "decimal",
            TypeName::String => "string",
            TypeName::DateTime => "datetime",
            TypeName::TimeSpan => "timespan",
            TypeName::Guid => "guid",
            TypeName::Dynamic => "dynamic",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    pub name: Ident,
    pub ty: TypeName,
}

/// A literal value. Datetime and timespan text is normalised by the lexer/parser where
/// it is cheap (timespans to nanoseconds); datetime text is kept and parsed by the engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `int(null)`, `datetime(null)`, ... — a null of a known type.
    Null(TypeName),
    Bool(bool),
    /// `int(5)`
    Int(i32),
    /// `5`, `long(5)`, `0x1F`
    Long(i64),
    /// `1.5`, `1e3`, `real(1)`, `real(nan)`, `real(+inf)`
    Real(f64),
    /// `decimal(1.5)` — the digits as written.
    Decimal(String),
    String(String),
    /// `datetime(2024-01-01 10:00:00.1234567)` — the text between the parentheses, trimmed,
    /// with surrounding quotes removed (`datetime("01-01-2022")` gives `01-01-2022`).
    DateTime(String),
    /// A timespan in nanoseconds (`1d`, `90m`, `time(1.02:03:04)`, `1tick` = 100 ns).
    TimeSpan(i64),
    /// `guid(...)` — the text between the parentheses (also a bare guid token such as
    /// `74be27de-1e4e-49d9-b579-fe0b331d3642`).
    Guid(String),
    /// `dynamic(...)` — a JSON value; datetimes and timespans inside become strings.
    /// Integers stay integers and reals stay reals (`1` vs `1.0`). Inside, `datetime(...)`
    /// becomes ISO text with seven fraction digits (`2022-01-01T00:00:00.0000000Z`) when it
    /// is in a common `y-m-d`/`m/d/y [time]` form (else its raw text), a timespan becomes
    /// Kusto's text (`01:00:00`, `1.00:00:00`, `00:00:01.5000000`), a guid its lowercase
    /// text, and a typed null (`int(null)`) `null`. `dynamic(null)` is `Dynamic(Null)`.
    Dynamic(serde_json::Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// A column, scalar `let`, tabular `let` or table name (also `$left`, `$right`).
    Name(Ident),
    /// `*` as a function argument (`arg_max(x, *)`, `count(*)`) or in `project-away *`.
    Star,
    /// `base.name`
    Member {
        base: Box<Expr>,
        name: Ident,
    },
    /// `base[index]`
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x in (a, b)`, `x !in~ (T | project y)`, `x has_any (dynamic([...]))`, ...
    List {
        op: ListOp,
        expr: Box<Expr>,
        items: Vec<Expr>,
    },
    /// `x between (lo .. hi)` / `x !between (lo .. hi)`
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `f(args)`; also `materialize(T)`, `toscalar(T | ...)`, user functions. A schema
    /// argument `x:int` (as in `typeof(*, x:int)`) is the named argument `x = int`.
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    /// `(expr)` kept so spans and tabular/scalar ambiguities stay visible.
    Paren(Box<Expr>),
    /// `input | operator`. The operator is boxed because operators contain expressions
    /// (an unboxed one would make the type infinitely large).
    Pipe {
        input: Box<Expr>,
        op: Box<Operator>,
    },
    /// A source operator that starts a tabular expression: `print`, `range`, `datatable`,
    /// `union` (without input), `search`, `evaluate` (without input).
    Source(Box<Operator>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// `name = value` arguments (plugin options such as `evaluate bag_unpack(d, columnsConflict='keep_source')`).
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    /// `=~`
    EqCi,
    /// `!~`
    NotEqCi,
    /// `matches regex`
    MatchesRegex,
    /// One of the string operators with its negation and case flags.
    Str(StrOp),
}

/// `contains`, `!has_cs`, `startswith`, ... as a (kind, negated, case_sensitive) triple.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StrOp {
    pub kind: StrOpKind,
    pub negated: bool,
    pub case_sensitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrOpKind {
    Contains,
    StartsWith,
    EndsWith,
    Has,
    HasPrefix,
    HasSuffix,
}

impl StrOp {
    /// The operator as written, e.g. `!contains_cs`.
    pub fn text(self) -> String {
        let base = match self.kind {
            StrOpKind::Contains => "contains",
            StrOpKind::StartsWith => "startswith",
            StrOpKind::EndsWith => "endswith",
            StrOpKind::Has => "has",
            StrOpKind::HasPrefix => "hasprefix",
            StrOpKind::HasSuffix => "hassuffix",
        };
        format!(
            "{}{}{}",
            if self.negated { "!" } else { "" },
            base,
            if self.case_sensitive { "_cs" } else { "" }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListOp {
    In,
    NotIn,
    /// `in~`
    InCi,
    /// `!in~`
    NotInCi,
    HasAny,
    HasAll,
}

/// A named expression in `extend`, `project`, `summarize`, `print`, `by` lists:
/// `expr`, `Name = expr` or `(A, B) = expr`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedExpr {
    /// Empty when unnamed; several for the tuple form.
    pub names: Vec<Ident>,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    /// `asc`/`desc` as written; None = the operator's default (descending).
    pub descending: Option<bool>,
    /// `nulls first`/`nulls last` as written.
    pub nulls_first: Option<bool>,
}

/// `name = value` operator options: `kind=inner`, `hint.strategy=shuffle`,
/// `withsource=T`, `isfuzzy=true`, `with_itemindex=i`, `bagexpansion=array`...
#[derive(Clone, Debug, PartialEq)]
pub struct OpOption {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub kind: OperatorKind,
    /// From the operator keyword to the end of the operator.
    pub span: Span,
    /// The operator keyword's own span.
    pub keyword_span: Span,
    pub options: Vec<OpOption>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OperatorKind {
    Where(Expr),
    Extend(Vec<NamedExpr>),
    Project(Vec<NamedExpr>),
    /// Names or wildcard patterns (`Account*`).
    ProjectAway(Vec<ColumnPattern>),
    ProjectKeep(Vec<ColumnPattern>),
    /// `new = old` pairs.
    ProjectRename(Vec<(Ident, Ident)>),
    /// Patterns with an optional `asc`/`desc`/`granny-asc`/`granny-desc` for wildcard order.
    ProjectReorder(Vec<(ColumnPattern, Option<String>)>),
    Summarize {
        aggregates: Vec<NamedExpr>,
        by: Vec<NamedExpr>,
    },
    Sort(Vec<SortKey>),
    Top {
        count: Expr,
        by: Vec<SortKey>,
    },
    Take(Expr),
    Distinct(Vec<NamedExpr>),
    Count,
    Join {
        right: Box<Expr>,
        /// The `on` clause: names, `$left.a == $right.b`, combined with `,` or `and`.
        /// The parser splits top-level `and` too, so each entry is one key (a name or an
        /// equality).
        on: Vec<Expr>,
    },
    Lookup {
        right: Box<Expr>,
        on: Vec<Expr>,
    },
    /// `union [options] T1, T2, (expr)`; as a pipe operator the input is the first leg
    /// (and is not repeated in the list). A wildcard leg such as `Device*` is a `Name` whose
    /// text contains `*`.
    Union(Vec<Expr>),
    /// `mv-expand` items; a trailing `limit N` is kept as an option named `limit`.
    MvExpand(Vec<MvExpandItem>),
    /// `mv-apply` items (a trailing `limit N` is an option named `limit`, as for mv-expand).
    MvApply {
        items: Vec<MvExpandItem>,
        /// `on (subquery)` — starts with `|`-less operators applied to the per-row table.
        /// That implicit input is written as `ExprKind::Name` of the identifier `$input`
        /// (an empty span at the first operator) at the bottom of the subquery's `Pipe`
        /// chain: `on (where x > 1 | top 1 by y)` is `$input | where ... | top ...`. A
        /// subquery that does not start with an operator is kept as written.
        on: Box<Expr>,
    },
    Parse {
        source: Expr,
        pattern: Vec<ParsePart>,
        /// `parse-where` drops rows that do not match.
        filter: bool,
    },
    Render {
        chart: Ident,
        /// `with (title="x", kind=stacked, ...)` properties. A list value such as
        /// `ycolumns=a, b` gives one `ycolumns` entry per column, in order.
        properties: Vec<OpOption>,
    },
    MakeSeries {
        aggregates: Vec<MakeSeriesAgg>,
        on: Expr,
        from: Option<Expr>,
        to: Option<Expr>,
        step: Expr,
        by: Vec<NamedExpr>,
    },
    Evaluate {
        plugin: Ident,
        args: Vec<Arg>,
    },
    Serialize(Vec<NamedExpr>),
    GetSchema,
    As(Ident),
    /// `invoke f(args)` — calls a tabular function with the input as its first argument.
    Invoke {
        function: Ident,
        args: Vec<Arg>,
    },
    /// `search [in (T1, T2)] predicate`; table names may contain `*` wildcards, and a bare
    /// `search "x"` has a string literal as its predicate.
    Search {
        tables: Vec<Ident>,
        predicate: Expr,
    },
    Print(Vec<NamedExpr>),
    Range {
        column: Ident,
        from: Expr,
        to: Expr,
        step: Expr,
    },
    Datatable {
        columns: Vec<ColumnDecl>,
        values: Vec<Expr>,
    },
    /// `sample N`
    Sample(Expr),
    /// `top-nested` levels.
    TopNested(Vec<TopNestedLevel>),
    /// An operator that parses but is not supported: the binder reports it by name
    /// (`scan`, `partition`, `make-graph`, ...). Unsupported sources (`externaldata`,
    /// `find`) are `ExprKind::Source` of this, and so are unsupported statements
    /// (`declare pattern`, `alias database`, `restrict access`), which become query
    /// statements of such a source named by their two keywords.
    Unsupported(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopNestedLevel {
    pub count: Option<Expr>,
    pub of: NamedExpr,
    pub others: Option<Expr>,
    pub by: NamedExpr,
    pub descending: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnPattern {
    /// The name, possibly with `*` wildcards.
    pub pattern: String,
    pub span: Span,
}

impl ColumnPattern {
    pub fn is_wildcard(&self) -> bool {
        self.pattern.contains('*')
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MvExpandItem {
    pub name: Option<Ident>,
    pub expr: Expr,
    /// `to typeof(long)`
    pub to_type: Option<TypeName>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ParsePart {
    /// A string literal to match.
    Literal(String),
    /// `Name` or `Name:type` — captures into a column.
    Column { name: Ident, ty: Option<TypeName> },
    /// `*` — skips any text.
    Wildcard,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MakeSeriesAgg {
    pub name: Option<Ident>,
    pub expr: Expr,
    pub default: Option<Expr>,
}
