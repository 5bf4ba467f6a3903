-- POST /auth/login with the right password, each connection as a user of its
-- own: $BENCH_EMAIL_TEMPLATE with "{i}" replaced by the thread's number (the
-- harness runs one connection per wrk thread, and has created those users).
-- One user shared by every connection would meet the lockout, which is exact
-- under concurrency: simultaneous logins of one user may be answered 429.
--
-- Every answer should be 200, or, in the storm, 503 temporarily_unavailable
-- (the queue of password checks is full). A 503 is counted apart, its
-- (immediate) latency is left out of the per-request times, which are then the
-- waits of the logins that were admitted, and the connection honours its
-- Retry-After before it sends again: a client that retried at once would turn
-- the storm into a flood of 503s that starves everything else of CPU. Any
-- other answer is `unexpected`, and the first few are printed; the harness
-- fails the scenario on any.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local template = os.getenv("BENCH_EMAIL_TEMPLATE")
local password = os.getenv("BENCH_PASSWORD")
local printed = 0

function init(args)
  unexpected = 0
  overloaded = 0
  pause_ms = 0
  local email = template:gsub("{i}", tostring(id))
  local body = string.format('{"email":"%s","password":"%s"}', email, password)
  req = wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
end

function delay()
  local ms = pause_ms
  pause_ms = 0
  return ms
end

function request()
  mark_sent()
  return req
end

-- Retry-After in whole seconds (API.md §3), 1 s when absent or unreadable.
local function retry_after_ms(headers)
  local v = headers["Retry-After"] or headers["retry-after"]
  local s = tonumber(v or "") or 1
  return math.max(s, 1) * 1000
end

function response(status, headers, body)
  if status == 503 then
    mark_discarded()
    overloaded = overloaded + 1
    pause_ms = retry_after_ms(headers)
    return
  end
  mark_received()
  if status ~= 200 then
    unexpected = unexpected + 1
    if printed < 3 then
      printed = printed + 1
      io.stderr:write(string.format("login.lua: connection %d got %d: %s\n", id, status, body))
    end
  end
end
