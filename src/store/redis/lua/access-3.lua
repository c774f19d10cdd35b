--[[
  ACCESSED (LESSON_ACCESSED, VIDEO_STARTED): the learner opened a lesson of a course they are
  enrolled in. It completes nothing and pays nothing: it moves the learner's version, appends
  the outbox entry (the activity history and the learning day are kept from it in Postgres)
  and pushes it, in one atomic step.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] lessonId  ARGV[12] courseId (the lesson's, from the catalog)
          ARGV[13] candidate badges JSON (those a new active day may unlock)  ARGV[14..] hash fields they read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry); {-1} not enrolled in the lesson's course
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "enrollmentSnapshot"
--- @include "activeDay"
--- @include "goals"

local lesson, course = ARGV[11], ARGV[12]

local seen = seenEvent()
if seen then return {0, seen} end

local fields = { 'v', 'xp', 'xat', 'lc', 'rx', 'bs' }
for _, f in ipairs(enrollmentFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 14, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)
if not rec.cur['e:' .. course] then return {-1} end

markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[13]))
local aw = nil
if #awarded > 0 then aw = awarded end
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local json = appendOutbox('accessed', rec, { c = course, ls = lesson, ce = enrollmentSnapshot(rec, course), aw = aw })
rememberEvent(cjson.encode({ k = 'accessed', t = lesson, x = 0, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw }))
return {1, json}
