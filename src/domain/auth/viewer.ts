import { Forbidden, Unauthenticated } from '../errors';
import { parseInput, printableId } from '../validation';

export type Role = 'service' | 'admin';

/** Who is calling: a learner (`id` is their learner id), maybe with extra roles. */
export interface Viewer {
  id: string;
  roles: ReadonlySet<Role>;
}

/** Learner ids are opaque strings (an email, a UUID): printable, at most 200 characters. */
export const learnerId = printableId('A learner id');

/** The signed-in viewer. @throws Unauthenticated */
export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw new Unauthenticated();
  return viewer;
}

/**
 * The learner an operation acts for: the viewer, or, for service and admin callers, the
 * `learnerId` they pass.
 * @throws Unauthenticated without a viewer; Forbidden when a learner names someone else
 */
export function actingFor(viewer: Viewer | null, requested?: string | null): string {
  const v = requireViewer(viewer);
  if (requested === undefined || requested === null || requested === v.id) return v.id;
  if (!v.roles.has('service') && !v.roles.has('admin')) {
    throw new Forbidden('You can only act for yourself; learnerId is for service callers.');
  }
  return parseInput(learnerId, requested, 'learnerId');
}

/** @throws Unauthenticated without a viewer; Forbidden without the admin role */
export function requireAdmin(viewer: Viewer | null): Viewer {
  const v = requireViewer(viewer);
  if (!v.roles.has('admin')) throw new Forbidden('Only admins can change the catalog.');
  return v;
}
