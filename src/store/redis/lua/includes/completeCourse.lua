--[[
  Complete a course, once, when the event just completed one of its lessons or passed one of its
  quizzes: every lesson of the course completed and every quiz passed, in either order. The
  enrollment's ec:<course> takes the event's time (completedAt: the semantic key, set once),
  crs counts the course, and crt:<course> keeps the certificate code, made by the server
  (newCertificateCode) and passed in; it is kept only when the course completes here.
  `shape` is the course as the catalog snapshot has it: {"l": [lessonIds], "q": [quizIds]}.
  The counters cc:/cq: say when to look; the lessons' l: and the quizzes' qp: fields decide
  (a catalog edit can leave a counter above what the course now has), read only then.
  A course with neither lessons nor quizzes never completes.
  Needs enrollmentFields(course) and completeCourseFields(course). Returns {code, course, at} or nil.
]]
local function completeCourseFields(course)
  return { 'crs', 'crt:' .. course }
end

local function completeCourse(rec, course, shapeJson, code)
  if rec.cur['ec:' .. course] or code == '' then return nil end
  local shape = cjson.decode(shapeJson)
  local lessons, quizzes = shape.l, shape.q
  if #lessons + #quizzes == 0 then return nil end
  if num(rec, 'cc:' .. course) < #lessons or num(rec, 'cq:' .. course) < #quizzes then return nil end
  local fields = {}
  for _, id in ipairs(lessons) do fields[#fields + 1] = 'l:' .. id end
  for _, id in ipairs(quizzes) do fields[#fields + 1] = 'qp:' .. id end
  local stored = hmgetAll(KEYS[1], fields)
  for i, f in ipairs(fields) do
    -- What this event staged counts before what the hash held.
    local v = rec.cur[f]
    if v == nil then v = stored[i] end
    if not v then return nil end
  end
  put(rec, 'ec:' .. course, ev.at)
  put(rec, 'crs', num(rec, 'crs') + 1)
  put(rec, 'crt:' .. course, code)
  return { code = code, c = course, at = ev.at }
end
