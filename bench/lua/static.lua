-- A fixed request (wrk builds it once): GET on the URL, with the headers
-- given by -H. Used for the hello server and for one token reused by all
-- connections.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
