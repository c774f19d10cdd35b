--[[
  QUIZ_ATTEMPTED: record a quiz attempt (numbered per learner and quiz), keep the quiz's best
  score, and on the first pass pay the quiz's XP once (the field qp:<quizId> is the semantic
  key), count it in the course, award the badges that became due; append the outbox entry and
  push it, in one atomic step. Retakes after the first pass are recorded and pay nothing.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] quizId  ARGV[12] courseId  ARGV[13] score (0..100)  ARGV[14] passScore
          ARGV[15] xp (from the catalog)
          ARGV[16] the course's shape JSON  ARGV[17] a new certificate code (includes/completeCourse.lua)
          ARGV[18] candidate badges JSON  ARGV[19..] hash fields the candidates read
  Fields: qn:<quiz> attempts  qb:<quiz> best score  qp:<quiz> first passed at
          cq:<course> quizzes passed in the course  qt attempts  qpc quizzes passed
          qbs / qbn sum and count of the quizzes' best scores (averageQuizScore = qbs / qbn)
          qbm the highest best score over all quizzes (badge criteria quiz_score without quiz_id)
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry); {-1} not enrolled in the quiz's course
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "enrollmentSnapshot"
--- @include "completeCourse"
--- @include "activeDay"
--- @include "goals"

local quiz, course = ARGV[11], ARGV[12]
local score, passScore, xp = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])

local seen = seenEvent()
if seen then return {0, seen} end

local fields = {
  'v', 'xp', 'xat', 'lc', 'rx', 'bs', 'qt', 'qpc', 'qbs', 'qbn', 'qbm',
  'qn:' .. quiz, 'qb:' .. quiz, 'qp:' .. quiz,
}
for _, f in ipairs(enrollmentFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(completeCourseFields(course)) do fields[#fields + 1] = f end
for _, f in ipairs(activeDayFields()) do fields[#fields + 1] = f end
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 19, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)
if not rec.cur['e:' .. course] then return {-1} end

local n = num(rec, 'qn:' .. quiz) + 1
put(rec, 'qn:' .. quiz, n)
put(rec, 'qt', num(rec, 'qt') + 1)

-- The mean of best scores stays O(1): the sum moves by what the best rose, the count by new quizzes.
local best = score
if n == 1 then
  put(rec, 'qbn', num(rec, 'qbn') + 1)
  put(rec, 'qbs', num(rec, 'qbs') + score)
  put(rec, 'qb:' .. quiz, score)
else
  local old = num(rec, 'qb:' .. quiz)
  if score > old then
    put(rec, 'qbs', num(rec, 'qbs') + score - old)
    put(rec, 'qb:' .. quiz, score)
  else
    best = old
  end
end
if score > num(rec, 'qbm') then put(rec, 'qbm', score) end

local passed = score >= passScore
local paid, crt = 0, nil
if passed and not rec.cur['qp:' .. quiz] then
  put(rec, 'qp:' .. quiz, ev.at)
  put(rec, 'qpc', num(rec, 'qpc') + 1)
  put(rec, 'cq:' .. course, num(rec, 'cq:' .. course) + 1)
  if xp > 0 then
    paid = xp
    payXp(rec, xp, ev.key, 'quiz_passed', quiz, course)
    put(rec, 'ex:' .. course, num(rec, 'ex:' .. course) + xp)
    if ev.at > num(rec, 'exat:' .. course) then put(rec, 'exat:' .. course, ev.at) end
  end
  crt = completeCourse(rec, course, ARGV[16], ARGV[17])
end
markActiveDay(rec)
local awarded = awardAndGoals(rec, cjson.decode(ARGV[18]))
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local enrollment = enrollmentSnapshot(rec, course)
local aw = nil
if #awarded > 0 then aw = awarded end
local json = appendOutbox('quiz_attempted', rec, { c = course, q = quiz, n = n, sc = score, ps = passed, x = paid, b = best, ce = enrollment, aw = aw, crt = crt })
rememberEvent(cjson.encode({
  k = 'quiz_attempted', t = quiz, x = paid, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw,
  id = ev.key, n = n, sc = score, ps = passed, at = ev.at, crt = crt,
}))
return {1, json}
