-- a page of a list: GET /api/collections/posts/records?page=N&perPage=30,
-- N random in 1..300 (the 10 000 seeded records make 334 pages).
-- usage: wrk -s bench/list.lua URL [-- [skipTotal] [pages=N] [filter=N] [COLLECTION]]
-- With "skipTotal" the requests add skipTotal=1, so no total is counted;
-- with "pages=N" the page is random in 1..N instead; with "filter=N" the
-- requests ask for the first page of filter=views >= V&sort=views, V random
-- in 0..N-1.
local reqs = {}

function init(args)
  local extra, coll, pages, filter = "", "posts", 300, nil
  for _, a in ipairs(args) do
    if a == "skipTotal" then extra = "&skipTotal=1"
    elseif a:match("^pages=%d+$") then pages = tonumber(a:sub(7))
    elseif a:match("^filter=%d+$") then filter = tonumber(a:sub(8))
    else coll = a end
  end
  if filter then
    for i = 1, 1000 do
      local v = math.floor((i - 1) * filter / 1000)
      reqs[i] = wrk.format("GET", "/api/collections/" .. coll ..
        "/records?filter=views%20%3E%3D%20" .. v .. "&sort=views&perPage=30" .. extra)
    end
  else
    for page = 1, pages do
      reqs[page] = wrk.format("GET",
        "/api/collections/" .. coll .. "/records?page=" .. page .. "&perPage=30" .. extra)
    end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 1000003)
end

function request()
  return reqs[math.random(#reqs)]
end

-- done() comes from report.lua, next to this script.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "report.lua")
