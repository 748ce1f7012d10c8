//! Prometheus text-format metrics: queries by API and outcome, query durations, rows
//! returned and ingested, rejections. Plain counters under a mutex: a query takes
//! milliseconds at least, so contention here is irrelevant.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Histogram bucket bounds (seconds) for query durations.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0, 600.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Default)]
struct Counters {
    /// (api, outcome) → count
    queries: BTreeMap<(&'static str, &'static str), u64>,
    durations: BTreeMap<&'static str, Histogram>,
    rows_returned: BTreeMap<&'static str, u64>,
    rows_ingested: BTreeMap<String, u64>,
    rejections: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub(crate) struct Metrics {
    counters: Mutex<Counters>,
    in_flight: AtomicI64,
}

/// Decrements the in-flight gauge when dropped (also when the client disconnects).
pub(crate) struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        f(&mut self.counters.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn start_query(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn query_done(&self, api: &'static str, outcome: &'static str, took: Duration, rows: u64) {
        self.with(|c| {
            *c.queries.entry((api, outcome)).or_default() += 1;
            c.durations
                .entry(api)
                .or_default()
                .observe(took.as_secs_f64());
            *c.rows_returned.entry(api).or_default() += rows;
        });
    }

    pub fn rejected(&self, reason: &'static str) {
        self.with(|c| *c.rejections.entry(reason).or_default() += 1);
    }

    pub fn ingested(&self, table: &str, rows: u64) {
        self.with(|c| *c.rows_ingested.entry(table.to_string()).or_default() += rows);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        self.with(|c| {
            out += "# HELP clickhunt_queries_total Queries run, by API and outcome.\n";
            out += "# TYPE clickhunt_queries_total counter\n";
            for ((api, outcome), n) in &c.queries {
                let _ = writeln!(
                    out,
                    "clickhunt_queries_total{{api=\"{api}\",outcome=\"{outcome}\"}} {n}"
                );
            }
            out += "# HELP clickhunt_query_duration_seconds Query run time, by API.\n";
            out += "# TYPE clickhunt_query_duration_seconds histogram\n";
            for (api, h) in &c.durations {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "clickhunt_query_duration_seconds_bucket{{api=\"{api}\",le=\"{b}\"}} {}",
                        h.counts.get(i).copied().unwrap_or(0)
                    );
                }
                let _ = writeln!(
                    out,
                    "clickhunt_query_duration_seconds_bucket{{api=\"{api}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "clickhunt_query_duration_seconds_sum{{api=\"{api}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "clickhunt_query_duration_seconds_count{{api=\"{api}\"}} {}",
                    h.count
                );
            }
            out += "# HELP clickhunt_rows_returned_total Result rows sent, by API.\n";
            out += "# TYPE clickhunt_rows_returned_total counter\n";
            for (api, n) in &c.rows_returned {
                let _ = writeln!(out, "clickhunt_rows_returned_total{{api=\"{api}\"}} {n}");
            }
            out += "# HELP clickhunt_rows_ingested_total Rows made durable by ingest, by table.\n";
            out += "# TYPE clickhunt_rows_ingested_total counter\n";
            for (table, n) in &c.rows_ingested {
                let _ = writeln!(
                    out,
                    "clickhunt_rows_ingested_total{{table=\"{}\"}} {n}",
                    table.replace(['"', '\\', '\n'], "_")
                );
            }
            out += "# HELP clickhunt_rejections_total Requests refused, by reason.\n";
            out += "# TYPE clickhunt_rejections_total counter\n";
            for (reason, n) in &c.rejections {
                let _ = writeln!(out, "clickhunt_rejections_total{{reason=\"{reason}\"}} {n}");
            }
        });
        out += "# HELP clickhunt_queries_in_flight Queries running now.\n";
        out += "# TYPE clickhunt_queries_in_flight gauge\n";
        let _ = writeln!(out, "clickhunt_queries_in_flight {in_flight}");
        out
    }
}
