import { describe, expect, it } from 'vitest';
import type { DurableAudit } from './pg/learners';
import { quizCounterFields } from './redis/learnerHash';
import { concludeUnsettled, exitCodeOf, type VerifyReport } from './verify';
import { compareLearner, expectedScores } from './verifyLearner';

const report = (over: Partial<VerifyReport> = {}): VerifyReport => ({ learners: 2, boards: 1, boardEntries: 1, drift: [], unsettled: [], repaired: [], driftAfterRepair: [], ...over });

describe('verify: learners Redis holds ahead of Postgres', () => {
  it('are drift once nothing is left to write, and with --repair drift left: never exit 0 over them', () => {
    const r = report({ unsettled: ['amy'] });
    concludeUnsettled(r, true, true);
    expect(r.unsettled).toEqual([]);
    expect(r.drift.map((d) => d.learnerId)).toEqual(['amy']);
    expect(r.driftAfterRepair.map((d) => d.learnerId)).toEqual(['amy']);
    expect(exitCodeOf(r, true)).toBe(1);

    const plain = report({ unsettled: ['amy'] });
    concludeUnsettled(plain, true, false);
    expect(plain.driftAfterRepair).toEqual([]);
    expect(exitCodeOf(plain, false)).toBe(1);
  });

  it('are not drift while the outbox still holds writes for Postgres', () => {
    const r = report({ unsettled: ['amy'] });
    concludeUnsettled(r, false, true);
    expect(r.unsettled).toEqual(['amy']);
    expect(r.drift).toEqual([]);
    expect(exitCodeOf(r, true)).toBe(0);
  });

  it('repaired drift exits 0, drift left exits 1', () => {
    const d = { learnerId: 'bo', what: 'x' };
    expect(exitCodeOf(report({ drift: [d], repaired: ['bo'] }), true)).toBe(0);
    expect(exitCodeOf(report({ drift: [d], repaired: ['bo'], driftAfterRepair: [d] }), true)).toBe(1);
    expect(exitCodeOf(report({ drift: [d] }), false)).toBe(1);
  });
});

/** A learner with one course and two quizzes: q1 passed on the 2nd attempt (best 90), q2 failed once (best 40). */
const durable = (): DurableAudit => ({
  epoch: 1,
  version: 5,
  totalXp: 30,
  lessonsCompleted: 0,
  ledgerXp: 30,
  lessons: [],
  badges: [],
  courses: new Map([['c', { xpEarned: 30, ledgerXp: 30, quizzesPassed: 1, passedQuizzes: 1, watchSeconds: 0, watchedSeconds: 0, completedAt: null, certificate: null }]]),
  quizzes: new Map([
    ['q1', { attempts: 2, best: 90, passed: true, rows: 2 }],
    ['q2', { attempts: 1, best: 40, passed: false, rows: 1 }],
  ]),
  watched: new Map(),
  videosCompleted: 0,
  activeDays: 2,
  goalTargets: '',
  goalDays: [],
  goalsCompleted: 0,
  periods: new Map(),
  // Tuesday 2026-11-24 12:00 UTC, the audit's time: the hash keeps these periods and later ones
  periodsKeptFrom: { DAILY: '2026-11-23', WEEKLY: '2026-W48', MONTHLY: '2026-11' },
});

const hot = (): Record<string, string> => ({
  ep: '1',
  v: '5',
  xp: '30',
  lc: '0',
  'e:c': '1',
  'ex:c': '30',
  'cq:c': '1',
  'qn:q1': '2',
  'qb:q1': '90',
  'qp:q1': '1000',
  'qn:q2': '1',
  'qb:q2': '40',
  qt: '3',
  qpc: '1',
  qbs: '130',
  qbn: '2',
  qbm: '90',
  ad: '2',
  // Days 20414 and 20415: the bitmap based at 20414 (1100 0000), as raw() reads it.
  days: '\xc0',
  d0: '20414',
  sk: '2',
  sf: '0',
  sl: '2',
  sd: '20415',
});

describe('quizCounterFields', () => {
  it('sums attempts, passes and best scores, counts the quizzes and keeps the highest best', () => {
    const quizzes = new Map([
      ['q1', { attempts: 2, bestScore: 90, passedAt: 1000 }],
      ['q2', { attempts: 1, bestScore: 40, passedAt: null }],
    ]);
    expect(quizCounterFields(quizzes)).toEqual(['qt', 3, 'qpc', 1, 'qbs', 130, 'qbn', 2, 'qbm', 90]);
    expect(quizCounterFields(new Map())).toEqual(['qt', 0, 'qpc', 0, 'qbs', 0, 'qbn', 0, 'qbm', 0]);
  });
});

describe('compareLearner on quizzes', () => {
  it('agrees when Redis and the attempt rows say the same', () => {
    expect(compareLearner(hot(), durable())).toEqual({ state: 'ok' });
  });

  it('finds each quiz counter that disagrees', () => {
    for (const [field, value, problem] of [
      ['qpc', '2', /qpc 2 vs 1/],
      ['qt', '4', /qt 4 vs 3/],
      ['qbs', '131', /qbs 131 vs 130/],
      ['qbn', '1', /qbn 1 vs 2/],
      ['qbm', '40', /qbm 40 vs 90/],
      ['qb:q2', '50', /quiz q2: Redis 1 attempts, best 50, Postgres 1 attempts, best 40/],
      ['qn:q1', '3', /quiz q1/],
      ['cq:c', '2', /course c quizzes passed 2 vs 1/],
    ] as const) {
      const verdict = compareLearner({ ...hot(), [field]: value }, durable());
      expect(verdict.state, field).toBe('drift');
      expect((verdict as { problems: string[] }).problems.join('\n'), field).toMatch(problem);
    }
    const { 'qp:q1': _passed, ...notPassed } = hot();
    expect(compareLearner(notPassed, durable())).toMatchObject({ state: 'drift', problems: [expect.stringMatching(/quiz q1: Redis 2 attempts, best 90, Postgres 2 attempts, best 90, passed/)] });
  });

  it("finds a Postgres enrollment whose quizzes passed disagree with the attempts, and missing attempt rows", () => {
    const p = durable();
    p.courses.set('c', { xpEarned: 30, ledgerXp: 30, quizzesPassed: 0, passedQuizzes: 1, watchSeconds: 0, watchedSeconds: 0, completedAt: null, certificate: null });
    p.quizzes.set('q1', { attempts: 2, best: 90, passed: true, rows: 1 });
    const verdict = compareLearner(null, p) as { state: string; problems: string[] };
    expect(verdict.state).toBe('drift');
    expect(verdict.problems).toEqual(['Postgres course c quizzes passed 0 vs 1 in the attempts', 'Postgres quiz q1: 1 attempt rows for 2 attempts']);
  });
});

/** The learner above, who also watched two lessons of c (l1 for 100 s, l2 for 20 s) and completed l1, a video. */
const watcher = (): { hot: Record<string, string>; durable: DurableAudit } => {
  const d = durable();
  d.lessons = ['l1'];
  d.lessonsCompleted = 1;
  d.watched = new Map([
    ['l1', 100],
    ['l2', 20],
  ]);
  d.videosCompleted = 1;
  d.courses.set('c', { ...d.courses.get('c')!, watchSeconds: 120, watchedSeconds: 120 });
  return { hot: { ...hot(), lc: '1', 'l:l1': '1000', 'w:l1': '100', 'w:l2': '20', 'wu:l1': '1000', 'wu:l2': '900', 'cw:c': '120', wt: '120', vc: '1' }, durable: d };
};

describe('compareLearner on watch time', () => {
  it('agrees when Redis and the progress rows say the same', () => {
    const { hot: h, durable: d } = watcher();
    expect(compareLearner(h, d)).toEqual({ state: 'ok' });
  });

  it('finds each watch field that disagrees', () => {
    for (const [field, value, problem] of [
      ['wt', '121', /wt 121 vs 120/],
      ['w:l2', '21', /lesson l2 watched: Redis 21 s, Postgres 20 s/],
      ['w:l3', '5', /lesson l3 watched: Redis 5 s, Postgres 0 s/],
      ['cw:c', '119', /course c watched 119 s vs 120 s/],
      ['vc', '0', /vc 0 vs 1/],
    ] as const) {
      const { hot: h, durable: d } = watcher();
      const verdict = compareLearner({ ...h, [field]: value }, d);
      expect(verdict.state, field).toBe('drift');
      expect((verdict as { problems: string[] }).problems.join('\n'), field).toMatch(problem);
    }
  });

  it('finds a Postgres enrollment whose watched seconds disagree with the progress rows', () => {
    const { durable: d } = watcher();
    d.courses.set('c', { ...d.courses.get('c')!, watchSeconds: 100 });
    expect(compareLearner(null, d)).toEqual({ state: 'drift', problems: ['Postgres course c watched 100 s vs 120 s in the progress rows'] });
  });
});

/** The learner above, whose course c is completed with certificate CERT-A at 2000. */
const finisher = (): { hot: Record<string, string>; durable: DurableAudit } => {
  const d = durable();
  d.courses.set('c', { ...d.courses.get('c')!, completedAt: 2000, certificate: 'CERT-A' });
  return { hot: { ...hot(), 'ec:c': '2000', 'crt:c': 'CERT-A', crs: '1' }, durable: d };
};

describe('compareLearner on course completions and certificates', () => {
  it('agrees when Redis and Postgres hold the same completion and code', () => {
    const { hot: h, durable: d } = finisher();
    expect(compareLearner(h, d)).toEqual({ state: 'ok' });
  });

  it('finds each completion field that disagrees', () => {
    for (const [field, value, problem] of [
      ['crt:c', 'CERT-B', /course c certificate: Redis CERT-B, Postgres CERT-A/],
      ['ec:c', '2001', /course c completed: Redis 2001, Postgres 2000/],
      ['crs', '2', /crs 2 vs 1 completed enrollments/],
    ] as const) {
      const { hot: h, durable: d } = finisher();
      const verdict = compareLearner({ ...h, [field]: value }, d);
      expect(verdict.state, field).toBe('drift');
      expect((verdict as { problems: string[] }).problems.join('\n'), field).toMatch(problem);
    }
    const { hot: h, durable: d } = finisher();
    const { 'crt:c': _code, ...noCode } = h;
    expect((compareLearner(noCode, d) as { problems: string[] }).problems.join('\n')).toMatch(/completed without a certificate/);
  });

  it('finds a Postgres completion without its certificate', () => {
    const { durable: d } = finisher();
    d.courses.set('c', { ...d.courses.get('c')!, certificate: null });
    expect(compareLearner(null, d)).toEqual({ state: 'drift', problems: ['Postgres course c: completed without a certificate'] });
  });
});

describe('compareLearner on active days', () => {
  it('finds ad that disagrees with the days marked or with Postgres', () => {
    expect(compareLearner(hot(), durable())).toEqual({ state: 'ok' });
    expect((compareLearner({ ...hot(), ad: '3' }, durable()) as { problems: string[] }).problems).toEqual([
      'Redis ad 3 vs 2 days marked',
      'Redis ad 3 vs 2 active days in Postgres',
    ]);
    const p = durable();
    p.activeDays = 1;
    expect((compareLearner(hot(), p) as { problems: string[] }).problems).toEqual(['Redis ad 2 vs 1 active days in Postgres']);
  });

  it('reads the days marked from the bitmap, and from d: fields of a hash not converted yet', () => {
    // 20415 only in the bitmap (based a byte before, 0000 0000 0000 0000 1 ...): one day marked.
    expect((compareLearner({ ...hot(), days: '\x00\x00\x80', d0: '20399' }, durable()) as { problems: string[] }).problems).toContain('Redis ad 2 vs 1 days marked');
    const { days: _b, d0: _d0, ...noBitmap } = hot();
    expect((compareLearner(noBitmap, durable()) as { problems: string[] }).problems).toContain('Redis ad 2 vs 0 days marked');
    expect(compareLearner({ ...noBitmap, 'd:20414': '1', 'd:20415': '1' }, durable())).toEqual({ state: 'ok' });
    expect(compareLearner({ ...noBitmap, days: '\x80', d0: '20414', 'd:20415': '1' }, durable())).toEqual({ state: 'ok' });
  });

  it('finds streak fields the days marked do not give, and a hash with days but no streak (written before streaks)', () => {
    expect((compareLearner({ ...hot(), sk: '5', sl: '5' }, durable()) as { problems: string[] }).problems).toEqual([
      'Redis streak (sk 5, sf 0, sl 5, sd 20415) vs (2, 0, 2, 20415) from its 2 days marked',
    ]);
    const { sk: _k, sf: _f, sl: _l, sd: _d, ...before } = hot();
    expect((compareLearner(before, durable()) as { problems: string[] }).problems).toEqual([
      'Redis streak (sk 0, sf 0, sl 0, sd none) vs (2, 0, 2, 20415) from its 2 days marked',
    ]);
  });
});

describe('compareLearner and expectedScores on board periods', () => {
  // The learner earned 30 XP in course c on 2026-11-23 (W48, November) at 1000 ms, and 7 XP on 2026-11-20 (W47, frozen by now).
  const scores = (xp: number) => ({ global: { xp, at: 1000 }, courses: new Map([['c', { xp, at: 1000 }]]) });
  const withPeriods = (): { hot: Record<string, string>; durable: DurableAudit } => {
    const d = durable();
    d.periods = new Map([
      ['2026-11-23', scores(30)],
      ['2026-W48', scores(30)],
      ['2026-11', scores(37)],
      ['2026-W47', scores(7)],
    ]);
    const pp = { '2026-11-23': { g: [30, 1000], c: { c: [30, 1000] } }, '2026-W48': { g: [30, 1000], c: { c: [30, 1000] } }, '2026-11': { g: [37, 1000], c: { c: [37, 1000] } } };
    return { hot: { ...hot(), pp: JSON.stringify(pp) }, durable: d };
  };

  it('agrees when the hash holds the ledger\'s scores of the periods that can still change', () => {
    const { hot: h, durable: d } = withPeriods();
    expect(compareLearner(h, d)).toEqual({ state: 'ok' });
    // A frozen period the hash still holds (not dropped yet) is not compared.
    expect(compareLearner({ ...h, pp: JSON.stringify({ ...JSON.parse(h.pp!), '2026-W46': { g: [1, 1], c: {} } }) }, d)).toEqual({ state: 'ok' });
  });

  it('finds a period score that disagrees, or one missing', () => {
    const { hot: h, durable: d } = withPeriods();
    const pp = JSON.parse(h.pp!);
    pp['2026-W48'].c.c = [31, 1000];
    delete pp['2026-11-23'];
    expect(compareLearner({ ...h, pp: JSON.stringify(pp) }, d)).toEqual({
      state: 'drift',
      problems: [
        'period 2026-11-23: Redis nothing, ledger 30 XP at 1000',
        'period 2026-11-23 course c: Redis nothing, ledger 30 XP at 1000',
        'period 2026-W48 course c: Redis 31 XP at 1000, ledger 30 XP at 1000',
      ],
    });
  });

  it('expects open periods from the hash and frozen ones from the ledger', () => {
    const { hot: h, durable: d } = withPeriods();
    const pp = JSON.parse(h.pp!);
    pp['2026-W48'].g = [32, 1000];
    const expected = expectedScores({ ...h, pp: JSON.stringify(pp) }, d);
    expect(expected.get('p:2026-W48:g')).toBe(32);
    expect(expected.get('p:2026-W47:g')).toBe(7);
    expect(expected.get('p:2026-W47:c:c')).toBe(7);
    expect(expected.get('p:2026-11:c:c')).toBe(37);
  });
});
