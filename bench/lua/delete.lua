-- DELETE on the URL with the headers given by -H (the same admin token for
-- every request), expecting $BENCH_EXPECT_STATUS on every answer: 404 for a
-- project that does not exist, which a request only gets after its token
-- was verified, its role checked and, on a session-checked route, its
-- session found live. Any other answer is `unexpected` (the first few are
-- printed), so that a route refusing the token is never measured as fast.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "DELETE"
local expected = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "404")
local printed = 0

function init(args)
  unexpected = 0
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if printed < 3 then
      printed = printed + 1
      io.stderr:write(string.format("delete.lua: got %d, not %d: %s\n", status, expected, body))
    end
  end
end
