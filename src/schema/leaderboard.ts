import { z } from 'zod';
import { requireViewer } from '../domain/auth/viewer';
import { MAX_AROUND_RADIUS, MAX_BOARD_PAGE, type BoardArgument } from '../domain/boards/service';
import { boardInfo, boardRefOf, type BoardInfo, type RankedEntry } from '../domain/boards/rules';
import { parseInput } from '../domain/validation';
import type { RankMove, TopSnapshot } from '../subscriptions/feeds';
import { LEARNER_BUFFER } from '../subscriptions/learnerFeed';
import { followPeriods } from '../subscriptions/periods';
import { builder } from './builder';
import type { Context } from './context';
import { LearnerRef, PublicLearnerRef } from './learner';

export const BoardPeriodEnum = builder.enumType('BoardPeriod', {
  values: ['ALL_TIME', 'DAILY', 'WEEKLY', 'MONTHLY'] as const,
});

export const BoardInput = builder.inputType('BoardInput', {
  fields: (t) => ({
    period: t.field({ type: BoardPeriodEnum, defaultValue: 'ALL_TIME' }),
    courseId: t.id({ description: "A course's own board; the global board when absent." }),
    periodKey: t.string({
      description:
        'Which period of a DAILY, WEEKLY or MONTHLY board (2026-11-22, 2026-W47, 2026-11; UTC, ISO weeks): the current one or one of the 12 finished before it. The current period when absent (it rolls over by itself).',
    }),
  }),
});

const BoardRef = builder.objectRef<BoardInfo>('Board').implement({
  fields: (t) => ({
    period: t.field({ type: BoardPeriodEnum, resolve: (b) => b.period }),
    courseId: t.exposeID('courseId', { nullable: true }),
    periodKey: t.exposeString('periodKey', { nullable: true, description: 'Which period, e.g. 2026-W47; null for ALL_TIME.' }),
    endsAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the period ends; null for ALL_TIME.',
      resolve: (b) => b.endsAt,
    }),
  }),
});

export const LeaderboardEntryRef = builder.objectRef<RankedEntry>('LeaderboardEntry').implement({
  fields: (t) => ({
    rank: t.exposeInt('rank'),
    score: t.exposeInt('score'),
    // A small public card: each field reads only its part of the learner (O(1) per entry).
    learner: t.field({ type: PublicLearnerRef, resolve: (e) => ({ id: e.learnerId }) }),
  }),
});

/**
 * A board page. Entries and count come from one read, made when the first of them is asked
 * for (or given by a feed that already has them).
 */
interface LeaderboardView {
  id: string;
  info: BoardInfo;
  first: number;
  offset: number;
  page?: Promise<{ entries: RankedEntry[]; total: number }>;
}

function pageOf(v: LeaderboardView, ctx: Context): Promise<{ entries: RankedEntry[]; total: number }> {
  v.page ??= ctx.services.boards.page(v.id, v.first, v.offset);
  return v.page;
}

const firstArg = z.number().int().min(0, 'first cannot be negative.').max(MAX_BOARD_PAGE, `first is at most ${MAX_BOARD_PAGE}.`);
const offsetArg = z.number().int('offset is a whole number.').min(0, 'offset cannot be negative.').max(1_000_000_000, 'offset is at most 1000000000.');
const radiusArg = z.number().int().min(0, 'radius cannot be negative.').max(MAX_AROUND_RADIUS, `radius is at most ${MAX_AROUND_RADIUS}.`);

type BoardArg = BoardArgument | null | undefined;

function resolveBoard(ctx: Context, board: BoardArg) {
  return ctx.services.boards.resolve(board, ctx.services.catalog.get());
}

/** A board's public description from its id (what a feed's message names: the period it was on). */
const infoOf = (boardId: string) => boardInfo(boardRefOf(boardId));

/**
 * A board's feed: the board asked for, or, for a period board asked without a period key, the
 * current period's board, rolling over when it ends.
 */
function boardFeed<T>(ctx: Context, board: BoardArg, open: (boardId: string) => AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  const first = resolveBoard(ctx, board);
  if (!first.current) return open(first.id);
  let checked: typeof first | null = first;
  return followPeriods(
    () => {
      // The first period is the one just resolved (and checked); each next one is resolved when it starts.
      const b = checked ?? resolveBoard(ctx, board);
      checked = null;
      return { id: b.id, endsAt: b.info.endsAt! };
    },
    open,
    ctx.services.clock,
    LEARNER_BUFFER,
  );
}

const LeaderboardRef = builder.objectRef<LeaderboardView>('Leaderboard').implement({
  fields: (t) => ({
    board: t.field({ type: BoardRef, resolve: (v) => v.info }),
    totalCount: t.int({ resolve: async (v, _a, ctx) => (await pageOf(v, ctx)).total }),
    entries: t.field({ type: [LeaderboardEntryRef], resolve: async (v, _a, ctx) => (await pageOf(v, ctx)).entries }),
    me: t.field({
      type: LeaderboardEntryRef,
      nullable: true,
      description: "The signed-in learner's entry; null when not ranked or not signed in.",
      resolve: (v, _a, ctx) => (ctx.viewer ? ctx.services.boards.rankOf(v.id, ctx.viewer.id) : null),
    }),
    aroundMe: t.field({
      type: [LeaderboardEntryRef],
      description: 'Entries around the signed-in learner, radius on each side.',
      args: { radius: t.arg.int({ defaultValue: 2 }) },
      resolve: (v, args, ctx) => {
        const radius = parseInput(radiusArg, args.radius ?? 2, 'radius');
        return ctx.viewer ? ctx.services.boards.around(v.id, ctx.viewer.id, radius) : [];
      },
    }),
  }),
});

export const RankChangeRef = builder.objectRef<RankMove & { info: BoardInfo }>('RankChange').implement({
  fields: (t) => ({
    board: t.field({ type: BoardRef, resolve: (m) => m.info }),
    learnerId: t.exposeID('learnerId'),
    previousRank: t.exposeInt('previousRank', { nullable: true, description: 'null when the learner was not on the board before.' }),
    rank: t.exposeInt('rank'),
    score: t.exposeInt('score'),
  }),
});

builder.objectField(LearnerRef, 'rank', (t) =>
  t.field({
    type: LeaderboardEntryRef,
    nullable: true,
    args: { board: t.arg({ type: BoardInput }) },
    resolve: (s, { board }, ctx) => ctx.services.boards.rankOf(resolveBoard(ctx, board).id, s.id),
  }),
);

builder.queryFields((t) => ({
  leaderboard: t.field({
    type: LeaderboardRef,
    description: "A board's ranking, best first.",
    args: {
      board: t.arg({ type: BoardInput }),
      first: t.arg.int({ defaultValue: 10 }),
      offset: t.arg.int({ defaultValue: 0 }),
    },
    resolve: (_r, args, ctx) => {
      const { id, info } = resolveBoard(ctx, args.board);
      return {
        id,
        info,
        first: parseInput(firstArg, args.first ?? 10, 'first'),
        offset: parseInput(offsetArg, args.offset ?? 0, 'offset'),
      };
    },
  }),
}));

builder.subscriptionFields((t) => ({
  rankChanged: t.field({
    type: RankChangeRef,
    description: "Every change of the signed-in learner's rank on a board: climbing, or being overtaken.",
    authScopes: { learner: true },
    args: { board: t.arg({ type: BoardInput }) },
    subscribe: (_r, { board }, ctx) => {
      const learnerId = requireViewer(ctx.viewer).id;
      return boardFeed(ctx, board, (id) => ctx.services.feeds.boards.rankChanges(id, learnerId));
    },
    resolve: (move: RankMove) => ({ ...move, info: infoOf(move.boardId) }),
  }),
  leaderboardChanged: t.field({
    type: LeaderboardRef,
    description: "A board's top entries: the current state at once, then on every change (coalesced).",
    args: { board: t.arg({ type: BoardInput }), first: t.arg.int({ defaultValue: 10 }) },
    subscribe: (_r, args, ctx) => {
      const first = parseInput(firstArg, args.first ?? 10, 'first');
      return boardFeed(ctx, args.board, (id) => ctx.services.feeds.boards.tops(id, first));
    },
    resolve: (snapshot: TopSnapshot) => ({
      id: snapshot.boardId,
      info: infoOf(snapshot.boardId),
      first: snapshot.entries.length,
      offset: 0,
      page: Promise.resolve({ entries: snapshot.entries, total: snapshot.totalCount }),
    }),
  }),
}));
