import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { learnerId } from '../domain/auth/viewer';
import type { Badge } from '../domain/catalog/types';
import { streakNow } from '../domain/engagement/facts';
import { BadInput, DomainError, RateLimited } from '../domain/errors';
import { levelOf } from '../domain/levels/rules';
import type { LearnerReads } from '../domain/ports';
import { normaliseCertificateCode } from '../domain/progress/certificates';
import { parseInput } from '../domain/validation';
import type { Logger } from '../logger';
import type { Services } from '../schema/context';
import { unavailableStore } from '../store/faults';
import type { Route } from './http';

/**
 * Shareable SVG cards: `/learners/:id/card.svg` (what `learner(id)` shows publicly: name, level,
 * XP, streak, badges) and `/certificates/:code.svg` (what `certificate(code)` verifies). Every
 * text is escaped; the CSP keeps an SVG opened on its own from running anything.
 */

/** How long browsers and proxies may keep a card before asking again (the ETag makes asking cheap). */
export const CARD_MAX_AGE_SECONDS = 60;
/** Most characters (graphemes) of a name or title on a card; longer ones end in "…". */
export const MAX_NAME_CHARS = 40;
/** Badges shown on a learner's card. */
export const CARD_BADGES = 3;

const CSP = "default-src 'none'; style-src 'unsafe-inline'";
const LEARNER_CARD = /^\/learners\/([^/]+)\/card\.svg$/;
const CERTIFICATE_CARD = /^\/certificates\/([^/]+)\.svg$/;

/** What is not allowed in XML 1.0 text or would disturb a one-line label: controls, lone surrogates, U+FFFE/FFFF. */
const NOT_TEXT = /[\p{Cc}\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/** `s` safe inside an XML element or attribute: controls removed, `& < > " '` as entities. Pure. */
export function xmlEscape(s: string): string {
  return s
    .replace(NOT_TEXT, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** `s` cut to `max` user-perceived characters (never inside a surrogate pair or an emoji sequence), "…" when cut. Pure. */
export function truncate(s: string, max = MAX_NAME_CHARS): string {
  const parts = [...graphemes.segment(s)].map((g) => g.segment);
  return parts.length <= max ? s : `${parts.slice(0, max - 1).join('').trimEnd()}…`;
}

/** What a learner's card shows: only what `PublicLearner` shows. */
export interface LearnerCard {
  id: string;
  displayName: string | null;
  totalXp: number;
  level: number;
  levelName: string | null;
  /** 0..1 of the way to the next level. */
  levelProgress: number;
  streak: number;
  longestStreak: number;
  /** The most recently awarded badges, newest first. */
  badges: { name: string; awardedAt: number }[];
}

/** What a certificate's card shows: what `certificate(code)` verifies. */
export interface CertificateCard {
  code: string;
  learnerId: string;
  learnerName: string | null;
  courseTitle: string;
  issuedAt: number;
  verifyUrl: string;
}

const t = (s: string, max = MAX_NAME_CHARS) => xmlEscape(truncate(s, max));
const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\"";
const number = (n: number) => n.toLocaleString('en-US');

/** The XML declaration, the `<svg>` start tag and its title (also its accessible name), escaped. */
function svgOpen(width: number, height: number, title: string): string[] {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${xmlEscape(title)}">`,
    `<title>${xmlEscape(title)}</title>`,
  ];
}

/** The SVG of a learner's public card (480x200). Pure. */
export function learnerCardSvg(c: LearnerCard): string {
  const name = c.displayName ?? c.id;
  const barWidth = Math.round(Math.min(1, Math.max(0, c.levelProgress)) * 432);
  const level = `Level ${c.level}${c.levelName ? ` · ${truncate(c.levelName, 20)}` : ''}`;
  const badges = c.badges.length === 0 ? 'No badges yet' : c.badges.map((b) => truncate(b.name, 18)).join(' · ');
  const title = `${truncate(name)}: level ${c.level}, ${number(c.totalXp)} XP, ${c.streak}-day streak`;
  return [
    ...svgOpen(480, 200, title),
    // A name of wide characters may be longer than the card: it is clipped at the margin.
    '<defs><clipPath id="name"><rect x="0" y="0" width="456" height="60"/></clipPath></defs>',
    '<rect width="480" height="200" rx="14" fill="#111827"/>',
    `<text x="24" y="44" ${FONT} font-size="20" font-weight="700" fill="#f9fafb" clip-path="url(#name)">${t(name)}</text>`,
    `<text x="24" y="74" ${FONT} font-size="15" fill="#a5b4fc">${xmlEscape(level)}</text>`,
    `<text x="456" y="74" ${FONT} font-size="15" fill="#f9fafb" text-anchor="end">${xmlEscape(number(c.totalXp))} XP</text>`,
    '<rect x="24" y="86" width="432" height="10" rx="5" fill="#374151"/>',
    `<rect x="24" y="86" width="${barWidth}" height="10" rx="5" fill="#6366f1"/>`,
    `<text x="24" y="130" ${FONT} font-size="16" fill="#fbbf24">${c.streak}-day streak</text>`,
    `<text x="456" y="130" ${FONT} font-size="13" fill="#9ca3af" text-anchor="end">longest ${c.longestStreak}</text>`,
    `<text x="24" y="170" ${FONT} font-size="14" fill="#d1d5db">${xmlEscape(badges)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** The SVG of a certificate (600x340). Pure. */
export function certificateSvg(c: CertificateCard): string {
  const who = c.learnerName ?? c.learnerId;
  const date = new Date(c.issuedAt).toISOString().slice(0, 10);
  const title = `Certificate: ${truncate(who)} completed ${truncate(c.courseTitle, 48)} on ${date}`;
  return [
    ...svgOpen(600, 340, title),
    '<rect width="600" height="340" rx="16" fill="#fffbeb"/>',
    '<rect x="12" y="12" width="576" height="316" rx="10" fill="none" stroke="#b45309" stroke-width="2"/>',
    `<text x="300" y="64" ${FONT} font-size="26" font-weight="700" fill="#78350f" text-anchor="middle">Certificate of completion</text>`,
    `<text x="300" y="104" ${FONT} font-size="15" fill="#92400e" text-anchor="middle">This certifies that</text>`,
    `<text x="300" y="142" ${FONT} font-size="26" font-weight="700" fill="#1f2937" text-anchor="middle">${t(who)}</text>`,
    `<text x="300" y="178" ${FONT} font-size="15" fill="#92400e" text-anchor="middle">completed the course</text>`,
    `<text x="300" y="212" ${FONT} font-size="20" font-weight="600" fill="#1f2937" text-anchor="middle">${t(c.courseTitle, 48)}</text>`,
    `<text x="300" y="248" ${FONT} font-size="14" fill="#92400e" text-anchor="middle">on ${date}</text>`,
    `<text x="300" y="290" font-family="ui-monospace, monospace" font-size="13" fill="#374151" text-anchor="middle">${xmlEscape(c.code)}</text>`,
    `<text x="300" y="312" ${FONT} font-size="11" fill="#6b7280" text-anchor="middle">Verify: ${xmlEscape(c.verifyUrl)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** The id in a path segment, or null when it is not valid percent-encoding. */
function segment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** `http://host` of a request, from a Host header that looks like one (else localhost). */
function originOf(req: IncomingMessage): string {
  const host = req.headers.host;
  const safeHost = host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? host : 'localhost';
  const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  return `${proto}://${safeHost}`;
}

class NotFound extends Error {}

export interface CardDeps {
  services: Services;
  reads: LearnerReads;
  log: Logger;
  /** PUBLIC_URL: the origin of the links a card shows (else the request's Host). */
  publicUrl?: string | null;
}

/** The learner's card facts, or NotFound. @throws BadInput, RateLimited, NotFound */
async function learnerCard(raw: string, client: string, deps: CardDeps): Promise<LearnerCard> {
  const decoded = segment(raw);
  if (decoded === null) throw new BadInput('Invalid id: the learner id in the URL is not valid percent-encoding.', 'id');
  const id = parseInput(learnerId, decoded, 'id');
  // The same lookup (and per-client budget for ids Redis does not hold) as learner(id).
  const counters = await deps.services.learners.lookup(id, client);
  if (!counters) throw new NotFound(`No learner with id ${JSON.stringify(truncate(id, 64))}.`);
  const now = deps.services.clock.now();
  const [facts, held] = await Promise.all([deps.reads.engagement(id, now), deps.reads.badges(id)]);
  const catalog = deps.services.catalog.get();
  const level = levelOf(counters.totalXp, catalog.levels);
  const streak = streakNow(facts, now);
  const badges = [...held]
    .map(([badgeId, awardedAt]) => ({ badge: catalog.badge(badgeId), awardedAt }))
    .filter((b): b is { badge: Badge; awardedAt: number } => b.badge !== undefined)
    .sort((a, b) => b.awardedAt - a.awardedAt || (a.badge.id < b.badge.id ? -1 : 1))
    .slice(0, CARD_BADGES)
    .map((b) => ({ name: b.badge.name, awardedAt: b.awardedAt }));
  return {
    id,
    displayName: facts.displayName,
    totalXp: counters.totalXp,
    level: level.level,
    levelName: level.name,
    levelProgress: level.progress,
    streak: streak.current,
    longestStreak: streak.longest,
    badges,
  };
}

/** The certificate's card facts. @throws BadInput, NotFound */
async function certificateCard(raw: string, origin: string, deps: CardDeps): Promise<CertificateCard> {
  const decoded = segment(raw);
  const code = decoded === null ? null : normaliseCertificateCode(decoded);
  if (code === null) throw new BadInput('Invalid code: a certificate code looks like CERT-XXXXX-XXXXX-XXXXX-XXXXX-XXXXXX.', 'code');
  const issued = await deps.services.progress.certificate(code);
  if (!issued) throw new NotFound(`No certificate with code ${code}.`);
  const facts = await deps.reads.engagement(issued.learnerId, deps.services.clock.now());
  const course = deps.services.catalog.get().course(issued.courseId);
  return {
    code: issued.code,
    learnerId: issued.learnerId,
    learnerName: facts.displayName,
    courseTitle: course?.title ?? issued.courseId,
    issuedAt: issued.issuedAt,
    verifyUrl: `${origin}/certificates/${issued.code}.svg`,
  };
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': CSP,
    ...headers,
  });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

function sendSvg(req: IncomingMessage, res: ServerResponse, svg: string): void {
  const etag = `"${createHash('sha256').update(svg).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'content-type': 'image/svg+xml; charset=utf-8',
    'cache-control': `public, max-age=${CARD_MAX_AGE_SECONDS}`,
    etag,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  };
  const known = req.headers['if-none-match'];
  if (known?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = Buffer.from(svg, 'utf8');
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The route of the SVG cards. Anonymous callers are limited like anonymous `learner(id)`
 * lookups (the same budget: `ip:<address>`), so a card cannot scan Postgres for ids.
 */
export function cardRoute(deps: CardDeps): Route {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const learner = LEARNER_CARD.exec(path);
    const certificate = learner ? null : CERTIFICATE_CARD.exec(path);
    if (!learner && !certificate) return false;
    const client = `ip:${req.socket.remoteAddress ?? 'unknown'}`;
    const render = learner
      ? learnerCard(learner[1]!, client, deps).then(learnerCardSvg)
      : certificateCard(certificate![1]!, deps.publicUrl ?? originOf(req), deps).then(certificateSvg);
    render.then(
      (svg) => sendSvg(req, res, svg),
      (err: unknown) => {
        if (err instanceof NotFound) return sendError(res, 404, 'NOT_FOUND', err.message);
        if (err instanceof BadInput) return sendError(res, 400, err.code, err.message);
        if (err instanceof RateLimited) return sendError(res, 429, err.code, err.message, { 'retry-after': String(err.retryAfterSeconds) });
        if (err instanceof DomainError) return sendError(res, err.code === 'UNAVAILABLE' ? 503 : 400, err.code, err.message);
        const store = unavailableStore(err);
        if (store !== null) {
          deps.log.warn({ err: (err as Error).message, path }, 'card unavailable: a store is unreachable');
          return sendError(res, 503, 'UNAVAILABLE', `The service cannot reach ${store === 'redis' ? 'its Redis' : 'its database'} right now. Retry in a little while.`, { 'retry-after': '5' });
        }
        deps.log.error({ err, path }, 'card failed');
        sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error drawing this card.');
      },
    );
    return true;
  };
}
