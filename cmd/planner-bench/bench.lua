-- bench.lua is the wrk script of planner-bench. The request's method (or
-- RSVP_TOGGLE: POST and DELETE by turns), body
-- and content type come from the environment (BENCH_METHOD, BENCH_BODY,
-- BENCH_CTYPE); with BENCH_STATUS=1 every answer's status is counted (and
-- 503s carrying Retry-After), which costs wrk a little, so it is only
-- turned on where the mix of answers matters. done() prints one line,
-- "BENCH {json}", that the driver reads.
local method = os.getenv("BENCH_METHOD")
if method == "RSVP_TOGGLE" then
  -- The RSVP workload: each connection answers the event, cancels, answers
  -- again..., so every request changes the event's counts under its lock.
  local n = 0
  function request()
    n = n + 1
    if n % 2 == 1 then return wrk.format("POST") end
    return wrk.format("DELETE")
  end
elseif method and method ~= "" then wrk.method = method end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end
local ctype = os.getenv("BENCH_CTYPE")
if ctype and ctype ~= "" then wrk.headers["Content-Type"] = ctype end

local threads = {}
function setup(thread) table.insert(threads, thread) end

if os.getenv("BENCH_STATUS") == "1" then
  statuses = {}
  retry = 0
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 503 and headers["Retry-After"] then retry = retry + 1 end
  end
end

function done(summary, latency, requests)
  local counts, retries = {}, 0
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end
    end
    retries = retries + (t:get("retry") or 0)
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%d":%d', k, v)) end
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%.0f,"duration_us":%.0f,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,' ..
    '"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"retry_after":%.0f,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, retries, table.concat(parts, ",")))
end
