--[[
  Complete a lesson once and pay its XP (the amount comes from the catalog, via the caller).
  Input:  KEYS[1] learner hash   KEYS[2] recent-XP list   KEYS[3] partition outbox stream
          ARGV[1] learnerId  ARGV[2] lessonId  ARGV[3] courseId  ARGV[4] xp
          ARGV[5] ledger transaction id  ARGV[6] nowMs
          ARGV[7..] hash fields to return besides the counters
  Output: {1, field, value, ...} xp, v, xat, lc and the requested fields after the change;
          {-100} learner not in Redis (hydrate, then retry); {-1} not enrolled; {-2} already completed
]]
local rcall = redis.call

--- @include "learnerProjection"

local learner, lesson, course = ARGV[1], ARGV[2], ARGV[3]
local xp, txId, now = tonumber(ARGV[4]), ARGV[5], ARGV[6]

if rcall('EXISTS', KEYS[1]) == 0 then
  return {-100}
end
local enrolled = rcall('HMGET', KEYS[1], 'e:' .. course, 'ei:' .. course)
if not enrolled[1] then
  return {-1}
end
if rcall('HSETNX', KEYS[1], 'l:' .. lesson, now) == 0 then
  return {-2}
end

local lc = rcall('HINCRBY', KEYS[1], 'lc', 1)
rcall('HINCRBY', KEYS[1], 'cc:' .. course, 1)
local total, cx
if xp > 0 then
  total = rcall('HINCRBY', KEYS[1], 'xp', xp)
  cx = rcall('HINCRBY', KEYS[1], 'ex:' .. course, xp)
  rcall('HSET', KEYS[1], 'xat', now, 'exat:' .. course, now)
  rcall('LPUSH', KEYS[2], cjson.encode({ id = txId, a = xp, r = 'lesson_completed', s = lesson, t = tonumber(now) }))
  rcall('LTRIM', KEYS[2], 0, 49)
else
  total = tonumber(rcall('HGET', KEYS[1], 'xp')) or 0
  cx = tonumber(rcall('HGET', KEYS[1], 'ex:' .. course)) or 0
end
local v = rcall('HINCRBY', KEYS[1], 'v', 1)
local times = rcall('HMGET', KEYS[1], 'xat', 'exat:' .. course)

rcall('XADD', KEYS[3], '*', 't', 'lesson_completed', 'd', cjson.encode({
  l = learner, v = v, c = course, ls = lesson, at = tonumber(now), x = xp, tx = txId,
  ei = enrolled[2], eat = tonumber(enrolled[1]), cx = cx, cxat = tonumber(times[2]),
  s = { xp = total, lc = lc, xat = tonumber(times[1]) }
}))

return learnerProjection(7)
