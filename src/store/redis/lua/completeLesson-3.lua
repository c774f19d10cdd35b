--[[
  LESSON_COMPLETED: complete a lesson once and pay its XP under the semantic key l:<lessonId>,
  award the badges that became due, append the outbox entry and push it, in one atomic step.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..9] the event header (includes/eventHeader.lua)
          ARGV[10] lessonId  ARGV[11] courseId  ARGV[12] xp (from the catalog)
          ARGV[13] candidate badges JSON  ARGV[14..] hash fields the candidates read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-1} not enrolled; {-2} already completed
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"

local lesson, course, xp = ARGV[10], ARGV[11], tonumber(ARGV[12])

local seen = seenEvent()
if seen then return {0, seen} end

local fields = {
  'v', 'xp', 'xat', 'lc', 'rx', 'bs', 'l:' .. lesson,
  'e:' .. course, 'ei:' .. course, 'ex:' .. course, 'exat:' .. course, 'cc:' .. course, 'ec:' .. course, 'cq:' .. course,
}
for i = 14, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if not rec.cur['e:' .. course] then return {-1} end
if rec.cur['l:' .. lesson] then return {-2} end

put(rec, 'l:' .. lesson, ev.at)
put(rec, 'lc', num(rec, 'lc') + 1)
put(rec, 'cc:' .. course, num(rec, 'cc:' .. course) + 1)
if xp > 0 then
  payXp(rec, xp, ev.key, 'lesson_completed', lesson)
  put(rec, 'ex:' .. course, num(rec, 'ex:' .. course) + xp)
  if ev.at > num(rec, 'exat:' .. course) then put(rec, 'exat:' .. course, ev.at) end
end
local awarded = awardBadges(rec, cjson.decode(ARGV[13]))
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local enrollment = {
  i = rec.cur['ei:' .. course], eat = num(rec, 'e:' .. course), x = num(rec, 'ex:' .. course),
  xat = num(rec, 'exat:' .. course), cc = num(rec, 'cc:' .. course), ec = num(rec, 'ec:' .. course),
  cq = num(rec, 'cq:' .. course),
}
local aw = nil
if #awarded > 0 then aw = awarded end
local json = appendOutbox('lesson_completed', rec, { c = course, ls = lesson, x = xp, ce = enrollment, aw = aw })
rememberEvent(cjson.encode({ k = 'lesson_completed', t = lesson, x = xp, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw }))
return {1, json}
