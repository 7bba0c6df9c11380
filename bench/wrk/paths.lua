-- wrk script for the benchmarks: each connection walks the paths listed (one per line) in the
-- file named by the PATHS environment variable, from its own offset, and done() prints one
-- JSON line with the figures the bench scripts read (latencies in microseconds).
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end

-- THINK_MS (optional): each connection waits a random time (mean THINK_MS, uniform, so the
-- connections do not fire in lockstep) after an answer before its next request, as a player
-- does between playlist fetches; without it, requests go back to back (throughput).
local think = tonumber(os.getenv("THINK_MS") or "")
if think and think > 0 then
  function delay()
    return math.random() * 2 * think
  end
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter)
  table.insert(threads, thread)
end

function init(args)
  -- Spread the threads (and, below, successive requests) over the whole list.
  i = math.floor((offset - 1) * #paths / 8)
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"bytes":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"status_errors":%d}\n',
    summary.requests, summary.bytes, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
