--[[
  The enrollment in `course` as entries carry it (`ce`), from the staged record. Needs the
  fields e: ei: ex: exat: cc: ec: cq: cw: of the course (enrollmentFields).
]]
local function enrollmentFields(course)
  return { 'e:' .. course, 'ei:' .. course, 'ex:' .. course, 'exat:' .. course, 'cc:' .. course, 'ec:' .. course, 'cq:' .. course, 'cw:' .. course }
end

local function enrollmentSnapshot(rec, course)
  return {
    i = rec.cur['ei:' .. course], eat = num(rec, 'e:' .. course), x = num(rec, 'ex:' .. course),
    xat = num(rec, 'exat:' .. course), cc = num(rec, 'cc:' .. course), ec = num(rec, 'ec:' .. course),
    cq = num(rec, 'cq:' .. course), cw = num(rec, 'cw:' .. course),
  }
end
