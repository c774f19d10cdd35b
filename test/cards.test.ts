import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateSvg, learnerCardSvg, truncate, xmlEscape } from '../src/server/cards';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;
let base: string;

const HOSTILE = `</text><script>alert(1)</script>&"' 🦄🎉`;
const LOOKUPS_PER_MINUTE = 5;

const PROFILE = 'mutation($i: ProfileInput!) { updateProfile(input: $i) { displayName } }';
const COMPLETE = 'mutation($l: ID!, $who: ID) { completeLesson(lessonId: $l, learnerId: $who) { certificateIssued { code } } }';

async function ok(query: string, variables: Record<string, unknown>, token = service) {
  const res = await t.gql(query, { variables, token });
  expect(res.errors).toBeUndefined();
  return res.data!;
}

/** Every text node and attribute value of an XML document, decoded. */
function textsOf(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const n of node) textsOf(n, out);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) textsOf(v, out);
  return out;
}

/** Parse an SVG as XML (failing on anything malformed), its root element and texts. */
function parseSvg(body: string): { svg: Record<string, unknown>; texts: string[] } {
  const valid = XMLValidator.validate(body);
  expect(valid, JSON.stringify(valid)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', htmlEntities: false, processEntities: true }).parse(body) as Record<string, unknown>;
  expect(Object.keys(doc).filter((k) => !k.startsWith('?'))).toEqual(['svg']);
  const svg = doc.svg as Record<string, unknown>;
  expect(svg['@xmlns']).toBe('http://www.w3.org/2000/svg');
  return { svg, texts: textsOf(svg) };
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });

beforeAll(async () => {
  t = await startTestApp(env, { config: { LEARNER_LOOKUPS_PER_MINUTE: String(LOOKUPS_PER_MINUTE) } });
  base = `http://127.0.0.1:${t.port}`;
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'cc', modules: 1, lessons: 2, xp: 60 }));
  await t.app.services.catalog.upsertBadge({ id: 'cc-first', name: `<b>&"Star"'`, criteria: { type: 'xp_total', value: 1 }, xpReward: 0 });
  await ok('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { c: 'cc', l: 'card-ann' });
  await ok(PROFILE, { i: { displayName: HOSTILE } }, await tokenFor('card-ann'));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('/learners/:id/card.svg', () => {
  it('draws the public stats of a learner with a hostile name as valid, escaped SVG', async () => {
    await ok(COMPLETE, { l: 'cc-l1', who: 'card-ann' });
    const res = await get('/learners/card-ann/card.svg');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const body = await res.text();
    expect(body).not.toContain('<script');
    const { svg, texts } = parseSvg(body);
    // The name comes back exactly, as text: no element was injected.
    expect(texts).toContain(HOSTILE);
    expect(Object.keys(svg)).not.toContain('script');
    expect(texts.some((s) => s.includes('60 XP'))).toBe(true);
    expect(texts.some((s) => s.includes(`<b>&"Star"'`))).toBe(true);
    expect(texts.some((s) => /Level \d+/.test(s))).toBe(true);
  });

  it('answers 304 to the ETag it gave while nothing changed, and a new card after a change', async () => {
    const first = await get('/learners/card-ann/card.svg');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect((await get('/learners/card-ann/card.svg', { 'if-none-match': etag })).status).toBe(304);
    await ok(COMPLETE, { l: 'cc-l2', who: 'card-ann' });
    const after = await get('/learners/card-ann/card.svg', { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    expect(parseSvg(await after.text()).texts.some((s) => s.includes('120 XP'))).toBe(true);
  });

  it('cuts a long name by whole characters, never inside a surrogate pair', async () => {
    // 49 characters (60 UTF-16 units): cut to 39 and "…", the 39th being the first emoji.
    await ok(PROFILE, { i: { displayName: 'a'.repeat(38) + '🦄'.repeat(11) } }, await tokenFor('card-long'));
    const res = await get('/learners/card-long/card.svg');
    expect(res.status).toBe(200);
    const { texts } = parseSvg(await res.text());
    expect(texts).toContain(`${'a'.repeat(38)}🦄…`);
  });

  it('shows the id when there is no display name, URL-encoded ids too', async () => {
    await ok('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { c: 'cc', l: 'bob@example.com' });
    const res = await get(`/learners/${encodeURIComponent('bob@example.com')}/card.svg`);
    expect(res.status).toBe(200);
    expect(parseSvg(await res.text()).texts).toContain('bob@example.com');
  });

  it('answers 404 with a clear message for an unknown learner, 400 for a bad id', async () => {
    const missing = await get('/learners/nobody-here/card.svg');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [{ message: 'No learner with id "nobody-here".', extensions: { code: 'NOT_FOUND' } }] });
    for (const bad of ['%E0%A4%A', encodeURIComponent('a b'), encodeURIComponent('x\u202Ey'), 'x'.repeat(201)]) {
      const res = await get(`/learners/${bad}/card.svg`);
      expect(res.status, bad).toBe(400);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0]!.message).not.toContain('\n');
    }
  });

  it('spends the learner(id) lookup budget on unknown ids, so cards cannot scan the database', async () => {
    let refused: Response | null = null;
    for (let i = 0; i < LOOKUPS_PER_MINUTE + 3 && !refused; i += 1) {
      const res = await get(`/learners/scan-${i}/card.svg`);
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(404);
    }
    expect(refused).not.toBeNull();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused!.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('RATE_LIMITED');
    // The same budget as learner(id) from the same address: GraphQL is refused too.
    const gql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ learner(id: "scan-gql") { id } }' }),
    });
    expect(((await gql.json()) as { errors?: { extensions: { code: string } }[] }).errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    // Known learners are still drawn (Redis answers them without asking Postgres).
    expect((await get('/learners/card-ann/card.svg')).status).toBe(200);
  });
});

describe('/certificates/:code.svg', () => {
  it('draws a certificate after a course is completed, escaped and valid', async () => {
    await ok('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { c: 'cc', l: 'card-cert' });
    await ok(PROFILE, { i: { displayName: HOSTILE } }, await tokenFor('card-cert'));
    await ok(COMPLETE, { l: 'cc-l1', who: 'card-cert' });
    const done = await ok(COMPLETE, { l: 'cc-l2', who: 'card-cert' });
    const code = (done.completeLesson as { certificateIssued: { code: string } }).certificateIssued.code;
    // Public lookups read Postgres: the certificate shows once written behind.
    const res = await eventually(async () => {
      const r = await get(`/certificates/${code}.svg`);
      return r.status === 200 ? r : null;
    }, 5000, 'the certificate card');
    expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    const { texts } = parseSvg(await res.text());
    expect(texts).toContain(HOSTILE);
    expect(texts).toContain('Course cc');
    expect(texts).toContain(code);
    expect(texts).toContain(`on ${new Date().toISOString().slice(0, 10)}`);
    expect(texts).toContain(`Verify: ${base}/certificates/${code}.svg`);
    // A forged Host or X-Forwarded-Proto cannot put another site in the link where PUBLIC_URL is set.
    const pinned = await startTestApp(env, { config: { PUBLIC_URL: 'https://learn.example.com/' } });
    try {
      const forged = await fetch(`${pinned.url.replace('/graphql', '')}/certificates/${code}.svg`, { headers: { host: 'evil.example', 'x-forwarded-proto': 'http' } });
      expect(forged.status).toBe(200);
      expect(parseSvg(await forged.text()).texts).toContain(`Verify: https://learn.example.com/certificates/${code}.svg`);
    } finally {
      await pinned.stop();
    }
    // A code typed in lower case is the same certificate.
    expect((await get(`/certificates/${code.toLowerCase()}.svg`)).status).toBe(200);
  });

  it('answers 404 for an unknown code and 400 for what cannot be a code', async () => {
    const unknown = 'CERT-00000-00000-00000-00000-000000';
    const missing = await get(`/certificates/${unknown}.svg`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [{ message: `No certificate with code ${unknown}.`, extensions: { code: 'NOT_FOUND' } }] });
    const bad = await get(`/certificates/${encodeURIComponent('<x>')}.svg`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('escaping and cutting (pure)', () => {
  it('escapes the five XML specials and drops what XML text cannot hold', () => {
    expect(xmlEscape(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f');
    // NUL, ESC, a line break, DEL, a C1 control, lone surrogates, U+FFFE: none is valid in a label.
    expect(xmlEscape('x\u0000y\u001b[31m\nz\u007f\u0085\udfff\ud800\ufffe!')).toBe('xy[31mz!');
    // A surrogate pair is one character and stays.
    expect(xmlEscape('🦄')).toBe('🦄');
  });

  it('cuts by user-perceived characters: emoji sequences stay whole', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
    expect(truncate('👩‍💻👩‍💻👩‍💻👩‍💻', 3)).toBe('👩‍💻👩‍💻…');
    expect(truncate('a🦄🦄🦄', 3)).toBe('a🦄…');
  });

  it('draws cards that parse as XML whatever the texts hold', () => {
    const nasty = `]]><!--x--><?pi?>&amp;\u0001\ud83e "'` + 'é'.repeat(80);
    const learner = learnerCardSvg({ id: nasty, displayName: null, totalXp: 1234567, level: 9, levelName: nasty, levelProgress: 1.7, streak: 3, longestStreak: 12, badges: [{ name: nasty, awardedAt: 0 }] });
    const { texts } = parseSvg(learner);
    expect(texts.some((s) => s.startsWith(']]><!--x--><?pi?>&amp;'))).toBe(true);
    expect(learner).toContain('width="432"');
    const cert = certificateSvg({ code: 'CERT-1', learnerId: nasty, learnerName: nasty, courseTitle: nasty, issuedAt: Date.UTC(2026, 0, 2), verifyUrl: `http://x/<a>"` });
    expect(parseSvg(cert).texts).toContain('on 2026-01-02');
  });
});
