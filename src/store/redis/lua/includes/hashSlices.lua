--[[
  HMGET and HSET of any number of fields, in slices: unpack() is bounded by Lua's C stack (one
  slice, one command, in practice).
]]
local HASH_SLICE = 4000

-- The values of `fields` of hash `key`, in order (false for a missing field).
local function hmgetAll(key, fields)
  if #fields <= HASH_SLICE then return redis.call('HMGET', key, unpack(fields)) end
  local out = {}
  for i = 1, #fields, HASH_SLICE do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + HASH_SLICE - 1, #fields)))
    for _, v in ipairs(part) do out[#out + 1] = v end
  end
  return out
end

-- HSET key field value field value ... for a flat list of any length.
local function hsetAll(key, args)
  for i = 1, #args, HASH_SLICE do
    redis.call('HSET', key, unpack(args, i, math.min(i + HASH_SLICE - 1, #args)))
  end
end
