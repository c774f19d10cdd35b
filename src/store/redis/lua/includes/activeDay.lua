--[[
  Mark the event's learning day active and keep the streak. The day is ev.ctx.d: the days since
  1970-01-01 of the event's calendar date in the learner's zone in force when it occurred,
  computed by the server with the zone history of version ev.ctx.z (zoneStale says when that
  history is no longer the learner's: the script answers {-101, history} and the server runs it
  again). ad counts the days marked (what `active_days` badges read).

  The day set is one field of the hash: `days`, a bitmap (a binary string) relative to the base
  day `d0`: bit i is day d0 + i, byte floor(i / 8), most significant bit first (as Redis bitmaps
  count: GETBIT days i). A day after the last byte appends zero bytes; a day before d0 (a
  backfill) moves d0 back by whole bytes and prepends zero bytes. The set never spans more than
  MAX_SPAN_DAYS (100 years, 4.6 KB): a day that would make it wider is not marked (the event
  still applies; ad and the streak do not count that day). Events date from 2000-01-01 to a few
  minutes ahead (domain/events/rules.ts), so no accepted event reaches that bound before 2100.
  Hashes written before the bitmap held one `d:<day>` field per day: the first event that
  marks a day converts them (HKEYS once, the bitmap built, the d: fields dropped with the write).

  The streak (src/domain/engagement/streak.ts, StreakState): sk the run, sf the freezes held and
  sl the longest run, all as of sd, the latest active day. A new latest day moves them forward
  (advanceStreak: O(1)); a late day before sd rebuilds them from the bitmap (streakFromDays:
  O(span / 8) bytes, zero bytes skipped, once per newly marked past day). `streak_days` badges
  read sk. rec.day and rec.streak (with changed = true when the day was new) are what the entry
  carries. Call after the guards, before badges. Needs the fields of activeDayFields().
]]
local ACTIVE_DAY = ev.ctx.d
-- The learner's day when the event is recorded (in the zone in force now): what the entry's streak is as of.
local TODAY = ev.ctx.t
local DAYS_PER_FREEZE, MAX_FREEZES = 7, 2
local MAX_SPAN_DAYS = 36600

local function activeDayFields()
  return { 'ad', 'days', 'd0', 'tzv', 'tzh', 'sk', 'sd', 'sf', 'sl' }
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

-- Whether `day` is in the bitmap `days` based at d0.
local function hasDay(days, d0, day)
  if not days or days == '' then return false end
  local i = day - d0
  if i < 0 then return false end
  local b = string.byte(days, math.floor(i / 8) + 1)
  return b ~= nil and bit.band(b, bit.rshift(128, i % 8)) ~= 0
end

-- The bitmap with `day` set, and its base: grown (appended or rebased by whole bytes) as
-- needed. nil when that would span more than `maxSpan` days (nil: no bound).
local function withDay(days, d0, day, maxSpan)
  if not days or days == '' then return string.char(128), day end
  local i = day - d0
  if i < 0 then
    local grow = math.ceil(-i / 8)
    if maxSpan and (#days + grow) * 8 > maxSpan + 7 then return nil end
    days = string.rep('\0', grow) .. days
    d0 = d0 - grow * 8
    i = day - d0
  end
  local at = math.floor(i / 8) + 1
  if at > #days then
    if maxSpan and at * 8 > maxSpan + 7 then return nil end
    days = days .. string.rep('\0', at - #days)
  end
  local b = bit.bor(string.byte(days, at), bit.rshift(128, i % 8))
  return string.sub(days, 1, at - 1) .. string.char(b) .. string.sub(days, at + 1), d0
end

-- A hash from before the bitmap: its d: fields as a bitmap (staged), the fields dropped when
-- the learner is written. Once per learner.
local function convertDayFields(rec)
  local names = redis.call('HKEYS', KEYS[1])
  local list = {}
  for _, name in ipairs(names) do
    if string.sub(name, 1, 2) == 'd:' then list[#list + 1] = name end
  end
  if #list == 0 then return end
  local days, d0 = nil, nil
  for _, name in ipairs(list) do days, d0 = withDay(days, d0, tonumber(string.sub(name, 3)), nil) end
  put(rec, 'days', days)
  put(rec, 'd0', d0)
  rec.drop = rec.drop or {}
  for _, name in ipairs(list) do rec.drop[#rec.drop + 1] = name end
end

-- The streak of every day in the bitmap, oldest first.
local function streakFromDays(days, d0)
  local s = { run = 0, freezes = 0, longest = 0 }
  for at = 1, #days do
    local b = string.byte(days, at)
    if b ~= 0 then
      for k = 0, 7 do
        if bit.band(b, bit.rshift(128, k)) ~= 0 then advanceStreak(s, d0 + (at - 1) * 8 + k) end
      end
    end
  end
  return s
end

local function markActiveDay(rec)
  rec.day = ACTIVE_DAY
  if not rec.cur.days and num(rec, 'ad') > 0 then convertDayFields(rec) end
  local d0 = tonumber(rec.cur.d0)
  local changed = false
  if not hasDay(rec.cur.days, d0, ACTIVE_DAY) then
    local days, base = withDay(rec.cur.days, d0, ACTIVE_DAY, MAX_SPAN_DAYS)
    if days then
      changed = true
      put(rec, 'days', days)
      if base ~= d0 then put(rec, 'd0', base) end
      d0 = base
    end
  end
  if changed then
    put(rec, 'ad', num(rec, 'ad') + 1)
    local s
    local last = tonumber(rec.cur.sd)
    -- A hash with days and no streak fields (kept in Redis since before streaks): from the days.
    if last == nil and num(rec, 'ad') > 1 then
      s = streakFromDays(rec.cur.days, d0)
      s.longest = math.max(s.longest, num(rec, 'sl'))
    elseif last == nil or ACTIVE_DAY > last then
      s = { run = num(rec, 'sk'), freezes = num(rec, 'sf'), longest = num(rec, 'sl'), last = last }
      advanceStreak(s, ACTIVE_DAY)
    else
      s = streakFromDays(rec.cur.days, d0)
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
    t = TODAY, a = hasDay(rec.cur.days, d0, TODAY), c = changed,
  }
end
