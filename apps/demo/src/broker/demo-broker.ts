import {
  amqpDestination,
  amqpSource,
  natsDestination,
  natsSource,
  type Destination,
  type Source,
} from 'nestjs-flowbus';

/** Exchange (RabbitMQ) or subject prefix and stream (NATS) the shop and the shipping service share. */
const NAME = 'flowbus-demo';
const STREAM = 'FLOWBUS_DEMO';

/**
 * The broker between the shop and the shipping service when they run as two processes: RabbitMQ
 * with `AMQP_URL`, NATS JetStream with `NATS_URL`. Messages go out through a destination and come
 * in through a source; the message type routes them (routing key / last subject token).
 */
export interface DemoBroker {
  readonly shown: string;
  /** Where either side publishes messages for `to` (`shop` or `shipping`). */
  destination(to: string): Destination;
  /** What `consumer` receives: the types it handles, on a queue / durable consumer of its own. */
  source(consumer: string, types: string[]): Source;
}

/** The broker the environment names, or undefined (single process, shipping over HTTP). */
export function demoBrokerFromEnv(env: NodeJS.ProcessEnv): DemoBroker | undefined {
  if (env.AMQP_URL) {
    const url = env.AMQP_URL;
    return {
      shown: `RabbitMQ ${new URL(url).host}`,
      destination: () => amqpDestination({ url, exchange: NAME, mandatory: true }),
      source: (consumer, types) =>
        amqpSource({
          url,
          queue: `${NAME}.${consumer}`,
          bindings: types.map((routingKey) => ({ exchange: NAME, routingKey })),
        }),
    };
  }
  if (env.NATS_URL) {
    const servers = env.NATS_URL;
    return {
      shown: `NATS JetStream ${servers}`,
      // One subject per recipient (one filter subject per consumer works with NATS servers before 2.10).
      destination: (to) =>
        natsDestination({
          servers,
          subject: (m) => `${NAME}.${to}.${m.type}`,
          stream: STREAM,
          streamSubjects: [`${NAME}.>`],
        }),
      source: (consumer) =>
        natsSource({
          servers,
          stream: STREAM,
          durable: `${NAME}-${consumer}`,
          filterSubjects: [`${NAME}.${consumer}.>`],
        }),
    };
  }
  return undefined;
}
