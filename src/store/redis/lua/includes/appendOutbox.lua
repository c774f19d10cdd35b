--[[
  Append the change to the partition's outbox stream (KEYS[3]) as {k = kind, j = entry json},
  and push it on the learner channel as "<partition>|<entry json>": the live push for
  subscribers and the doorbell that wakes the outbox consumers. Returns the entry's JSON.
  `p`: the learner's board period scores the event changed (includes/periodXp.lua).
]]
--- @include "periodXp"
local function appendOutbox(kind, rec, fields)
  local entry = {
    k = kind, l = ev.learner, e = ev.id, id = ev.key, oa = ev.at, ra = ev.recordedAt,
    v = num(rec, 'v'), ep = num(rec, 'ep'), s = snapshotOf(rec), p = periodEntry(rec),
  }
  -- The learning day the event marked and the streak after it (includes/activeDay.lua).
  if rec.day then entry.dy = rec.day end
  if rec.streak then entry.st = rec.streak end
  -- The event's day toward daily goals, and the goals it completed (includes/goals.lua).
  if rec.goals then entry.gl = rec.goals end
  if rec.goalsDone then entry.gd = rec.goalsDone end
  for name, value in pairs(fields) do entry[name] = value end
  local json = cjson.encode(entry)
  redis.call('XADD', KEYS[3], '*', 'k', kind, 'j', json)
  redis.call('PUBLISH', ev.channel, ev.partition .. '|' .. json)
  return json
end
