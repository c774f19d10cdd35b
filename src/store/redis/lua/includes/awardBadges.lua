--[[
  Award the candidate badges the learner now meets and does not hold, each once (its field
  b:<badgeId> is the semantic key), paying its XP; then look again while XP changed, since a
  badge's XP can unlock another. `candidates` is [[badgeId, xpReward, rule], ...] with rules
  {'ge', field, n} | {'all', rule...} | {'any', rule...} over the learner's counters; the
  caller read every field they use. Returns {{badgeId, xp, awardedAt}, ...}.
]]
local function holds(rec, rule)
  local op = rule[1]
  if op == 'ge' then return num(rec, rule[2]) >= rule[3] end
  if op == 'all' then
    for i = 2, #rule do
      if not holds(rec, rule[i]) then return false end
    end
    return true
  end
  for i = 2, #rule do
    if holds(rec, rule[i]) then return true end
  end
  return false
end

local function awardBadges(rec, candidates)
  local awarded = {}
  local again = true
  while again do
    again = false
    for _, c in ipairs(candidates) do
      local field = 'b:' .. c[1]
      if not rec.cur[field] and holds(rec, c[3]) then
        put(rec, field, ev.at)
        appendList(rec, 'bs', c[1])
        awarded[#awarded + 1] = { c[1], c[2], ev.at }
        if c[2] > 0 then
          payXp(rec, c[2], ev.key .. ':' .. c[1], 'badge_unlocked', c[1])
          again = true
        end
      end
    end
  end
  return awarded
end
