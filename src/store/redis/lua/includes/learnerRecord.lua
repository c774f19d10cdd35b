--[[
  The learner's hash (KEYS[1]) as a script sees it: the fields it needs read with one HMGET,
  changes staged and written with one HSET at the end. So a script checks everything before
  its first write, and an error half way leaves nothing half applied.
]]
--- @include "hashSlices"
--- @include "epoch"

local function num(rec, field)
  return tonumber(rec.cur[field]) or 0
end

local function put(rec, field, value)
  if not rec.staged[field] then
    rec.staged[field] = true
    rec.order[#rec.order + 1] = field
  end
  rec.cur[field] = value
end

-- Read the learner's fields; nil when the learner is not in Redis (hydrate, then run again),
-- except for a learner Postgres has never seen (ev.fresh): they start empty, and the hash is
-- written only if the event applies, so a refused event leaves nothing behind.
local function readLearner(fields)
  fields[#fields + 1] = 'ep'
  local values = hmgetAll(KEYS[1], fields)
  local rec = { cur = {}, order = {}, staged = {} }
  for i = 1, #fields do rec.cur[fields[i]] = values[i] end
  if not rec.cur.v then
    if not ev.fresh then return nil end
    rec.cur.v = '0'
    put(rec, 'ep', epochNow())
  end
  return rec
end

-- Append an item to a comma-separated list field (enrolled courses, held badges; ids hold no comma).
local function appendList(rec, field, item)
  local cur = rec.cur[field]
  if cur and cur ~= '' then put(rec, field, cur .. ',' .. item) else put(rec, field, item) end
end

local function writeLearner(rec)
  local args = {}
  for _, field in ipairs(rec.order) do
    args[#args + 1] = field
    args[#args + 1] = rec.cur[field]
  end
  hsetAll(KEYS[1], args)
  -- Fields a change retires (rec.drop: the d: fields of a hash converted to the day bitmap, includes/activeDay.lua).
  if rec.drop then
    for i = 1, #rec.drop, HASH_SLICE do
      redis.call('HDEL', KEYS[1], unpack(rec.drop, i, math.min(i + HASH_SLICE - 1, #rec.drop)))
    end
  end
end

-- The learner's counters after the change, as entries and results carry them.
local function snapshotOf(rec)
  return { xp = num(rec, 'xp'), lc = num(rec, 'lc'), xat = num(rec, 'xat') }
end
