--[[
  A page of a board with its size, in one step.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          ARGV[1] offset  ARGV[2] count
  Output: {total, member, -score, member, -score, ...};
          {-100} the board is not in Redis (load it from Postgres, then retry)
]]
if redis.call('HEXISTS', KEYS[2], 'seq') == 0 then return {-100} end
local out = { redis.call('ZCARD', KEYS[1]) }
local count = tonumber(ARGV[2])
if count > 0 then
  local flat = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[1]) + count - 1, 'WITHSCORES')
  for i = 1, #flat do out[#out + 1] = flat[i] end
end
return out
