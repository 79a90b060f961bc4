-- create: POST /api/collections/posts/records with a small JSON body.
-- usage: wrk -s bench/create.lua URL [-- COLLECTION]
local path
local n = 0
local tag
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  path = "/api/collections/" .. (args[1] or "posts") .. "/records"
  tag = tostring({}):match("0x(%x+)") or "0" -- tells the threads apart
end

function request()
  n = n + 1
  local body = string.format('{"title":"bench %s %d","views":%d,"published":%s}',
    tag, n, n, (n % 2 == 0) and "true" or "false")
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH rps=%.1f p50=%.3f p90=%.3f p99=%.3f max=%.3f requests=%d non2xx=%d sockerr=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
