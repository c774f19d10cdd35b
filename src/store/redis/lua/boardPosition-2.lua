--[[
  Read a learner's place on a board with the board's sequence number and epoch, atomically,
  so a subscriber knows which announced moves its snapshot already includes.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          ARGV[1] learnerId
  Output: {seq, epoch, rank or -1, score or 0, member or ''};
          {-100} the board is not in Redis (load it from Postgres, then retry)
]]
local meta = redis.call('HMGET', KEYS[2], 'seq', 'ep', 'm:' .. ARGV[1])
if not meta[1] then return {-100} end
local member = meta[3]
if member then
  local rank = redis.call('ZRANK', KEYS[1], member)
  if rank then
    return {tonumber(meta[1]), meta[2], rank + 1, -tonumber(redis.call('ZSCORE', KEYS[1], member)), member}
  end
end
return {tonumber(meta[1]), meta[2], -1, 0, ''}
