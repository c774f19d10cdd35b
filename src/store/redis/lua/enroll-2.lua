--[[
  Enroll a learner in a course, once.
  Input:  KEYS[1] learner hash      KEYS[2] partition outbox stream
          ARGV[1] learnerId  ARGV[2] courseId  ARGV[3] enrollmentId  ARGV[4] nowMs
          ARGV[5..] hash fields to return besides the counters
  Output: {1, field, value, ...} xp, v, xat, lc and the requested fields after the change;
          {-100} learner not in Redis (hydrate, then retry); {-1} already enrolled
]]
local rcall = redis.call

--- @include "learnerProjection"

local learner, course, enrollmentId, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

if rcall('EXISTS', KEYS[1]) == 0 then
  return {-100}
end
if rcall('HEXISTS', KEYS[1], 'e:' .. course) == 1 then
  return {-1}
end

rcall('HSET', KEYS[1], 'e:' .. course, now, 'ei:' .. course, enrollmentId, 'ex:' .. course, 0)
local v = rcall('HINCRBY', KEYS[1], 'v', 1)
local snap = rcall('HMGET', KEYS[1], 'xp', 'lc', 'xat')

rcall('XADD', KEYS[2], '*', 't', 'enrolled', 'd', cjson.encode({
  l = learner, v = v, c = course, ei = enrollmentId, eat = tonumber(now),
  s = { xp = tonumber(snap[1]) or 0, lc = tonumber(snap[2]) or 0, xat = tonumber(snap[3]) }
}))

return learnerProjection(5)
