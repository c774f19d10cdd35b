--[[
  A learner's epoch: the Redis time (ms) when their hash was written from nothing (created or
  loaded from Postgres). It starts a new run of versions: boards and Postgres order a learner's
  updates by (epoch, version), so a hash rebuilt after Redis lost or rolled back state is never
  refused as older than what an earlier incarnation sent.
]]
local function epochNow()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
