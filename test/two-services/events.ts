/** The events the two services exchange: OrderPlaced over RabbitMQ, OrderShipped back over NATS. */
export class OrderPlaced {
  static readonly eventType = 'TwoServicesOrderPlaced';
  orderId!: string;
}

export class OrderShipped {
  static readonly eventType = 'TwoServicesOrderShipped';
  orderId!: string;
  shipmentNo!: number;
}

/** What both sides are given: broker names unique to one test run. */
export interface TwoServicesConfig {
  databaseUrl: string;
  rabbitUrl: string;
  natsUrl: string;
  exchange: string;
  queue: string;
  stream: string;
  subject: string;
}
