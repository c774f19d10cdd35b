/**
 * A bounded load of real mutations, sent as a careful client would: every completion carries
 * its own `eventId`, and an unknown outcome (timeout, connection error, HTTP 5xx, UNAVAILABLE,
 * INTERNAL_SERVER_ERROR) is sent again with the SAME eventId until it is answered, so a retry
 * can never pay twice. Every answer is recorded: acknowledgements (`xpAwarded`), refusals with
 * their code, and each attempt's start, end and outcome (for the time to fail and to recover).
 */
import { sleep } from './stores';

export interface Op {
  learner: string;
  /** The lesson completed; for a quiz attempt, the quiz (see `quiz`). */
  lesson: string;
  eventId: string;
  /** A quiz attempt with this score instead of a lesson completion. */
  quiz?: { score: number };
  /** Watch time on `lesson` (recordWatchTime) instead of a completion. */
  watch?: { seconds: number };
  /** Enroll first (with its own event id) in this course. */
  enroll?: { courseId: string; eventId: string };
}

export interface Ack {
  op: Op;
  xpAwarded: number;
  totalXp: number;
  at: number;
  attempts: number;
}

export interface Attempt {
  t0: number;
  t1: number;
  ok: boolean;
  /** What went wrong: a code, `timeout`, `network`, `http <status>`. */
  error?: string;
}

/** One operation's final outcome. */
export type Outcome = { kind: 'ack'; ack: Ack } | { kind: 'refused'; op: Op; code: string } | { kind: 'gave-up'; op: Op; last: string };

export interface GqlAnswer {
  data?: any;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

export const COMPLETE = `mutation($lessonId: ID!, $learnerId: ID, $eventId: ID) {
  completeLesson(lessonId: $lessonId, learnerId: $learnerId, eventId: $eventId) { lessonId xpAwarded totalXp }
}`;
export const SUBMIT = `mutation($quizId: ID!, $score: Int!, $learnerId: ID, $eventId: ID) {
  submitQuizAttempt(quizId: $quizId, score: $score, learnerId: $learnerId, eventId: $eventId) { xpAwarded totalXp attempt { attemptNumber } }
}`;
export const WATCH = `mutation($lessonId: ID!, $seconds: Int!, $learnerId: ID, $eventId: ID) {
  recordWatchTime(lessonId: $lessonId, seconds: $seconds, learnerId: $learnerId, eventId: $eventId) { watchTimeSeconds completion { xpAwarded totalXp } }
}`;
const ENROLL = `mutation($courseId: ID!, $learnerId: ID, $eventId: ID) { enroll(courseId: $courseId, learnerId: $learnerId, eventId: $eventId) { id } }`;

/** Codes that say nothing was decided: send the same request again. */
const UNKNOWN_OUTCOME = new Set(['UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);

/** POST one operation; throws on network errors and timeouts, returns the HTTP status and body otherwise. */
export async function post(url: string, token: string | null, query: string, variables: Record<string, unknown>, timeoutMs: number): Promise<{ status: number; body: GqlAnswer | null }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as GqlAnswer };
  } catch {
    return { status: res.status, body: null };
  }
}

/** POST and return `data`. @throws on any error (for set-up steps, not the load) */
export async function gqlData<T = any>(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
  const { status, body } = await post(url, token, query, variables, timeoutMs);
  if (status !== 200 || !body || body.errors?.length || !body.data) throw new Error(`GraphQL ${status}: ${JSON.stringify(body?.errors ?? body).slice(0, 400)}`);
  return body.data as T;
}

export interface LoadOptions {
  /** Where to send; called per attempt, so a drill can fail over between servers. */
  urls: () => string[];
  token: string;
  ops: Op[];
  /** Operations in flight at once. */
  concurrency?: number;
  /** Upper bound on new operations started per second (all workers together). */
  ratePerSec?: number;
  /** A client's patience with one attempt. */
  requestTimeoutMs?: number;
  /** An operation still unanswered this long after its first attempt is given up (reported). */
  giveUpMs?: number;
}

/** One operation on its way: its current step, attempts so far and when it may be sent again. */
interface Job {
  op: Op;
  step: 'enroll' | 'complete';
  firstAt: number;
  attempts: number;
  backoffMs: number;
  notBefore: number;
}

/**
 * The load generator: `start()`, inject faults, `finish()` (stops taking new operations, waits
 * for those started). A refused attempt of unknown outcome waits (backoff 100 ms to 1 s) in a
 * retry list while the workers go on with other learners, so one learner that cannot be served
 * (e.g. a new one while Postgres is down) does not stall the others; a learner has one
 * operation at a time, so an enrollment is always answered before its first completion.
 */
export class Load {
  readonly acks: Ack[] = [];
  readonly outcomes: Outcome[] = [];
  readonly attempts: Attempt[] = [];
  private next = 0;
  private stopping = false;
  private running: Promise<void> | null = null;
  private readonly retries: Job[] = [];
  /** Learners with an operation started and not yet finished. */
  private readonly busy = new Set<string>();
  /** Fresh operations passed over because their learner was busy, in order. */
  private readonly deferred: Op[] = [];
  private readonly concurrency: number;
  private readonly intervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly giveUpMs: number;
  private nextStartAt = 0;
  private rr = 0;

  constructor(private readonly o: LoadOptions) {
    this.concurrency = o.concurrency ?? 4;
    this.intervalMs = 1000 / (o.ratePerSec ?? 150);
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000;
    this.giveUpMs = o.giveUpMs ?? 120_000;
  }

  /** Operations started so far. */
  get started(): number {
    return this.next - this.deferred.length;
  }

  start(): this {
    this.running = Promise.all(Array.from({ length: this.concurrency }, () => this.worker())).then(() => undefined);
    return this;
  }

  /** Stop starting operations; resolve when every started one has its outcome. */
  async finish(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Resolve when every operation has been started and answered (the load ran out). */
  async done(): Promise<void> {
    await this.running;
  }

  /** Wait until `n` more acknowledgements arrived (or `timeoutMs` passed, or the load ran out). */
  async waitForAcks(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.acks.length + n;
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length < target && Date.now() < deadline && !this.exhausted()) await sleep(20);
  }

  private exhausted(): boolean {
    return this.next >= this.o.ops.length && this.deferred.length === 0 && this.busy.size === 0;
  }

  /** The next job to send: a retry that is due, else a fresh operation of a learner not busy. */
  private pick(now: number): Job | null {
    const due = this.retries.findIndex((j) => j.notBefore <= now);
    if (due >= 0) return this.retries.splice(due, 1)[0]!;
    if (this.stopping) return null;
    const fresh = (op: Op): Job => {
      this.busy.add(op.learner);
      return { op, step: op.enroll ? 'enroll' : 'complete', firstAt: now, attempts: 0, backoffMs: 100, notBefore: now };
    };
    const d = this.deferred.findIndex((op) => !this.busy.has(op.learner));
    if (d >= 0) return fresh(this.deferred.splice(d, 1)[0]!);
    // Look a little way ahead for a learner who is free; pass over (defer) the busy ones.
    while (this.next < this.o.ops.length && this.deferred.length < 1000) {
      const op = this.o.ops[this.next++]!;
      if (!this.busy.has(op.learner)) return fresh(op);
      this.deferred.push(op);
    }
    return null;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const job = this.pick(Date.now());
      if (!job) {
        const waiting = this.retries.length > 0 || (!this.stopping && !this.exhausted()) || this.busy.size > 0;
        if (!waiting) return;
        await sleep(10);
        continue;
      }
      // Pace the attempts so the load stays modest on a shared machine.
      const now = Date.now();
      const at = Math.max(now, this.nextStartAt);
      this.nextStartAt = at + this.intervalMs;
      if (at > now) await sleep(at - now);
      await this.step(job);
    }
  }

  private url(): string {
    const urls = this.o.urls();
    return urls[this.rr++ % urls.length]!;
  }

  /**
   * One attempt. `ok` with data, `final` with a definite refusal code, or `retry` with why.
   */
  private async attempt(query: string, variables: Record<string, unknown>): Promise<{ kind: 'ok'; data: any } | { kind: 'final'; code: string } | { kind: 'retry'; why: string }> {
    const t0 = Date.now();
    let result: { kind: 'ok'; data: any } | { kind: 'final'; code: string } | { kind: 'retry'; why: string };
    try {
      const { status, body } = await post(this.url(), this.o.token, query, variables, this.requestTimeoutMs);
      const code = body?.errors?.[0]?.extensions?.code;
      if (status === 200 && body?.data && !body.errors?.length) result = { kind: 'ok', data: body.data };
      else if (status >= 500 || !body) result = { kind: 'retry', why: code ? `${code}${body?.errors?.[0]?.extensions?.reason ? `/${body.errors[0].extensions.reason}` : ''}` : `http ${status}` };
      else if (!code || UNKNOWN_OUTCOME.has(code)) result = { kind: 'retry', why: code ?? `http ${status}` };
      else result = { kind: 'final', code };
    } catch (err) {
      const e = err as Error;
      result = { kind: 'retry', why: e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : 'network' };
    }
    this.attempts.push({ t0, t1: Date.now(), ok: result.kind !== 'retry', ...(result.kind === 'retry' ? { error: result.why } : {}) });
    return result;
  }

  private end(job: Job, outcome: Outcome): void {
    this.busy.delete(job.op.learner);
    this.outcomes.push(outcome);
  }

  /** Send a job's current step once (same variables every time, so the same eventId) and move it on. */
  private async step(job: Job): Promise<void> {
    const { op } = job;
    job.attempts++;
    const r =
      job.step === 'enroll'
        ? await this.attempt(ENROLL, { courseId: op.enroll!.courseId, learnerId: op.learner, eventId: op.enroll!.eventId })
        : op.quiz
          ? await this.attempt(SUBMIT, { quizId: op.lesson, score: op.quiz.score, learnerId: op.learner, eventId: op.eventId })
          : op.watch
            ? await this.attempt(WATCH, { lessonId: op.lesson, seconds: op.watch.seconds, learnerId: op.learner, eventId: op.eventId })
            : await this.attempt(COMPLETE, { lessonId: op.lesson, learnerId: op.learner, eventId: op.eventId });
    if (r.kind === 'retry') {
      if (Date.now() - job.firstAt > this.giveUpMs) return this.end(job, { kind: 'gave-up', op, last: `${job.step}: ${r.why}` });
      job.notBefore = Date.now() + job.backoffMs;
      job.backoffMs = Math.min(job.backoffMs * 2, 1000);
      this.retries.push(job);
      return;
    }
    if (job.step === 'enroll') {
      if (r.kind === 'final' && r.code !== 'ALREADY_ENROLLED') return this.end(job, { kind: 'refused', op, code: `enroll: ${r.code}` });
      job.step = 'complete';
      job.attempts = 0;
      job.backoffMs = 100;
      // Straight on to the completion, as a client would.
      return this.step(job);
    }
    if (r.kind === 'final') return this.end(job, { kind: 'refused', op, code: r.code });
    // A watch of a READING lesson pays nothing (its total only); it is acknowledged with no XP.
    const c = (op.quiz ? r.data.submitQuizAttempt : op.watch ? (r.data.recordWatchTime.completion ?? { xpAwarded: 0, totalXp: 0 }) : r.data.completeLesson) as { xpAwarded: number; totalXp: number };
    const ack: Ack = { op, xpAwarded: c.xpAwarded, totalXp: c.totalXp, at: Date.now(), attempts: job.attempts };
    this.acks.push(ack);
    this.end(job, { kind: 'ack', ack });
  }
}

/**
 * Operations for `learners` learners x `lessons` lessons, each learner enrolling with its first.
 * Learner i completes lesson j in slot `i + j * stride`: with the default stride (the learner
 * count) every learner does lesson 1, then every learner lesson 2, ...; a small stride keeps
 * new learners arriving while others go on with their course.
 */
export function completionOps(o: { run: string; learners: number; lessonIds: string[]; lessons?: number; courseId: string; stride?: number; quizId?: string }): Op[] {
  const slots: [number, Op][] = [];
  const lessons = o.lessons ?? o.lessonIds.length;
  const stride = o.stride ?? o.learners;
  // With a quiz: every learner first fails it (40) and passes it (90), then does their lessons
  // (the last one completes the course and issues its certificate, so loads that stop early
  // still finish courses), then watches 30 s of their first lesson (a READING one: time, never XP).
  type Step = { lesson: number } | { quiz: { score: number } } | { watch: { seconds: number } };
  const steps: Step[] = [
    ...(o.quizId ? [{ quiz: { score: 40 } }, { quiz: { score: 90 } }] : []),
    ...Array.from({ length: lessons }, (_, j) => ({ lesson: j })),
    ...(o.quizId ? [{ watch: { seconds: 30 } }] : []),
  ];
  for (let i = 0; i < o.learners; i++) {
    let extra = 0;
    steps.forEach((step, j) => {
      const x = 'lesson' in step ? undefined : step;
      slots.push([
        i + j * stride,
        {
          learner: `${o.run}-u${i}`,
          lesson: 'lesson' in step ? o.lessonIds[step.lesson]! : 'quiz' in step ? o.quizId! : o.lessonIds[0]!,
          eventId: 'lesson' in step ? `${o.run}-e-${i}-${step.lesson}` : `${o.run}-x-${i}-${extra++}`,
          ...(x ?? {}),
          ...(j === 0 ? { enroll: { courseId: o.courseId, eventId: `${o.run}-enroll-${i}` } } : {}),
        },
      ]);
    });
  }
  return slots.sort((a, b) => a[0] - b[0]).map(([, op]) => op);
}

/**
 * Timing of one fault, from the attempts: `timeToFailMs` is the longest a failed attempt waited
 * after the fault before it failed (a hang shows as the client's timeout), `ackGapMs` the longest
 * stretch without an acknowledgement from the fault until the load ended, `recoverMs` from the
 * heal (restart, SIGCONT) to the first successful attempt that ended after it.
 */
export interface FaultTiming {
  failedAttempts: number;
  timeToFailMs: number;
  ackGapMs: number;
  recoverMs: number | null;
  errors: Record<string, number>;
}

/** The worst of several faults' timings (errors summed). */
export function worstOf(timings: FaultTiming[]): FaultTiming {
  const errors: Record<string, number> = {};
  for (const t of timings) for (const [k, n] of Object.entries(t.errors)) errors[k] = (errors[k] ?? 0) + n;
  return {
    failedAttempts: timings.reduce((s, t) => s + t.failedAttempts, 0),
    timeToFailMs: Math.max(...timings.map((t) => t.timeToFailMs)),
    ackGapMs: Math.max(...timings.map((t) => t.ackGapMs)),
    recoverMs: timings.some((t) => t.recoverMs === null) ? null : Math.max(...timings.map((t) => t.recoverMs!)),
    errors,
  };
}

export function timingOf(load: Load, faultAt: number, healAt: number, until = Date.now()): FaultTiming {
  const after = load.attempts.filter((a) => a.t1 >= faultAt && a.t0 <= until);
  const failed = after.filter((a) => !a.ok);
  const errors: Record<string, number> = {};
  for (const a of failed) errors[a.error!] = (errors[a.error!] ?? 0) + 1;
  const timeToFailMs = failed.reduce((m, a) => Math.max(m, a.t1 - Math.max(a.t0, faultAt)), 0);
  const okEnds = after
    .filter((a) => a.ok)
    .map((a) => a.t1)
    .sort((a, b) => a - b);
  let gap = 0;
  let prev = faultAt;
  for (const t of okEnds) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  const firstOk = okEnds.find((t) => t >= healAt);
  return { failedAttempts: failed.length, timeToFailMs, ackGapMs: gap, recoverMs: firstOk === undefined ? null : firstOk - healAt, errors };
}
