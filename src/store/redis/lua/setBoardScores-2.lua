--[[
  Put several learners' scores on a board at once and announce the moves in one message, in
  board order. Scores are stored negated (ZRANGE ascending = best first); members are
  "<13-digit ms the score was reached>|<learnerId>", so equal scores rank whoever reached them
  first higher. A per-learner guard drops updates older, by (epoch, version), than the one
  applied, so replays and reordered batches change nothing, and a learner whose hash was
  rebuilt (a new epoch) is never refused for versions an earlier epoch reached. Learners with a
  score of 0 are not ranked.
  Input:  KEYS[1] board sorted set   KEYS[2] board meta hash (seq, ep; m:/s:/v:<learnerId>, v holding "<epoch>:<version>")
          ARGV[1] boardId  ARGV[2] board channel
          ARGV[3] when the board expires (ms since 1970; a period board, kept for its retention), 0 never
          ARGV[4..] learnerId, score, member, epoch, version (groups of five, each learner once)
  Output: {1, moves, seq}; {-100} the board is not in Redis (load it from Postgres, then retry)
  Publishes {b, ep, q = seq of the first move (a decimal string), mv = {{learnerId, prevScore, prevMember, score, member}, ...}}
  (prevScore/prevMember/member are false when absent).
]]
local G, FIRST = 5, 4
local n = (#ARGV - FIRST + 1) / G
local fields = { 'seq', 'ep' }
for i = 0, n - 1 do
  local l = ARGV[FIRST + G * i]
  fields[#fields + 1] = 'v:' .. l
  fields[#fields + 1] = 'm:' .. l
  fields[#fields + 1] = 's:' .. l
end
local meta = redis.call('HMGET', KEYS[2], unpack(fields))
if not meta[1] then return {-100} end

local seq = tonumber(meta[1])
local first = seq + 1
local zrem, zadd, hset, hdel, moves = {}, {}, {}, {}, {}
for i = 0, n - 1 do
  local base = FIRST + G * i
  local l, score, member, epoch, version = ARGV[base], tonumber(ARGV[base + 1]), ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local seen, oldMember, oldScore = meta[3 + 3 * i], meta[4 + 3 * i], tonumber(meta[5 + 3 * i])
  local newer = not seen
  if seen then
    -- "<epoch>:<version>", or a bare version (written before epochs: epoch 0).
    local se, sv = string.match(seen, '^(%d+):(%d+)$')
    if not se then se, sv = 0, seen end
    se, sv = tonumber(se), tonumber(sv)
    newer = epoch > se or (epoch == se and version > sv)
  end
  if newer then
    hset[#hset + 1] = 'v:' .. l
    hset[#hset + 1] = string.format('%d:%d', epoch, version)
    local changed = (oldScore or 0) ~= score
    if changed and (oldMember or score > 0) then
      if oldMember then zrem[#zrem + 1] = oldMember end
      if score > 0 then
        zadd[#zadd + 1] = -score
        zadd[#zadd + 1] = member
        hset[#hset + 1] = 'm:' .. l
        hset[#hset + 1] = member
        hset[#hset + 1] = 's:' .. l
        hset[#hset + 1] = score
      else
        hdel[#hdel + 1] = 'm:' .. l
        hdel[#hdel + 1] = 's:' .. l
        member = false
      end
      seq = seq + 1
      moves[#moves + 1] = { l, oldScore or false, oldMember or false, score, member }
    end
  end
end

if #zrem > 0 then redis.call('ZREM', KEYS[1], unpack(zrem)) end
if #zadd > 0 then redis.call('ZADD', KEYS[1], unpack(zadd)) end
if #moves > 0 then
  hset[#hset + 1] = 'seq'
  hset[#hset + 1] = seq
end
if #hset > 0 then redis.call('HSET', KEYS[2], unpack(hset)) end
if #hdel > 0 then redis.call('HDEL', KEYS[2], unpack(hdel)) end
-- A sorted set emptied and made again would have lost its expiry: set it on every write.
if ARGV[3] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) redis.call('PEXPIREAT', KEYS[2], ARGV[3]) end
if #moves > 0 then
  -- q as a string: cjson prints numbers with 14 significant digits, and seq has 16.
  redis.call('PUBLISH', ARGV[2], cjson.encode({ b = ARGV[1], ep = meta[2], q = string.format('%d', first), mv = moves }))
end
return {1, #moves, seq}
