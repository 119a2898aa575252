#!/usr/bin/env python3
# Authenticated GET latency with and without a login flood (8 connections, a new user
# name per login, wrong password), against a running tile-server (issue #14).
#   scripts/bench-login-flood.py HOST PORT TOKEN PATH
# Run the server with login_attempts_per_minute_per_address raised, or the flood is
# throttled (429) before it reaches argon2 and measures nothing.
import json, sys, threading, time, http.client, statistics, itertools
host, port, token, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def get_latencies(n):
    out = []
    for _ in range(n):
        c = http.client.HTTPConnection(host, port)
        t = time.perf_counter()
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse(); r.read(); c.close()
        assert r.status == 200, r.status
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(0.05)
    return out
stop = False
counter = itertools.count()
codes = {}
def flood():
    while not stop:
        i = next(counter)
        c = http.client.HTTPConnection(host, port)
        body = json.dumps({"username": "flood%08d" % i, "password": "Wrong-password-1"})
        c.request("POST", "/api/auth/login", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); c.close()
        codes[r.status] = codes.get(r.status, 0) + 1
base = get_latencies(40)
threads = [threading.Thread(target=flood) for _ in range(8)]
for t in threads: t.start()
time.sleep(2)
during = get_latencies(40)
stop = True
for t in threads: t.join()
q = lambda xs: "median %.1f ms, p95 %.1f ms, max %.1f ms" % (statistics.median(xs), sorted(xs)[int(len(xs)*0.95)-1], max(xs))
print("no flood:    ", q(base))
print("login flood: ", q(during), "login answers:", dict(sorted(codes.items())))
