--[[
  GOAL_SET (setDailyGoal, GOAL_SET events): set the learner's target for one kind of daily goal,
  from the event's learning day on (0 removes the goal). The day's record takes the new target;
  when the day's count already reaches it, the goal completes now (once: a goal done stays done
  whatever its target becomes) and pays its bonus. Not learning activity: marks no day.
  A GOAL_SET older than the kind's last one (arriving late) sets only its own day's target.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] the kind's index (1 XP, 2 LESSONS, 3 WATCH_MINUTES, 4 QUIZZES)  ARGV[12] target
          ARGV[13] candidate badges JSON  ARGV[14..] hash fields they read
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry); {-101, zone history} the day was
          computed with another zone history (compute it again with this one, then retry)
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "payXp"
--- @include "awardBadges"
--- @include "appendOutbox"
--- @include "activeDay"
--- @include "goals"

local kind, target = tonumber(ARGV[11]), tonumber(ARGV[12])

local seen = seenEvent()
if seen then return {0, seen} end

local fields = { 'v', 'xp', 'xat', 'lc', 'rx', 'bs', 'tzv', 'tzh' }
for _, f in ipairs(goalFields()) do fields[#fields + 1] = f end
for i = 14, #ARGV do fields[#fields + 1] = ARGV[i] end
local rec = readLearner(fields)
if not rec then return {-100} end
if zoneStale(rec) then return {-101, rec.cur.tzh or ''} end
goalBase(rec)

local standing = standingTargets(rec)
-- The newest setting of a kind wins, whatever order the events arrive in: an older one still
-- sets its own day's target (below), not the standing one.
if ev.at >= standing[kind][3] then
  standing[kind] = { target, ACTIVE_DAY, ev.at }
  put(rec, 'gt', encodeStanding(standing))
  put(rec, 'gtd', ACTIVE_DAY)
end
local byDay, days = readGoalDays(rec)
local done = {}
-- A day pruned to Postgres (goalDayFrozen) keeps its record there as it is.
if not goalDayFrozen(byDay, days, ACTIVE_DAY) then
  local r = goalDay(rec, byDay, days, ACTIVE_DAY)
  r[5 + kind] = target
  done = completeGoals(rec, r)
  writeGoalDays(rec, byDay, days)
  rec.goals = goalSnapshot(r)
end
local awarded = {}
if #done > 0 then
  rec.goalsDone = done
  awarded = awardBadges(rec, cjson.decode(ARGV[13]))
end
local aw = nil
if #awarded > 0 then aw = awarded end
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local json = appendOutbox('goal_set', rec, { gk = kind, gt = rec.cur.gt or '', gtd = num(rec, 'gtd'), aw = aw })
rememberEvent(cjson.encode({ k = 'goal_set', t = GOAL_KINDS[kind], x = 0, s = num(rec, 'xp'), v = num(rec, 'v'), aw = aw }))
return {1, json}
