/**
 * The dashboard and GraphiQL in a real browser (Debian's Chromium driven by playwright-core),
 * with no network beyond loopback: every other request is aborted and counted, and none may
 * be attempted. Screenshots of each step go to test-artifacts/browser/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = 'test-artifacts/browser';

const env = newTestEnv();
let t: TestApp;
let base: string;
let browser: Browser;
/** Requests the pages tried to send off the machine (aborted). */
const offMachine: string[] = [];

function isLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || protocol === 'about:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
}

/** A browser context that can reach the test server only. */
async function isolatedContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    offMachine.push(url);
    return route.abort('blockedbyclient');
  });
  return context;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** Open the dashboard and sign in as a demo learner with one click. */
async function signInAs(page: Page, learnerId: string): Promise<void> {
  await page.goto(`${base}/`);
  await expect.poll(() => page.locator('[data-testid=signin-message]').textContent()).toContain('not signed in');
  await page.click(`[data-testid=demo-${learnerId}]`);
  await page.waitForSelector('#dashboard:not([hidden])');
  await page.waitForSelector('[data-testid=live-status][data-state=on]');
}

const xpOf = (page: Page) => page.locator('[data-testid=xp]').getAttribute('data-xp').then(Number);
const rankOf = (page: Page) => page.locator('[data-testid=rank]').getAttribute('data-rank');

describe.skipIf(!hasChromium)(`in Chromium${hasChromium ? '' : ' (skipped: /usr/bin/chromium is missing; apt-get install chromium)'}`, () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestApp(env, { config: { DEMO_SIGN_IN: 'true' } });
    base = `http://127.0.0.1:${t.port}`;
    // Course "web": 3 lessons of 60 XP and a quiz. Badge "First steps" on the first lesson
    // (50 XP): 110 XP after one lesson, level 2 of 1 / 2 at 100 / 3 at 200.
    const catalog = t.app.services.catalog;
    await catalog.upsertCourse({ ...makeCourse({ id: 'web', modules: 1, lessons: 3, xp: 60, quizzes: 1 }), title: 'Web basics' });
    await catalog.upsertBadge({ id: 'web-first', name: 'First steps', criteria: { type: 'lessons_completed', value: 1 }, xpReward: 50 });
    await catalog.setLevels([
      { level: 1, name: 'Novice', minXp: 0 },
      { level: 2, name: 'Apprentice', minXp: 100 },
      { level: 3, name: 'Adept', minXp: 200 },
    ]);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await destroyTestEnv(env);
  });

  it('GraphiQL renders from the server alone and runs a query', async ({ skip }) => {
    offMachine.length = 0;
    const context = await isolatedContext();
    const page = await context.newPage();
    await page.goto(`${base}/graphql`);
    // Until GraphiQL's assets are served by the server (@graphql-yoga/render-graphiql, another
    // part of issue 9), yoga's page asks unpkg.com for them and cannot render offline: this step
    // says so and skips. Any other request off the machine fails it.
    const cdn = offMachine.filter((u) => u.startsWith('https://unpkg.com/@graphql-yoga/graphiql'));
    if (cdn.length) {
      await context.close();
      skip(`GraphiQL still loads its assets from a CDN (${cdn[0]}); this step runs once the offline GraphiQL is merged`);
    }
    await page.waitForSelector('.graphiql-container', { timeout: 15_000 });
    await page.click('.graphiql-execute-button');
    // With several operations in the editor GraphiQL asks which one: the public catalog query.
    const catalog = page.locator('[role=menuitem]', { hasText: 'Catalog' }).first();
    if (await catalog.waitFor({ timeout: 2000 }).then(() => true, () => false)) await catalog.click();
    await expect.poll(() => page.locator('.graphiql-response').first().innerText(), { timeout: 10_000 }).toMatch(/"data"[\s\S]*"courses"/);
    await shot(page, '01-graphiql');
    await context.close();
    expect(offMachine).toEqual([]);
  });

  it('the dashboard signs in with one click, and a lesson completed on the page moves XP, level bar, badges and rank live; another learner overtaking moves the rank', async () => {
    offMachine.length = 0;
    const ada = await (await isolatedContext()).newPage();
    const pageErrors: string[] = [];
    ada.on('pageerror', (err) => pageErrors.push(err.message));
    ada.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await ada.goto(`${base}/`);
    await shot(ada, '02-signed-out');
    await signInAs(ada, 'demo-ada');
    expect(await ada.locator('[data-testid=who]').textContent()).toContain('demo-ada');
    expect(await xpOf(ada)).toBe(0);
    expect(await ada.locator('[data-testid=level]').textContent()).toBe('1');
    const barBefore = Number(await ada.locator('[data-testid=level-bar]').getAttribute('data-progress'));
    expect(barBefore).toBe(0);

    await ada.click('[data-testid=enroll-web]');
    await ada.waitForSelector('[data-testid=complete-web]');
    // A marker a reload would lose: everything below happens on this one document.
    await ada.evaluate(() => ((window as unknown as { __sameDocument: string }).__sameDocument = 'kept'));
    await shot(ada, '03-enrolled');

    await ada.click('[data-testid=complete-web]');
    // 60 (lesson) + 50 (badge) = 110 XP: level 2, a tenth of the way to level 3.
    await expect.poll(() => xpOf(ada)).toBe(110);
    await expect.poll(() => ada.locator('[data-testid=xp]').textContent()).toBe('110');
    expect(await ada.locator('[data-testid=level]').textContent()).toBe('2');
    await expect.poll(async () => Number(await ada.locator('[data-testid=level-bar]').getAttribute('data-progress'))).toBe(0.1);
    expect(await ada.locator('#level-fill').evaluate((el) => (el as HTMLElement).style.width)).toBe('10%');
    await ada.waitForSelector('[data-testid=toast][data-kind=badge]:has-text("First steps")');
    await ada.waitForSelector('[data-testid=toast][data-kind=level]:has-text("Level 2")');
    await expect.poll(() => rankOf(ada)).toBe('1');
    await expect.poll(() => ada.locator('[data-testid=badges]').textContent()).toContain('First steps');
    await expect.poll(() => ada.locator('[data-testid=progress-web]').textContent()).toContain('1/3 lessons');
    await shot(ada, '04-lesson-completed');

    // A second learner in a window of their own: one lesson ties at 110 (Ada was there first),
    // the second overtakes at 170, and Ada's page learns it without asking.
    const linus = await (await isolatedContext()).newPage();
    await signInAs(linus, 'demo-linus');
    await linus.click('[data-testid=enroll-web]');
    await linus.click('[data-testid=complete-web]');
    await expect.poll(() => xpOf(linus)).toBe(110);
    await expect.poll(() => rankOf(linus)).toBe('2');
    await linus.click('[data-testid=complete-web]');
    await expect.poll(() => xpOf(linus)).toBe(170);
    await expect.poll(() => rankOf(linus)).toBe('1');
    await shot(linus, '05-second-learner');

    await expect.poll(() => rankOf(ada), { timeout: 10_000 }).toBe('2');
    await expect.poll(() => ada.locator('[data-testid=board] tr.me').textContent()).toContain('110');
    await expect.poll(() => ada.locator('[data-testid=feed]').textContent()).toContain('Overtaken: now #2');
    await shot(ada, '06-overtaken');

    // A quiz from the page shows in the score chart.
    await ada.fill('[data-testid=score-web]', '85');
    await ada.click('[data-testid=quiz-web]');
    await expect.poll(() => ada.locator('[data-testid=quiz-chart] circle.pass').count()).toBe(1);
    await expect.poll(() => xpOf(ada)).toBe(150);

    // Period tabs: the weekly board has both learners too, Linus first.
    await ada.click('[data-testid=tab-WEEKLY]');
    await expect.poll(() => ada.locator('[data-testid=board-row]').count()).toBe(2);
    await expect.poll(() => rankOf(ada)).toBe('2');
    await shot(ada, '07-weekly');

    // Small: the page, its script, styles and the WebSocket client, as sent (gzip).
    const bytes = await ada.evaluate(() => (performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')) as PerformanceResourceTiming[]).filter((e) => !e.name.endsWith('/graphql') && !e.name.endsWith('/demo/token')).reduce((n, e) => n + e.encodedBodySize, 0));
    console.log(`dashboard page weight: ${bytes} bytes (gzip)`);
    expect(bytes).toBeGreaterThan(5_000);
    expect(bytes).toBeLessThan(40_000);

    expect(await ada.evaluate(() => (window as unknown as { __sameDocument?: string }).__sameDocument)).toBe('kept');
    expect(await ada.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    expect(pageErrors).toEqual([]);
    expect(offMachine).toEqual([]);
  });

  it('signs in with a pasted token, and says so in one line when the token is not valid', async () => {
    offMachine.length = 0;
    const page = await (await isolatedContext()).newPage();
    await page.goto(`${base}/`);
    await page.fill('#token-input', 'not a token');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.locator('#signin-error').textContent()).toBe('That is not a token: paste what npm run -s token prints.');
    await page.fill('#token-input', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.locator('#signin-error').textContent()).toBe('Your token is not valid.');
    expect(await page.locator('#dashboard').isHidden()).toBe(true);
    // The line npm run token prints for GraphiQL's headers works too.
    await page.fill('#token-input', JSON.stringify({ Authorization: `Bearer ${await tokenFor('pat')}` }));
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('[data-testid=live-status][data-state=on]');
    expect(await page.locator('[data-testid=who]').textContent()).toBe('Signed in as pat');
    await expect.poll(() => page.locator('[data-testid=rank-detail]').textContent()).toContain('Not on this board yet');
    await shot(page, '08-pasted-token');
    expect(offMachine).toEqual([]);
  });
});
