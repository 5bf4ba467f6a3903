-- GET /api/me under `Authorization: DPoP` (one bound token, set by the
-- harness with -H) with a new proof per request: each thread reads its share
-- of $BENCH_TOKENS (one proof a line, each with its own jti) and sends each
-- once. Should the proofs run out, it starts over and counts `wrapped` (those
-- requests are replays). A 401 whose body says the replay cache is full is
-- counted as `refused`; any other answer but 200 as `unexpected`.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local path = os.getenv("BENCH_PATH") or "/api/me"

function init(args)
  proofs = read_share(os.getenv("BENCH_TOKENS"), id, nthreads)
  pos = 0
  wrapped = 0
  refused = 0
  unexpected = 0
end

function request()
  pos = pos + 1
  if pos > #proofs then
    pos = 1
    wrapped = wrapped + 1
  end
  -- Headers given to wrk.format replace wrk's own (-H), so they are copied:
  -- the Authorization header of the bound token comes from the harness.
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["DPoP"] = proofs[pos]
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status == 401 and body:find("too many DPoP proofs", 1, true) then
    refused = refused + 1
  elseif status ~= 200 then
    unexpected = unexpected + 1
  end
end
