--[[
  LOGGED_IN (DAILY_LOGIN): the learner showed up. It completes and pays nothing: it marks the
  learning day active (the streak with it), awards the badges a new day may unlock, moves the
  learner's version, appends the outbox entry and pushes it, in one atomic step.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] candidate badges JSON (those a new active day may unlock)  ARGV[12..] hash fields they read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry)
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "activeDay"
--- @include "goals"

local seen = seenEvent()
if seen then return {0, seen} end

local fields = { 'v', 'xp', 'xat', 'lc', 'rx', 'bs' }
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 12, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)

markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[11]))
local aw = nil
if #awarded > 0 then aw = awarded end
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local json = appendOutbox('logged_in', rec, { aw = aw })
rememberEvent(cjson.encode({ k = 'logged_in', t = '', x = 0, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw }))
return {1, json}
