--[[
  Put a board loaded from Postgres in place, unless the board is already in Redis (or, for a
  rebuild, in its place). The entries were written to staging keys under the board's hash
  tag; this step renames them into place atomically, so nobody sees half a board.
  The board gets a new epoch, telling subscribers to read their positions again; its sequence
  number carries on when the board was there, else starts at ARGV[3] (the install time x
  1000), so it never goes backwards even when Redis lost the board.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash
          KEYS[3] staged sorted set  KEYS[4] staged meta hash
          ARGV[1] 1 to replace a board that is there (rebuilds), 0 to keep it
          ARGV[2] new epoch   ARGV[3] first sequence number for a board that was lost
          ARGV[4] when the board expires (ms since 1970; a period board, kept for its retention), 0 never
  Output: 1 installed, 0 the board was already there (staging dropped)
]]
local replace = ARGV[1] == '1'
local seq = redis.call('HGET', KEYS[2], 'seq')
if seq and not replace then
  redis.call('DEL', KEYS[3], KEYS[4])
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RENAME', KEYS[3], KEYS[1])
end
redis.call('HSET', KEYS[4], 'seq', seq or ARGV[3], 'ep', ARGV[2])
redis.call('RENAME', KEYS[4], KEYS[2])
-- Staged keys carry a TTL in case their writer dies half way; the board itself lives on, or
-- until its retention ends (a period board).
for i = 1, 2 do
  if ARGV[4] ~= '0' then redis.call('PEXPIREAT', KEYS[i], ARGV[4]) else redis.call('PERSIST', KEYS[i]) end
end
return 1
