import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Fixture apps as real child Node processes: TypeScript loaded through register-ts.mjs, the library
 * imported by its package name. The registry remembers every process, whether the scenario killed
 * it on purpose, and how it ended, so the books can say "no process died unless killed".
 */

const REGISTER = fileURLToPath(new URL('./register-ts.mjs', import.meta.url));
const FIXTURES = new URL('../fixtures/', import.meta.url);

export interface FixtureEvent {
  event: string;
  [field: string]: unknown;
}

export class FixtureProcess {
  readonly events: FixtureEvent[] = [];
  /** Set before the scenario signals the process on purpose. */
  killedOnPurpose = false;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private output = '';
  private readonly exited: Promise<void>;
  private readonly listeners = new Set<(e: FixtureEvent) => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (m) => {
      const e = m as FixtureEvent;
      this.events.push(e);
      for (const l of this.listeners) l(e);
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
      if (process.env.FLOWBUS_FIXTURE_LOGS) process.stderr.write(`[${name}] ${chunk.toString()}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The last lines the process wrote (stdout and stderr). */
  get tail(): string {
    return this.output.split('\n').slice(-30).join('\n');
  }

  /** Resolves with the first event named `event` (past or future); rejects on exit or after `timeoutMs`. */
  waitEvent(event: string, timeoutMs = 30_000): Promise<FixtureEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        fn();
      };
      const listener = (e: FixtureEvent) => e.event === event && done(() => resolve(e));
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `${this.name}: no "${event}" within ${timeoutMs} ms; last event ${JSON.stringify(this.events.at(-1))}\n${this.tail}`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.exited.then(() =>
        done(() =>
          reject(new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before "${event}"\n${this.tail}`)),
        ),
      );
    });
  }

  /** The latest event named `event`. */
  last(event: string): FixtureEvent | undefined {
    for (let i = this.events.length - 1; i >= 0; i--) if (this.events[i]!.event === event) return this.events[i];
    return undefined;
  }

  /** Sends a message to the fixture (IPC). */
  send(message: object): void {
    this.child.send(message);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.killedOnPurpose = true;
    if (this.alive) this.child.kill(signal);
  }

  /** Waits for the exit, SIGKILLing the process when it takes longer than `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    return { ...this.exit!, ms: Date.now() - started };
  }
}

/** Every fixture process of one scenario. */
export class ProcessRegistry {
  readonly all: FixtureProcess[] = [];

  /** Starts `test/reliability/fixtures/<fixture>.fixture.ts` with `config` and waits for "ready". */
  async start(fixture: string, name: string, config: object, readyTimeoutMs = 60_000): Promise<FixtureProcess> {
    const child = fork(fileURLToPath(new URL(`${fixture}.fixture.ts`, FIXTURES)), [], {
      execArgv: ['--import', REGISTER],
      env: { ...process.env, FLOWBUS_FIXTURE: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const p = new FixtureProcess(name, child);
    this.all.push(p);
    await p.waitEvent('ready', readyTimeoutMs);
    return p;
  }

  /** Processes that ended although nobody killed them, with how and their last output. */
  unexpectedDeaths(): string[] {
    return this.all
      .filter((p) => p.exit && !p.killedOnPurpose)
      .map((p) => `${p.name} (pid ${p.pid}) exited ${JSON.stringify(p.exit)}:\n${p.tail}`);
  }

  /** Processes that ended with a tripwire code (unhandled rejection 70, uncaught exception 71, 72). */
  tripped(): string[] {
    return this.all
      .filter((p) => p.exit?.code !== undefined && p.exit.code !== null && p.exit.code >= 70 && p.exit.code <= 72)
      .map((p) => `${p.name} exited ${p.exit!.code}:\n${p.tail}`);
  }

  /** SIGTERMs what still runs (SIGKILL after `timeoutMs`), for the end of a scenario. */
  async stopAll(timeoutMs = 15_000): Promise<void> {
    const alive = this.all.filter((p) => p.alive);
    for (const p of alive) p.kill('SIGTERM');
    await Promise.all(alive.map((p) => p.waitExit(timeoutMs)));
  }
}
