//! Threat-intelligence indicator feeds: URL and domain indicators from local files
//! (plain lists, CSV, JSON), each with a threat type and a detection method, indexed for
//! lookups by canonical URL, by URL without its query, and by host and parent domains.

use crate::canonical::CanonicalUrl;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;

/// A threat type, as `ThreatTypes` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThreatType {
    Phish,
    Malware,
    Spam,
}

impl ThreatType {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreatType::Phish => "Phish",
            ThreatType::Malware => "Malware",
            ThreatType::Spam => "Spam",
        }
    }
}

impl std::str::FromStr for ThreatType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "phish" | "phishing" => Ok(ThreatType::Phish),
            "malware" => Ok(ThreatType::Malware),
            "spam" => Ok(ThreatType::Spam),
            _ => Err(format!(
                "unknown threat type '{s}' (Phish, Malware or Spam)"
            )),
        }
    }
}

/// What a feed says about a URL or domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub threat: ThreatType,
    /// A detection technology name, e.g. `URL malicious reputation`.
    pub method: String,
}

/// The file format of a feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedFormat {
    /// One URL or domain a line; `#` starts a comment.
    Plain,
    /// A header row naming `Url` (or `Indicator`, `Value`, `Domain`) and optionally
    /// `ThreatType` and `DetectionMethod`.
    Csv,
    /// An array (or `{"indicators": [...]}`) of strings or objects with the same keys.
    Json,
}

impl FeedFormat {
    /// From a `Format` setting, else from the file's extension.
    pub fn choose(setting: Option<&str>, path: &Path) -> Result<FeedFormat, String> {
        match setting.map(str::to_ascii_lowercase).as_deref() {
            Some("plain") | Some("text") | Some("txt") => Ok(FeedFormat::Plain),
            Some("csv") => Ok(FeedFormat::Csv),
            Some("json") => Ok(FeedFormat::Json),
            Some(other) => Err(format!("Format must be plain, csv or json, not '{other}'")),
            None => Ok(
                match path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("csv") => FeedFormat::Csv,
                    Some("json") => FeedFormat::Json,
                    _ => FeedFormat::Plain,
                },
            ),
        }
    }
}

/// A problem in a feed file: where (1-based line, when known) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedProblem {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for FeedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// One indicator as read from a feed, before indexing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEntry {
    pub value: String,
    pub indicator: Indicator,
    pub line: Option<usize>,
}

/// Parses a feed's text. `threat` and `method` apply where an entry names none.
pub fn parse_feed(
    text: &str,
    format: FeedFormat,
    threat: ThreatType,
    method: &str,
) -> Result<Vec<FeedEntry>, Vec<FeedProblem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let make = |value: &str, t: Option<&str>, m: Option<&str>, line: Option<usize>| {
        let threat = match t.map(str::trim).filter(|t| !t.is_empty()) {
            None => threat,
            Some(t) => t.parse().map_err(|message| FeedProblem { line, message })?,
        };
        let method = m
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(method)
            .to_string();
        Ok(FeedEntry {
            value: value.trim().to_string(),
            indicator: Indicator { threat, method },
            line,
        })
    };
    let mut push = |r: Result<FeedEntry, FeedProblem>, problems: &mut Vec<FeedProblem>| match r {
        Ok(e) => out.push(e),
        Err(p) => problems.push(p),
    };
    match format {
        FeedFormat::Plain => {
            for (i, line) in text.lines().enumerate() {
                let line_text = line.split('#').next().unwrap_or("").trim();
                if !line_text.is_empty() {
                    push(make(line_text, None, None, Some(i + 1)), &mut problems);
                }
            }
        }
        FeedFormat::Csv => {
            let mut header: Option<(usize, Option<usize>, Option<usize>)> = None;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.trim_start().starts_with('#') {
                    continue;
                }
                let fields = split_csv_line(line);
                match header {
                    None => {
                        let find = |names: &[&str]| {
                            fields.iter().position(|f| {
                                names.iter().any(|n| f.trim().eq_ignore_ascii_case(n))
                            })
                        };
                        let Some(v) =
                            find(&["url", "indicator", "value", "domain", "indicatorvalue"])
                        else {
                            problems.push(FeedProblem {
                                line: Some(i + 1),
                                message:
                                    "the CSV header names no Url, Indicator, Value or Domain column"
                                        .into(),
                            });
                            break;
                        };
                        header = Some((
                            v,
                            find(&["threattype", "threat", "type"]),
                            find(&["detectionmethod", "method", "detectionmethods"]),
                        ));
                    }
                    Some((v, t, m)) => {
                        let get =
                            |c: Option<usize>| c.and_then(|c| fields.get(c)).map(String::as_str);
                        match fields.get(v).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                            Some(value) => {
                                push(make(value, get(t), get(m), Some(i + 1)), &mut problems)
                            }
                            None => problems.push(FeedProblem {
                                line: Some(i + 1),
                                message: "the indicator column is empty".into(),
                            }),
                        }
                    }
                }
            }
        }
        FeedFormat::Json => match serde_json::from_str::<Json>(text) {
            Err(e) => problems.push(FeedProblem {
                line: Some(e.line()),
                message: format!("not valid JSON: {e}"),
            }),
            Ok(doc) => {
                let items = match &doc {
                    Json::Array(a) => Some(a),
                    Json::Object(o) => o
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("indicators"))
                        .and_then(|(_, v)| v.as_array()),
                    _ => None,
                };
                match items {
                    None => problems.push(FeedProblem {
                        line: None,
                        message: "expected an array of indicators (or {\"indicators\": [...]})"
                            .into(),
                    }),
                    Some(items) => {
                        for (n, item) in items.iter().enumerate() {
                            let field = |names: &[&str]| {
                                item.as_object().and_then(|o| {
                                    o.iter()
                                        .find(|(k, _)| {
                                            names.iter().any(|n| k.eq_ignore_ascii_case(n))
                                        })
                                        .and_then(|(_, v)| v.as_str())
                                })
                            };
                            let value = match item {
                                Json::String(s) => Some(s.as_str()),
                                _ => field(&["url", "indicator", "value", "domain"]),
                            };
                            match value {
                                Some(v) => push(
                                    make(
                                        v,
                                        field(&["threatType", "threat", "type"]),
                                        field(&["detectionMethod", "method"]),
                                        None,
                                    ),
                                    &mut problems,
                                ),
                                None => problems.push(FeedProblem {
                                    line: None,
                                    message: format!(
                                        "indicator {} has no url, indicator, value or domain",
                                        n + 1
                                    ),
                                }),
                            }
                        }
                    }
                }
            }
        },
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Splits one CSV line (RFC 4180 quotes, no embedded newlines).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// All loaded indicators, indexed.
#[derive(Clone, Debug, Default)]
pub struct FeedIndex {
    urls: HashMap<String, Vec<Indicator>>,
    domains: HashMap<String, Vec<Indicator>>,
}

impl FeedIndex {
    /// Adds one indicator: a URL (it has a `/` or a scheme) or a domain or IP.
    pub fn add(&mut self, value: &str, indicator: Indicator) -> Result<(), String> {
        let value = value.trim();
        if value.contains('/') {
            let url = CanonicalUrl::parse_lenient(value).map_err(|e| e.to_string())?;
            let key = url.key();
            push_unique(self.urls.entry(key).or_default(), indicator);
        } else {
            let url = CanonicalUrl::parse_lenient(value).map_err(|e| e.to_string())?;
            if url.port.is_some() || url.rest() != "" {
                return Err(format!("'{value}' is neither a URL nor a domain"));
            }
            if url.ip.is_none() && !url.host.contains('.') {
                return Err(format!("'{value}' is not a domain (it has no period)"));
            }
            push_unique(self.domains.entry(url.host).or_default(), indicator);
        }
        Ok(())
    }

    /// Adds a parsed feed; an entry that is not a URL or domain is a problem on its line.
    pub fn add_feed(&mut self, entries: Vec<FeedEntry>) -> Result<(), Vec<FeedProblem>> {
        let mut problems = Vec::new();
        for e in entries {
            if let Err(message) = self.add(&e.value, e.indicator) {
                problems.push(FeedProblem {
                    line: e.line,
                    message,
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Indicators for `url`: its exact form, its form without the query, its host and
    /// every parent domain.
    pub fn lookup(&self, url: &CanonicalUrl) -> Vec<&Indicator> {
        let mut lists: Vec<&Vec<Indicator>> = Vec::new();
        if !self.urls.is_empty() {
            lists.extend(self.urls.get(&url.key()));
            if url.query.is_some() {
                lists.extend(self.urls.get(&url.key_without_query()));
            }
        }
        if !self.domains.is_empty() {
            for h in url.host_and_parents() {
                lists.extend(self.domains.get(h));
            }
        }
        let mut out: Vec<&Indicator> = Vec::new();
        for i in lists.into_iter().flatten() {
            if !out.contains(&i) {
                out.push(i);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.urls.values().map(Vec::len).sum::<usize>()
            + self.domains.values().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty() && self.domains.is_empty()
    }
}

fn push_unique(list: &mut Vec<Indicator>, i: Indicator) {
    if !list.contains(&i) {
        list.push(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(text: &str, format: FeedFormat) -> FeedIndex {
        let entries = parse_feed(text, format, ThreatType::Phish, "URL malicious reputation")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let mut idx = FeedIndex::default();
        idx.add_feed(entries).unwrap();
        idx
    }

    fn hits(idx: &FeedIndex, url: &str) -> Vec<(ThreatType, String)> {
        idx.lookup(&CanonicalUrl::parse(url).unwrap())
            .into_iter()
            .map(|i| (i.threat, i.method.clone()))
            .collect()
    }

    #[test]
    fn plain_list_urls_and_domains() {
        let idx = index(
            "# phish feed\nhttp://Evil.example/login?x=1\nbad.example # a domain\n\n10.1.2.3\n",
            FeedFormat::Plain,
        );
        assert_eq!(idx.len(), 3);
        let phish = vec![(ThreatType::Phish, "URL malicious reputation".to_string())];
        assert_eq!(hits(&idx, "https://evil.example/login?x=1"), phish);
        assert!(hits(&idx, "https://evil.example/login?x=2").is_empty());
        assert!(hits(&idx, "https://evil.example/").is_empty());
        assert_eq!(hits(&idx, "https://a.b.bad.example/anything"), phish);
        assert_eq!(hits(&idx, "http://10.1.2.3/x"), phish);
        assert!(hits(&idx, "https://notbad.example/").is_empty());
    }

    #[test]
    fn url_indicator_without_query_covers_queries() {
        let idx = index("evil.example/login\n", FeedFormat::Plain);
        assert_eq!(hits(&idx, "http://evil.example/login?session=9").len(), 1);
    }

    #[test]
    fn csv_with_types_and_methods() {
        let idx = index(
            "Url,ThreatType,DetectionMethod\nhttps://m.example/a,Malware,\"URL detonation, reputation\"\nspam.example,spam,\n",
            FeedFormat::Csv,
        );
        assert_eq!(
            hits(&idx, "https://m.example/a"),
            vec![(ThreatType::Malware, "URL detonation, reputation".into())]
        );
        assert_eq!(
            hits(&idx, "https://spam.example/"),
            vec![(ThreatType::Spam, "URL malicious reputation".into())]
        );
    }

    #[test]
    fn json_forms() {
        let idx = index(
            r#"{"indicators": ["a.example", {"Url": "https://b.example/x", "threatType": "Malware", "detectionMethod": "URL detonation"}]}"#,
            FeedFormat::Json,
        );
        assert_eq!(hits(&idx, "https://a.example/").len(), 1);
        assert_eq!(
            hits(&idx, "https://b.example/x"),
            vec![(ThreatType::Malware, "URL detonation".into())]
        );
    }

    #[test]
    fn problems_name_their_line() {
        let err = parse_feed(
            "Url,ThreatType\nok.example,Phish\nbad.example,Virus\n",
            FeedFormat::Csv,
            ThreatType::Phish,
            "m",
        )
        .unwrap_err();
        assert_eq!(err[0].line, Some(3));
        assert!(err[0].message.contains("Virus"), "{}", err[0]);
        let err = parse_feed("Name\nx\n", FeedFormat::Csv, ThreatType::Phish, "m").unwrap_err();
        assert_eq!(err[0].line, Some(1));
        let err = parse_feed("[1, \n", FeedFormat::Json, ThreatType::Phish, "m").unwrap_err();
        assert!(err[0].message.contains("JSON"));
        let entries = parse_feed(
            "fine.example\nnodot\n",
            FeedFormat::Plain,
            ThreatType::Phish,
            "m",
        )
        .unwrap();
        let err = FeedIndex::default().add_feed(entries).unwrap_err();
        assert_eq!(err[0].line, Some(2));
    }

    #[test]
    fn format_choice() {
        assert_eq!(
            FeedFormat::choose(None, Path::new("f.CSV")),
            Ok(FeedFormat::Csv)
        );
        assert_eq!(
            FeedFormat::choose(None, Path::new("f.txt")),
            Ok(FeedFormat::Plain)
        );
        assert_eq!(
            FeedFormat::choose(Some("json"), Path::new("f")),
            Ok(FeedFormat::Json)
        );
        assert!(FeedFormat::choose(Some("xml"), Path::new("f")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,200}") {
            for f in [FeedFormat::Plain, FeedFormat::Csv, FeedFormat::Json] {
                if let Ok(entries) = parse_feed(&text, f, ThreatType::Spam, "m") {
                    let _ = FeedIndex::default().add_feed(entries);
                }
            }
        }
    }
}
