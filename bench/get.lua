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

-- done() comes from report.lua, next to this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
