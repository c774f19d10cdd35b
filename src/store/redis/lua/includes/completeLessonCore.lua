--[[
  Complete a lesson, once: the one path of an explicit completion (completeLesson-3) and of a
  watch that reaches the lesson's threshold (watchLesson-3), so a lesson pays once whichever comes
  first. The caller checked the guards (enrolled in `course`, l:<lesson> not set).
  l:<lesson> (the semantic key) takes the event's time; lc and cc:<course> count the lesson,
  and vc too when it is a VIDEO lesson (`video`, from the catalog's kind); the lesson's XP
  (from the catalog) is paid under lesson_completed and counts in the course XP.
  Needs the fields of lessonCoreFields(lesson, course) (and enrollmentFields(course)).
]]
--- @include "payXp"

local function lessonCoreFields(lesson, course)
  return { 'v', 'xp', 'xat', 'lc', 'vc', 'rx', 'bs', 'l:' .. lesson, 'e:' .. course, 'ex:' .. course, 'exat:' .. course, 'cc:' .. course }
end

local function completeLessonCore(rec, lesson, course, xp, video)
  put(rec, 'l:' .. lesson, ev.at)
  put(rec, 'lc', num(rec, 'lc') + 1)
  put(rec, 'cc:' .. course, num(rec, 'cc:' .. course) + 1)
  if video then put(rec, 'vc', num(rec, 'vc') + 1) end
  if xp > 0 then
    payXp(rec, xp, ev.key, 'lesson_completed', lesson, course)
    put(rec, 'ex:' .. course, num(rec, 'ex:' .. course) + xp)
    if ev.at > num(rec, 'exat:' .. course) then put(rec, 'exat:' .. course, ev.at) end
  end
end
