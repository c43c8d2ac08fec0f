// Benchmark driver: `npm run bench` runs every bench, `npm run bench -- bus` only that one.
// Builds the library and the benches, provides PostgreSQL to the benches that need it, runs each
// bench file in its own process and writes the section it reports between its markers in
// bench/RESULTS.md, leaving the rest of the file alone.
//
// Add a bench: write bench/<name>.bench.ts that prints its figures and, when BENCH_REPORT is
// set, writes its markdown section to that file; then add an entry below. A report whose first
// line is `<!-- section: <name>-<label> -->` goes to a section of that name instead (placed
// before the bench's own section when new), e.g. the relay bench's recorded BEFORE baseline.
// Flags: --no-build (reuse the last build); any other argument is passed to the bench files.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  // name: CLI argument and marker name; database: gets BENCH_DATABASE_URL.
  { name: 'bus', file: 'bus.bench.js', database: true },
  { name: 'relay', file: 'relay.bench.js', database: true },
  { name: 'saga', file: 'saga.bench.js', database: true },
  { name: 'sources', file: 'sources.bench.js', database: true },
];

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const resultsFile = join(benchDir, 'RESULTS.md');
const HEADER = `# Benchmarks

Produced by \`npm run bench\` (every bench) or \`npm run bench -- <name>\` (one of them). Each bench
rewrites only its own section, between its \`<!-- <name>:start -->\` and \`<!-- <name>:end -->\`
markers. Benchmarks are not tests: the figures depend on the machine and its load.
`;

const args = process.argv.slice(2);
const isBench = (a) => BENCHES.some((b) => b.name === a);
const names = args.filter(isBench);
const flags = args.filter((a) => !isBench(a) && a !== '--no-build');
if (args[0] && !args[0].startsWith('-') && !isBench(args[0])) {
  console.error(`Unknown bench ${args[0]}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const selected = names.length ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
// The storage variable changes what is measured: it is part of the command a report quotes.
const storage = process.env.FLOWBUS_BENCH_STORAGE ? `FLOWBUS_BENCH_STORAGE=${process.env.FLOWBUS_BENCH_STORAGE} ` : '';
const command = `${storage}npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;

if (!args.includes('--no-build')) {
  await run('npm', ['run', '--silent', 'build:lib']);
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(benchDir, 'tsconfig.json')]);
}

let postgres;
const stopPostgres = async () => {
  const server = postgres;
  postgres = undefined;
  if (server) await server.stop();
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => stopPostgres().finally(() => process.exit(130)));
}

let failed = false;
const scratch = await mkdtemp(join(tmpdir(), 'flowbus-bench-'));
try {
  for (const bench of selected) {
    const env = { ...process.env, BENCH_COMMAND: command, BENCH_REPORT: join(scratch, `${bench.name}.md`) };
    if (bench.database) env.BENCH_DATABASE_URL = await databaseFor(bench.name);
    try {
      await run(process.execPath, [join(benchDir, 'out', bench.file), ...flags], env);
      const report = await readFile(env.BENCH_REPORT, 'utf8');
      const named = /^<!-- section: ([\w-]+) -->\n/.exec(report);
      if (named && !named[1].startsWith(`${bench.name}-`))
        throw new Error(`section ${named[1]} is not ${bench.name}'s`);
      await writeSection(named ? named[1] : bench.name, named ? report.slice(named[0].length) : report, bench.name);
      console.log(`bench ${bench.name}: section written to ${resultsFile}`);
    } catch (error) {
      failed = true;
      console.error(`bench ${bench.name} failed, its section is left as it was: ${error.message}`);
    }
  }
} finally {
  await stopPostgres();
  await rm(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

/** DATABASE_URL when set; otherwise a database of the bench's own on one embedded server. */
async function databaseFor(name) {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (!postgres) {
    const { startEmbeddedPostgres } = await import('nestjs-flowbus/testing');
    postgres = await startEmbeddedPostgres();
    console.log(`Embedded PostgreSQL on port ${postgres.port}`);
  }
  return postgres.createDatabase(`flowbus_bench_${name}`);
}

async function writeSection(name, body, owner = name) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(resultsFile) ? await readFile(resultsFile, 'utf8') : HEADER;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const ownerAt = owner === name ? -1 : current.indexOf(`<!-- ${owner}:start -->`);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : ownerAt >= 0
        ? `${current.slice(0, ownerAt)}${section}\n\n${current.slice(ownerAt)}`
        : `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(resultsFile, next);
}

function run(cmd, argv, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd: root, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${argv.join(' ')} exited with ${signal ?? code}`)),
    );
  });
}
