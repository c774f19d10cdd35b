--[[
  Fill a learner's hash from the durable record, unless it is already there. Guarded by
  existence, so concurrent hydrations (other requests, other instances) write it once.
  Input:  KEYS[1] learner hash
          ARGV    field, value, field, value, ... (at least v)
  Output: 1 written, 0 already present
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
-- HSET in slices: unpack() is bounded by Lua's C stack, and a long history has many fields.
local SLICE = 2000
for i = 1, #ARGV, SLICE do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + SLICE - 1, #ARGV)))
end
return 1
