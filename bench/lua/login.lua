-- POST /auth/login with the right password of $BENCH_EMAIL. Every answer
-- should be 200: a successful login counts no failure, so the lockout never
-- triggers. (A request function, not a fixed request, so that the
-- per-request latency can be timed; logins are few.)
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local body = string.format('{"email":"%s","password":"%s"}',
  os.getenv("BENCH_EMAIL"), os.getenv("BENCH_PASSWORD"))

function init(args)
  unexpected = 0
  req = wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
end

function request()
  mark_sent()
  return req
end

function response(status, headers, body)
  mark_received()
  if status ~= 200 then unexpected = unexpected + 1 end
end
