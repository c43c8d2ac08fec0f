import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The destination of the relays: a real HTTP server on 127.0.0.1 that records every delivery by
 * message id and answers by the message's kind — `poison` 422 (non-retryable), `failing` 503
 * (retried until dead-lettered), `slow` after `slowMs`, `clean` 200. It can go down (port closed,
 * connections reset) and come back on the same port, or hang (accept and never answer).
 */
export type SinkMode = 'up' | 'down' | 'hang';

export interface SinkDelivery {
  readonly id: string;
  readonly n: number;
  readonly key: string | null;
  readonly kind: string;
  /** When the 2xx answer was sent (ms since epoch). */
  readonly at: number;
  readonly attempt: number;
}

export class HttpSink {
  /** Successful (2xx) deliveries in the order they were answered. */
  readonly delivered: SinkDelivery[] = [];
  /** Acknowledgements per message id. */
  readonly acks = new Map<string, number>();
  /** Requests answered with an error status, by status. */
  readonly refusals = new Map<number, number>();
  /** Requests that reached the sink (any answer, or none). */
  requests = 0;
  slowMs = 5000;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private hanging = false;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/deliveries`;
  }

  async start(): Promise<void> {
    await this.listen(0);
  }

  /** Answers requests normally again (reopening the port if it was down). */
  async up(): Promise<void> {
    this.hanging = false;
    if (!this.server) await this.listen(this.port);
  }

  /** Closes the port and resets open connections: deliveries fail with a network error. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Accepts requests and never answers them. */
  hang(): void {
    this.hanging = true;
  }

  get mode(): SinkMode {
    return !this.server ? 'down' : this.hanging ? 'hang' : 'up';
  }

  async stop(): Promise<void> {
    await this.down();
  }

  /** Sum over messages of (acknowledgements − 1). */
  duplicates(): number {
    let d = 0;
    for (const c of this.acks.values()) d += c - 1;
    return d;
  }

  private listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.hanging) return;
    let body: { id: string; key: string | null; payload: { n: number; kind: string } };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      this.answer(res, 400);
      return;
    }
    const kind = body.payload?.kind ?? 'clean';
    if (kind === 'poison') return this.answer(res, 422);
    if (kind === 'failing') return this.answer(res, 503);
    if (kind === 'slow') {
      await new Promise((r) => setTimeout(r, this.slowMs));
      if (this.hanging || res.destroyed) return;
    }
    this.acks.set(body.id, (this.acks.get(body.id) ?? 0) + 1);
    this.delivered.push({
      id: body.id,
      n: body.payload.n,
      key: body.key,
      kind,
      at: Date.now(),
      attempt: Number(req.headers['x-flowbus-attempt'] ?? 0),
    });
    res.writeHead(200).end();
  }

  private answer(res: ServerResponse, status: number): void {
    this.refusals.set(status, (this.refusals.get(status) ?? 0) + 1);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
  }
}
