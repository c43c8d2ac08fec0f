/** A RabbitMQ message as a source's `map(raw)` receives it. */
export interface RawAmqpMessage {
  /** The body as the broker delivered it. */
  readonly body: Buffer;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): unknown;
  readonly exchange: string;
  readonly routingKey: string;
  /** The broker delivered it before (to this or another consumer). */
  readonly redelivered: boolean;
  /** AMQP basic properties (`messageId`, `type`, `contentType`, `timestamp`, `correlationId` …). */
  readonly properties: Readonly<Record<string, unknown>>;
  /** AMQP headers table. */
  readonly headers: Readonly<Record<string, unknown>>;
}

/** A NATS JetStream message as a source's `map(raw)` receives it. */
export interface RawNatsMessage {
  /** The body as the server delivered it. */
  readonly body: Uint8Array;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): unknown;
  readonly subject: string;
  /** NATS headers (the first value of each). */
  readonly headers: Readonly<Record<string, string>>;
  /** Stream and stream sequence: together a stable id of the message. */
  readonly stream: string;
  readonly sequence: number;
  /** JetStream delivered it before. */
  readonly redelivered: boolean;
}
