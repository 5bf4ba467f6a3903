-- POST /auth/login with the right password of $BENCH_EMAIL. Every answer
-- should be 200 (a successful login counts no failure, so the lockout never
-- triggers) or, in the storm, 503 temporarily_unavailable: the queue of
-- password checks is full. Those are counted apart, and their (immediate)
-- latency is left out of the per-request times, which are then the waits
-- of the logins that were admitted. (A request function, not a fixed request, so that the
-- per-request latency can be timed; logins are few.)
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local body = string.format('{"email":"%s","password":"%s"}',
  os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))

function init(args)
  unexpected = 0
  overloaded = 0
  req = wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
end

function request()
  mark_sent()
  return req
end

function response(status, headers, body)
  if status == 503 then
    mark_discarded()
    overloaded = overloaded + 1
    return
  end
  mark_received()
  if status ~= 200 then unexpected = unexpected + 1 end
end
