--[[
  ENROLLED: enroll a learner in a course once (the field e:<courseId> is the semantic key);
  the event key is the enrollment's id. Appends the outbox entry and pushes it, atomically.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)   ARGV[11] courseId
          ARGV[12] candidate badges JSON (those a new active day may unlock)  ARGV[13..] hash fields they read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry); {-1} already enrolled
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "activeDay"
--- @include "goals"

local course = ARGV[11]

local seen = seenEvent()
if seen then return {0, seen} end

local fields = { 'v', 'xp', 'xat', 'lc', 'cs', 'rx', 'bs', 'e:' .. course }
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 13, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)
if rec.cur['e:' .. course] then return {-1} end

put(rec, 'e:' .. course, ev.at)
put(rec, 'ei:' .. course, ev.key)
put(rec, 'ex:' .. course, 0)
put(rec, 'cc:' .. course, 0)
appendList(rec, 'cs', course)
markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[12]))
local aw = nil
if #awarded > 0 then aw = awarded end
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local enrollment = { i = ev.key, eat = ev.at, x = 0, xat = 0, cc = 0, ec = 0, cq = 0, cw = 0 }
local json = appendOutbox('enrolled', rec, { c = course, ce = enrollment, aw = aw })
rememberEvent(cjson.encode({ k = 'enrolled', t = course, x = 0, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw }))
return {1, json}
