--[[
  LESSON_COMPLETED: complete a lesson once and pay its XP under the semantic key l:<lessonId>,
  award the badges that became due, append the outbox entry and push it, in one atomic step.
  The completion itself is includes/completeLessonCore.lua, shared with watchLesson-3.lua.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] lessonId  ARGV[12] courseId  ARGV[13] xp (from the catalog)
          ARGV[14] '1' for a VIDEO lesson (counted in vc)
          ARGV[15] the course's shape JSON  ARGV[16] a new certificate code (includes/completeCourse.lua)
          ARGV[17] candidate badges JSON  ARGV[18..] hash fields the candidates read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry); {-1} not enrolled; {-2} already completed
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "enrollmentSnapshot"
--- @include "completeLessonCore"
--- @include "completeCourse"
--- @include "activeDay"
--- @include "goals"

local lesson, course, xp, video = ARGV[11], ARGV[12], tonumber(ARGV[13]), ARGV[14] == '1'

local seen = seenEvent()
if seen then return {0, seen} end

local fields = lessonCoreFields(lesson, course)
for _, f in ipairs(enrollmentFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(completeCourseFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 18, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)
if not rec.cur['e:' .. course] then return {-1} end
if rec.cur['l:' .. lesson] then return {-2} end

completeLessonCore(rec, lesson, course, xp, video)
local crt = completeCourse(rec, course, ARGV[15], ARGV[16])
markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[17]))
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local aw = nil
if #awarded > 0 then aw = awarded end
local json = appendOutbox('lesson_completed', rec, { c = course, ls = lesson, x = xp, vd = video, ce = enrollmentSnapshot(rec, course), aw = aw, crt = crt })
rememberEvent(cjson.encode({ k = 'lesson_completed', t = lesson, x = xp, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw, crt = crt }))
return {1, json}
