--[[
  Learners' ranks and scores on a board, in one step.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          ARGV    learnerIds
  Output: {rank, score, rank, score, ...} (rank -1 when not ranked; rank 1 is the best);
          {-100} the board is not in Redis (load it from Postgres, then retry)
]]
if redis.call('HEXISTS', KEYS[2], 'seq') == 0 then return {-100} end
local fields = {}
for i = 1, #ARGV do fields[i] = 'm:' .. ARGV[i] end
local members = redis.call('HMGET', KEYS[2], unpack(fields))
local out = {}
for i = 1, #ARGV do
  local rank = members[i] and redis.call('ZRANK', KEYS[1], members[i])
  if rank then
    out[#out + 1] = rank + 1
    out[#out + 1] = -tonumber(redis.call('ZSCORE', KEYS[1], members[i]))
  else
    out[#out + 1] = -1
    out[#out + 1] = 0
  end
end
return out
