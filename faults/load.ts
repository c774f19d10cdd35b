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
  lesson: string;
  eventId: string;
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

/** The load generator: `start()`, inject faults, `finish()` (stops taking new operations, waits for those in flight). */
export class Load {
  readonly acks: Ack[] = [];
  readonly outcomes: Outcome[] = [];
  readonly attempts: Attempt[] = [];
  private next = 0;
  private stopping = false;
  private running: Promise<void> | null = null;
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
    return this.next;
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

  /** Wait until `n` more acknowledgements arrived (or `timeoutMs` passed). */
  async waitForAcks(n: number, timeoutMs = 30_000): Promise<void> {
    const target = this.acks.length + n;
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length < target && Date.now() < deadline && this.next < this.o.ops.length) await sleep(20);
  }

  private async worker(): Promise<void> {
    for (;;) {
      if (this.stopping || this.next >= this.o.ops.length) return;
      // Pace the starts so the load stays modest on a shared machine.
      const now = Date.now();
      const at = Math.max(now, this.nextStartAt);
      this.nextStartAt = at + this.intervalMs;
      if (at > now) await sleep(at - now);
      if (this.stopping || this.next >= this.o.ops.length) return;
      const op = this.o.ops[this.next++]!;
      this.outcomes.push(await this.run(op));
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

  /** Send until answered (same variables, so the same eventId) or given up. */
  private async untilAnswered(query: string, variables: Record<string, unknown>, firstAt: number): Promise<{ kind: 'ok'; data: any; attempts: number } | { kind: 'final'; code: string } | { kind: 'gave-up'; last: string }> {
    let attempts = 0;
    let backoff = 100;
    for (;;) {
      attempts++;
      const r = await this.attempt(query, variables);
      if (r.kind === 'ok') return { ...r, attempts };
      if (r.kind === 'final') return r;
      if (Date.now() - firstAt > this.giveUpMs) return { kind: 'gave-up', last: r.why };
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1000);
    }
  }

  private async run(op: Op): Promise<Outcome> {
    const firstAt = Date.now();
    if (op.enroll) {
      const e = await this.untilAnswered(ENROLL, { courseId: op.enroll.courseId, learnerId: op.learner, eventId: op.enroll.eventId }, firstAt);
      if (e.kind === 'gave-up') return { kind: 'gave-up', op, last: `enroll: ${e.last}` };
      if (e.kind === 'final' && e.code !== 'ALREADY_ENROLLED') return { kind: 'refused', op, code: `enroll: ${e.code}` };
    }
    const r = await this.untilAnswered(COMPLETE, { lessonId: op.lesson, learnerId: op.learner, eventId: op.eventId }, firstAt);
    if (r.kind === 'gave-up') return { kind: 'gave-up', op, last: r.last };
    if (r.kind === 'final') return { kind: 'refused', op, code: r.code };
    const c = r.data.completeLesson as { xpAwarded: number; totalXp: number };
    const ack: Ack = { op, xpAwarded: c.xpAwarded, totalXp: c.totalXp, at: Date.now(), attempts: r.attempts };
    this.acks.push(ack);
    return { kind: 'ack', ack };
  }
}

/** Operations for `learners` learners x `lessons` lessons (lesson-major), each learner enrolling with its first. */
export function completionOps(o: { run: string; learners: number; lessonIds: string[]; lessons?: number; courseId: string; learnerOffset?: number }): Op[] {
  const ops: Op[] = [];
  const lessons = o.lessons ?? o.lessonIds.length;
  for (let j = 0; j < lessons; j++) {
    for (let i = 0; i < o.learners; i++) {
      const learner = `${o.run}-u${i + (o.learnerOffset ?? 0)}`;
      ops.push({
        learner,
        lesson: o.lessonIds[j]!,
        eventId: `${o.run}-e-${i + (o.learnerOffset ?? 0)}-${j}`,
        ...(j === 0 ? { enroll: { courseId: o.courseId, eventId: `${o.run}-enroll-${i + (o.learnerOffset ?? 0)}` } } : {}),
      });
    }
  }
  return ops;
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
