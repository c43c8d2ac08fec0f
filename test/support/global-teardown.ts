import type { EmbeddedPostgresServer } from '../../libs/flowbus/src/testing/embedded-postgres.ts';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __flowbusPg?: EmbeddedPostgresServer }).__flowbusPg;
  if (server) await server.stop();
}
