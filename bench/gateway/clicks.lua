-- wrk script: round-robin over the signed click links in $LINKS_FILE (paths),
-- optionally pacing each connection by $PACE_MS, and one parseable result line.
local links = {}
for line in io.lines(os.getenv("LINKS_FILE")) do
  if #line > 0 then links[#links + 1] = line end
end
local i = math.random(1, #links)

request = function()
  i = i % #links + 1
  return wrk.format("GET", links[i])
end

local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  delay = function() return pace end
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non_2xx_3xx=%d socket_errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
