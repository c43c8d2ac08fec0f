import { fork, type ChildProcess } from 'node:child_process';

/** A message between the bench parent and one of its long-lived children. */
export interface Message {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** How to start one long-lived child. */
export interface WorkerOptions {
  readonly args: readonly string[];
  readonly execArgv?: readonly string[];
  /** Label used in errors. */
  readonly name: string;
}

/**
 * A child process the parent drives step by step (start, seed, go, report, stop), unlike
 * `runChild`, which waits for one result. Messages are `{ type, ... }` objects; `next(type)`
 * returns the next message of that type, queued if it arrived before anyone asked, and
 * `latest(type)` the last one seen (progress counters).
 */
export class WorkerProcess {
  private readonly queued = new Map<string, Message[]>();
  private readonly waiting = new Map<string, ((m: Message) => void)[]>();
  private readonly last = new Map<string, Message>();
  private exited: Error | undefined;
  private readonly exit: Promise<void>;
  private onFailure: ((error: Error) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (raw) => this.receive(raw as Message));
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = new Error(`${name} exited with ${signal ?? code}`);
        for (const fail of this.onFailure) fail(this.exited);
        this.onFailure = [];
        resolve();
      });
    });
  }

  static start(file: string, options: WorkerOptions): WorkerProcess {
    const child = fork(file, options.args, { execArgv: [...(options.execArgv ?? [])], stdio: 'inherit' });
    return new WorkerProcess(child, options.name);
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(message: Message): void {
    if (this.exited) throw this.exited;
    this.child.send(message);
  }

  /** The next message of `type`, or a rejection when the child exits or `timeoutMs` passes. */
  next<T extends Message>(type: string, timeoutMs = 120_000): Promise<T> {
    const queue = this.queued.get(type);
    if (queue?.length) return Promise.resolve(queue.shift() as T);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      const receive = (m: Message) => {
        done();
        resolve(m as T);
      };
      const fail = (error: Error) => {
        done();
        reject(error);
      };
      const done = () => {
        clearTimeout(timer);
        const list = this.waiting.get(type) ?? [];
        this.waiting.set(
          type,
          list.filter((r) => r !== receive),
        );
        this.onFailure = this.onFailure.filter((f) => f !== fail);
      };
      this.waiting.set(type, [...(this.waiting.get(type) ?? []), receive]);
      this.onFailure.push(fail);
    });
  }

  /** Sends `message` and waits for the child's answer of type `answer`. */
  async ask<T extends Message>(message: Message, answer: string, timeoutMs?: number): Promise<T> {
    const reply = this.next<T>(answer, timeoutMs);
    this.send(message);
    return reply;
  }

  /** The last message of `type` seen so far. */
  latest<T extends Message>(type: string): T | undefined {
    return this.last.get(type) as T | undefined;
  }

  /** Asks the child to stop and waits for it to exit; kills it after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.exited) this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exit;
    clearTimeout(timer);
  }

  private receive(m: Message): void {
    this.last.set(m.type, m);
    const waiters = this.waiting.get(m.type);
    const first = waiters?.shift();
    if (first) first(m);
    else if (m.type !== 'progress') this.queued.set(m.type, [...(this.queued.get(m.type) ?? []), m]);
  }
}

/**
 * Child side: calls `handle` for every message from the parent, one at a time in arrival order,
 * and exits after the `stop` message was handled. A handler that throws ends the process with
 * code 1, so the parent's `next` rejects instead of waiting for its timeout.
 */
export function serveParent(handle: (m: Message) => Promise<void> | void): void {
  let chain = Promise.resolve();
  process.on('message', (raw) => {
    const m = raw as Message;
    chain = chain.then(async () => {
      try {
        await handle(m);
        if (m.type === 'stop') {
          process.disconnect();
          process.exit(0);
        }
      } catch (error) {
        console.error(error);
        process.exit(1);
      }
    });
  });
}

/** Sends a message to the parent. */
export function tell(message: Message): void {
  process.send!(message);
}

/**
 * Runs `file` in a fresh process until it reports a `result` message (see `reportResult`), then
 * waits for it to exit.
 */
export async function runOnce<T>(file: string, options: WorkerOptions, timeoutMs = 120_000): Promise<T> {
  const child = WorkerProcess.start(file, options);
  try {
    const message = await child.next<Message & { value: T }>('result', timeoutMs);
    return message.value;
  } finally {
    await child.stop();
  }
}

/** In a child started by `runOnce`: hands `value` to the parent, which then stops the child. */
export function reportResult(value: unknown): void {
  tell({ type: 'result', value });
}
