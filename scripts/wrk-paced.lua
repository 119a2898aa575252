-- wrk script: each connection waits WRK_PACE_MS milliseconds before each request, so the
-- load is a steady rate (about connections × 1000 / (pace + latency) requests a second)
-- instead of as many as the machine can answer. wrk's latency figures exclude the wait.
local pace = tonumber(os.getenv("WRK_PACE_MS") or "0")

function delay()
    return pace
end
