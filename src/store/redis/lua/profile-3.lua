--[[
  PROFILE_UPDATED (updateProfile): set the learner's display name (dn) and/or time zone. A new
  zone is appended to the zone history tzh ("fromMs zone;..." oldest first, at most
  MAX_ZONE_CHANGES, src/domain/engagement/zones.ts) from the event's recorded time (after the
  last change, whatever the clock did), and tzv, the history's version, becomes that time:
  learner scripts whose day was computed with another version answer -101 and run again. Days
  already marked stay as they are (a zone change never removes or recounts a day). Not
  learning activity: marks no day. Moves the version and appends the outbox entry.
  Input:  KEYS[1] learner hash   KEYS[2] event record   KEYS[3] partition outbox stream
          ARGV[1..10] the event header (includes/eventHeader.lua)
          ARGV[11] '1' to set the display name to ARGV[12] ('' clears it), '0' to keep it
          ARGV[13] the new zone (canonical IANA name), '' to keep it
  Output: {1, entry json} applied; {0, record json} a repeat of the caller's event id;
          {-100} learner not in Redis (hydrate, then retry)
]]
--- @include "eventHeader"
--- @include "learnerRecord"
--- @include "appendOutbox"

local MAX_ZONE_CHANGES = 16
local setName, name, zone = ARGV[11] == '1', ARGV[12], ARGV[13]

local seen = seenEvent()
if seen then return {0, seen} end

local rec = readLearner({ 'v', 'xp', 'xat', 'lc', 'dn', 'tzh', 'tzv' })
if not rec then return {-100} end

if setName then put(rec, 'dn', name) end
if zone ~= '' then
  local history = rec.cur.tzh or ''
  local entries = {}
  for entry in string.gmatch(history, '[^;]+') do entries[#entries + 1] = entry end
  local last = entries[#entries]
  local lastFrom, lastZone = 0, 'UTC'
  if last then
    local space = string.find(last, ' ', 1, true)
    lastFrom, lastZone = tonumber(string.sub(last, 1, space - 1)), string.sub(last, space + 1)
  end
  if zone ~= lastZone then
    local from = math.max(ev.recordedAt, lastFrom + 1)
    entries[#entries + 1] = string.format('%d', from) .. ' ' .. zone
    if #entries > MAX_ZONE_CHANGES then
      while #entries > MAX_ZONE_CHANGES do table.remove(entries, 1) end
      -- Trimmed: the oldest kept zone stands for every earlier instant (from 0), so a history
      -- that lost its start never falls back to UTC; an untrimmed one starts in UTC.
      local first = entries[1]
      entries[1] = '0' .. string.sub(first, string.find(first, ' ', 1, true))
    end
    put(rec, 'tzh', table.concat(entries, ';'))
    put(rec, 'tzv', string.format('%d', from))
  end
end
put(rec, 'v', num(rec, 'v') + 1)
writeLearner(rec)

local json = appendOutbox('profile', rec, { dn = rec.cur.dn or '', tzh = rec.cur.tzh or '' })
rememberEvent(cjson.encode({ k = 'profile', t = '', x = 0, s = num(rec, 'xp'), v = num(rec, 'v') }))
return {1, json}
