-- wrk script for benchmarks.load: whole sign-ins as a browser scanner makes them, back to back on
-- each connection: POST /api/v1/exchange, GET /launch/{code} (the device cookie), GET /dashboard
-- (the session cookie it set). Run with as many threads as connections (-tN -cN): wrk keeps one
-- Lua state per thread, so each thread's state is its one connection's sign-in.
-- BENCH_BADGES names a file of badge payloads (one a line); BENCH_TOKEN is the device token.
local badges = {}
for line in io.lines(os.getenv("BENCH_BADGES")) do
    badges[#badges + 1] = line
end
local token = os.getenv("BENCH_TOKEN")
local threads = {}
local step, turn, code, cookie = 0, 0, nil, nil
signed_in, broken = 0, 0

function setup(thread)
    thread:set("id", #threads)
    threads[#threads + 1] = thread
end

function init(args)
    turn = id * 7  -- threads start on different badges
end

function request()
    if step == 0 then
        turn = turn + 1
        local body = '{"badge":"' .. badges[(turn % #badges) + 1] .. '"}'
        local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
        return wrk.format("POST", "/api/v1/exchange", headers, body)
    elseif step == 1 then
        return wrk.format("GET", "/launch/" .. code, {["Cookie"] = "badge_device=" .. token})
    end
    return wrk.format("GET", "/dashboard", {["Cookie"] = cookie})
end

function response(status, headers, body)
    if step == 0 then
        code = status == 200 and body:match('"launch_code":"([^"]+)"')
        step = code and 1 or 0
    elseif step == 1 then
        local set = headers["Set-Cookie"] or headers["set-cookie"] or ""
        cookie = status == 303 and set:match("(badge_session=[^;]+)")
        step = cookie and 2 or 0
    else
        step = 0
        if status == 200 then signed_in = signed_in + 1 else broken = broken + 1 end
        return
    end
    if step == 0 then broken = broken + 1 end
end

function done(summary, latency, requests)
    local total, failed = 0, 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("signed_in")
        failed = failed + thread:get("broken")
    end
    io.write(string.format("Sign-ins: %d\nBroken sign-ins: %d\n", total, failed))
end
