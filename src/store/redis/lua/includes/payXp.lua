--[[
  Pay `amount` XP for (reason, source) under ledger id `txId` at the event's time: raise the
  total, move the time the total was reached forward (never back, so a backfill keeps it), and
  put the award at the head of the recent list `rx` (the newest RECENT_XP awards, which
  xpHistory shows before they reach Postgres), and add it to the learner's open board periods
  (includes/periodXp.lua), in `course`'s too when given (course XP). Needs the fields xp, xat and rx.
]]
--- @include "periodXp"
local RECENT_XP = 20

local function payXp(rec, amount, txId, reason, source, course)
  put(rec, 'xp', num(rec, 'xp') + amount)
  if ev.at > num(rec, 'xat') then put(rec, 'xat', ev.at) end
  addPeriodXp(rec, amount, course)
  local line = txId .. '\t' .. string.format('%d', amount) .. '\t' .. reason .. '\t' .. source .. '\t' .. string.format('%d', ev.at)
  local old = rec.cur.rx
  if not old or old == '' then
    put(rec, 'rx', line)
    return
  end
  -- Keep the newest RECENT_XP lines: cut the old list after its (RECENT_XP - 1)th line.
  local cut, from = nil, 1
  for _ = 1, RECENT_XP - 1 do
    cut = string.find(old, '\n', from, true)
    if not cut then break end
    from = cut + 1
  end
  if cut then old = string.sub(old, 1, cut - 1) end
  put(rec, 'rx', line .. '\n' .. old)
end
