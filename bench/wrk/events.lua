-- POST /v1/events with batches of 1,000 new events: 100 meetings (taken in
-- turn from the file named by the first argument after --) with 10 events
-- each (started, 7 attendees joining the web or teleconference portion,
-- one leaving, ended), every one with a new idempotency key and new
-- attendees (the third argument, a tag of the run, keeps keys and attendees
-- of separate runs apart). Counts answers that are not 200 or did not apply
-- all 1,000.
local meetings = {}
local counter = 0
local run = ""
thread_number = 0
local next_thread = 0
failures = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", next_thread)
  next_thread = next_thread + 1
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do
    meetings[#meetings + 1] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  run = args[3] or ""
  wrk.headers["Content-Type"] = "application/json"
end

local function event(key, meeting, kind, at, extra)
  return string.format('{"idempotency_key":"%s","meeting_id":"%s","type":"%s","at":"%s"%s}', key, meeting, kind, at, extra)
end

function request()
  counter = counter + 1
  local parts = {}
  local base = (thread_number * 7919 + counter * 100) % #meetings
  for m = 1, 100 do
    local meeting = meetings[(base + m) % #meetings + 1]
    local key = string.format("%st%d-%d-%d-", run, thread_number, counter, m)
    local who = string.format("%sa%d-%d-%d-", run, thread_number, counter, m)
    parts[#parts + 1] = event(key .. "s", meeting, "started", "2026-03-02T09:00:00Z", "")
    for a = 1, 7 do
      local portion = (a % 3 == 0) and "phone" or "web"
      parts[#parts + 1] = event(key .. "j" .. a, meeting, "attendee_joined", "2026-03-02T09:0" .. a .. ":00Z",
        string.format(',"attendee":"%s%d","portion":"%s"', who, a, portion))
    end
    parts[#parts + 1] = event(key .. "l", meeting, "attendee_left", "2026-03-02T09:30:00Z",
      string.format(',"attendee":"%s1","portion":"web"', who))
    parts[#parts + 1] = event(key .. "e", meeting, "ended", "2026-03-02T10:00:00Z", "")
  end
  return wrk.format("POST", "/v1/events", nil, "[" .. table.concat(parts, ",") .. "]")
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"applied":1000', 1, true) then
    failures = failures + 1
    if failures <= 3 then
      io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("failures")
  end
  io.write(string.format("failed_batches %d\n", failed))
end
