import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP destination for breaker tests that can be taken down (listening socket and open
 * connections closed) and back up on the same port. It answers after `delayMs`: 503 to a message
 * whose body contains `"fail":true`, 200 to the others (counted in `delivered`).
 */
export class SwitchableSink {
  private server: Server | undefined;
  /** Answers not sent yet (dropped with their connections by `down()`). */
  private readonly pending = new Set<NodeJS.Timeout>();
  port = 0;
  delayMs = 0;
  /** Deliveries answered 200, per message id. */
  readonly delivered = new Map<string, number>();
  /** When the first 200 after the last `up()` was answered. */
  firstAfterUp: number | undefined;
  upAt = 0;

  /** Requests received and not answered yet. */
  inFlight(): number {
    return this.pending.size;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const id = String(req.headers['x-flowbus-message-id']);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const fail = Buffer.concat(chunks).toString().includes('"fail":true');
        const timer = setTimeout(() => {
          this.pending.delete(timer);
          if (fail) return void res.writeHead(503).end();
          this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1);
          this.firstAfterUp ??= performance.now();
          res.writeHead(200).end();
        }, this.delayMs);
        this.pending.add(timer);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.upAt = performance.now();
    this.firstAfterUp = undefined;
  }

  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}
