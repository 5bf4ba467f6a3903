-- POST /oauth/introspect (RFC 7662) with a distinct access token per
-- request: each thread reads its share of $BENCH_TOKENS and presents each
-- once (`wrapped` counts starting over), the client authenticating with
-- HTTP Basic ($BENCH_BASIC: the base64 of "id:secret"). Every answer should
-- be 200 with "active":true (the tokens' sessions are live); anything else
-- is `unexpected`, and the first few are printed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local headers = {
  ["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local printed = 0

function init(args)
  tokens = read_share(os.getenv("BENCH_TOKENS"), id, nthreads)
  pos = 0
  wrapped = 0
  unexpected = 0
end

function request()
  pos = pos + 1
  if pos > #tokens then
    pos = 1
    wrapped = wrapped + 1
  end
  return wrk.format("POST", "/oauth/introspect", headers, "token=" .. tokens[pos])
end

function response(status, hdrs, body)
  if status ~= 200 or not body:find('"active":true', 1, true) then
    unexpected = unexpected + 1
    if printed < 3 then
      printed = printed + 1
      io.stderr:write(string.format("introspect.lua: got %d: %s\n", status, body))
    end
  end
end
