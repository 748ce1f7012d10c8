"""The benchmark's hunting queries: each as KQL for clickhunt and as faithful SQL for
DuckDB over the same rows. `{user}` is replaced by the needle user.

Faithful means the same rows: Kusto's `has` is a whole-term, case-insensitive match
(terms are runs of letters and digits), so it becomes a regular expression over the
lower-cased text; `contains` is case-insensitive, so it becomes ILIKE; datetimes are
compared as nanoseconds since the epoch (both keep all 7 fractional digits of Kusto's
datetimes: DuckDB's TIMESTAMP_NS, clickhunt's 100 ns ticks).
"""

# Queries whose counts come from dcount(), which Kusto (and clickhunt) estimate with a
# HyperLogLog sketch: their counts are compared with DuckDB's exact count(DISTINCT)
# within APPROX_TOLERANCE (dcount's default accuracy is about 1.6% at 99% confidence).
APPROXIMATE = {"dcount_users_per_url", "clickthrough_self_join"}
APPROX_TOLERANCE = 0.03

# (name, KQL, SQL)
QUERIES = [
    (
        "filter_summarize",
        'UrlClickEvents | where ActionType == "ClickBlocked" | summarize Clicks = count() by Workload, ThreatTypes',
        "SELECT Workload, ThreatTypes, count(*) AS Clicks FROM UrlClickEvents "
        "WHERE ActionType = 'ClickBlocked' GROUP BY Workload, ThreatTypes",
    ),
    (
        "count_by_hour",
        "UrlClickEvents | summarize Clicks = count() by bin(Timestamp, 1h)",
        # Integer arithmetic: DuckDB's time_bucket rounds TIMESTAMP_NS to microseconds
        # first, which moves 23:59:59.9999999 into the next hour.
        "SELECT (epoch_ns(Timestamp) // 3600000000000) * 3600000000000 AS Timestamp, count(*) AS Clicks "
        "FROM UrlClickEvents GROUP BY 1",
    ),
    (
        "top10_domains",
        "UrlClickEvents | extend Domain = tostring(parse_url(Url).Host) "
        "| summarize Clicks = count() by Domain | top 10 by Clicks desc",
        "SELECT regexp_extract(Url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]*)', 1) AS Domain, "
        "count(*) AS Clicks FROM UrlClickEvents GROUP BY Domain ORDER BY Clicks DESC LIMIT 10",
    ),
    (
        "dcount_users_per_url",
        "UrlClickEvents | summarize Users = dcount(AccountUpn) by Url | top 10 by Users desc, Url asc",
        "SELECT Url, count(DISTINCT AccountUpn) AS Users FROM UrlClickEvents GROUP BY Url "
        "ORDER BY Users DESC, Url ASC LIMIT 10",
    ),
    (
        "needle_user",
        'UrlClickEvents | where AccountUpn == "{user}" | project Timestamp, Url, ActionType',
        "SELECT epoch_ns(Timestamp), Url, ActionType FROM UrlClickEvents WHERE AccountUpn = '{user}'",
    ),
    (
        "has_term",
        'UrlClickEvents | where Url has "login" | summarize Clicks = count() by ActionType',
        "SELECT ActionType, count(*) AS Clicks FROM UrlClickEvents "
        "WHERE regexp_matches(lower(Url), '(^|[^a-z0-9])login([^a-z0-9]|$)') GROUP BY ActionType",
    ),
    (
        "contains",
        'UrlClickEvents | where Url contains "payroll" | summarize Clicks = count() by ActionType',
        "SELECT ActionType, count(*) AS Clicks FROM UrlClickEvents "
        "WHERE Url ILIKE '%payroll%' GROUP BY ActionType",
    ),
    (
        "regex",
        r'UrlClickEvents | where Url matches regex @"^https?://[0-9]{1,3}(\.[0-9]{1,3}){3}[:/]" | count',
        r"SELECT count(*) AS Count FROM UrlClickEvents "
        r"WHERE regexp_matches(Url, '^https?://[0-9]{1,3}(\.[0-9]{1,3}){3}[:/]')",
    ),
    (
        "clickthrough_self_join",
        'UrlClickEvents | where ActionType == "ClickBlocked" '
        "| join kind=inner (UrlClickEvents | where IsClickedThrough) on ReportId "
        "| summarize Pairs = count(), Users = dcount(AccountUpn) by ThreatTypes",
        "SELECT b.ThreatTypes, count(*) AS Pairs, count(DISTINCT b.AccountUpn) AS Users "
        "FROM UrlClickEvents b JOIN UrlClickEvents c ON b.ReportId = c.ReportId "
        "WHERE b.ActionType = 'ClickBlocked' AND c.IsClickedThrough GROUP BY b.ThreatTypes",
    ),
    (
        "join_small_table",
        'UrlClickEvents | where ActionType != "ClickAllowed" '
        "| join kind=inner Watchlist on AccountUpn | summarize Clicks = count() by Department, ActionType",
        "SELECT w.Department, u.ActionType, count(*) AS Clicks FROM UrlClickEvents u "
        "JOIN Watchlist w ON u.AccountUpn = w.AccountUpn WHERE u.ActionType <> 'ClickAllowed' "
        "GROUP BY w.Department, u.ActionType",
    ),
    (
        "arg_max_per_user",
        "UrlClickEvents | summarize arg_max(Timestamp, Url, ActionType) by AccountUpn",
        "SELECT AccountUpn, epoch_ns(max(Timestamp)), arg_max(Url, Timestamp), arg_max(ActionType, Timestamp) "
        "FROM UrlClickEvents GROUP BY AccountUpn",
    ),
    (
        "schema_page_example",
        "UrlClickEvents\n"
        "// Phishing clicks that were allowed or clicked through\n"
        '| where ActionType == "ClickAllowed" or IsClickedThrough !="0"\n'
        '| where ThreatTypes has "Phish"\n'
        "| summarize by ReportId, IsClickedThrough, AccountUpn, NetworkMessageId, ThreatTypes, Timestamp",
        "SELECT ReportId, IsClickedThrough, AccountUpn, NetworkMessageId, ThreatTypes, epoch_ns(Timestamp) "
        "FROM UrlClickEvents WHERE (ActionType = 'ClickAllowed' OR IsClickedThrough) "
        "AND regexp_matches(lower(ThreatTypes), '(^|[^a-z0-9])phish([^a-z0-9]|$)') "
        "GROUP BY ALL",
    ),
]
