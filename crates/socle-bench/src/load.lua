-- wrk script: GET the paths listed in a file (one a line) in turn, and make wrk stop once
-- `quota` responses have arrived (wrk itself only knows durations). Prints one JSON line.
-- Arguments after `--`: QUOTA PATHS_FILE.
local ffi = require("ffi")
ffi.cdef [[
int getpid(void);
long syscall(long number, ...);
]]
-- At the quota the thread stops, and tgkill sends SIGINT to wrk's main thread (its pid), which
-- ends its sleep and the run.
local SYS_TGKILL = ({ x64 = 234, arm64 = 131 })[ffi.arch]

local paths, quota, sent, received = {}, 0, 0, 0

function init(args)
  quota = tonumber(args[1])
  for line in io.lines(args[2]) do
    paths[#paths + 1] = wrk.format(nil, line)
  end
end

function request()
  sent = sent + 1
  return paths[(sent - 1) % #paths + 1]
end

function response(status, headers, body)
  received = received + 1
  if received == quota then
    wrk.thread:stop()
    local pid = ffi.cast("long", ffi.C.getpid())
    ffi.C.syscall(SYS_TGKILL, pid, pid, ffi.cast("long", 2))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
