-- one fixed request: GET PATH.
-- usage: wrk -s bench/path.lua URL -- PATH
local req

function init(args)
  req = wrk.format("GET", args[1])
end

function request()
  return req
end

-- done() comes from report.lua, next to this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
