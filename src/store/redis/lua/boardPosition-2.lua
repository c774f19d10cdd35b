--[[
  Read a learner's place on a board together with the board's sequence number, atomically,
  so a subscriber can tell which announced moves its snapshot already includes.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          ARGV[1] learnerId
  Output: {seq, rank or -1, score or -1, member or ''};
          {-100} the board is not in Redis (load it from Postgres, then retry)
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[2]) == 0 then
  return {-100}
end
local seq = tonumber(rcall('HGET', KEYS[2], 'seq')) or 0
local member = rcall('HGET', KEYS[2], 'm:' .. ARGV[1])
if not member then
  return {seq, -1, -1, ''}
end
local rank = rcall('ZRANK', KEYS[1], member)
local score = rcall('ZSCORE', KEYS[1], member)
if not rank then
  return {seq, -1, -1, ''}
end
return {seq, rank + 1, -tonumber(score), member}
