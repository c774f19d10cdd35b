import type { LevelTable } from '../levels/rules';
import type { BadgeCriteria } from '../badges/criteria';
import { candidatesFor, NO_CANDIDATES, type BadgeCandidates } from '../badges/compile';

export type LessonKind = 'VIDEO' | 'READING' | 'CHALLENGE';

export interface Lesson {
  id: string;
  courseId: string;
  moduleId: string;
  title: string;
  kind: LessonKind;
  durationSeconds: number | null;
  xpReward: number;
  position: number;
}

export interface Quiz {
  id: string;
  courseId: string;
  moduleId: string;
  title: string;
  passScore: number;
  xpReward: number;
  position: number;
}

export interface Module {
  id: string;
  courseId: string;
  title: string;
  position: number;
  lessons: Lesson[];
  quizzes: Quiz[];
}

export interface Course {
  id: string;
  title: string;
  description: string | null;
  modules: Module[];
  /** Lessons in all modules. */
  lessonCount: number;
  /** Quizzes in all modules. */
  quizCount: number;
  /** What the course can pay: the sum of its lessons' and quizzes' xpReward. */
  totalXp: number;
}

export interface Badge {
  id: string;
  name: string;
  description: string | null;
  imageUrl: string | null;
  criteria: BadgeCriteria;
  xpReward: number;
}

/** Everything the catalog holds, as one immutable snapshot with lookups. */
export class Catalog {
  private readonly courseById: Map<string, Course>;
  private readonly lessonById = new Map<string, Lesson>();
  private readonly quizById = new Map<string, Quiz>();
  private readonly badgeById: Map<string, Badge>;
  /** Badge candidates per event kind and target, compiled on first use (see the methods). */
  private readonly candidatesByCourse = new Map<string, BadgeCandidates>();
  private readonly watchCandidatesByCourse = new Map<string, BadgeCandidates>();
  private readonly candidatesByQuiz = new Map<string, BadgeCandidates>();
  private dayBadges: BadgeCandidates | undefined;
  private readonly shapeByCourse = new Map<string, string>();

  constructor(
    readonly courses: readonly Course[],
    readonly badges: readonly Badge[],
    readonly levels: LevelTable,
  ) {
    this.courseById = new Map(courses.map((c) => [c.id, c]));
    for (const course of courses) {
      for (const mod of course.modules) {
        for (const lesson of mod.lessons) this.lessonById.set(lesson.id, lesson);
        for (const quiz of mod.quizzes) this.quizById.set(quiz.id, quiz);
      }
    }
    this.badgeById = new Map(badges.map((b) => [b.id, b]));
  }

  course(id: string): Course | undefined {
    return this.courseById.get(id);
  }

  lesson(id: string): Lesson | undefined {
    return this.lessonById.get(id);
  }

  quiz(id: string): Quiz | undefined {
    return this.quizById.get(id);
  }

  badge(id: string): Badge | undefined {
    return this.badgeById.get(id);
  }

  /**
   * The badges completing a lesson of `courseId` may unlock: those reading what a completion
   * changes (total XP, lessons completed in all and in the course, videos completed, the
   * course's completion: `crs`, `ec:<course>`, and what a new day moves: {@link DAY_CHANGES}).
   * Compiled once per snapshot and course.
   */
  lessonCandidates(courseId: string): BadgeCandidates {
    return cached(this.candidatesByCourse, courseId, () => this.candidatesChanging(lessonChanges(courseId)));
  }

  /**
   * The badges a watch of a lesson of `courseId` may unlock: the watch time (`wt`), and all a
   * completion changes, since a watch that reaches the threshold completes the lesson.
   * Compiled once per snapshot and course.
   */
  watchCandidates(courseId: string): BadgeCandidates {
    return cached(this.watchCandidatesByCourse, courseId, () => this.candidatesChanging([...lessonChanges(courseId), 'wt']));
  }

  /**
   * The badges an attempt of `quizId` may unlock: those reading total XP (the first pass
   * pays), attempts (`qt`, `qn:<quiz>`), best scores (`qb:<quiz>`, `qbm`), quizzes passed
   * (`qpc`), the completion of the quiz's course (`crs`, `ec:<course>`), or what a new day
   * moves (`ad`, `sk`, `gc`: see {@link DAY_CHANGES}). Compiled once per snapshot and quiz;
   * nothing for a quiz the catalog does not hold.
   */
  quizCandidates(quizId: string): BadgeCandidates {
    const quiz = this.quizById.get(quizId);
    if (!quiz) return NO_CANDIDATES;
    return cached(this.candidatesByQuiz, quizId, () =>
      this.candidatesChanging(['xp', 'qt', 'qpc', `qn:${quizId}`, `qb:${quizId}`, 'qbm', 'crs', `ec:${quiz.courseId}`, ...DAY_CHANGES]),
    );
  }

  /**
   * The badges an event that only marks its day active may unlock (an enrollment, a lesson
   * access): those reading what a new day moves ({@link DAY_CHANGES}), and total XP, since a
   * badge's XP (or a goal's bonus) can unlock another. Compiled once per snapshot.
   */
  dayCandidates(): BadgeCandidates {
    this.dayBadges ??= this.candidatesChanging([...DAY_CHANGES, 'xp']);
    return this.dayBadges;
  }

  /**
   * A course's lessons and quizzes as the scripts that can complete it take them
   * (lua/includes/completeCourse.lua): `{"l": [lessonIds], "q": [quizIds]}`; empty lists for
   * an unknown course. Encoded once per snapshot and course.
   */
  courseShape(courseId: string): string {
    let shape = this.shapeByCourse.get(courseId);
    if (shape === undefined) {
      const modules = this.courseById.get(courseId)?.modules ?? [];
      shape = JSON.stringify({ l: modules.flatMap((m) => m.lessons.map((l) => l.id)), q: modules.flatMap((m) => m.quizzes.map((q) => q.id)) });
      this.shapeByCourse.set(courseId, shape);
    }
    return shape;
  }

  private candidatesChanging(fields: readonly string[]): BadgeCandidates {
    return candidatesFor(this.badges, this.levels, new Set(fields));
  }

  static empty(): Catalog {
    return new Catalog([], [], null);
  }
}

/**
 * What any learner event can move by bringing a new active day, or by counting towards the
 * day's goal: active days (`ad`), the current streak (`sk`) and daily goals completed (`gc`).
 */
export const DAY_CHANGES = ['ad', 'sk', 'gc'] as const;

/** What completing a lesson of `courseId` can change in the learner's hash. */
function lessonChanges(courseId: string): string[] {
  return ['xp', 'lc', `cc:${courseId}`, 'vc', 'crs', `ec:${courseId}`, ...DAY_CHANGES];
}

function cached(map: Map<string, BadgeCandidates>, key: string, make: () => BadgeCandidates): BadgeCandidates {
  let c = map.get(key);
  if (!c) {
    c = make();
    map.set(key, c);
  }
  return c;
}

/** Build a course with its derived totals from its modules. Pure. */
export function assembleCourse(
  base: { id: string; title: string; description: string | null },
  modules: Module[],
): Course {
  let lessonCount = 0;
  let quizCount = 0;
  let totalXp = 0;
  for (const m of modules) {
    lessonCount += m.lessons.length;
    quizCount += m.quizzes.length;
    for (const l of m.lessons) totalXp += l.xpReward;
    for (const q of m.quizzes) totalXp += q.xpReward;
  }
  return { ...base, modules, lessonCount, quizCount, totalXp };
}
