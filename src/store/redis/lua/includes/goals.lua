--[[
  Daily goals (API.md "Daily goals"; src/domain/engagement/goals.ts reads what this writes).
  Kinds, in this order everywhere: XP, LESSONS, WATCH_MINUTES, QUIZZES.
  - gt  the standing targets, per kind "target,fromDay,setAtMs" joined by '|' (target 0: no
        goal of that kind), set by GOAL_SET: days from fromDay on start with that target; a
        GOAL_SET older than the kind's setAtMs (arriving late) does not replace it. gtd: the
        last GOAL_SET's day (kept for entries and targets written before per-kind days).
  - gr  the learner's most recent GOAL_DAYS day records, ';'-separated, each
        "day|xp|lessons|watchSeconds|quizzes|tx|tl|tw|tq|doneMask": what the learner did on that
        learning day (XP from the event's own pay and badges, never goal bonuses; lessons
        completed; seconds watched; quiz attempts) and that day's targets. Bounded: older days
        live in Postgres (daily_goals), written behind from the entries.
  - gc  goals completed in all (what `goals_completed` badges read).
  A goal completes once, on the event that brings its day's count to the target, paying the
  bonus ev.ctx.gb under ledger id <event key>:goal:<KIND> (the semantic key is the day record's
  done bit). A day older than a full window's (pruned to Postgres) is frozen: see goalDayFrozen. Call goalBase(rec) right after readLearner and updateGoals(rec) after the event's
  own changes; needs goalFields().
]]
local GOAL_KINDS = { 'XP', 'LESSONS', 'WATCH_MINUTES', 'QUIZZES' }
local GOAL_DAYS = 8

local function goalFields()
  return { 'gt', 'gtd', 'gr', 'gc', 'xp', 'lc', 'qt', 'wt' }
end

local function goalBase(rec)
  rec.base = { xp = num(rec, 'xp'), lc = num(rec, 'lc'), qt = num(rec, 'qt'), wt = num(rec, 'wt') }
end

local function splitNumbers(text, sep)
  local out = {}
  for part in string.gmatch(text, '[^' .. sep .. ']+') do out[#out + 1] = tonumber(part) or 0 end
  return out
end

-- The day records by day, and the days in order (newest first).
local function readGoalDays(rec)
  local byDay, days = {}, {}
  local text = rec.cur.gr
  if text and text ~= '' then
    for entry in string.gmatch(text, '[^;]+') do
      local r = splitNumbers(entry, '|')
      byDay[r[1]] = r
      days[#days + 1] = r[1]
    end
  end
  return byDay, days
end

-- The standing targets, per kind {target, from day, set at (the GOAL_SET's time, ms)}: `gt` is
-- "t,d,s|t,d,s|t,d,s|t,d,s" (or "t|t|t|t" from before per-kind days, whose day is `gtd`).
local function standingTargets(rec)
  local out = {}
  local text = rec.cur.gt
  local i = 0
  if text and text ~= '' then
    for part in string.gmatch(text, '[^|]+') do
      i = i + 1
      local n = splitNumbers(part, ',')
      out[i] = { n[1] or 0, n[2] or num(rec, 'gtd'), n[3] or 0 }
    end
  end
  for k = i + 1, 4 do out[k] = { 0, 0, 0 } end
  return out
end

local function encodeStanding(standing)
  local parts = {}
  for k = 1, 4 do
    local s = standing[k]
    parts[k] = string.format('%d', s[1]) .. ',' .. string.format('%d', s[2]) .. ',' .. string.format('%d', s[3])
  end
  return table.concat(parts, '|')
end

-- The record of `day`, made from the standing targets when the day has none (a kind's target
-- counts from the day it was set on).
local function goalDay(rec, byDay, days, day)
  local r = byDay[day]
  if r then return r end
  local st = standingTargets(rec)
  local t = { 0, 0, 0, 0 }
  for k = 1, 4 do
    if day >= st[k][2] then t[k] = st[k][1] end
  end
  r = { day, 0, 0, 0, 0, t[1], t[2], t[3], t[4], 0 }
  byDay[day] = r
  days[#days + 1] = day
  return r
end

-- Whether `day` is older than every day of a full window: its record (if any) was pruned from
-- the hash and lives in Postgres only, so the script cannot know its counts or which of its
-- goals completed. Such a day is frozen: a late event for it counts toward no goal (making a
-- fresh record would pay a completed goal's bonus again and overwrite the day's row).
local function goalDayFrozen(byDay, days, day)
  if byDay[day] or #days < GOAL_DAYS then return false end
  for _, d in ipairs(days) do
    if d < day then return false end
  end
  return true
end

local function goalValue(r, i)
  if i == 3 then return math.floor(r[4] / 60) end
  return r[1 + i]
end

-- Complete the goals of day record r that reached their target: mark, count, pay. Returns the
-- completions {{kind, day, target, current, bonus XP}, ...}.
local function completeGoals(rec, r)
  local done = {}
  for i = 1, 4 do
    local bit = 2 ^ (i - 1)
    local target = r[5 + i]
    if target > 0 and math.floor(r[10] / bit) % 2 == 0 and goalValue(r, i) >= target then
      r[10] = r[10] + bit
      put(rec, 'gc', num(rec, 'gc') + 1)
      done[#done + 1] = { GOAL_KINDS[i], r[1], target, goalValue(r, i), ev.ctx.gb }
      if ev.ctx.gb > 0 then payXp(rec, ev.ctx.gb, ev.key .. ':goal:' .. GOAL_KINDS[i], 'goal_completed', GOAL_KINDS[i] .. ':' .. ev.ctx.ds) end
    end
  end
  return done
end

-- Keep the GOAL_DAYS newest records and write them.
local function writeGoalDays(rec, byDay, days)
  table.sort(days, function(a, b) return a > b end)
  local parts = {}
  for i = 1, math.min(#days, GOAL_DAYS) do
    local r = byDay[days[i]]
    local fields = {}
    for j = 1, 10 do fields[j] = string.format('%d', r[j]) end
    parts[#parts + 1] = table.concat(fields, '|')
  end
  put(rec, 'gr', table.concat(parts, ';'))
end

local function goalSnapshot(r)
  return { d = r[1], x = r[2], l = r[3], w = r[4], q = r[5], t = { r[6], r[7], r[8], r[9] }, m = r[10] }
end

-- Count the event's work on its learning day (from the counters' moves since goalBase) and
-- complete the goals it reached. Sets rec.goals (the day, for the entry) and rec.goalsDone.
local function updateGoals(rec)
  local byDay, days = readGoalDays(rec)
  if goalDayFrozen(byDay, days, ACTIVE_DAY) then return false end
  local r = goalDay(rec, byDay, days, ACTIVE_DAY)
  r[2] = r[2] + num(rec, 'xp') - rec.base.xp
  r[3] = r[3] + num(rec, 'lc') - rec.base.lc
  r[4] = r[4] + num(rec, 'wt') - rec.base.wt
  r[5] = r[5] + num(rec, 'qt') - rec.base.qt
  local done = completeGoals(rec, r)
  writeGoalDays(rec, byDay, days)
  rec.goals = goalSnapshot(r)
  if #done > 0 then rec.goalsDone = done end
  return #done > 0
end

-- Award the candidate badges, count the event toward its day's goals, and award again when a
-- goal's bonus moved XP (or `gc`) enough to unlock more.
local function awardAndGoals(rec, candidates)
  local awarded = awardBadges(rec, candidates)
  if updateGoals(rec) then
    for _, a in ipairs(awardBadges(rec, candidates)) do awarded[#awarded + 1] = a end
  end
  return awarded
end
