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

-- done() comes from report.lua, next to this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
