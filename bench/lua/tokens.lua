-- GET /api/me with a distinct access token per request: each thread reads its
-- share of $BENCH_TOKENS (one token a line) and presents each token once.
-- Should the tokens run out, it starts over and counts `wrapped`, which the
-- harness reports (the run is then no longer all-cold).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = os.getenv("BENCH_PATH") or "/api/me"

function init(args)
  tokens = read_share(os.getenv("BENCH_TOKENS"), id, nthreads)
  pos = 0
  wrapped = 0
end

function request()
  pos = pos + 1
  if pos > #tokens then
    pos = 1
    wrapped = wrapped + 1
  end
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. tokens[pos] })
end
