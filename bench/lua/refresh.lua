-- POST /auth/refresh as rotation chains: every refresh token is presented
-- exactly once. Each thread starts with its share of $BENCH_TOKENS (refresh
-- tokens of fresh sessions, more than its connections); a request takes one
-- from the thread's queue and the 200 answer puts its successor back, so each
-- connection walks a chain. A chain whose refresh failed dies (`unexpected`);
-- should the queue ever be empty, the request is a GET /healthz and counts as
-- `starved`. With $BENCH_ACCESS_OUT set, the access tokens received are
-- written to $BENCH_ACCESS_OUT.<thread> (the harness collects them for the
-- cold-verification scenario).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  queue = read_share(os.getenv("BENCH_TOKENS"), id, nthreads)
  starved = 0
  unexpected = 0
  produced = 0
  local out_path = os.getenv("BENCH_ACCESS_OUT")
  if out_path and out_path ~= "" then
    out = assert(io.open(out_path .. "." .. id, "w"))
    out:setvbuf("line")
  end
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  mark_sent()
  local token = table.remove(queue)
  if token == nil then
    starved = starved + 1
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("POST", "/auth/refresh", headers, '{"refresh_token":"' .. token .. '"}')
end

function response(status, hdrs, body)
  mark_received()
  if status ~= 200 then
    unexpected = unexpected + 1
    return
  end
  local successor = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if successor == nil then
    return -- the GET /healthz of a starved request
  end
  queue[#queue + 1] = successor
  if out then
    local access = body:match('"access_token"%s*:%s*"([^"]+)"')
    if access then
      out:write(access, "\n")
      produced = produced + 1
    end
  end
end
