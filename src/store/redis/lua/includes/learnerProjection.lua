--[[
  The learner's counters plus the hash fields the caller asked for (ARGV[from] onwards), so
  a change's reply costs the same however much history the learner has.
  Returns {1, field, value, ...} with only the fields that are set.
]]
local function learnerProjection(from)
  local fields = {'xp', 'v', 'xat', 'lc'}
  for i = from, #ARGV do fields[#fields + 1] = ARGV[i] end
  local values = redis.call('HMGET', KEYS[1], unpack(fields))
  local out = {1}
  for i = 1, #fields do
    if values[i] then
      out[#out + 1] = fields[i]
      out[#out + 1] = values[i]
    end
  end
  return out
end
