-- get-by-id: GET /api/collections/posts/records/{id} for a random seeded id.
-- usage: wrk -s bench/get.lua URL -- IDS_FILE [COLLECTION]
local reqs = {}

function init(args)
  local path = args[1] or os.getenv("IDS")
  local coll = args[2] or "posts"
  assert(path, "get.lua: pass the ids file: wrk ... -s get.lua URL -- ids.txt")
  for id in io.lines(path) do
    if #id > 0 then
      reqs[#reqs + 1] = wrk.format("GET", "/api/collections/" .. coll .. "/records/" .. id)
    end
  end
  assert(#reqs > 0, "get.lua: no ids in " .. path)
  -- each thread has its own Lua state: seed each differently
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
end

function request()
  return reqs[math.random(#reqs)]
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
