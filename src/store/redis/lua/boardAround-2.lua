--[[
  A learner's entry and `radius` entries on each side, in one step.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          ARGV[1] learnerId  ARGV[2] radius
  Output: {rank of the first entry, member, -score, member, -score, ...}; {0} when the learner
          is not ranked; {-100} the board is not in Redis (load it from Postgres, then retry)
]]
local meta = redis.call('HMGET', KEYS[2], 'seq', 'm:' .. ARGV[1])
if not meta[1] then return {-100} end
local rank = meta[2] and redis.call('ZRANK', KEYS[1], meta[2])
if not rank then return {0} end
local from = math.max(0, rank - tonumber(ARGV[2]))
local flat = redis.call('ZRANGE', KEYS[1], from, rank + tonumber(ARGV[2]), 'WITHSCORES')
local out = { from + 1 }
for i = 1, #flat do out[#out + 1] = flat[i] end
return out
