--[[
  Mark the event's learning day active and keep the streak. The day is ev.ctx.d: the days since
  1970-01-01 of the event's calendar date in the learner's zone in force when it occurred,
  computed by the server with the zone history of version ev.ctx.z (zoneStale says when that
  history is no longer the learner's: the script answers {-101, history} and the server runs it
  again). The field d:<day> marks a day, once; ad counts the days marked (what `active_days`
  badges read). One field per active day: read one at a time, so a read that does not ask pays
  nothing for a long history.

  The streak (src/domain/engagement/streak.ts, StreakState): sk the run, sf the freezes held and
  sl the longest run, all as of sd, the latest active day. A new latest day moves them forward
  (advanceStreak: O(1)); a late day before sd rebuilds them from every d: field
  (streakStateOf: O(hash), once per newly marked past day). `streak_days` badges read sk.
  rec.day and rec.streak (with changed = true when the day was new) are what the entry carries.
  Call after the guards, before badges. Needs the fields of activeDayFields().
]]
local ACTIVE_DAY = ev.ctx.d
-- The learner's day when the event is recorded (in the zone in force now): what the entry's streak is as of.
local TODAY = ev.ctx.t
local DAYS_PER_FREEZE, MAX_FREEZES = 7, 2

local function activeDayFields()
  return { 'ad', 'd:' .. ACTIVE_DAY, 'd:' .. TODAY, 'tzv', 'tzh', 'sk', 'sd', 'sf', 'sl' }
end

-- The learner's zone changed since the server computed the day: compute it again.
local function zoneStale(rec)
  return num(rec, 'tzv') ~= ev.ctx.z
end

local function advanceStreak(s, day)
  if s.last then
    local missed = day - s.last - 1
    if missed == 1 and s.freezes > 0 then
      s.freezes = s.freezes - 1
    elseif missed > 0 then
      s.run = 0
    end
  end
  s.run = s.run + 1
  if s.run % DAYS_PER_FREEZE == 0 then s.freezes = math.min(MAX_FREEZES, s.freezes + 1) end
  s.last = day
  if s.run > s.longest then s.longest = s.run end
end

local function streakFromDays()
  local days = {}
  local names = redis.call('HKEYS', KEYS[1])
  for _, name in ipairs(names) do
    if string.sub(name, 1, 2) == 'd:' then days[#days + 1] = tonumber(string.sub(name, 3)) end
  end
  days[#days + 1] = ACTIVE_DAY
  table.sort(days)
  local s = { run = 0, freezes = 0, longest = 0 }
  local prev = nil
  for _, day in ipairs(days) do
    if day ~= prev then advanceStreak(s, day) end
    prev = day
  end
  return s
end

local function markActiveDay(rec)
  rec.day = ACTIVE_DAY
  local field = 'd:' .. ACTIVE_DAY
  local changed = not rec.cur[field]
  if changed then
    put(rec, field, 1)
    put(rec, 'ad', num(rec, 'ad') + 1)
    local s
    local last = tonumber(rec.cur.sd)
    -- A hash with days and no streak fields (kept in Redis since before streaks): from the days.
    if last == nil and num(rec, 'ad') > 1 then
      s = streakFromDays()
      s.longest = math.max(s.longest, num(rec, 'sl'))
    elseif last == nil or ACTIVE_DAY > last then
      s = { run = num(rec, 'sk'), freezes = num(rec, 'sf'), longest = num(rec, 'sl'), last = last }
      advanceStreak(s, ACTIVE_DAY)
    else
      s = streakFromDays()
      -- The longest run never shrinks.
      if num(rec, 'sl') > s.longest then s.longest = num(rec, 'sl') end
    end
    put(rec, 'sk', s.run)
    put(rec, 'sf', s.freezes)
    put(rec, 'sl', s.longest)
    put(rec, 'sd', s.last)
  end
  rec.streak = {
    r = num(rec, 'sk'), f = num(rec, 'sf'), l = num(rec, 'sl'), d = tonumber(rec.cur.sd) or 0,
    t = TODAY, a = rec.cur['d:' .. TODAY] and true or false, c = changed,
  }
end
