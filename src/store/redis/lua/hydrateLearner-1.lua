--[[
  Fill a learner's hash from the durable record, unless it is already there. Guarded by
  existence, so concurrent hydrations (other requests, other instances) write it once. The
  hash starts a new epoch (includes/epoch.lua).
  Input:  KEYS[1] learner hash
          ARGV    field, value, field, value, ... (at least v)
  Output: 1 written, 0 already present
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
--- @include "hashSlices"
--- @include "epoch"
-- A long history has many fields.
hsetAll(KEYS[1], ARGV)
redis.call('HSET', KEYS[1], 'ep', epochNow())
return 1
