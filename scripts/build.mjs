/**
 * `npm run build`: compile src/ and migrations/ to dist/ with the TypeScript compiler (type
 * errors stop it), then copy every file under src/ that is not TypeScript (the Lua scripts, the
 * dashboard's pages), so `node dist/main.js` runs with nothing but dist/ and the production
 * dependencies. src/X lands at dist/X, migrations/X at dist/migrations/X.
 *
 * The source imports without extensions (moduleResolution Bundler, as tsx and vitest run it);
 * Node's ESM loader wants the file itself, so the emit rewrites each relative import to the
 * file it compiles to: './config' -> './config.js', '../../../migrations' (from
 * src/store/pg) -> '../../migrations/index.js'.
 *
 * The new tree is written beside the old one and swapped in at the end: a failed build leaves
 * the last good dist/ in place. dist/.build-stamp marks when it was built (scripts/start.mjs
 * rebuilds when a source is newer than the build's start).
 *
 * Usage: node scripts/build.mjs [--out DIR] [--no-check]
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file is scripts/build.mjs). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Written last into a finished build; its mtime is the build's time. */
export const STAMP = '.build-stamp';

/** What a build is made from: a change to any of these makes dist/ stale. */
const SOURCES = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'];

/** Every file (and directory: a deleted file changes its directory's mtime) under `path`. */
function* walk(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  yield { path, stat };
  if (!stat.isDirectory()) return;
  for (const name of readdirSync(path)) yield* walk(join(path, name));
}

/** Whether a file under src/ is copied as it is: anything but TypeScript and tests. */
function isAsset(path) {
  return !/\.[cm]?tsx?$/.test(path) && !/\.(test|spec)\./.test(path);
}

/**
 * Why dist/ needs a build, or null when it is up to date: a source newer than the stamp.
 * Reads only mtimes (a few hundred stats), so `npm start` is quick when nothing changed.
 */
export function staleReason(root = ROOT, outDir = join(root, 'dist')) {
  const stamp = statSync(join(outDir, STAMP), { throwIfNoEntry: false });
  if (!stamp) return `${relative(root, outDir) || outDir}/ has not been built`;
  // A tree cut short by hand (or by a disk that filled) would fail at import with a stack trace.
  if (!existsSync(join(outDir, 'main.js'))) return `${relative(root, outDir) || outDir}/main.js is missing`;
  for (const source of SOURCES) {
    for (const { path, stat } of walk(join(root, source))) {
      if (/\.(test|spec)\.[cm]?tsx?$/.test(path)) continue;
      if (stat.mtimeMs > stamp.mtimeMs) return `${relative(root, path)} changed since the last build`;
    }
  }
  return null;
}

/** Where a source file's output goes, relative to the output directory. */
function outputOf(root, sourceFile) {
  let rel = relative(root, sourceFile).split(sep).join('/');
  if (rel.startsWith('src/')) rel = rel.slice('src/'.length);
  return rel.replace(/\.ts$/, '.js').replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs');
}

/** The source file a relative specifier names, as tsx and vitest resolve it; null when none. */
function resolveSource(fromFile, specifier) {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [
    `${base}.ts`,
    `${base}.mts`,
    join(base, 'index.ts'),
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
  ];
  for (const candidate of candidates) {
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  return null;
}

/**
 * Compile into `outDir` (replaced whole); `check: false` skips the type check.
 * @returns the number of files written
 * @throws Error with the compiler's diagnostics when the code does not type-check
 */
export async function build({ root = ROOT, outDir = join(root, 'dist'), check = true } = {}) {
  // The stamp bears the time the build began: a source saved while it runs is newer, so the
  // next start builds again instead of running what was compiled before the save.
  const startedAt = new Date();
  let ts;
  try {
    ts = (await import('typescript')).default;
  } catch {
    throw new Error('building dist/ needs TypeScript, a dev dependency: run `npm install` (not --omit=dev) first');
  }
  const configPath = join(root, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const options = { ...parsed.options, rootDir: root, outDir: join(tmp, '.emit') };

  const unresolved = [];
  /** Rewrite one relative specifier of `fileName` to the output file it names. */
  const rewrite = (fileName, specifier) => {
    if (!specifier.startsWith('./') && !specifier.startsWith('../')) return null;
    const target = resolveSource(fileName, specifier);
    if (!target) {
      unresolved.push(`${relative(root, fileName)}: '${specifier}'`);
      return null;
    }
    const from = dirname(outputOf(root, fileName));
    let rel = relative(from, outputOf(root, target)).split(sep).join('/');
    if (!rel.startsWith('../')) rel = `./${rel}`;
    return rel === specifier ? null : rel;
  };
  const addExtensions = (context) => (sourceFile) => {
    const f = context.factory;
    const visit = (node) => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const to = rewrite(sourceFile.fileName, node.moduleSpecifier.text);
        if (to) return f.updateImportDeclaration(node, node.modifiers, node.importClause, f.createStringLiteral(to), node.attributes);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const to = rewrite(sourceFile.fileName, node.moduleSpecifier.text);
        if (to) return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, f.createStringLiteral(to), node.attributes);
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments.length >= 1 &&
        ts.isStringLiteral(node.arguments[0])
      ) {
        const to = rewrite(sourceFile.fileName, node.arguments[0].text);
        if (to) return f.updateCallExpression(node, node.expression, node.typeArguments, [f.createStringLiteral(to), ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sourceFile, visit);
  };

  let written = 0;
  /** Write one output file; `rel` is its path under the output directory. */
  const write = (rel, text) => {
    const dest = join(tmp, rel);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, text);
    written++;
  };

  if (check) {
    const program = ts.createProgram({ rootNames: parsed.fileNames, options, projectReferences: parsed.projectReferences });
    const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program)];
    if (diagnostics.length > 0) {
      const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
      const format = process.stderr.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
      throw new Error(`the build stopped on ${diagnostics.length} TypeScript error(s):\n${format(diagnostics, host)}`);
    }
    const writeFile = (fileName, text) => {
      const rel = relative(options.outDir, fileName).split(sep).join('/');
      write(rel.startsWith('src/') ? rel.slice('src/'.length) : rel, text);
    };
    const result = program.emit(undefined, writeFile, undefined, false, { after: [addExtensions] });
    if (result.emitSkipped) throw new Error('the TypeScript compiler emitted nothing');
  } else {
    // One file at a time, as isolatedModules promises is safe: no program, no dependency's
    // types parsed (seconds instead of tens of seconds), for `npm start` after an edit.
    // `npm run build`, the image and CI (`npm run typecheck`) check types.
    for (const fileName of parsed.fileNames) {
      const out = ts.transpileModule(readFileSync(fileName, 'utf8'), {
        compilerOptions: options,
        fileName,
        reportDiagnostics: true,
        transformers: { after: [addExtensions] },
      });
      const errors = out.diagnostics?.filter((d) => d.category === ts.DiagnosticCategory.Error) ?? [];
      if (errors.length > 0) {
        const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
        throw new Error(`the build stopped on a syntax error:\n${ts.formatDiagnostics(errors, host)}`);
      }
      write(outputOf(root, fileName), out.outputText);
    }
  }
  if (unresolved.length > 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`the build found relative imports that name no file:\n  ${unresolved.join('\n  ')}`);
  }

  for (const { path, stat } of walk(join(root, 'src'))) {
    if (!stat.isFile() || !isAsset(path)) continue;
    const dest = join(tmp, relative(join(root, 'src'), path));
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(path, dest, { preserveTimestamps: true });
    written++;
  }
  // dist/ stays ESM when it is copied somewhere without the project's package.json.
  writeFileSync(join(tmp, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  writeFileSync(join(tmp, STAMP), `${startedAt.toISOString()}\n`);
  utimesSync(join(tmp, STAMP), startedAt, startedAt);

  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 ? resolve(process.argv[outIndex + 1] ?? '') : join(ROOT, 'dist');
  const started = Date.now();
  try {
    const files = await build({ outDir, check: !process.argv.includes('--no-check') });
    console.error(`built ${relative(process.cwd(), outDir) || '.'}/ (${files} files) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
  if (existsSync(`${outDir}.tmp-${process.pid}`)) rmSync(`${outDir}.tmp-${process.pid}`, { recursive: true, force: true });
}
