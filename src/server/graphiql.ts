/** What GraphiQL opens with: a catalog query and the main operations, commented out. */
export const DEFAULT_QUERY = `# Paste a token into the headers below (npm run token -- alice@example.com), then try:
query Catalog {
  courses { id title lessonCount totalXp modules { title lessons { id title kind xpReward } } }
  levels { level minXp }
}

# mutation Enroll { enroll(courseId: "ts-foundations") { id enrolledAt } }
# mutation Complete { completeLesson(lessonId: "ts-1-1", eventId: "my-retry-safe-id-1") { xpAwarded totalXp level leveledUp badgesUnlocked { badge { name } } } }
# mutation Backfill { recordEvents(events: [{ id: "lms-42", type: LESSON_COMPLETED, lessonId: "ts-1-2", occurredAt: "2026-11-20T09:00:00Z" }]) { accepted duplicates rejected { index code message } } }
# query Me { me { totalXp level { level progress nextLevelXp } rank { rank score } enrollments { course { title } xpEarned progress { percentage } } } }
# subscription Live { achievementUnlocked { badge { name } awardedAt } }
`;
