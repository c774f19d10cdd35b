--[[
  Fill a learner's hash from the durable record, unless it is already there.
  Guarded by existence, so concurrent hydrations (other requests, other instances) write once.
  Input:  KEYS[1] learner hash
          ARGV    field, value, field, value, ... (at least xp and v)
  Output: 1 written, 0 already present
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[1]) == 1 then
  return 0
end
rcall('HSET', KEYS[1], unpack(ARGV))
return 1
