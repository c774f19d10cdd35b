--[[
  Award a badge once and pay its XP reward (from the catalog, via the caller).
  Input:  KEYS[1] learner hash   KEYS[2] recent-XP list   KEYS[3] partition outbox stream
          ARGV[1] learnerId  ARGV[2] badgeId  ARGV[3] xp  ARGV[4] ledger transaction id
          ARGV[5] nowMs
          ARGV[6..] hash fields to return besides the counters
  Output: {1, field, value, ...} xp, v, xat, lc and the requested fields after the change;
          {-100} learner not in Redis (hydrate, then retry); {-3} badge already held
]]
local rcall = redis.call

--- @include "learnerProjection"

local learner, badge = ARGV[1], ARGV[2]
local xp, txId, now = tonumber(ARGV[3]), ARGV[4], ARGV[5]

if rcall('EXISTS', KEYS[1]) == 0 then
  return {-100}
end
if rcall('HSETNX', KEYS[1], 'b:' .. badge, now) == 0 then
  return {-3}
end

local total
if xp > 0 then
  total = rcall('HINCRBY', KEYS[1], 'xp', xp)
  rcall('HSET', KEYS[1], 'xat', now)
  rcall('LPUSH', KEYS[2], cjson.encode({ id = txId, a = xp, r = 'badge_unlocked', s = badge, t = tonumber(now) }))
  rcall('LTRIM', KEYS[2], 0, 49)
else
  total = tonumber(rcall('HGET', KEYS[1], 'xp')) or 0
end
local v = rcall('HINCRBY', KEYS[1], 'v', 1)
local snap = rcall('HMGET', KEYS[1], 'lc', 'xat')

rcall('XADD', KEYS[3], '*', 't', 'badge_awarded', 'd', cjson.encode({
  l = learner, v = v, b = badge, at = tonumber(now), x = xp, tx = txId,
  s = { xp = total, lc = tonumber(snap[1]) or 0, xat = tonumber(snap[2]) }
}))

return learnerProjection(6)
