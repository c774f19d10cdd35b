--[[
  Keep a server instance in the live set, drop instances whose heartbeat expired, and return
  the live set. Uses the Redis clock, so instances with skewed clocks agree.
  Input:  KEYS[1] members sorted set (score: expiry ms)
          ARGV[1] this instance's name ('' to only read)  ARGV[2] time to live ms
  Output: the live instance names, sorted
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(live)
return live
