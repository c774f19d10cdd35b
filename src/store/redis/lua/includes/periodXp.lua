--[[
  The learner's XP in the board periods (DAILY, WEEKLY, MONTHLY) that can still change, in one
  hash field `pp`: JSON {<periodKey>: {g: [xp, at], c: {<courseId>: [xp, at]}}}, the global
  score and the course scores of each period, `at` the latest event time that changed the score
  (ties, as xat does for the total). The server decides (src/store/redis/eventContext.ts):
  ev.ctx.p, the periods of the event's occurredAt still open at its recordedAt (a finished
  period within its grace window counts), which its XP counts in; ev.ctx.k, the oldest period
  of each kind (DAILY, WEEKLY, MONTHLY) worth keeping: older ones are frozen and dropped
  whenever the field is written, so it holds a few periods, never a history. Read on first use
  (only events that pay XP touch it); payXp calls addPeriodXp, appendOutbox carries
  periodEntry.
]]
local function periodKind(key)
  if #key == 10 then return 1 end
  if string.sub(key, 6, 6) == 'W' then return 2 end
  return 3
end

-- The learner's period scores, read once per script, frozen periods dropped.
local function periodScores(rec)
  if rec.periods then return rec.periods end
  local raw = rec.cur.pp
  if raw == nil then raw = redis.call('HGET', KEYS[1], 'pp') end
  local scores = {}
  if raw then scores = cjson.decode(raw) end
  local keep = ev.ctx.k or {}
  for key in pairs(scores) do
    local from = keep[periodKind(key)]
    if from and key < from then
      scores[key] = nil
      rec.periodsDropped = true
    end
  end
  rec.periods = scores
  return scores
end

local function raisePeriodScore(pair, amount)
  local xp, at = 0, 0
  if pair then xp, at = pair[1], pair[2] end
  if ev.at > at then at = ev.at end
  return { xp + amount, at }
end

-- Add an award to the learner's score in each period the event counts in, globally and, for
-- course XP, in `course`; drop the frozen periods (also when the award counts in none).
local function addPeriodXp(rec, amount, course)
  local keys = ev.ctx.p or {}
  local scores = periodScores(rec)
  if #keys == 0 then
    if rec.periodsDropped then put(rec, 'pp', cjson.encode(scores)) end
    return
  end
  for _, key in ipairs(keys) do
    local s = scores[key]
    if not s then
      s = { c = {} }
      scores[key] = s
    end
    s.g = raisePeriodScore(s.g, amount)
    if course then
      s.c = s.c or {}
      s.c[course] = raisePeriodScore(s.c[course], amount)
    end
  end
  rec.periodsPaid = true
  if course then rec.periodCourse = course end
  put(rec, 'pp', cjson.encode(scores))
end

-- The entry's `p`: the periods the event's XP counted in (k) and the learner's scores after it
-- in each, global (g) and in the event's course when it paid course XP (c); nil when it paid
-- nothing in any period.
local function periodEntry(rec)
  if not rec.periodsPaid then return nil end
  local out = { k = {}, g = {} }
  if rec.periodCourse then out.c = {} end
  for i, key in ipairs(ev.ctx.p) do
    local s = rec.periods[key]
    out.k[i] = key
    out.g[i] = s.g
    if out.c then out.c[i] = s.c[rec.periodCourse] end
  end
  return out
end
