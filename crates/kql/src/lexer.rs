//! The KQL lexer: turns query text into tokens with byte spans.
//!
//! It is hand-written because several KQL tokens are context-free but not regular in the
//! usual sense: `datetime(2024-01-01 10:00)` is one literal whose inside is raw text, `1.5h`
//! is a timespan, `@"C:\x"` is verbatim, and `h"..."` hides a secret. Lexical mistakes do not
//! stop lexing: they become [`Tok::Error`] tokens that carry their own diagnostic, so the
//! parser reports each one where it meets it and drops the ones inside a region it is already
//! skipping after another error (one mistake, one diagnostic).
//!
//! The lexer never panics: it walks the text by `char`, so byte offsets always fall on
//! character boundaries, and numeric overflow is reported rather than unwrapped.

use crate::ast::Span;

/// Punctuation and operator symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum P {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Pipe,
    Dot,
    DotDot,
    Comma,
    Semi,
    Colon,
    Assign,
    EqEq,
    NotEq,
    /// `<>`, a legacy spelling of `!=`.
    LtGt,
    Lt,
    Le,
    Gt,
    Ge,
    EqTilde,
    BangTilde,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    Tilde,
    At,
    Question,
    FatArrow,
}

impl P {
    pub(crate) fn text(self) -> &'static str {
        match self {
            P::LParen => "(",
            P::RParen => ")",
            P::LBracket => "[",
            P::RBracket => "]",
            P::LBrace => "{",
            P::RBrace => "}",
            P::Pipe => "|",
            P::Dot => ".",
            P::DotDot => "..",
            P::Comma => ",",
            P::Semi => ";",
            P::Colon => ":",
            P::Assign => "=",
            P::EqEq => "==",
            P::NotEq => "!=",
            P::LtGt => "<>",
            P::Lt => "<",
            P::Le => "<=",
            P::Gt => ">",
            P::Ge => ">=",
            P::EqTilde => "=~",
            P::BangTilde => "!~",
            P::Plus => "+",
            P::Minus => "-",
            P::Star => "*",
            P::Slash => "/",
            P::Percent => "%",
            P::Bang => "!",
            P::Tilde => "~",
            P::At => "@",
            P::Question => "?",
            P::FatArrow => "=>",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// Any identifier, including keywords (`where`, `by`) and `$left`/`$right`: whether a
    /// word is a keyword depends on where it stands, so the parser decides.
    Ident(String),
    /// A string literal, escapes already decoded.
    Str(String),
    /// An unsigned integer literal; the sign is a separate `-` that the parser folds in,
    /// which is what lets `-9223372036854775808` through.
    Long(u64),
    Real(f64),
    /// A timespan literal such as `1.5h`, in nanoseconds.
    TimeSpan(i64),
    /// `keyword(raw)` where the keyword is one of [`GOO_KEYWORDS`] and `(` follows it
    /// directly: Kusto reads the inside as raw text, not tokens.
    Goo {
        keyword: &'static str,
        raw: String,
        /// Byte offset of `raw` in the source, for diagnostics about the inside.
        raw_start: usize,
    },
    /// A bare guid such as `74be27de-1e4e-49d9-b579-fe0b331d3642`.
    Guid(String),
    Punct(P),
    /// A lexical mistake; the parser reports it when it meets the token.
    Error(LexError),
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexError {
    pub message: String,
    pub help: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub span: Span,
}

/// Type keywords whose `(...)` is a literal read as raw text (Kusto's "goo" literals).
/// `dynamic` is not here: its inside is JSON-like tokens, parsed by the parser.
const GOO_KEYWORDS: &[&str] = &[
    "datetime", "date", "time", "timespan", "guid", "int", "long", "real", "double", "decimal",
    "bool", "boolean",
];

/// Timespan unit suffixes and their length in nanoseconds, as Kusto's lexer lists them.
pub(crate) const TIMESPAN_UNITS: &[(&str, i128)] = &[
    ("d", 86_400_000_000_000),
    ("day", 86_400_000_000_000),
    ("days", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("hr", 3_600_000_000_000),
    ("hrs", 3_600_000_000_000),
    ("hour", 3_600_000_000_000),
    ("hours", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("minute", 60_000_000_000),
    ("minutes", 60_000_000_000),
    ("s", 1_000_000_000),
    ("sec", 1_000_000_000),
    ("second", 1_000_000_000),
    ("seconds", 1_000_000_000),
    ("ms", 1_000_000),
    ("milli", 1_000_000),
    ("millis", 1_000_000),
    ("millisec", 1_000_000),
    ("millisecond", 1_000_000),
    ("milliseconds", 1_000_000),
    ("micro", 1_000),
    ("micros", 1_000),
    ("microsec", 1_000),
    ("microsecond", 1_000),
    ("microseconds", 1_000),
    ("nano", 1),
    ("nanos", 1),
    ("nanosec", 1),
    ("nanosecond", 1),
    ("nanoseconds", 1),
    ("tick", 100),
    ("ticks", 100),
];

pub(crate) fn unit_nanos(unit: &str) -> Option<i128> {
    TIMESPAN_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, n)| *n)
}

/// `digits[.digits] × unit` in nanoseconds, or None on overflow. `int` and `frac` must be
/// ASCII digit strings (either may be empty).
pub(crate) fn scaled_nanos(int: &str, frac: &str, unit: i128) -> Option<i64> {
    let mut whole: i128 = 0;
    for b in int.bytes() {
        whole = whole.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut total = whole.checked_mul(unit)?;
    // Only the first 18 fraction digits can matter at nanosecond resolution.
    let frac = &frac[..frac.len().min(18)];
    if !frac.is_empty() {
        let mut num: i128 = 0;
        for b in frac.bytes() {
            num = num * 10 + i128::from(b - b'0');
        }
        let den = 10i128.pow(frac.len() as u32);
        total = total.checked_add(num.checked_mul(unit)? / den)?;
    }
    i64::try_from(total).ok()
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

pub(crate) fn lex(src: &str) -> Vec<Token> {
    let mut lx = Lexer {
        src,
        // A byte-order mark from a pasted file is not part of the query.
        pos: if src.starts_with('\u{feff}') { 3 } else { 0 },
        out: Vec::new(),
    };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    out: Vec<Token>,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, pos: usize) -> Option<char> {
        self.src.get(pos..).and_then(|s| s.chars().next())
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn push(&mut self, kind: Tok, start: usize) {
        self.out.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    fn error(&mut self, start: usize, message: impl Into<String>, help: Option<String>) {
        let span = Span::new(start, self.pos);
        self.out.push(Token {
            kind: Tok::Error(LexError {
                message: message.into(),
                help,
                span,
            }),
            span,
        });
    }

    fn run(&mut self) {
        loop {
            self.skip_trivia();
            let start = self.pos;
            let Some(c) = self.peek() else {
                self.push(Tok::Eof, start);
                return;
            };
            if c.is_ascii_hexdigit() {
                if let Some(len) = self.raw_guid_len() {
                    self.pos += len;
                    let text = self.src[start..self.pos].to_string();
                    self.push(Tok::Guid(text), start);
                    continue;
                }
            }
            if c.is_ascii_digit() {
                self.number(start);
            } else if is_ident_start(c) {
                self.ident_or_literal(start);
            } else if c == '\'' || c == '"' {
                self.quoted(start, false);
            } else if c == '@' && matches!(self.peek_at(start + 1), Some('\'' | '"')) {
                self.pos += 1;
                self.quoted(start, true);
            } else if self.rest().starts_with("```") {
                self.multiline(start);
            } else {
                self.punct(start, c);
            }
        }
    }

    /// Whitespace and `//` comments.
    fn skip_trivia(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                match trimmed.find('\n') {
                    Some(i) => self.pos += i + 1,
                    None => self.pos = self.src.len(),
                }
            } else {
                return;
            }
        }
    }

    /// A bare 8-4-4-4-12 guid not followed by an identifier character.
    fn raw_guid_len(&self) -> Option<usize> {
        let b = self.rest().as_bytes();
        if b.len() < 36 {
            return None;
        }
        for (i, &ch) in b[..36].iter().enumerate() {
            let ok = if matches!(i, 8 | 13 | 18 | 23) {
                ch == b'-'
            } else {
                ch.is_ascii_hexdigit()
            };
            if !ok {
                return None;
            }
        }
        match self.peek_at(self.pos + 36) {
            Some(c) if is_ident_char(c) => None,
            _ => Some(36),
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.src[start..self.pos]
    }

    fn number(&mut self, start: usize) {
        // Hexadecimal: 0x1F.
        if self.rest().starts_with("0x") || self.rest().starts_with("0X") {
            let save = self.pos;
            self.pos += 2;
            let digits = self.take_while(|c| c.is_ascii_hexdigit());
            if !digits.is_empty() && !self.peek().is_some_and(is_ident_char) {
                match u64::from_str_radix(digits, 16) {
                    Ok(v) => self.push(Tok::Long(v), start),
                    Err(_) => self.error(
                        start,
                        format!(
                            "hexadecimal literal '{}' is too large for a long",
                            &self.src[start..self.pos]
                        ),
                        None,
                    ),
                }
                return;
            }
            self.pos = save;
        }
        let int = self.take_while(|c| c.is_ascii_digit());
        let mut frac: Option<&str> = None;
        let mut is_real = false;
        if self.peek() == Some('.') && self.peek_at(self.pos + 1) != Some('.') {
            self.pos += 1;
            frac = Some(self.take_while(|c| c.is_ascii_digit()));
            is_real = true;
        }
        let before_exp = self.pos;
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.peek(), Some('+' | '-')) {
                self.pos += 1;
            }
            let digits = self.take_while(|c| c.is_ascii_digit());
            if digits.is_empty() || self.peek().is_some_and(is_ident_char) {
                self.pos = save;
            } else {
                is_real = true;
            }
        }
        if self.pos == before_exp && self.peek().is_some_and(is_ident_char) {
            // A timespan suffix (longest match, not followed by an identifier character)?
            let word = self.take_while(is_ident_char);
            if let Some(unit) = unit_nanos(word) {
                match scaled_nanos(int, frac.unwrap_or(""), unit) {
                    Some(ns) => self.push(Tok::TimeSpan(ns), start),
                    None => self.error(
                        start,
                        format!(
                            "timespan literal '{}' is out of range",
                            &self.src[start..self.pos]
                        ),
                        None,
                    ),
                }
                return;
            }
            if frac.is_none() {
                // Kusto allows identifiers that start with digits (`1stLevel`).
                let text = self.src[start..self.pos].to_string();
                self.push(Tok::Ident(text), start);
                return;
            }
            self.error(
                start,
                format!("invalid number '{}'", &self.src[start..self.pos]),
                None,
            );
            return;
        }
        let text = &self.src[start..self.pos];
        if is_real {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => self.push(Tok::Real(v), start),
                _ => self.error(
                    start,
                    format!("real literal '{text}' is out of range"),
                    None,
                ),
            }
        } else {
            match text.parse::<u64>() {
                Ok(v) => self.push(Tok::Long(v), start),
                Err(_) => self.error(
                    start,
                    format!("integer literal '{text}' is too large for a long"),
                    Some("write it as a real, e.g. `1e20`, if you need a large number".into()),
                ),
            }
        }
    }

    fn ident_or_literal(&mut self, start: usize) {
        let word = self.take_while(is_ident_char);
        // `$` only starts identifiers: `$left`.
        let word = if word.is_empty() {
            self.pos += 1;
            self.take_while(is_ident_char);
            &self.src[start..self.pos]
        } else {
            word
        };
        if word == "h" || word == "H" {
            match self.peek() {
                Some('\'' | '"') => return self.quoted(start, false),
                Some('@') if matches!(self.peek_at(self.pos + 1), Some('\'' | '"')) => {
                    self.pos += 1;
                    return self.quoted(start, true);
                }
                Some('`') if self.rest().starts_with("```") => return self.multiline(start),
                _ => {}
            }
        }
        if self.peek() == Some('(') {
            if let Some(keyword) = GOO_KEYWORDS.iter().find(|k| **k == word) {
                return self.goo(start, keyword);
            }
        }
        self.push(Tok::Ident(word.to_string()), start);
    }

    /// The raw inside of `keyword(...)`, up to the first `)` outside quotes on this line.
    fn goo(&mut self, start: usize, keyword: &'static str) {
        self.pos += 1; // (
        let raw_start = self.pos;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == ')' => {
                    let raw = self.src[raw_start..self.pos].to_string();
                    self.pos += 1;
                    self.push(
                        Tok::Goo {
                            keyword,
                            raw,
                            raw_start,
                        },
                        start,
                    );
                    return;
                }
                None => {}
            }
            self.pos += c.len_utf8();
        }
        self.error(
            start,
            format!("expected ')' to close '{keyword}(' on the same line"),
            Some(format!(
                "a {keyword} literal is written on one line, e.g. `{}`",
                example(keyword)
            )),
        );
    }

    /// `'...'`, `"..."` and (verbatim) `@'...'`, `@"..."`; `self.pos` is at the quote.
    fn quoted(&mut self, start: usize, verbatim: bool) {
        let Some(q) = self.peek() else {
            return self.error(start, "unterminated string literal", None);
        };
        self.pos += 1;
        let mut value = String::new();
        let mut bad_escape: Option<(usize, usize, String)> = None;
        loop {
            let Some(c) = self.peek() else {
                return self.unterminated(start, q);
            };
            if c == '\n' || c == '\r' {
                return self.unterminated(start, q);
            }
            if c == q {
                self.pos += 1;
                if verbatim && self.peek() == Some(q) {
                    self.pos += 1;
                    value.push(q);
                    continue;
                }
                break;
            }
            if c == '\\' && !verbatim {
                let esc_start = self.pos;
                match self.escape() {
                    Ok(decoded) => value.push_str(&decoded),
                    Err(msg) => {
                        if bad_escape.is_none() {
                            bad_escape = Some((esc_start, self.pos, msg));
                        }
                    }
                }
                continue;
            }
            value.push(c);
            self.pos += c.len_utf8();
        }
        match bad_escape {
            None => self.push(Tok::Str(value), start),
            Some((s, e, msg)) => {
                let span = Span::new(s, e);
                self.out.push(Token {
                    kind: Tok::Error(LexError {
                        message: msg,
                        help: Some(
                            "use `\\\\` for a backslash, or a verbatim string such as @\"C:\\temp\""
                                .into(),
                        ),
                        span,
                    }),
                    span: Span::new(start, self.pos),
                });
            }
        }
    }

    fn unterminated(&mut self, start: usize, q: char) {
        self.error(
            start,
            "unterminated string literal",
            Some(format!("close the string with {q} on the same line")),
        );
    }

    /// Decodes one escape; `self.pos` is at the backslash and ends after the escape.
    fn escape(&mut self) -> Result<String, String> {
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Err("unterminated escape sequence at the end of the query".into());
        };
        self.pos += c.len_utf8();
        let simple = match c {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(s) = simple {
            return Ok(s.to_string());
        }
        match c {
            'u' => {
                let hi = self
                    .hex_digits(4)
                    .ok_or("invalid escape sequence: '\\u' needs 4 hex digits")?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A UTF-16 surrogate pair written as two escapes.
                    if self.rest().starts_with("\\u") {
                        let save = self.pos;
                        self.pos += 2;
                        if let Some(lo) = self.hex_digits(4) {
                            if (0xDC00..0xE000).contains(&lo) {
                                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                if let Some(ch) = char::from_u32(cp) {
                                    return Ok(ch.to_string());
                                }
                            }
                        }
                        self.pos = save;
                    }
                    return Err("invalid escape sequence: unpaired UTF-16 surrogate".into());
                }
                char::from_u32(hi)
                    .map(|c| c.to_string())
                    .ok_or_else(|| "invalid escape sequence: not a character".into())
            }
            'U' => {
                let v = self
                    .hex_digits(8)
                    .ok_or("invalid escape sequence: '\\U' needs 8 hex digits")?;
                char::from_u32(v)
                    .map(|c| c.to_string())
                    .ok_or_else(|| "invalid escape sequence: not a character".into())
            }
            'x' => {
                let v = self
                    .hex_digits(2)
                    .ok_or("invalid escape sequence: '\\x' needs 2 hex digits")?;
                char::from_u32(v)
                    .map(|c| c.to_string())
                    .ok_or_else(|| "invalid escape sequence".into())
            }
            '0'..='7' => {
                // Up to three octal digits, the three-digit form only up to \377.
                let mut v = c as u32 - '0' as u32;
                let mut n = 1;
                while n < 3 {
                    match self.peek() {
                        Some(d @ '0'..='7') if n < 2 || c <= '3' => {
                            v = v * 8 + (d as u32 - '0' as u32);
                            self.pos += 1;
                            n += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(v)
                    .map(|c| c.to_string())
                    .ok_or_else(|| "invalid escape sequence".into())
            }
            other => Err(format!(
                "invalid escape sequence '\\{other}' in string literal"
            )),
        }
    }

    fn hex_digits(&mut self, n: usize) -> Option<u32> {
        let s = self.rest().get(..n)?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(s, 16).ok()?;
        self.pos += n;
        Some(v)
    }

    /// ```` ```...``` ````: raw text, may span lines.
    fn multiline(&mut self, start: usize) {
        self.pos += 3;
        match self.rest().find("```") {
            Some(i) => {
                let value = self.rest()[..i].to_string();
                self.pos += i + 3;
                self.push(Tok::Str(value), start);
            }
            None => {
                self.pos = self.src.len();
                self.error(
                    start,
                    "unterminated string literal",
                    Some("close the multi-line string with ```".into()),
                );
            }
        }
    }

    fn punct(&mut self, start: usize, c: char) {
        let next = self.peek_at(start + c.len_utf8());
        let (p, len) = match (c, next) {
            ('(', _) => (P::LParen, 1),
            (')', _) => (P::RParen, 1),
            ('[', _) => (P::LBracket, 1),
            (']', _) => (P::RBracket, 1),
            ('{', _) => (P::LBrace, 1),
            ('}', _) => (P::RBrace, 1),
            ('|', _) => (P::Pipe, 1),
            ('.', Some('.')) => (P::DotDot, 2),
            ('.', _) => (P::Dot, 1),
            (',', _) => (P::Comma, 1),
            (';', _) => (P::Semi, 1),
            (':', _) => (P::Colon, 1),
            ('=', Some('=')) => (P::EqEq, 2),
            ('=', Some('~')) => (P::EqTilde, 2),
            ('=', Some('>')) => (P::FatArrow, 2),
            ('=', _) => (P::Assign, 1),
            ('!', Some('=')) => (P::NotEq, 2),
            ('!', Some('~')) => (P::BangTilde, 2),
            ('!', _) => (P::Bang, 1),
            ('<', Some('=')) => (P::Le, 2),
            ('<', Some('>')) => (P::LtGt, 2),
            ('<', _) => (P::Lt, 1),
            ('>', Some('=')) => (P::Ge, 2),
            ('>', _) => (P::Gt, 1),
            ('+', _) => (P::Plus, 1),
            ('-', _) => (P::Minus, 1),
            ('*', _) => (P::Star, 1),
            ('/', _) => (P::Slash, 1),
            ('%', _) => (P::Percent, 1),
            ('~', _) => (P::Tilde, 1),
            ('@', _) => (P::At, 1),
            ('?', _) => (P::Question, 1),
            _ => {
                self.pos += c.len_utf8();
                let help = match c {
                    '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}' => {
                        Some("use straight quotes (' or \") for strings".to_string())
                    }
                    '`' => Some("strings use ' or \" (or ``` for multi-line text)".to_string()),
                    '&' => Some("use 'and' to combine conditions".to_string()),
                    _ => None,
                };
                return self.error(start, format!("unexpected character '{c}'"), help);
            }
        };
        self.pos += len;
        self.push(Tok::Punct(p), start);
    }
}

/// A sample literal for the "unclosed literal" help.
fn example(keyword: &str) -> &'static str {
    match keyword {
        "datetime" | "date" => "datetime(2024-01-01 10:00)",
        "time" | "timespan" => "timespan(1.02:03:04)",
        "guid" => "guid(74be27de-1e4e-49d9-b579-fe0b331d3642)",
        "int" => "int(5)",
        "long" => "long(5)",
        "real" | "double" => "real(1.5)",
        "decimal" => "decimal(1.5)",
        _ => "bool(true)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_and_timespans() {
        assert_eq!(
            kinds("5 1.5 1e3 0x1F 1.0e-5 2."),
            vec![
                Tok::Long(5),
                Tok::Real(1.5),
                Tok::Real(1000.0),
                Tok::Long(31),
                Tok::Real(1.0e-5),
                Tok::Real(2.0),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("1d 1.5h 90m 10s 100ms 1tick 2microseconds 3nanos"),
            vec![
                Tok::TimeSpan(86_400_000_000_000),
                Tok::TimeSpan(5_400_000_000_000),
                Tok::TimeSpan(5_400_000_000_000),
                Tok::TimeSpan(10_000_000_000),
                Tok::TimeSpan(100_000_000),
                Tok::TimeSpan(100),
                Tok::TimeSpan(2_000),
                Tok::TimeSpan(3),
                Tok::Eof
            ]
        );
        // `1..10` is a range, not a real.
        assert_eq!(
            kinds("1..10"),
            vec![Tok::Long(1), Tok::Punct(P::DotDot), Tok::Long(10), Tok::Eof]
        );
        // Digits followed by letters are an identifier, as in Kusto.
        assert_eq!(kinds("1st"), vec![Tok::Ident("1st".into()), Tok::Eof]);
    }

    #[test]
    fn overflow_is_an_error_token() {
        assert!(matches!(kinds("99999999999999999999999")[0], Tok::Error(_)));
        assert!(matches!(kinds("1e999")[0], Tok::Error(_)));
        assert!(matches!(kinds("999999999999999999d")[0], Tok::Error(_)));
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(
                r#"'a\'b' "c\"d\n" @"C:\x""y" @'it''s' h"secret" ```multi
line```"#
            ),
            vec![
                Tok::Str("a'b".into()),
                Tok::Str("c\"d\n".into()),
                Tok::Str("C:\\x\"y".into()),
                Tok::Str("it's".into()),
                Tok::Str("secret".into()),
                Tok::Str("multi\nline".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds(r#""\u00e9\x41\t\\\101""#),
            vec![Tok::Str("éA\t\\A".into()), Tok::Eof]
        );
        assert_eq!(
            kinds(r#""\uD83D\uDE00""#),
            vec![Tok::Str("😀".into()), Tok::Eof]
        );
        match &kinds("'abc\n")[0] {
            Tok::Error(e) => assert_eq!(e.message, "unterminated string literal"),
            other => panic!("{other:?}"),
        }
        match &kinds(r#""a\qb""#)[0] {
            Tok::Error(e) => {
                assert_eq!(e.message, "invalid escape sequence '\\q' in string literal");
                assert_eq!(e.span, Span::new(2, 4));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn goo_literals_and_guids() {
        assert_eq!(
            kinds("datetime(2024-01-01 10:00) todatetime(x)"),
            vec![
                Tok::Goo {
                    keyword: "datetime",
                    raw: "2024-01-01 10:00".into(),
                    raw_start: 9
                },
                Tok::Ident("todatetime".into()),
                Tok::Punct(P::LParen),
                Tok::Ident("x".into()),
                Tok::Punct(P::RParen),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("74be27de-1e4e-49d9-b579-fe0b331d3642"),
            vec![
                Tok::Guid("74be27de-1e4e-49d9-b579-fe0b331d3642".into()),
                Tok::Eof
            ]
        );
        assert!(matches!(kinds("datetime(2024\n)")[0], Tok::Error(_)));
    }

    #[test]
    fn comments_and_punctuation() {
        assert_eq!(
            kinds("a // c\n| b !in~ =~ != <> .."),
            vec![
                Tok::Ident("a".into()),
                Tok::Punct(P::Pipe),
                Tok::Ident("b".into()),
                Tok::Punct(P::Bang),
                Tok::Ident("in".into()),
                Tok::Punct(P::Tilde),
                Tok::Punct(P::EqTilde),
                Tok::Punct(P::NotEq),
                Tok::Punct(P::LtGt),
                Tok::Punct(P::DotDot),
                Tok::Eof
            ]
        );
        assert_eq!(kinds("$left"), vec![Tok::Ident("$left".into()), Tok::Eof]);
        assert_eq!(kinds("\u{feff}T"), vec![Tok::Ident("T".into()), Tok::Eof]);
    }

    #[test]
    fn odd_characters_do_not_panic() {
        for src in [
            "é", "“x”", "\u{0}", "$", "@", "0x", "1e", "1.e5", "'\\", "h@", "```",
        ] {
            let toks = lex(src);
            assert!(matches!(toks.last().unwrap().kind, Tok::Eof), "{src}");
        }
    }
}
