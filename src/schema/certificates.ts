import type { Course } from '../domain/catalog/types';
import type { IssuedCertificate } from '../domain/progress/certificates';
import { builder } from './builder';
import { CourseRef } from './catalog';
import type { Context } from './context';
import { LearnerRef } from './learner';

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

/** An issued certificate as the API shows it. */
export function certificateView(c: IssuedCertificate): CertificateView {
  return { id: c.code, code: c.code, learnerId: c.learnerId, courseId: c.courseId, issuedAt: new Date(c.issuedAt) };
}

/** The learner's certificates, oldest first, from the enrollments the request already reads. */
async function certificatesOf(learnerId: string, ctx: Context): Promise<CertificateView[]> {
  const enrollments = await ctx.loaders.enrollments.load(learnerId);
  return enrollments
    .filter((e) => e.certificateCode !== null && e.completedAt !== null)
    .map((e) => ({ id: e.certificateCode!, code: e.certificateCode!, learnerId, courseId: e.courseId, issuedAt: new Date(e.completedAt!) }))
    .sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime() || (a.courseId < b.courseId ? -1 : 1));
}

builder.objectField(LearnerRef, 'certificates', (t) =>
  t.field({
    type: [CertificateRef],
    description: 'Certificates of completed courses, oldest first (shown at once; public lookups by code follow within moments).',
    resolve: (s, _a, ctx) => certificatesOf(s.id, ctx),
  }),
);

builder.queryFields((t) => ({
  certificate: t.field({
    type: CertificateRef,
    nullable: true,
    description: 'Public verification of a certificate.',
    args: { code: t.arg.string({ required: true }) },
    resolve: async (_r, { code }, ctx) => {
      // Longer than any code (even with spaces around it): not found, and never sent anywhere.
      if (code.length > 64) return null;
      const c = await ctx.services.progress.certificate(code);
      return c ? certificateView(c) : null;
    },
  }),
}));
