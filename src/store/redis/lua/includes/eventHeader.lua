--[[
  The event header every learner script takes, and its dedupe guard.
  ARGV[1] learnerId   ARGV[2] caller's event id ('' when the server made it: never repeated)
  ARGV[3] event key (server-made uuid; ledger rows are keyed by it)
  ARGV[4] occurredAt ms   ARGV[5] recordedAt ms   ARGV[6] event record TTL ms
  ARGV[7] learner channel   ARGV[8] partition
  ARGV[9] '1' when Postgres has never seen the learner: a missing hash is an empty learner
  ARGV[10] the event's context, JSON, computed by the server (src/store/redis/eventContext.ts):
           d = the event's learning day (days since 1970-01-01 of its calendar date in the
           learner's zone in force when it occurred), z = the zone version that day assumed
  KEYS[2] the event record of (learner, caller's event id)
]]
local ev = {
  learner = ARGV[1], id = ARGV[2], key = ARGV[3],
  at = tonumber(ARGV[4]), recordedAt = tonumber(ARGV[5]), ttl = ARGV[6],
  channel = ARGV[7], partition = ARGV[8], fresh = ARGV[9] == '1',
  ctx = cjson.decode(ARGV[10]),
}

-- The stored first result of the caller's event id, or nil when the id is new.
local function seenEvent()
  if ev.id == '' then return nil end
  local stored = redis.call('GET', KEYS[2])
  if stored then return stored end
  return nil
end

-- Remember the caller's event id with its result for the dedupe window.
local function rememberEvent(result)
  if ev.id ~= '' then redis.call('SET', KEYS[2], result, 'PX', ev.ttl) end
end
