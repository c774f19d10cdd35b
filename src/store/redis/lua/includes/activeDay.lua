--[[
  Mark the event's learning day active. A day is the event's UTC day, as its number of days
  since 1970-01-01 (the engagement issue passes the day in the learner's time zone instead);
  the field d:<day> marks it, once, and ad counts the days marked (the learner's active days,
  what `active_days` badges read). One field per active day: read one at a time, so a read
  that does not ask pays nothing for a long history. Call after the guards, before badges.
  Needs the fields of activeDayFields().
]]
local ACTIVE_DAY = ev.ctx.d

local function activeDayFields()
  return { 'ad', 'd:' .. ACTIVE_DAY }
end

local function markActiveDay(rec)
  local field = 'd:' .. ACTIVE_DAY
  if rec.cur[field] then return end
  put(rec, field, 1)
  put(rec, 'ad', num(rec, 'ad') + 1)
end
