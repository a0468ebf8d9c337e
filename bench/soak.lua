-- wrk script for bench/soak.sh. SOAK_MODE=valid: discovery, paginated /query (following
-- nextPageToken) and Range GETs of signed file URLs (read from SOAK_FILES), all with the demo
-- token; every answer must be 200 or 206. SOAK_MODE=bad: bad tokens, malformed and oversized
-- bodies, forged file signatures; every answer must be 4xx. SOAK_LIMIT: requests per thread.
local mode = os.getenv("SOAK_MODE") or "valid"
local limit = tonumber(os.getenv("SOAK_LIMIT") or "1000")
local prefix = "/delta-sharing"
local good = { ["Authorization"] = "Bearer opensharing-demo-token", ["Content-Type"] = "application/json" }
local wrong = { ["Authorization"] = "Bearer not-a-token", ["Content-Type"] = "application/json" }
local query = prefix .. "/shares/demo/schemas/default/tables/trips/query"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Globals, so done() can read them from each thread.
answered, unexpected, server_errors = 0, 0, 0
local files, n, token = {}, 0, nil
local oversized = '{"x":"' .. string.rep("a", 1100 * 1024) .. '"}'

function init(args)
  local list = io.open(os.getenv("SOAK_FILES") or "", "r")
  if list then
    for line in list:lines() do table.insert(files, line) end
    list:close()
  end
end

local function valid_request(i)
  local kind = i % 6
  if kind == 0 then return wrk.format("GET", prefix .. "/shares", good) end
  if kind == 1 then return wrk.format("GET", prefix .. "/shares/demo/all-tables?maxResults=2", good) end
  if kind == 2 or kind == 3 then
    local body = '{"maxFiles":2}'
    if token then
      body = '{"maxFiles":2,"pageToken":"' .. token .. '"}'
      token = nil
    end
    return wrk.format("POST", query, good, body)
  end
  local file = files[(i % #files) + 1]
  local ranges = { "bytes=0-99", "bytes=-64", "bytes=100-" }
  return wrk.format("GET", file, { ["Range"] = ranges[(i % 3) + 1] })
end

local function bad_request(i)
  local kind = i % 5
  if kind == 0 then return wrk.format("GET", prefix .. "/shares", wrong) end
  if kind == 1 then return wrk.format("POST", query, wrong, "{}") end
  if kind == 2 then return wrk.format("POST", query, good, '{"maxFiles":') end
  if kind == 3 then
    local file = files[(i % #files) + 1]
    return wrk.format("GET", (file:gsub("Signature=%x+", "Signature=" .. string.rep("0", 64))), {})
  end
  if i % 25 == 4 then return wrk.format("POST", query, good, oversized) end
  return wrk.format("GET", prefix .. "/shares/demo/schemas/default/tables/nope/version", good)
end

function request()
  n = n + 1
  if mode == "valid" then return valid_request(n) end
  return bad_request(n)
end

function response(status, headers, body)
  answered = answered + 1
  if status >= 500 then server_errors = server_errors + 1 end
  if mode == "valid" then
    if status ~= 200 and status ~= 206 then
      unexpected = unexpected + 1
      if unexpected <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body:sub(1, 200) .. "\n") end
    end
    local next_token = body:match('"nextPageToken":"([^"]+)"')
    if next_token then token = next_token end
  elseif status < 400 or status >= 500 then
    unexpected = unexpected + 1
    if unexpected <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body:sub(1, 200) .. "\n") end
  end
  if answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local total = { answered = 0, unexpected = 0, server_errors = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do total[key] = total[key] + (thread:get(key) or 0) end
  end
  io.write(string.format("SOAK %s answered=%d unexpected=%d server_errors=%d\n", mode, total.answered,
    total.unexpected, total.server_errors))
end
