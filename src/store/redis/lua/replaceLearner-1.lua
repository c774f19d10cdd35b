--[[
  Replace a learner's hash with the durable record (a repair after Redis fell behind
  Postgres), but only if the hash is still at the version the caller saw before it wrote the
  learner's outbox to Postgres: a change applied since then is not in that record, and
  replacing would drop it (the caller reads again and retries). The hash starts a new epoch.
  Input:  KEYS[1] learner hash
          ARGV[1] the version the caller saw
          ARGV[2..] field, value, field, value, ... (at least v)
  Output: {1, epoch} replaced; {0, version} the hash moved on meanwhile; {-1} not in Redis
          (nothing to repair: the next touch loads it from Postgres)
]]
--- @include "hashSlices"
--- @include "epoch"
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v ~= ARGV[1] then return {0, tonumber(v)} end
redis.call('DEL', KEYS[1])
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
hsetAll(KEYS[1], fields)
local ep = epochNow()
redis.call('HSET', KEYS[1], 'ep', ep)
return {1, ep}
