--[[
  Take up to N tokens from a rate-limit bucket (a token bucket: `limit` tokens per window,
  refilled evenly, at most `limit` held). A missing bucket is a full one; a bucket lives until
  it would be full again (PEXPIRE), so the buckets of learners who stopped acting go away on
  their own. Held in units of 1/window token, so all of it is whole-number arithmetic: the same
  steps as takeTokens in src/domain/limits/rate.ts.
  Input:  KEYS[1] bucket hash (u: units held, at: when, ms)
          ARGV[1] limit  ARGV[2] window ms  ARGV[3] tokens asked (>= 1)  ARGV[4] now ms
  Output: {granted, waitMs}: granted <= asked whole tokens; waitMs is the ms until the next
          whole token when fewer than asked were granted, else 0. Nothing is written when
          nothing is granted.
]]
local rcall = redis.call
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local asked = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local full = limit * window

local units = full
local at = now
local held = rcall('HMGET', key, 'u', 'at')
if held[1] and held[2] then
  local heldAt = tonumber(held[2])
  -- Another instance's clock may be behind: no time passed, rather than time going back.
  if heldAt > at then at = heldAt end
  units = math.min(full, tonumber(held[1]) + math.min(window, at - heldAt) * limit)
end

local granted = math.max(0, math.min(asked, math.floor(units / window)))
local left = units - granted * window
local waitMs = 0
if granted < asked then waitMs = math.ceil((window - left) / limit) end
if granted == 0 then return {0, waitMs} end

rcall('HSET', key, 'u', string.format('%.0f', left), 'at', string.format('%.0f', at))
rcall('PEXPIRE', key, string.format('%.0f', math.ceil((full - left) / limit)))
return {granted, waitMs}
