-- Replays pre-signed webhook deliveries (one per line: signature, timestamp, invocation id, body; tab-separated).
-- Each wrk thread takes every n-th line, so no two threads send the same delivery.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  local path = os.getenv("DESKMATE_BENCH_REQUESTS")
  local nthreads = tonumber(os.getenv("DESKMATE_BENCH_THREADS") or "2")
  local n = 0
  for line in io.lines(path) do
    if n % nthreads == id then
      local sig, stamp, invocation, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      table.insert(requests, wrk.format("POST", "/webhooks/zendesk", {
        ["Content-Type"] = "application/json",
        ["X-Zendesk-Webhook-Signature"] = sig,
        ["X-Zendesk-Webhook-Signature-Timestamp"] = stamp,
        ["X-Zendesk-Webhook-Invocation-Id"] = invocation,
        ["X-Zendesk-Account-Id"] = "9001",
        ["User-Agent"] = "Zendesk Webhook",
      }, body))
    end
    n = n + 1
  end
  position = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end
