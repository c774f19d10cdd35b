import type { Course } from '../domain/catalog/types';
import { builder } from './builder';
import { CourseRef } from './catalog';
import type { Context } from './context';

/** A certificate as the API shows it: the learner's own (from Redis) or a public lookup (from Postgres). */
export interface CertificateView {
  /** The code itself: a certificate is one code. */
  id: string;
  code: string;
  learnerId: string;
  courseId: string;
  issuedAt: Date;
}

/** The course of a certificate; a course since removed from the catalog keeps an empty shell. */
export function certificateCourse(courseId: string, ctx: Context): Course {
  return (
    ctx.services.catalog.get().course(courseId) ?? {
      id: courseId,
      title: courseId,
      description: null,
      modules: [],
      lessonCount: 0,
      quizCount: 0,
      totalXp: 0,
    }
  );
}

export const CertificateRef = builder.objectRef<CertificateView>('Certificate').implement({
  description: 'Proof that a learner completed a course: every lesson completed and every quiz passed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code', { description: 'Public verification code (`certificate(code)`); unguessable.' }),
    learnerId: t.exposeID('learnerId'),
    course: t.field({ type: CourseRef, resolve: (c, _a, ctx) => certificateCourse(c.courseId, ctx) }),
    issuedAt: t.field({ type: 'DateTime', resolve: (c) => c.issuedAt }),
  }),
});
