-- wrk script of bench/load.py: GET one path; for /stations/nearby, at uniformly random points in a box.
--
--   wrk -s bench/load.lua URL -- PATH [WEST SOUTH EAST NORTH [QUERY]]
--
-- PATH alone (e.g. /healthz) is requested as is. With a box (WGS84 degrees), each request asks
-- PATH?lon=..&lat=..&QUERY at a new random point, e.g. QUERY "k=10&types=outdoor_worker".
-- Each wrk thread has its own fixed seed, so a run's points are repeatable. When the run ends, one line of
-- JSON with the counts and latency percentiles (microseconds) is printed for bench/load.py to read.

local path, west, south, east, north, query
local threads = {}

function setup(thread)
  thread:set("number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path = args[1] or "/"
  west, south, east, north = tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  query = args[6] or ""
  math.randomseed(1000 + number)
end

function request()
  if west == nil then
    return wrk.format("GET", path)
  end
  local lon = west + math.random() * (east - west)
  local lat = south + math.random() * (north - south)
  local url = string.format("%s?lon=%.6f&lat=%.6f", path, lon, lat)
  if query ~= "" then
    url = url .. "&" .. query
  end
  return wrk.format("GET", url)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx_3xx": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
