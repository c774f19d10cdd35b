--[[
  Put a board loaded from Postgres in place, unless the board is already in Redis.
  The entries were written to staging keys under the same hash tag; this step renames them
  into place atomically, so no reader or writer ever sees half a board.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          KEYS[3] staged sorted set  KEYS[4] staged meta hash
          ARGV[1] 1 to replace a board that is there (rebuilds), 0 to keep it
  Output: 1 installed, 0 the board was already there (staging dropped)
]]
local rcall = redis.call
local replace = ARGV[1] == '1'
if rcall('EXISTS', KEYS[2]) == 1 and not replace then
  rcall('DEL', KEYS[3], KEYS[4])
  return 0
end
-- The change counter carries on, so subscribers never see it go back.
local seq = tonumber(rcall('HGET', KEYS[2], 'seq')) or 0
rcall('DEL', KEYS[1], KEYS[2])
if rcall('EXISTS', KEYS[3]) == 1 then
  rcall('RENAME', KEYS[3], KEYS[1])
end
rcall('HSET', KEYS[4], 'seq', seq)
rcall('RENAME', KEYS[4], KEYS[2])
-- Staged keys carry a TTL in case their writer dies half way; the board itself lives on.
rcall('PERSIST', KEYS[1])
rcall('PERSIST', KEYS[2])
return 1
