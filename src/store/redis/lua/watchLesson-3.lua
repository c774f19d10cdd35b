--[[
  WATCHED: add watched seconds to a lesson: w:<lesson> (the lesson's total), cw:<course> (the
  course's), wt (the learner's); wu:<lesson> keeps the latest watch time. When the lesson's
  total reaches its threshold (ARGV, 90% of a VIDEO lesson's duration; 0 = never completes by
  watching) and the lesson is not completed, it completes through includes/completeLessonCore
  (the semantic key l:<lesson>: one payment whichever comes first, watching or completeLesson),
  awarding the badges that became due. Watching a completed lesson adds watch time only.
  Appends the outbox entry and pushes it, in one atomic step.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] lessonId  ARGV[12] courseId  ARGV[13] seconds
          ARGV[14] '1': add only what is missing for the lesson's total to reach ARGV[13]
                   (VIDEO_COMPLETED, ARGV[13] = the duration; nothing when it is reached)
          ARGV[15] threshold seconds (0 = never completes by watching)
          ARGV[16] the most the lesson's total can reach (10 viewings): seconds past it add nothing
          ARGV[17] xp (from the catalog)  ARGV[18] '1' for a VIDEO lesson
          ARGV[19] the course's shape JSON  ARGV[20] a new certificate code (includes/completeCourse.lua)
          ARGV[21] candidate badges JSON  ARGV[22..] hash fields the candidates read
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
--- @include "completeLessonCore"
--- @include "completeCourse"
--- @include "activeDay"
--- @include "goals"

local lesson, course, seconds, toEnd = ARGV[11], ARGV[12], tonumber(ARGV[13]), ARGV[14] == '1'
local threshold, cap, xp, video = tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17]), ARGV[18] == '1'

local seen = seenEvent()
if seen then return {0, seen} end

local fields = lessonCoreFields(lesson, course)
for _, f in ipairs(enrollmentFields(course)) do fields[#fields + 1] = f end
fields[#fields + 1] = 'w:' .. lesson
fields[#fields + 1] = 'wu:' .. lesson
fields[#fields + 1] = 'wt'
for _, f in ipairs(completeCourseFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 22, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)
if not rec.cur['e:' .. course] then return {-1} end

local before = num(rec, 'w:' .. lesson)
local added = seconds
if toEnd then added = math.max(0, seconds - before) end
added = math.max(0, math.min(added, cap - before))
local total = before + added
if added > 0 then
  put(rec, 'w:' .. lesson, total)
  put(rec, 'cw:' .. course, num(rec, 'cw:' .. course) + added)
  put(rec, 'wt', num(rec, 'wt') + added)
end
if ev.at > num(rec, 'wu:' .. lesson) then put(rec, 'wu:' .. lesson, ev.at) end

-- "Reaches": a total already past the threshold (a lesson since made a video, or given a
-- shorter duration) completes on its next watch rather than never.
local completedNow, crt = false, nil
if threshold > 0 and total >= threshold and not rec.cur['l:' .. lesson] then
  completeLessonCore(rec, lesson, course, xp, video)
  completedNow = true
  crt = completeCourse(rec, course, ARGV[19], ARGV[20])
end
markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[21]))
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local paid = 0
if completedNow then paid = xp end
local aw = nil
if #awarded > 0 then aw = awarded end
local json = appendOutbox('watched', rec, {
  c = course, ls = lesson, sec = added, w = total, wt = num(rec, 'wt'), wu = num(rec, 'wu:' .. lesson),
  cd = completedNow, dn = rec.cur['l:' .. lesson] and true or false, x = paid, vd = video, ce = enrollmentSnapshot(rec, course), aw = aw, crt = crt,
})
rememberEvent(cjson.encode({
  k = 'watched', t = lesson, x = paid, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw,
  w = total, cd = completedNow, c = rec.cur['l:' .. lesson] and true or false, crt = crt,
}))
return {1, json}
