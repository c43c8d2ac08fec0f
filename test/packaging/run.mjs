// Packaging test: packs libs/flowbus, installs the tarball into fresh Nest apps created in a temp
// dir outside the repository (so the monorepo's node_modules cannot help), compiles each with tsc
// and no skipLibCheck, and boots it against PostgreSQL to deliver a message through the outbox:
//   esm          ESM app ("type": "module") with the admin API and its peers
//   commonjs     CommonJS app (require(esm) of Nest 12 and Flowbus) with the admin API
//   esm-no-admin ESM app without @nestjs/swagger, class-validator, class-transformer installed
// The two apps with the admin API share one install (each app is a folder with its own
// package.json "type" under it); the two installs run in parallel.
// PostgreSQL: DATABASE_URL when set (a scratch database is created on it), else an embedded server.
// Offline-safe: every version comes from the root package.json, so npm finds it in its cache.
// Usage: node test/packaging/run.mjs
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const library = join(repo, 'libs/flowbus');
const scratchSources = fileURLToPath(new URL('./scratch/', import.meta.url));
const rootPackage = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
const versions = { ...rootPackage.dependencies, ...rootPackage.devDependencies };

const CORE = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/schedule',
  '@nestjs/typeorm',
  'typeorm',
  'pg',
  'reflect-metadata',
  'rxjs',
];
const ADMIN = ['@nestjs/platform-express', '@nestjs/swagger', 'class-validator', 'class-transformer'];
const TOOLS = ['typescript', '@types/node'];
const ADMIN_PEERS = ['@nestjs/swagger', 'class-validator', 'class-transformer'];

/** Installs, and the apps compiled and booted in each. */
const INSTALLS = {
  'with-admin': { admin: true, apps: { esm: 'module', commonjs: 'commonjs' } },
  'without-admin': { admin: false, apps: { 'esm-no-admin': 'module' } },
};

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    // No DOM: a server app (and lib.dom.d.ts alone would double the time tsc takes).
    lib: ['ES2023'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: false,
    types: ['node'],
    outDir: 'dist',
    rootDir: 'src',
  },
  include: ['src/**/*.ts'],
};

async function main() {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'flowbus-packaging-'));
  try {
    // Packed first: its prepack builds dist/, whose testing helper may start the database.
    step(`npm pack (${library})`);
    await sh('npm', ['pack', '--pack-destination', work], { cwd: library });
    const tarball = join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz')),
    );
    const database = await startDatabase();
    try {
      const installed = await Promise.all(
        Object.entries(INSTALLS).map(([name, spec]) => install(join(work, name), spec, tarball)),
      );
      // The apps one at a time: they share the database, and the machine may be small.
      let count = 0;
      for (const { dir, spec } of installed) {
        for (const [app, type] of Object.entries(spec.apps)) {
          await checkApp(join(dir, app), app, type, spec.admin, database.url);
          count++;
        }
      }
      step(`all ${count} apps passed in ${Math.round((Date.now() - started) / 1000)} s`);
    } finally {
      await database.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function install(dir, spec, tarball) {
  mkdirSync(dir, { recursive: true });
  const dependencies = Object.fromEntries([
    ['nestjs-flowbus', `file:${tarball}`],
    ...[...CORE, ...(spec.admin ? ADMIN : [])].map((p) => [p, version(p)]),
  ]);
  const devDependencies = Object.fromEntries(TOOLS.map((p) => [p, version(p)]));
  writeJson(join(dir, 'package.json'), {
    name: 'flowbus-scratch',
    version: '0.0.0',
    private: true,
    dependencies,
    devDependencies,
  });
  const started = Date.now();
  // --legacy-peer-deps: npm must not install optional or missing peers for us (yarn and pnpm do
  // not either); every peer the app needs is in its own package.json.
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--legacy-peer-deps'], { cwd: dir });
  step(`${dir}: npm install (${seconds(started)})`);
  checkPackageContents(join(dir, 'node_modules/nestjs-flowbus'));
  if (!spec.admin) {
    for (const peer of ADMIN_PEERS) {
      const found = await sh('node', ['-e', `require.resolve(${JSON.stringify(`${peer}/package.json`)})`], {
        cwd: dir,
        allowFailure: true,
      });
      if (found.ok) throw new Error(`${peer} is installed in ${dir}: the scenario would prove nothing`);
    }
  }
  return { dir, spec };
}

async function checkApp(dir, name, type, admin, databaseUrl) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeJson(join(dir, 'package.json'), { name: `flowbus-scratch-${name}`, version: '0.0.0', private: true, type });
  writeJson(join(dir, 'tsconfig.json'), TSCONFIG);
  copyFileSync(join(scratchSources, 'flowbus-check.ts'), join(dir, 'src/flowbus-check.ts'));
  copyFileSync(join(scratchSources, admin ? 'main-admin.ts' : 'main.ts'), join(dir, 'src/main.ts'));

  let started = Date.now();
  await sh('node', ['../node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: dir });
  step(`${name}: tsc without skipLibCheck (${seconds(started)})`);
  const emitted = readFileSync(join(dir, 'dist/main.js'), 'utf8');
  if ((type === 'commonjs') !== emitted.includes('require(')) throw new Error(`${name}: not compiled as ${type}`);
  started = Date.now();
  const { stdout } = await sh('node', ['dist/main.js'], {
    cwd: dir,
    env: { DATABASE_URL: databaseUrl },
    timeoutMs: 90_000,
  });
  if (!stdout.includes('delivered')) throw new Error(`${name}: the app did not report a delivery:\n${stdout}`);
  step(`${name}: ${stdout.trim().split('\n').at(-1)} (${seconds(started)})`);
}

/** The installed package holds the manual, the licence, and every source its maps point at. */
function checkPackageContents(pkg) {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  for (const heading of ['## Install in your app', '## Admin API and dashboard', '## Testing your app']) {
    if (!readme.includes(heading)) throw new Error(`the package README lacks "${heading}": not the manual`);
  }
  if (!readFileSync(join(pkg, 'LICENSE'), 'utf8').includes('MIT License')) throw new Error('no MIT LICENSE');
  let maps = 0;
  for (const file of readdirSync(join(pkg, 'dist'), { recursive: true })) {
    if (!String(file).endsWith('.map')) continue;
    const map = join(pkg, 'dist', String(file));
    for (const source of JSON.parse(readFileSync(map, 'utf8')).sources) {
      if (!existsSync(join(dirname(map), source))) throw new Error(`${map} points at ${source}, not shipped`);
    }
    maps++;
  }
  if (maps === 0) throw new Error('no source maps found: the check proves nothing');
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function version(pkg) {
  const v = versions[pkg];
  if (!v) throw new Error(`${pkg} is not in the root package.json: add it there so its version is cached`);
  return v;
}

/** DATABASE_URL's server, with a database of our own; else an embedded server (temp dir). */
async function startDatabase() {
  const { default: pg } = await import('pg');
  const name = `flowbus_packaging_${process.pid}`;
  if (process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    return {
      url: url.href,
      stop: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  step('starting an embedded PostgreSQL');
  const { startEmbeddedPostgres } = await import(join(library, 'dist/testing/index.js'));
  const server = await startEmbeddedPostgres();
  return { url: await server.createDatabase(name), stop: () => server.stop() };
}

async function sh(command, args, { cwd, env = {}, timeoutMs = 300_000, allowFailure = false }) {
  // A clean environment: nothing may lead Node or npm back into the repository.
  const { NODE_PATH: _path, NODE_OPTIONS: _options, ...inherited } = process.env;
  const npmVars = Object.keys(inherited).filter((k) => k.toLowerCase().startsWith('npm_'));
  for (const k of npmVars) if (!k.toLowerCase().startsWith('npm_config_cache')) delete inherited[k];
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd,
      env: { ...inherited, ...env },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { ok: true, stdout, stderr };
  } catch (error) {
    if (allowFailure) return { ok: false, stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (${error.code ?? error.signal}):\n${output}`, {
      cause: error,
    });
  }
}

function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function step(message) {
  console.log(`[packaging] ${message}`);
}

main().catch((error) => {
  console.error(`[packaging] FAILED: ${error.message}`);
  process.exitCode = 1;
});
