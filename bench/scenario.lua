-- wrk script for every HTTP scenario of bench/run.py; checks every answer.
-- usage: wrk ... -s bench/scenario.lua URL -- MODE TOKEN ARGS...
--   get   TOKEN FIRST COUNT MINLEN MAXLEN [STRIDE]
--                                           GET a random link 0An<FIRST..FIRST+COUNT-1>;
--                                           with STRIDE, one of COUNT links that are the
--                                           two links of COUNT/2 groups STRIDE links
--                                           apart: FIRST + (i / 2) * STRIDE + i % 2
--   patch TOKEN FIRST COUNT STATUS          PATCH each link once, in order, to STATUS
--   post  TOKEN BODYFILE                    POST a group definition (201 expected)
-- Prints one line "BENCH {json}" at the end: requests, good/bad answers, latency.
local API = "/services/data/v66.0"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  mode = args[1]
  token = args[2]
  good, bad, exhausted, nreq = 0, 0, 0, 0
  first_bad = ""
  wrk.headers["Authorization"] = "Bearer " .. token
  if mode == "get" then
    first, count = tonumber(args[3]), tonumber(args[4])
    minlen, maxlen = tonumber(args[5]), tonumber(args[6])
    stride = tonumber(args[7] or "1")
  elseif mode == "patch" then
    first, count, want = tonumber(args[3]), tonumber(args[4]), args[5]
    wrk.method = "PATCH"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '{"status":"' .. want .. '"}'
    -- the request made once around a placeholder id, so that each PATCH is two
    -- concatenations, not wrk.format's table of headers (wrk shares the box: its CPU
    -- is taken from the server's in S2 and S3, whose anchors need no wrk)
    local t = wrk.format(nil, API .. "/connect/action-links/@ID@")
    local at = string.find(t, "@ID@", 1, true)
    patch_head, patch_tail = string.sub(t, 1, at - 1), string.sub(t, at + 4)
  elseif mode == "post" then
    local f = assert(io.open(args[3], "rb"))
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = f:read("*a")
    f:close()
    post_req = wrk.format(nil, API .. "/connect/action-link-group-definitions")
  end
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end

function request()
  nreq = nreq + 1
  if mode == "get" then
    local i = math.random(0, count - 1)
    local n = first + i
    if stride > 1 then n = first + math.floor(i / 2) * stride + i % 2 end
    return wrk.format(nil, string.format("%s/connect/action-links/0An%012d", API, n))
  elseif mode == "patch" then
    if nreq > count then
      exhausted = exhausted + 1
      return wrk.format("GET", "/healthz", {}, nil)
    end
    return patch_head .. string.format("0An%012d", first + nreq - 1) .. patch_tail
  else
    return post_req
  end
end

local function fail(status, body)
  bad = bad + 1
  if first_bad == "" then
    first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200)
  end
end

function response(status, headers, body)
  if mode == "get" then
    local n = #body
    if status == 200 and n >= minlen and n <= maxlen
       and string.find(body, '"type":"ActionLink"', 1, true) then
      good = good + 1
    else
      fail(status, body)
    end
  elseif mode == "patch" then
    if status == 200 and string.find(body, '"status":"' .. want .. '"', 1, true) then
      good = good + 1
    elseif status == 200 and string.find(body, '"status"', 1, true) == nil and exhausted > 0 then
      -- a /healthz answer after the links ran out: not counted either way
    else
      fail(status, body)
    end
  else
    if status == 201 and string.find(body, '"actionLinks"', 1, true) then
      good = good + 1
    else
      fail(status, body)
    end
  end
end

local function jstr(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local g, b, x, fb = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    x = x + t:get("exhausted")
    if fb == "" then fb = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"good":%d,"bad":%d,"exhausted":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"first_bad":%s}\n',
    summary.requests, summary.duration, summary.bytes, g, b, x,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, jstr(fb)))
end
