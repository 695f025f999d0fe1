-- wrk script for benchmarks.exchange: POST /api/v1/exchange, one device, the badges taking turns.
-- BENCH_BADGES names a file of badge payloads (one a line); BENCH_TOKEN is the device token.
local badges = {}
for line in io.lines(os.getenv("BENCH_BADGES")) do
    badges[#badges + 1] = line
end
local turn = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

function request()
    turn = turn + 1
    return wrk.format(nil, "/api/v1/exchange", nil, '{"badge":"' .. badges[(turn % #badges) + 1] .. '"}')
end

-- BENCH_PACE_MS (optional): each connection waits a random time of that mean (exponential, as
-- independent arrivals are) before its next request, for a set offered rate (connections x
-- 1000 / mean, less the answers' own time) instead of the most the server sustains.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace then
    math.randomseed(os.time())
    function delay()
        return math.floor(-math.log(1 - math.random()) * pace)
    end
end
