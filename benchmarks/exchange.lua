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
