-- wrk script of tests/integration/test_apache.py: sends worker.php
-- requests, alternating models, and judges every reply (wrk alone only
-- counts them).
--
--   wrk ... -s load.lua http://127.0.0.1:PORT/worker.php -- MODE m1,m2
--
-- MODE is "warmd" or "own" (worker.php).  done() prints one line,
--   wrk-result requests=N good=N bad=N warm=N touched=N own_warmups=N opened=N
--              pids=P,P,.. intervals=I,.. ttls=T,.. impl=I|.. openers=P,..
--              first_bad=...
-- (openers: the pids that opened the tables the replies were read through,
-- the extension's warmth_info()).
-- that phpit.wrk_load() parses.  "good": HTTP 200 and worker.php's JSON
-- says the record was consistent and was the record of the model asked for
-- (in own mode: HTTP 200 and the model echoed).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1] or "warmd"
  models = {}
  for m in string.gmatch(args[2] or "m1", "[^,]+") do
    table.insert(models, m)
  end
  k = 0
  requests, good, bad, warm, touched, own_warmups, opened = 0, 0, 0, 0, 0, 0, 0
  seen = {}          -- "pid:123", "interval:1000", ... -> true
  pids, intervals, ttls, impl, openers = "", "", "", "", ""
  first_bad = ""
end

function request()
  k = k + 1
  local q = "?model=" .. models[(k % #models) + 1]
  if mode == "own" then
    q = q .. "&mode=own"
  end
  return wrk.format("GET", wrk.path .. q)
end

-- Appends v to the comma list in global `list` the first time it is seen.
local function note(kind, v, list)
  if v and not seen[kind .. v] then
    seen[kind .. v] = true
    _G[list] = _G[list] .. v .. ","
  end
end

function response(status, headers, body)
  requests = requests + 1
  local model = body:match('"model":"([^"]*)"')
  local ok = status == 200 and model ~= nil
  if mode ~= "own" then
    ok = ok and body:find('"consistent":true', 1, true) ~= nil
      and body:match('"name":"([^"]*)"') == model
    if body:find('"warm":true', 1, true) then warm = warm + 1 end
    if body:find('"touched":true', 1, true) then touched = touched + 1 end
    if body:find('"reused":false', 1, true) then opened = opened + 1 end
    note("interval:", body:match('"interval_ms":(%d+)'), "intervals")
    note("ttl:", body:match('"warm_ttl_ms":(%d+)'), "ttls")
    note("impl:", body:match('"impl":"([^"]*)"'), "impl")
    note("opener:", body:match('"opened_pid":(%d+)'), "openers")
  elseif body:find('"own_warmup":true', 1, true) then
    own_warmups = own_warmups + 1
  end
  note("pid:", body:match('"pid":(%d+)'), "pids")
  if ok then
    good = good + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. body:sub(1, 200):gsub("%s+", " ")
    end
  end
end

function done(summary, latency, req)
  local sum = {requests = 0, good = 0, bad = 0, warm = 0, touched = 0,
               own_warmups = 0, opened = 0}
  local lists = {pids = {}, intervals = {}, ttls = {}, impl = {}, openers = {}}
  local fb = ""
  for _, t in ipairs(threads) do
    for name in pairs(sum) do
      sum[name] = sum[name] + (t:get(name) or 0)
    end
    for name, set in pairs(lists) do
      for v in string.gmatch(t:get(name) or "", "[^,]+") do
        set[v] = true
      end
    end
    if fb == "" then fb = t:get("first_bad") or "" end
  end
  local function join(set, sep)
    local out = {}
    for v in pairs(set) do table.insert(out, v) end
    table.sort(out)
    return table.concat(out, sep)
  end
  io.write(string.format(
    "wrk-result requests=%d good=%d bad=%d warm=%d touched=%d own_warmups=%d"
    .. " opened=%d"
    .. " pids=%s intervals=%s ttls=%s impl=%s openers=%s first_bad=%s\n",
    sum.requests, sum.good, sum.bad, sum.warm, sum.touched, sum.own_warmups,
    sum.opened,
    join(lists.pids, ","), join(lists.intervals, ","), join(lists.ttls, ","),
    join(lists.impl, "|"), join(lists.openers, ","), fb))
end
