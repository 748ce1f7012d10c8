"""Runs the real Kusto Python client (azure-kusto-data 6.0.4) against a clickhunt server.

Started by `crates/server/tests/it/python_client.rs`, which serves the `Clicks` table
(one column per KQL type, three rows) and passes:
  CLICKHUNT_URL          an open loopback server
  CLICKHUNT_KEYED_URL    a server with API keys configured
  CLICKHUNT_READER_KEY   a reader key of the keyed server
Exits non-zero with a message on the first failed check.
"""

import datetime as dt
import os
import sys
from decimal import Decimal

import pandas as pd

from azure.kusto.data import ClientRequestProperties, KustoClient, KustoConnectionStringBuilder
from azure.kusto.data.exceptions import KustoApiError, KustoMultiApiError, KustoServiceError
from azure.kusto.data.helpers import dataframe_from_result_table

DB = "hunting"
UTC = dt.timezone.utc
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def expect_error(fn, kind, what):
    try:
        fn()
    except kind as e:
        return e
    raise AssertionError(f"{what}: expected {kind.__name__}")


open_client = KustoClient(KustoConnectionStringBuilder.with_no_authentication(os.environ["CLICKHUNT_URL"]))


def typed_rows_v2():
    resp = open_client.execute_query(DB, "Clicks")
    table = resp.primary_results[0]
    cols = [(c.column_name, c.column_type) for c in table.columns]
    check(
        cols
        == [
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
        ],
        f"columns: {cols}",
    )
    rows = {r["Url"]: r for r in table}
    check(len(rows) == 3, f"3 rows, got {len(rows)}")
    a = rows["https://a.example/x"]
    check(a["Timestamp"] == dt.datetime(2024, 3, 26, 9, 39, 50, 768864, tzinfo=UTC), f"datetime {a['Timestamp']!r}")
    check(a["IsClickedThrough"] is True, "bool")
    check(a["Clicks"] == 3 and a["Bytes"] == 5_000_000_000, "int/long")
    check(a["Score"] == 1.5, "real")
    check(a["Price"] == Decimal("12.5"), f"decimal {a['Price']!r}")
    check(a["Duration"] == dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5), f"timespan {a['Duration']!r}")
    check(a["Id"] == "74be27de-1e4e-49d9-b579-fe0b331d3642", "guid")
    check(a["Details"] == {"a": [1, 2], "b": "x"}, f"dynamic {a['Details']!r}")
    b = rows["https://b.example/y"]
    check(b["Score"] == "NaN", f"NaN stays a string in rows: {b['Score']!r}")
    check(b["Duration"] == dt.timedelta(seconds=-1), f"negative timespan {b['Duration']!r}")
    check(b["Details"] == [1, "two"], "dynamic array")
    n = rows[""]
    check(all(n[c] is None for c, _ in cols if c != "Url"), f"nulls: {n.to_dict()}")
    return table


def dataframe_dtypes(table):
    df = dataframe_from_result_table(table)
    dtypes = {c: str(t) for c, t in df.dtypes.items()}
    check(dtypes["Timestamp"] == "datetime64[ns, UTC]", f"Timestamp dtype {dtypes['Timestamp']}")
    check(dtypes["Clicks"] == "Int32", f"int dtype {dtypes['Clicks']}")
    check(dtypes["Bytes"] == "Int64", f"long dtype {dtypes['Bytes']}")
    check(dtypes["Score"] == "Float64", f"real dtype {dtypes['Score']}")
    check(dtypes["Price"] == "Float64", f"decimal dtype {dtypes['Price']}")
    check(dtypes["Duration"] == "timedelta64[ns]", f"timespan dtype {dtypes['Duration']}")
    check(dtypes["IsClickedThrough"] == "bool", f"bool dtype {dtypes['IsClickedThrough']}")
    check(dtypes["Details"] == "object", f"dynamic dtype {dtypes['Details']}")
    b = df[df["Url"] == "https://b.example/y"].iloc[0]
    check(pd.isna(b["Score"]), f"NaN real in the dataframe: {b['Score']!r}")
    a = df[df["Url"] == "https://a.example/x"].iloc[0]
    check(str(a["Timestamp"]) == "2024-03-26 09:39:50.768864100+00:00", f"7-digit datetime kept: {a['Timestamp']}")


def streaming():
    resp = open_client.execute_streaming_query(DB, "Clicks | project Url, Clicks | order by Url asc")
    table = next(resp.iter_primary_results())
    rows = [r.to_list() for r in table]
    check(rows == [["", None], ["https://a.example/x", 3], ["https://b.example/y", -1]], f"streamed rows {rows}")


def render_properties():
    resp = open_client.execute_query(DB, "Clicks | summarize n = count() by Url | render columnchart with (title='By URL')")
    props = [t for t in resp.tables if t.table_kind.value == "QueryProperties"]
    check(len(props) == 1, "an @ExtendedProperties table")
    row = props[0].raw_rows[0]
    check(row[1] == "Visualization" and '"columnchart"' in row[2] and "By URL" in row[2], f"visualization {row}")


def errors():
    e = expect_error(lambda: open_client.execute_query(DB, "Clicks\n| where NoSuchColumn == 1"), KustoApiError, "semantic error")
    check(isinstance(e, KustoServiceError), "a KustoServiceError")
    msg = str(e)
    check("NoSuchColumn" in msg and "[line:position=2:9]" in msg, f"semantic message with position: {msg}")
    check(e.is_semantic_error(), "is_semantic_error()")
    check(e.get_api_error().code == "General_BadRequest", f"code {e.get_api_error().code}")
    e = expect_error(lambda: open_client.execute_query(DB, "Clicks | where"), KustoApiError, "syntax error")
    check("Syntax error" in str(e) and "[line:position=1:" in str(e), f"syntax message with position: {e}")
    check(not e.is_semantic_error(), "a syntax error is not semantic")


def request_properties():
    crp = ClientRequestProperties()
    crp.set_option("truncationmaxrecords", 2)
    e = expect_error(lambda: open_client.execute_query(DB, "Clicks", crp), KustoMultiApiError, "truncation")
    check("E_QUERY_RESULT_SET_TOO_LARGE" in str(e), f"truncation message: {e}")
    crp = ClientRequestProperties()
    crp.set_option("truncationmaxrecords", 2)
    crp.set_option("notruncation", True)
    check(len(open_client.execute_query(DB, "Clicks", crp).primary_results[0]) == 3, "notruncation")
    crp = ClientRequestProperties()
    crp.set_option(ClientRequestProperties.request_timeout_option_name, dt.timedelta(minutes=1))
    crp.set_option("query_now", "2024-01-02T03:04:05Z")
    rows = open_client.execute_query(DB, "print now()", crp).primary_results[0].raw_rows
    check(rows == [["2024-01-02T03:04:05.0000000Z"]], f"query_now: {rows}")
    crp = ClientRequestProperties()
    crp.set_parameter("n", 7)
    rows = open_client.execute_query(DB, "declare query_parameters(n:long = 1);\nprint n * 2", crp).primary_results[0].raw_rows
    check(rows == [[14]], f"parameters: {rows}")


def management():
    resp = open_client.execute_mgmt(DB, ".show tables")
    names = [r["TableName"] for r in resp.primary_results[0]]
    check("Clicks" in names and "UrlClickEvents" in names, f".show tables: {names}")
    resp = open_client.execute_mgmt(DB, ".show version")
    check(len(resp.primary_results[0]) == 1, ".show version")
    resp = open_client.execute_mgmt(DB, ".show databases")
    check([r["DatabaseName"] for r in resp.primary_results[0]] == [DB], ".show databases")
    df = dataframe_from_result_table(resp.primary_results[0])
    check(str(df.dtypes["IsCurrent"]) == "bool", "command result dataframe")
    resp = open_client.execute(DB, ".show table Clicks schema as json")
    check("OrderedColumns" in resp.primary_results[0][0]["Schema"], "table schema as json")
    e = expect_error(lambda: open_client.execute_mgmt(DB, ".create table T (a:string)"), KustoApiError, "unsupported command")
    check("data directory" in str(e), f"unsupported command message: {e}")


def auth():
    url = os.environ["CLICKHUNT_KEYED_URL"]
    key = os.environ["CLICKHUNT_READER_KEY"]
    anonymous = KustoClient(KustoConnectionStringBuilder.with_no_authentication(url))
    e = expect_error(lambda: anonymous.execute_query(DB, "print 1"), KustoServiceError, "no key")
    check("401" in str(e), f"401 without a key: {e}")
    keyed = KustoClient(KustoConnectionStringBuilder.with_token_provider(url, lambda: key))
    rows = keyed.execute_query(DB, "print x = 1").primary_results[0].raw_rows
    check(rows == [[1]], f"query with a key: {rows}")
    check(len(keyed.execute_mgmt(DB, ".show tables").primary_results[0]) > 0, ".show with a reader key")
    e = expect_error(lambda: keyed.execute_mgmt(DB, ".drop table Clicks"), KustoApiError, "reader cannot manage")
    check(e.http_response.status_code == 403, f"403 for a reader: {e}")
    wrong = KustoClient(KustoConnectionStringBuilder.with_token_provider(url, lambda: "chk_not_a_key"))
    expect_error(lambda: wrong.execute_query(DB, "print 1"), KustoServiceError, "wrong key")


def main():
    table = typed_rows_v2()
    dataframe_dtypes(table)
    streaming()
    render_properties()
    errors()
    request_properties()
    management()
    auth()
    print(f"client_check: {checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"client_check FAILED after {checks} checks: {e}", file=sys.stderr)
        sys.exit(1)
