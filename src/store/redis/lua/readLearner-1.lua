--[[
  Read the parts of a learner's hash a query asks for, in one step, at a cost that grows with
  what was asked (never with the learner's whole history).
  Input:  KEYS[1] learner hash
          ARGV[1] parts: any of 'e' (enrollments), 'b' (badges held), 'r' (recent XP awards)
  Output: {0} learner not in Redis;
          {1, {v, xp, xat, lc}, {courseId, e, ei, ex, exat, cc, ec, cq, cw, crt, ...}, {badgeId, at, ...}, rx}
]]
--- @include "hashSlices"

local parts = ARGV[1]
local head = redis.call('HMGET', KEYS[1], 'v', 'xp', 'xat', 'lc', 'cs', 'bs', 'rx')
if not head[1] then return {0} end

local function split(list)
  local out = {}
  if list and list ~= '' then
    for item in string.gmatch(list, '[^,]+') do out[#out + 1] = item end
  end
  return out
end

-- Each id followed by its fields `prefix .. id`, one per prefix ('' when missing), read in one step.
local function withFields(ids, prefixes)
  local out = {}
  if #ids == 0 then return out end
  local fields = {}
  for _, id in ipairs(ids) do
    for _, p in ipairs(prefixes) do fields[#fields + 1] = p .. id end
  end
  local values = hmgetAll(KEYS[1], fields)
  local n = #prefixes
  for i, id in ipairs(ids) do
    out[#out + 1] = id
    for j = 1, n do out[#out + 1] = values[(i - 1) * n + j] or '' end
  end
  return out
end

local enrollments = {}
if string.find(parts, 'e', 1, true) then enrollments = withFields(split(head[5]), { 'e:', 'ei:', 'ex:', 'exat:', 'cc:', 'ec:', 'cq:', 'cw:', 'crt:' }) end

local badges = {}
if string.find(parts, 'b', 1, true) then badges = withFields(split(head[6]), { 'b:' }) end

local recent = ''
if string.find(parts, 'r', 1, true) then recent = head[7] or '' end

return {1, { head[1], head[2] or '0', head[3] or '0', head[4] or '0' }, enrollments, badges, recent}
