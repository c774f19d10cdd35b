import type { IssuedCertificate } from '../domain/progress/certificates';
import { builder } from './builder';
import { CourseRef, courseOrShell } from './catalog';
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

export const CertificateRef = builder.objectRef<CertificateView>('Certificate').implement({
  description: 'Proof that a learner completed a course: every lesson completed and every quiz passed.',
  fields: (t) => ({
    id: t.exposeID('id'),
    code: t.exposeString('code', { description: 'Public verification code (`certificate(code)`); unguessable.' }),
    learnerId: t.exposeID('learnerId'),
    course: t.field({ type: CourseRef, resolve: (c, _a, ctx) => courseOrShell(ctx.services.catalog.get(), c.courseId) }),
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
      const c = await ctx.services.progress.certificate(code);
      return c ? certificateView(c) : null;
    },
  }),
}));
