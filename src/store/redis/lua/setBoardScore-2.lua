--[[
  Put a learner's score on a board and announce the move, atomically, so the messages on the
  board channel come in the order the board changed.
  Scores are stored negated (ZRANGE ascending = best first) and members are
  "<13-digit ms the score was reached>|<learnerId>", so equal scores rank whoever reached
  them first higher. A version guard drops updates older than the one already applied.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash (m:<id> member, v:<id> version, seq)
          ARGV[1] learnerId  ARGV[2] score (XP)  ARGV[3] member if the score changed
          ARGV[4] version  ARGV[5] boardId  ARGV[6] channel
  Output: {0} nothing changed (stale or same score);
          {1, previousRank or -1, rank, seq, count};
          {-100} the board is not in Redis (load it from Postgres, then retry)
]]
local rcall = redis.call
local learner, score, member = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local version = tonumber(ARGV[4])

if rcall('EXISTS', KEYS[2]) == 0 then
  return {-100}
end

local seen = tonumber(rcall('HGET', KEYS[2], 'v:' .. learner))
if seen and version <= seen then
  return {0}
end
rcall('HSET', KEYS[2], 'v:' .. learner, version)

local old = rcall('HGET', KEYS[2], 'm:' .. learner)
local prevRank, prevScore
if old then
  prevScore = tonumber(rcall('ZSCORE', KEYS[1], old))
  prevRank = rcall('ZRANK', KEYS[1], old)
  if prevScore == -score then
    return {0}
  end
  rcall('ZREM', KEYS[1], old)
end
if score <= 0 then
  -- Learners without XP are not ranked.
  rcall('HDEL', KEYS[2], 'm:' .. learner)
  if not old then
    return {0}
  end
  member = nil
else
  rcall('ZADD', KEYS[1], -score, member)
  rcall('HSET', KEYS[2], 'm:' .. learner, member)
end

local rank = member and (rcall('ZRANK', KEYS[1], member) + 1) or nil
local seq = rcall('HINCRBY', KEYS[2], 'seq', 1)
local count = rcall('ZCARD', KEYS[1])
rcall('PUBLISH', ARGV[6], cjson.encode({
  b = ARGV[5], l = learner, q = seq, n = count,
  pr = prevRank and (prevRank + 1) or nil, ps = prevScore and -prevScore or nil, pm = old or nil,
  r = rank, s = score, m = member
}))
return {1, prevRank and (prevRank + 1) or -1, rank or -1, seq, count}
