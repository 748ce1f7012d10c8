#!/usr/bin/env bash
# Safe Links click benchmark: the release binary serves a fresh data directory with
# click tracking on; a message is rewritten to get signed links; wrk drives the click
# endpoint over loopback, first flat out, then paced at about 2,000 clicks/s; finally
# the UrlClickEvents rows are counted through the hunting API (every click must be
# there: the server answers a click only after its row is fsynced).
#
# Usage: [CLICKHUNT_BIN=path] bench/gateway/run.sh [seconds per run, default 15]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${1:-15}
PORT=${PORT:-18480}
BASE="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null || ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk jq curl >/dev/null
fi
# CLICKHUNT_BIN: a binary to measure instead of building the release one.
if [[ -n "${CLICKHUNT_BIN:-}" ]]; then
  BIN=$CLICKHUNT_BIN
else
  cargo build --release -q -p clickhunt
  BIN="$ROOT/target/release/clickhunt"
fi

# On the real disk, not tmpfs, so fsync costs what it costs.
DATA=$(mktemp -d "$ROOT/target/bench-gateway.XXXXXX")
cleanup() {
  [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

mkdir -p "$DATA/feeds"
for i in $(seq 1 20); do echo "phish$i.example"; done > "$DATA/feeds/phish.txt"
cat > "$DATA/safelinks.toml" <<TOML
[[Policy]]
Name = "Bench"
Priority = 0
TrackClicks = true
AllowClickThrough = true
# No redirect resolution: the benchmark measures the gateway, not remote sites.
ScanUrls = false

[[TenantAllowBlockList]]
Value = "blocked.example"
Action = "Block"

[[ThreatFeed]]
Path = "feeds/phish.txt"
ThreatType = "Phish"

[Gateway]
PublicUrl = "$BASE"
TOML

"$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" >"$DATA/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

# A message with 200 links: 180 clean (302), 10 phish (warning page), 10 tenant-blocked.
BODY="<html><body>"
for i in $(seq 1 180); do BODY+="<a href=\"https://site$i.example/p?id=$i\">l</a> "; done
for i in $(seq 1 10); do BODY+="<a href=\"https://phish$i.example/login\">p</a> "; done
for i in $(seq 1 10); do BODY+="<a href=\"https://blocked.example/x$i\">b</a> "; done
BODY+="</body></html>"
jq -n --arg b "$BODY" '{body: $b, contentType: "text/html", recipient: "alice@contoso.com",
  networkMessageId: "e51ba906-ca62-4fba-cf21-08dbfc9c5192", sender: "news@fabrikam.example"}' \
  | curl -fsS -H 'content-type: application/json' --data-binary @- "$BASE/api/safelinks/rewrite" \
  | jq -r .body | grep -o "$BASE/safelinks/v1/click?[^\"]*" | sed -e "s|$BASE||" -e 's/&amp;/\&/g' \
  > "$DATA/links.txt"
echo "links: $(wc -l < "$DATA/links.txt") signed (180 allowed, 10 phish, 10 tenant-blocked)"

count_rows() {
  curl -fsS -H 'content-type: application/json' \
    -d '{"Query": "UrlClickEvents | count"}' "$BASE/api/advancedhunting/run" | jq -r '.Results[0].Count'
}

run() { # name connections threads pace_ms
  local out
  out=$(LINKS_FILE="$DATA/links.txt" PACE_MS=$4 wrk -t "$3" -c "$2" -d "${SECS}s" \
    -s bench/gateway/clicks.lua "$BASE" | grep '^RESULT')
  echo "$1: ${out#RESULT }"
  TOTAL=$((TOTAL + $(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$out")))
}

TOTAL=0
run "flat out (16 connections)" 16 2 0
run "paced (24 connections, each 10 ms between clicks: about 2,000/s)" 24 2 10
sleep 1
ROWS=$(count_rows)
echo "clicks completed by wrk: $TOTAL; UrlClickEvents rows: $ROWS (wrk drops clicks in flight when it stops, so rows may exceed completed clicks by up to the connection count)"
if (( ROWS < TOTAL )); then
  echo "FAIL: fewer rows than completed clicks" >&2
  exit 1
fi
