-- Shared by every scenario script: numbers the threads and, when wrk is done,
-- writes one JSON summary to $BENCH_SUMMARY (wrk's own percentiles, in µs).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  thread:set("nthreads", tonumber(os.getenv("BENCH_WRK_THREADS") or "1"))
  table.insert(threads, thread)
end

-- The lines of `path` that belong to thread `id` of `n` (round robin).
function read_share(path, id, n)
  local out, i = {}, 0
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if line ~= "" then
      if i % n == id then out[#out + 1] = line end
      i = i + 1
    end
  end
  f:close()
  return out
end

-- Per-request latency as the client saw it, without wrk's correction for
-- coordinated omission. Only meaningful with one connection per wrk thread
-- (then requests and responses of a thread strictly alternate); the harness
-- sets BENCH_RAW=1 only then.
local raw = os.getenv("BENCH_RAW") == "1"
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
lat = {}
local sent_at = nil

function mark_sent()
  if raw then sent_at = now_us() end
end

function mark_received()
  if raw and sent_at then
    lat[#lat + 1] = now_us() - sent_at
    sent_at = nil
  end
end

-- A response whose time is not to be counted.
function mark_discarded()
  sent_at = nil
end

local function raw_summary()
  if not raw then return '"raw_latency_us":null' end
  local all = {}
  for _, t in ipairs(threads) do
    local l = t:get("lat")
    if l then
      for _, v in ipairs(l) do all[#all + 1] = v end
    end
  end
  table.sort(all)
  local n = #all
  local function pct(q)
    if n == 0 then return 0 end
    local i = math.max(1, math.min(n, math.ceil(q / 100 * n)))
    return all[i]
  end
  local sum = 0
  for _, v in ipairs(all) do sum = sum + v end
  return string.format(
    '"raw_latency_us":{"n":%d,"mean":%.1f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f}',
    n, n > 0 and sum / n or 0, pct(50), pct(90), pct(99), pct(99.9), n > 0 and all[n] or 0)
end

local counters = { "starved", "wrapped", "unexpected", "produced", "overloaded", "refused" }

function done(summary, latency, requests)
  local e = summary.errors
  local extra = {}
  for _, name in ipairs(counters) do
    local total = 0
    for _, t in ipairs(threads) do
      total = total + (tonumber(t:get(name)) or 0)
    end
    extra[#extra + 1] = string.format('"%s":%d', name, total)
  end
  local json = string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},%s,%s}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    table.concat(extra, ","), raw_summary())
  local f = assert(io.open(os.getenv("BENCH_SUMMARY"), "w"))
  f:write(json, "\n")
  f:close()
end
