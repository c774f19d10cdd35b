/**
 * The docs cannot rot: every GraphQL operation shown in README.md and docs/API-REFERENCE.md is
 * validated against the served schema and run, in the order shown, against a real server with
 * the demo catalog; the README's curl commands run against it too; its configuration table and
 * .env.example list exactly the variables of src/config.ts, with their real defaults; and every
 * `npm run X` it names exists.
 *
 * Markers a ```graphql block may carry (comment lines, so they read as notes):
 *   # as: admin | service | anonymous | <learner id>   who sends it (default alice@example.com)
 *   # expect: CODE                                      the block documents this error
 *   # => { ...json }                                    the answer's data holds at least this
 *                                                       (a subscription: one of its messages does)
 *   # $name: path.to.value                              variable $name from the previous answer
 *   # eventually ...                                    the answer shown may take a moment (retried up to 10 s)
 * A ```json block right after a graphql block holds its variables.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DocumentNode, type GraphQLSchema, Kind, type OperationDefinitionNode, parse, print, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config';
import { buildSchema } from '../src/schema/index';
import { destroyTestEnv, eventually, type LiveSubscription, newTestEnv, startTestApp, subscribe, TEST_SECRET, type TestApp, tokenFor } from './harness';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');
const run = promisify(execFile);

/** The documents whose operations are run, in this order, on one server. */
const DOCS = ['README.md', 'docs/API-REFERENCE.md'];
/** The learner a block without `# as:` speaks for. */
const DEFAULT_LEARNER = 'alice@example.com';

interface Block {
  lang: string;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** The fenced code blocks of a Markdown text, in order. */
function blocksOf(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i += 1; i < lines.length && !lines[i]!.startsWith('```'); i += 1) body.push(lines[i]!);
    blocks.push({ lang: open[1]!, text: body.join('\n'), line: start + 1 });
  }
  return blocks;
}

interface Step {
  where: string;
  operation: OperationDefinitionNode;
  document: DocumentNode;
  as: string;
  expect: string | null;
  result: unknown;
  variables: Record<string, unknown>;
  captures: [string, string][];
  eventually: boolean;
}

/** Each operation of each graphql block of a document, with the block's markers. */
function stepsOf(path: string): Step[] {
  const blocks = blocksOf(read(path));
  const steps: Step[] = [];
  blocks.forEach((block, i) => {
    if (block.lang !== 'graphql') return;
    const where = `${path}:${block.line}`;
    const marker = (name: string) => [...block.text.matchAll(new RegExp(`^\\s*# ${name}:?\\s*(.+)$`, 'gm'))].map((m) => m[1]!.trim());
    const next = blocks[i + 1];
    const between = next ? read(path).split('\n').slice(block.line + block.text.split('\n').length + 1, next.line - 1).join('').trim() : 'x';
    const variables = next?.lang === 'json' && between === '' ? (JSON.parse(next.text) as Record<string, unknown>) : {};
    const results = marker('=>');
    const document = parse(block.text);
    const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    for (const def of document.definitions) {
      if (def.kind !== Kind.OPERATION_DEFINITION) continue;
      steps.push({
        where,
        operation: def,
        document: { kind: Kind.DOCUMENT, definitions: [def, ...fragments] },
        as: marker('as')[0] ?? DEFAULT_LEARNER,
        expect: marker('expect')[0] ?? null,
        result: results.length ? JSON.parse(results.join(' ')) : undefined,
        variables,
        eventually: /^\s*# eventually\b/m.test(block.text),
        captures: [...block.text.matchAll(/^\s*# \$(\w+):\s*(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
      });
    }
  });
  return steps;
}

/** The value at a dotted path (`me.certificates.0.code`). */
function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

/** Whether `actual` holds at least `shown` (as toMatchObject judges it). */
function matches(actual: unknown, shown: unknown): boolean {
  try {
    expect(actual).toMatchObject(shown as object);
    return true;
  } catch {
    return false;
  }
}

/** The rows of the Markdown table under a `## heading`, as cells. */
function tableUnder(markdown: string, heading: string): string[][] {
  const section = markdown.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .slice(1)
    .map((l) => l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
}

const shape = configSchema.in.shape as Record<string, { parse(v: unknown): unknown }>;
const configVars = Object.keys(shape).sort();
/** A config variable's default, as the schema gives it (undefined when it has none). */
const defaultOf = (name: string) => shape[name]!.parse(undefined);

describe('every operation shown in the docs runs', () => {
  let server: TestApp;
  const env = newTestEnv();
  const schema: GraphQLSchema = buildSchema();
  const tokens = new Map<string, string | undefined>([['anonymous', undefined]]);
  const tokenAs = async (who: string) => {
    if (!tokens.has(who)) tokens.set(who, who === 'admin' ? await tokenFor('admin@example.com', ['admin']) : who === 'service' ? await tokenFor('lms-backend', ['service']) : await tokenFor(who));
    return tokens.get(who);
  };

  beforeAll(async () => {
    server = await startTestApp(env, { config: { DEMO_CATALOG: 'true', DEMO_SIGN_IN: 'true' } });
  });
  afterAll(async () => {
    await server?.stop();
    await destroyTestEnv(env);
  });

  for (const path of DOCS) {
    it(`${path}: each graphql block is valid against the served schema and answers without an error it does not name`, async () => {
      const steps = stepsOf(path);
      expect(steps.length).toBeGreaterThan(0);
      const live: { where: string; sub: LiveSubscription; shown: unknown }[] = [];
      let previous: unknown = null;
      try {
        for (const step of steps) {
          const errors = validate(schema, step.document).map((e) => e.message);
          expect(errors, `${step.where}: invalid against the schema`).toEqual([]);
          const token = await tokenAs(step.as);
          const variables = { ...step.variables, ...Object.fromEntries(step.captures.map(([name, p]) => [name, at(previous, p)])) };
          const query = print(step.document);
          if (step.operation.operation === 'subscription') {
            const sub = await subscribe(server.wsUrl, query, { token, variables });
            live.push({ where: step.where, sub, shown: step.result });
            continue;
          }
          const send = async () => {
            const res = await fetch(server.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body: JSON.stringify({ query, variables }),
            });
            return (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
          };
          let body = await send();
          for (const deadline = Date.now() + 10_000; step.eventually && Date.now() < deadline && !matches(body.data, step.result); ) {
            await new Promise((r) => setTimeout(r, 50));
            body = await send();
          }
          if (step.expect) {
            expect(body.errors?.map((e) => e.extensions?.code), `${step.where}: documents ${step.expect}`).toContain(step.expect);
          } else {
            expect(body.errors, `${step.where}: ${query}`).toBeUndefined();
          }
          if (step.result !== undefined) expect(body.data, `${step.where}: the answer shown`).toMatchObject(step.result as object);
          previous = body.data;
        }
        // Each subscription started without an error, and what the document did after it reached it.
        for (const { where, sub, shown } of live) {
          await sub.waitFor(1, 10_000).catch((err: Error) => {
            throw new Error(`${where}: the subscription received nothing: ${err.message}`);
          });
          if (shown !== undefined) {
            await eventually(() => sub.values.some((v) => matches(v, shown)), 10_000, `${where}: a message like the one shown`).catch((err: Error) => {
              throw new Error(`${err.message}; received ${JSON.stringify(sub.values)}`);
            });
          }
          expect(sub.errors, `${where}: subscription errors`).toEqual([]);
        }
      } finally {
        await Promise.all(live.map(({ sub }) => sub.close()));
      }
    });
  }

  it("the README's token command prints only a token, and its curl commands answer against the server", async () => {
    const readme = read('README.md');
    const tokenLine = /^TOKEN=\$\(npm run -s token -- [^)\n]+\)$/m.exec(readme)?.[0];
    expect(tokenLine, 'the README shows TOKEN=$(npm run -s token -- ...)').toBeTruthy();
    const childEnv = { ...process.env, JWT_SECRET: TEST_SECRET, NODE_ENV: 'test' };
    const { stdout: token } = await run('bash', ['-c', `${tokenLine}\nprintf %s "$TOKEN"`], { cwd: ROOT, env: childEnv });
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const curls = blocksOf(readme)
      .filter((b) => b.lang === 'sh')
      .flatMap((b) => b.text.replace(/\\\n\s*/g, ' ').split('\n'))
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('curl '));
    expect(curls.length).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${server.port}`;
    for (const line of curls) {
      const streams = /\s-N\s/.test(line);
      const command = line.replaceAll('http://localhost:4000', base).replace(/^curl /, `curl -sS --max-time ${streams ? 3 : 10} -w '\\nHTTP %{http_code}' `);
      expect(command, `${line}: talks to the server`).toContain(base);
      const out = await run('bash', ['-c', command], { cwd: ROOT, env: { ...childEnv, TOKEN: token } }).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
      // A stream is ended by --max-time (exit 28) once it has sent what it had.
      expect([0, ...(streams ? [28] : [])], `${line}: exit code (${out.stdout})`).toContain(out.code);
      expect(out.stdout, `${line}: answers 200`).toMatch(/\nHTTP 200$/);
      expect(out.stdout, `${line}: no errors`).not.toContain('"errors"');
      // leaderboardChanged sends the current top at once; other streams wait for events (keep-alive lines meanwhile).
      if (line.includes('leaderboardChanged')) expect(out.stdout, `${line}: streams results`).toContain('event: next');
    }
  });
});

describe('the README and .env.example tell the configuration as it is', () => {
  it('the configuration table lists exactly the variables of src/config.ts, with their defaults', () => {
    const rows = tableUnder(read('README.md'), 'Configuration');
    const listed = rows.map((r) => /^`([A-Z][A-Z0-9_]*)`$/.exec(r[0]!)?.[1] ?? `not one variable: ${r[0]}`);
    expect([...listed].sort()).toEqual(configVars);
    for (const [cell, fallback] of rows.map((r) => [r[0]!.slice(1, -1), r[1]!] as const)) {
      const shown = /^`([^`]*)`$/.exec(fallback)?.[1];
      const actual = defaultOf(cell);
      if (actual === undefined) expect(shown, `${cell} has no default`).toBeUndefined();
      else expect(shown === undefined ? `no default shown: ${fallback}` : shape[cell]!.parse(shown), `${cell}'s default`).toEqual(actual);
    }
  });

  it('.env.example lists exactly the variables of src/config.ts, each with its meaning and default', () => {
    const lines = read('.env.example').split('\n');
    const entries = lines.flatMap((l, i) => {
      const m = /^#?\s?([A-Z][A-Z0-9_]*)=(.*)$/.exec(l);
      return m ? [{ name: m[1]!, value: m[2]!.trim(), comment: lines[i - 1] ?? '' }] : [];
    });
    expect(entries.map((e) => e.name).sort()).toEqual(configVars);
    for (const e of entries) {
      expect(e.comment, `${e.name} is explained on the line above it`).toMatch(/^# \S/);
      if (e.value === '') expect(defaultOf(e.name), `${e.name} is shown without a default`).toBeUndefined();
      else expect(shape[e.name]!.parse(e.value), `${e.name}'s default`).toEqual(defaultOf(e.name));
    }
  });
});

describe('the README names only what exists', () => {
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);
  for (const path of ['README.md', 'docs/API-REFERENCE.md', 'docs/OPERATIONS.md', 'docs/TESTING.md', 'docs/PERFORMANCE.md', 'docs/RELIABILITY.md', 'docs/WRITE-PATH.md']) {
    it(`${path}: every npm run X is a script of package.json`, () => {
      // Placeholders for parts still being built are HTML comments; they name scripts to come.
      const text = read(path).replace(/<!--[\s\S]*?-->/g, '');
      const named = [...text.matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => m[1]!);
      expect(named.filter((n) => !scripts.includes(n))).toEqual([]);
    });
  }

  it('every relative link of the README points at a file of the repository, and at a heading of it', () => {
    const readme = read('README.md');
    const links = [...readme.matchAll(/\]\((?!https?:)([^)#\s]*)(?:#([^)\s]+))?\)/g)].map((m) => ({ file: m[1] || 'README.md', anchor: m[2] }));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !existsSync(`${ROOT}/${l.file}`)).map((l) => l.file)).toEqual([]);
    // GitHub's anchors: the heading in lower case, punctuation dropped, spaces as hyphens.
    const anchorsOf = (file: string) => [...read(file).matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
    const broken = links.filter((l) => l.anchor && l.file.endsWith('.md') && !anchorsOf(l.file).includes(l.anchor));
    expect(broken.map((l) => `${l.file}#${l.anchor}`)).toEqual([]);
  });
});
