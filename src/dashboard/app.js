// The live learner dashboard: one query for the page, then subscriptions over graphql-ws
// (myEvents, rankChanged, leaderboardChanged) move it. No framework, no build step, nothing
// from a CDN: graphql-ws's browser build is served by the server as window.graphqlWs.

const TOKEN_KEY = 'lms.dashboard.token';
const DEMO_LEARNERS = [
  { id: 'demo-ada', name: 'Ada' },
  { id: 'demo-linus', name: 'Linus' },
  { id: 'demo-grace', name: 'Grace' },
];
const PERIODS = [
  ['DAILY', 'Today'],
  ['WEEKLY', 'Week'],
  ['MONTHLY', 'Month'],
  ['ALL_TIME', 'All time'],
];
const CALENDAR_WEEKS = 16;
const TOAST_MS = 8000;

const DASHBOARD = `query Dashboard($from: Date!, $to: Date!) {
  me {
    id displayName timeZone totalXp
    level { level name minXp nextLevelXp progress }
    streak { current longest activeToday freezesAvailable lastActiveDate }
    dailyGoals { kind target current completed }
    enrollments { course { id } completedAt xpEarned progress { completedLessons totalLessons passedQuizzes totalQuizzes percentage } }
    badges { badge { id name description xpReward } awardedAt }
    badgeProgress(first: 3) { badge { id name description } current target progress }
    activityCalendar(from: $from, to: $to) { date xp events }
    quizAttempts(first: 100) { quizId score passed attemptNumber attemptedAt }
    done: lessonProgress(filter: { completed: true }, first: 100) { edges { node { lessonId } } }
  }
  courses { id title description lessonCount quizCount totalXp modules { lessons { id title xpReward } quizzes { id title passScore xpReward } } }
  levels { level name minXp }
}`;

const MY_EVENTS = `subscription { myEvents { __typename
  ... on XpAwarded { amount totalXp reason }
  ... on LevelUp { level name totalXp }
  ... on BadgeUnlocked { award { badge { id name description xpReward } awardedAt } }
  ... on StreakUpdated { streak { current longest activeToday freezesAvailable lastActiveDate } }
  ... on GoalCompleted { goal { kind target current completed } }
  ... on CertificateIssued { certificate { code course { title } } }
} }`;

const RANK_CHANGED = `subscription($board: BoardInput) { rankChanged(board: $board) { previousRank rank score } }`;

const BOARD_CHANGED = `subscription($board: BoardInput) { leaderboardChanged(board: $board, first: 10) {
  board { period periodKey endsAt } totalCount
  entries { rank score learner { id displayName level { level } } }
  me { rank score }
} }`;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  courses: [],
  levels: [],
  done: new Set(),
  period: 'ALL_TIME',
  client: null,
  live: [],
  board: [],
  refreshTimer: null,
  shownXp: 0,
  /** The last action's outcome per course, one line. */
  notes: new Map(),
};

const $ = (id) => document.getElementById(id);
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** An element with attributes and children; text is always set as text, never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// --- Talking to the server ------------------------------------------------------------

class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function gql(query, variables = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  let res;
  try {
    res = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError('The server cannot be reached.', 'NETWORK');
  }
  const body = await res.json().catch(() => null);
  if (!body) throw new ApiError(`The server answered ${res.status}.`, 'HTTP');
  if (body.errors?.length) {
    const e = body.errors[0];
    const code = e.extensions?.code;
    if (code === 'UNAUTHENTICATED') signOut('Your token is not valid (or has expired): sign in again.');
    throw new ApiError(e.message, code);
  }
  return body.data;
}

function eventId() {
  return globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : `dash-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

// --- Sign-in --------------------------------------------------------------------------

function showSignIn(message) {
  $('dashboard').hidden = true;
  $('signin').hidden = false;
  $('sign-out').hidden = true;
  $('who').textContent = '';
  if (message) $('signin-message').textContent = message;
  const demo = document.body.dataset.demoSignIn === 'true';
  $('demo').hidden = !demo;
  const box = $('demo-learners');
  if (demo && !box.childElementCount) {
    for (const l of DEMO_LEARNERS) {
      box.append(h('button', { type: 'button', 'data-testid': `demo-${l.id}`, onclick: () => demoSignIn(l) }, `Sign in as ${l.name}`));
    }
  }
}

async function demoSignIn(learner) {
  $('signin-error').textContent = '';
  try {
    const res = await fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ learnerId: learner.id }) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.token) throw new Error(body.error || `Demo sign-in answered ${res.status}.`);
    await signIn(body.token, learner.name);
  } catch (err) {
    $('signin-error').textContent = err.message;
  }
}

/** A token from what was pasted: the bare token, "Bearer …", or the headers line npm run token prints. */
function tokenOf(text) {
  const m = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(text);
  return m ? m[0] : null;
}

async function signIn(token, demoName) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  await start();
  if (demoName && state.me && !state.me.displayName) {
    await gql('mutation($n: String) { updateProfile(input: { displayName: $n }) { displayName } }', { n: demoName }).catch(() => undefined);
    state.me.displayName = demoName;
    renderWho();
  }
}

function signOut(message) {
  state.token = null;
  state.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  stopLive();
  showSignIn(message || 'You are signed out.');
}

// --- Loading and rendering ------------------------------------------------------------

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

/** Today in the learner's zone (their learning day). */
function todayIn(zone) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  } catch {
    return isoDay(new Date());
  }
}

async function load() {
  const now = new Date();
  // A day past UTC's today covers every zone's today; days after the learner's are cut when drawn.
  const to = new Date(now.getTime() + 86_400_000);
  const from = new Date(now.getTime() - (CALENDAR_WEEKS * 7 + 6) * 86_400_000);
  const data = await gql(DASHBOARD, { from: isoDay(from), to: isoDay(to) });
  state.me = data.me;
  state.courses = data.courses;
  state.levels = data.levels;
  state.done = new Set(data.me.done.edges.map((e) => e.node.lessonId));
  render();
}

/** Reload the page's data soon, once, after a burst of live events (never on a timer). */
function refreshSoon() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => load().catch(showError), 400);
}

function render() {
  renderWho();
  renderXp(state.me.totalXp, false);
  renderStreak(state.me.streak);
  renderGoals();
  renderCourses();
  renderBadges();
  renderCalendar();
  renderQuizChart();
}

function renderWho() {
  const me = state.me;
  $('who').textContent = me ? `Signed in as ${me.displayName || me.id}${me.displayName ? ` (${me.id})` : ''}` : '';
}

/** Level, its bounds and progress for a total, from the level table (the server's answer past its end). */
function levelOf(xp) {
  const rows = state.levels;
  let i = -1;
  for (let k = 0; k < rows.length; k += 1) if (rows[k].minXp <= xp) i = k;
  const last = rows.length - 1;
  if (i === -1 || (i === last && state.me.level.level > rows[last].level)) return state.me.level;
  const row = rows[i];
  const next = rows[i + 1];
  const nextLevelXp = next ? next.minXp : null;
  const progress = nextLevelXp === null ? 1 : Math.min(1, (xp - row.minXp) / (nextLevelXp - row.minXp));
  return { level: row.level, name: row.name, minXp: row.minXp, nextLevelXp, progress };
}

function renderXp(totalXp, animate) {
  const level = levelOf(totalXp);
  const xpEl = $('xp');
  xpEl.dataset.xp = String(totalXp);
  if (animate && totalXp !== state.shownXp) tickTo(xpEl, state.shownXp, totalXp);
  else xpEl.textContent = totalXp.toLocaleString('en');
  state.shownXp = totalXp;
  if ($('level').textContent !== String(level.level) && animate) bump($('level'));
  $('level').textContent = String(level.level);
  $('level-name').textContent = level.name || '';
  const pct = Math.round(level.progress * 1000) / 10;
  const bar = $('level-bar');
  bar.dataset.progress = String(Math.round(level.progress * 1000) / 1000);
  bar.setAttribute('aria-valuenow', String(pct));
  $('level-fill').style.width = `${pct}%`;
  $('level-next').textContent = level.nextLevelXp === null ? 'Top level reached' : `${(level.nextLevelXp - totalXp).toLocaleString('en')} XP to level ${level.level + 1}`;
}

/** Count the shown number up to its new value (the final value is in data-xp at once). */
function tickTo(el, from, to) {
  const started = performance.now();
  const step = (t) => {
    const f = Math.min(1, (t - started) / 600);
    el.textContent = Math.round(from + (to - from) * f).toLocaleString('en');
    if (f < 1 && el.dataset.xp === String(to)) requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
  bump(el);
}

function bump(el) {
  el.classList.remove('bump');
  void el.offsetWidth;
  el.classList.add('bump');
}

function renderStreak(streak) {
  $('streak').textContent = String(streak.current);
  $('streak-unit').textContent = streak.current === 1 ? 'day' : 'days';
  $('streak-detail').textContent = `${streak.activeToday ? 'Active today' : 'Not active yet today'} · longest ${streak.longest}`;
  $('freezes').textContent = streak.freezesAvailable > 0 ? `${'❄'.repeat(streak.freezesAvailable)} ${streak.freezesAvailable} freeze${streak.freezesAvailable > 1 ? 's' : ''} held` : 'No freeze held: one every 7th day in a row';
  $('freezes').dataset.freezes = String(streak.freezesAvailable);
}

const GOAL_NAMES = { XP: 'XP', LESSONS: 'lessons', WATCH_MINUTES: 'minutes watched', QUIZZES: 'quizzes' };

function renderGoals() {
  const list = $('goals');
  list.replaceChildren();
  if (!state.me.dailyGoals.length) list.append(h('li', { class: 'muted' }, 'No goal for today yet.'));
  for (const g of state.me.dailyGoals) {
    const bar = h('div', { class: `bar${g.completed ? ' done' : ''}` }, h('div', { class: 'fill' }));
    bar.firstChild.style.width = `${Math.min(100, (g.current / Math.max(1, g.target)) * 100)}%`;
    list.append(h('li', { 'data-goal': g.kind }, `${g.completed ? '✓ ' : ''}${g.current} / ${g.target} ${GOAL_NAMES[g.kind] || g.kind}`, bar));
  }
}

function renderCourses() {
  const box = $('courses');
  box.replaceChildren();
  const enrolled = new Map(state.me.enrollments.map((e) => [e.course.id, e]));
  const passed = new Set(state.me.quizAttempts.filter((a) => a.passed).map((a) => a.quizId));
  for (const c of state.courses) {
    const e = enrolled.get(c.id);
    const info = h('div', {}, h('strong', {}, c.title), ' ', h('span', { class: 'muted small' }, `${plural(c.lessonCount, 'lesson')} · ${plural(c.quizCount, 'quiz', 'quizzes')} · ${c.totalXp} XP`));
    const note = h('div', { class: 'note', 'data-testid': `note-${c.id}` }, state.notes.get(c.id) || '');
    const actions = h('div', { class: 'actions' });
    if (!e) {
      actions.append(h('button', { type: 'button', 'data-testid': `enroll-${c.id}`, onclick: (ev) => act(ev.currentTarget, c.id, () => enroll(c)) }, 'Enroll'));
      box.append(h('div', { class: 'course', 'data-course': c.id }, info, actions, note));
      continue;
    }
    const p = e.progress;
    const bar = h('div', { class: `bar${e.completedAt ? ' done' : ''}` }, h('div', { class: 'fill' }));
    bar.firstChild.style.width = `${p.percentage}%`;
    info.append(bar, h('span', { class: 'small', 'data-testid': `progress-${c.id}` }, `${p.completedLessons}/${p.totalLessons} lessons · ${p.passedQuizzes}/${p.totalQuizzes} quizzes · ${e.xpEarned} XP${e.completedAt ? ' · completed' : ''}`));
    const lesson = nextLesson(c);
    const quiz = nextQuiz(c, passed);
    if (lesson) {
      actions.append(h('button', { type: 'button', title: lesson.title, 'data-testid': `complete-${c.id}`, onclick: (ev) => act(ev.currentTarget, c.id, () => completeLesson(lesson)) }, `Complete “${lesson.title}”`));
    }
    if (quiz) {
      const score = h('input', { type: 'number', min: 0, max: 100, value: 90, 'aria-label': 'Score', 'data-testid': `score-${c.id}` });
      actions.append(score, h('button', { type: 'button', class: 'ghost', title: `${quiz.title}: pass at ${quiz.passScore}`, 'data-testid': `quiz-${c.id}`, onclick: (ev) => act(ev.currentTarget, c.id, () => submitQuiz(quiz, Number(score.value))) }, `Submit “${quiz.title}”`));
    }
    box.append(h('div', { class: 'course', 'data-course': c.id }, info, actions, note));
  }
}

function nextLesson(course) {
  for (const m of course.modules) for (const l of m.lessons) if (!state.done.has(l.id)) return l;
  return null;
}

function nextQuiz(course, passed) {
  for (const m of course.modules) for (const q of m.quizzes) if (!passed.has(q.id)) return q;
  return null;
}

/** Run a course's action: the button waits, the course's note says what happened in one line. */
async function act(button, courseId, run) {
  button.disabled = true;
  const say = (text) => {
    state.notes.set(courseId, text);
    const note = document.querySelector(`[data-testid="note-${courseId}"]`);
    if (note) note.textContent = text;
  };
  say('…');
  try {
    say(await run());
  } catch (err) {
    say(err.message);
  } finally {
    button.disabled = false;
  }
}

async function enroll(course) {
  await gql('mutation($c: ID!, $e: ID) { enroll(courseId: $c, eventId: $e) { id } }', { c: course.id, e: eventId() });
  await load();
  return `Enrolled in ${course.title}.`;
}

async function completeLesson(lesson) {
  const r = await gql('mutation($l: ID!, $e: ID) { completeLesson(lessonId: $l, eventId: $e) { xpAwarded } }', { l: lesson.id, e: eventId() }).catch((err) => {
    // Completed elsewhere (another tab, the LMS): skip to the next one.
    if (err.code === 'ALREADY_COMPLETED') return { completeLesson: { xpAwarded: 0 } };
    throw err;
  });
  state.done.add(lesson.id);
  // XP, level, badges and rank arrive through myEvents; the course list moves on at once.
  renderCourses();
  return `“${lesson.title}” completed (+${r.completeLesson.xpAwarded} XP).`;
}

async function submitQuiz(quiz, score) {
  const r = await gql('mutation($q: ID!, $s: Int!, $e: ID) { submitQuizAttempt(quizId: $q, score: $s, eventId: $e) { xpAwarded attempt { attemptNumber passed } } }', { q: quiz.id, s: score, e: eventId() });
  const a = r.submitQuizAttempt.attempt;
  // A failed attempt pays nothing, so no live event brings it: reload for the chart.
  refreshSoon();
  return `“${quiz.title}” attempt ${a.attemptNumber}: ${score} · ${a.passed ? `passed (+${r.submitQuizAttempt.xpAwarded} XP)` : `not passed (pass at ${quiz.passScore})`}.`;
}

function renderBadges() {
  const list = $('badges');
  list.replaceChildren();
  if (!state.me.badges.length) list.append(h('li', { class: 'muted' }, 'None yet.'));
  for (const b of state.me.badges) list.append(h('li', { 'data-badge': b.badge.id, title: b.badge.description || '' }, `★ ${b.badge.name}`, h('span', { class: 'muted small' }, ` · ${new Date(b.awardedAt).toLocaleDateString()}`)));
  const closest = $('closest');
  closest.replaceChildren();
  if (!state.me.badgeProgress.length) closest.append(h('li', { class: 'muted' }, 'Nothing left to earn.'));
  for (const p of state.me.badgeProgress) {
    const bar = h('div', { class: 'bar' }, h('div', { class: 'fill' }));
    bar.firstChild.style.width = `${p.progress * 100}%`;
    closest.append(h('li', { title: p.badge.description || '' }, `${p.badge.name} `, h('span', { class: 'muted small' }, `${fmt(p.current)} / ${fmt(p.target)}`), bar));
  }
}

function fmt(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function heatClass(xp) {
  if (xp <= 0) return 'h0';
  if (xp < 50) return 'h1';
  if (xp < 150) return 'h2';
  if (xp < 300) return 'h3';
  return 'h4';
}

function renderCalendar() {
  const today = todayIn(state.me.timeZone);
  const days = state.me.activityCalendar.filter((d) => d.date <= today);
  const cell = 12;
  const gap = 2;
  // Columns are weeks starting on Monday; the first column begins on the Monday of the first day.
  const first = new Date(`${days[0].date}T00:00:00Z`);
  const offset = (first.getUTCDay() + 6) % 7;
  const weeks = Math.ceil((days.length + offset) / 7);
  const svg = s('svg', { class: 'heat', viewBox: `0 0 ${weeks * (cell + gap)} ${7 * (cell + gap)}`, width: '100%', role: 'img', 'aria-label': 'XP per day' });
  let total = 0;
  let active = 0;
  days.forEach((d, i) => {
    const k = i + offset;
    total += d.xp;
    if (d.events > 0) active += 1;
    svg.append(s('rect', { x: Math.floor(k / 7) * (cell + gap), y: (k % 7) * (cell + gap), width: cell, height: cell, class: heatClass(d.xp), 'data-date': d.date, 'data-xp': d.xp }, s('title', {}, `${d.date}: ${d.xp} XP, ${d.events} events`)));
  });
  $('calendar').replaceChildren(svg);
  $('calendar-detail').textContent = `${total.toLocaleString('en')} XP on ${active} active day${active === 1 ? '' : 's'} in the last ${CALENDAR_WEEKS} weeks`;
}

function renderQuizChart() {
  const attempts = state.me.quizAttempts.slice(-30);
  const box = $('quiz-chart');
  if (!attempts.length) {
    box.replaceChildren(h('p', { class: 'muted small' }, 'No quiz attempts yet: submit one from a course.'));
    return;
  }
  const w = 280;
  const hgt = 120;
  const pad = 18;
  const x = (i) => pad + (attempts.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (attempts.length - 1));
  const y = (score) => hgt - pad - (score / 100) * (hgt - 2 * pad);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${w} ${hgt}`, width: '100%', role: 'img', 'aria-label': 'Quiz scores, oldest first' });
  for (const v of [0, 50, 100]) svg.append(s('line', { class: 'axis', x1: pad, x2: w - pad, y1: y(v), y2: y(v) }), s('text', { x: 0, y: y(v) + 3 }, v));
  svg.append(s('polyline', { class: 'line', points: attempts.map((a, i) => `${x(i)},${y(a.score)}`).join(' ') }));
  attempts.forEach((a, i) => svg.append(s('circle', { class: a.passed ? 'pass' : 'fail', cx: x(i), cy: y(a.score), r: 3.5 }, s('title', {}, `${a.quizId} #${a.attemptNumber}: ${a.score}${a.passed ? ' (passed)' : ''}`))));
  box.replaceChildren(svg);
}

// --- The leaderboard -------------------------------------------------------------------

function renderTabs() {
  const box = $('periods');
  box.replaceChildren();
  for (const [period, label] of PERIODS) {
    box.append(h('button', { type: 'button', role: 'tab', 'aria-selected': String(period === state.period), 'data-testid': `tab-${period}`, onclick: () => choosePeriod(period) }, label));
  }
}

function choosePeriod(period) {
  if (period === state.period) return;
  state.period = period;
  renderTabs();
  $('board').tBodies[0].replaceChildren();
  setRank(null, null);
  subscribeBoard();
}

function renderBoard(lb) {
  const body = $('board').tBodies[0];
  const myId = state.me?.id;
  const row = (e) => h('tr', { class: !e.learner || e.learner.id === myId ? 'me' : null, 'data-testid': 'board-row', 'data-learner': e.learner ? e.learner.id : myId },
    h('td', { class: 'num' }, `#${e.rank}`),
    h('td', {}, e.learner ? e.learner.displayName || e.learner.id : 'You'),
    h('td', { class: 'num muted small' }, e.learner ? `L${e.learner.level.level}` : ''),
    h('td', { class: 'num' }, `${e.score.toLocaleString('en')} XP`));
  const rows = lb.entries.map(row);
  if (!lb.entries.length) rows.push(h('tr', { class: 'gap' }, h('td', { colspan: 4 }, 'Nobody has earned XP in this period yet.')));
  if (lb.me && !lb.entries.some((e) => e.learner.id === myId)) rows.push(h('tr', { class: 'gap' }, h('td', { colspan: 4 }, '…')), row({ ...lb.me, learner: null }));
  body.replaceChildren(...rows);
  const b = lb.board;
  $('board-period').textContent = `${lb.totalCount} learner${lb.totalCount === 1 ? '' : 's'}${b.periodKey ? ` · ${b.periodKey}` : ''}${b.endsAt ? ` · ends ${new Date(b.endsAt).toLocaleString()}` : ''}`;
  setRank(lb.me ? lb.me.rank : null, lb.totalCount);
}

function setRank(rank, total) {
  const el = $('rank');
  const before = el.dataset.rank;
  el.dataset.rank = rank === null ? '' : String(rank);
  el.textContent = rank === null ? '–' : `#${rank}`;
  if (total !== undefined) state.boardTotal = total;
  $('rank-detail').textContent = rank === null ? 'Not on this board yet: earn some XP.' : `of ${state.boardTotal ?? '?'} · ${PERIODS.find((p) => p[0] === state.period)[1].toLowerCase()}`;
  if (before && String(rank) !== before) bump(el);
}

// --- Live ------------------------------------------------------------------------------

function startLive() {
  stopLive();
  const { createClient } = window.graphqlWs;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  let reconnect = false;
  state.client = createClient({
    url,
    connectionParams: () => ({ authorization: `Bearer ${state.token}` }),
    keepAlive: 15_000,
    retryAttempts: 30,
    // 4401: the token is no longer accepted; trying again with it cannot help.
    shouldRetry: (e) => !(e && e.code === 4401),
    on: {
      connected: () => {
        setLive(true);
        // Events may have been missed while away: read the page again.
        if (reconnect) refreshSoon();
        reconnect = true;
      },
      closed: (e) => {
        setLive(false);
        if (e && e.code === 4401) signOut('Your session expired: sign in again.');
      },
    },
  });
  state.live.push(subscribe(MY_EVENTS, {}, (d) => onMyEvent(d.myEvents)));
  subscribeBoard();
}

function subscribeBoard() {
  for (const stop of state.board) stop();
  if (!state.client) return;
  const board = { period: state.period };
  state.board = [
    subscribe(BOARD_CHANGED, { board }, (d) => renderBoard(d.leaderboardChanged)),
    subscribe(RANK_CHANGED, { board }, (d) => onRankChanged(d.rankChanged)),
  ];
}

function subscribe(query, variables, onData) {
  return state.client.subscribe(
    { query, variables },
    {
      next: (r) => {
        if (r.data) onData(r.data);
        if (r.errors) showError(new Error(r.errors[0].message));
      },
      error: (err) => {
        if (err && err.code === 4401) return;
        showError(err instanceof Error ? err : new Error(Array.isArray(err) ? err[0].message : 'The live connection failed.'));
      },
      complete: () => undefined,
    },
  );
}

function stopLive() {
  for (const stop of [...state.live, ...state.board]) stop();
  state.live = [];
  state.board = [];
  if (state.client) state.client.dispose();
  state.client = null;
  setLive(false);
}

function setLive(on) {
  const el = $('live');
  el.dataset.state = on ? 'on' : 'off';
  el.textContent = on ? 'live' : state.token ? 'reconnecting…' : 'offline';
}

function onMyEvent(e) {
  switch (e.__typename) {
    case 'XpAwarded':
      state.me.totalXp = e.totalXp;
      renderXp(e.totalXp, true);
      feed(`+${e.amount} XP · ${e.reason.replace(/_/g, ' ')}`);
      break;
    case 'LevelUp':
      toast('level', `Level up! Level ${e.level}${e.name ? ` · ${e.name}` : ''}`);
      feed(`Level ${e.level}`);
      break;
    case 'BadgeUnlocked':
      toast('badge', `★ Badge unlocked: ${e.award.badge.name}${e.award.badge.xpReward ? ` (+${e.award.badge.xpReward} XP)` : ''}`);
      feed(`Badge: ${e.award.badge.name}`);
      break;
    case 'StreakUpdated':
      state.me.streak = e.streak;
      renderStreak(e.streak);
      bump($('streak'));
      break;
    case 'GoalCompleted':
      toast('goal', `Goal reached: ${e.goal.target} ${GOAL_NAMES[e.goal.kind] || e.goal.kind}`);
      feed(`Goal: ${e.goal.kind}`);
      break;
    case 'CertificateIssued':
      toast('certificate', `Course completed: ${e.certificate.course.title} (certificate ${e.certificate.code})`);
      feed(`Certificate: ${e.certificate.course.title}`);
      break;
    default:
      return;
  }
  refreshSoon();
}

function onRankChanged(r) {
  setRank(r.rank, state.boardTotal);
  if (r.previousRank !== null && r.previousRank !== r.rank) {
    feed(r.rank < r.previousRank ? `Up to #${r.rank} (from #${r.previousRank})` : `Overtaken: now #${r.rank}`);
  }
}

function feed(text) {
  const list = $('feed');
  list.prepend(h('li', {}, h('span', { class: 'muted small' }, `${new Date().toLocaleTimeString()} `), text));
  while (list.childElementCount > 12) list.lastChild.remove();
}

function toast(kind, text) {
  const el = h('div', { class: 'toast', role: 'status', 'data-testid': 'toast', 'data-kind': kind }, text);
  $('toasts').append(el);
  setTimeout(() => el.remove(), TOAST_MS);
}

function showError(err) {
  toast('error', err.message);
}

// --- Start ----------------------------------------------------------------------------

async function start() {
  $('signin').hidden = true;
  $('signin-error').textContent = '';
  try {
    await load();
  } catch (err) {
    // A refused token has signed out already; any other failure leaves the token to try again.
    if (state.token) showSignIn();
    $('signin-error').textContent = err.message;
    return;
  }
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  renderTabs();
  startLive();
}

$('sign-out').addEventListener('click', () => signOut());
$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = tokenOf($('token-input').value);
  if (!token) {
    $('signin-error').textContent = 'That is not a token: paste what npm run -s token prints.';
    return;
  }
  $('token-input').value = '';
  signIn(token).catch(showError);
});
$('goal-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  gql('mutation($k: GoalKind!, $t: Int!) { setDailyGoal(kind: $k, target: $t) { kind } }', { k: $('goal-kind').value, t: Number($('goal-target').value) })
    .then(() => load())
    .catch(showError);
});

if (!window.graphqlWs) showSignIn('The live client (/dashboard/graphql-ws.js) did not load.');
else if (state.token) start();
else showSignIn();
