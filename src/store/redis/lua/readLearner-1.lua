--[[
  Read the parts of a learner's hash a query asks for, in one step, at a cost that grows with
  what was asked (never with the learner's whole history).
  Input:  KEYS[1] learner hash
          ARGV[1] parts: any of 'e' (enrollments), 'b' (badges held), 'r' (recent XP awards)
  Output: {0} learner not in Redis;
          {1, {v, xp, xat, lc}, {courseId, e, ei, ex, exat, cc, ec, ...}, {badgeId, at, ...}, rx}
]]
local SLICE = 4000
local function hmgetAll(fields)
  local out = {}
  for i = 1, #fields, SLICE do
    local part = redis.call('HMGET', KEYS[1], unpack(fields, i, math.min(i + SLICE - 1, #fields)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end

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

local enrollments = {}
if string.find(parts, 'e', 1, true) then
  local courses = split(head[5])
  if #courses > 0 then
    local fields = {}
    for _, c in ipairs(courses) do
      for _, f in ipairs({ 'e:', 'ei:', 'ex:', 'exat:', 'cc:', 'ec:' }) do fields[#fields + 1] = f .. c end
    end
    local values = hmgetAll(fields)
    for i, c in ipairs(courses) do
      enrollments[#enrollments + 1] = c
      for j = 1, 6 do enrollments[#enrollments + 1] = values[(i - 1) * 6 + j] or '' end
    end
  end
end

local badges = {}
if string.find(parts, 'b', 1, true) then
  local ids = split(head[6])
  if #ids > 0 then
    local fields = {}
    for _, b in ipairs(ids) do fields[#fields + 1] = 'b:' .. b end
    local values = hmgetAll(fields)
    for i, b in ipairs(ids) do
      badges[#badges + 1] = b
      badges[#badges + 1] = values[i] or ''
    end
  end
end

local recent = ''
if string.find(parts, 'r', 1, true) then recent = head[7] or '' end

return {1, { head[1], head[2] or '0', head[3] or '0', head[4] or '0' }, enrollments, badges, recent}
