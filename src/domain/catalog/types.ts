import type { LevelTable } from '../levels/rules';
import type { BadgeCriteria } from '../badges/criteria';
import { candidatesFor, type BadgeCandidates } from '../badges/compile';

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
  private readonly candidatesByCourse = new Map<string, BadgeCandidates>();
  private quizBadges: BadgeCandidates | undefined;
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
   * The badges completing a lesson of `courseId` may unlock: those reading total XP, lessons
   * completed, or lessons completed in that course. Compiled once per snapshot and course.
   */
  lessonCandidates(courseId: string): BadgeCandidates {
    let c = this.candidatesByCourse.get(courseId);
    if (!c) {
      c = candidatesFor(this.badges, this.levels, new Set(['xp', 'lc', `cc:${courseId}`]));
      this.candidatesByCourse.set(courseId, c);
    }
    return c;
  }

  /**
   * The badges a quiz attempt may unlock: those reading total XP or quizzes passed (the first
   * pass pays XP and counts). Compiled once per snapshot.
   */
  quizCandidates(): BadgeCandidates {
    this.quizBadges ??= candidatesFor(this.badges, this.levels, new Set(['xp', 'qpc']));
    return this.quizBadges;
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

  static empty(): Catalog {
    return new Catalog([], [], null);
  }
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
