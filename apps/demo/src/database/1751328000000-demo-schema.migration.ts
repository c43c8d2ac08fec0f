import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The demo's own tables. Flowbus's tables (`flowbus_*`) come from Flowbus's migrations, which
 * FlowbusModule runs on start; these run through TypeORM (`migrationsRun`), tracked in
 * `demo_migrations`.
 */
export class DemoSchema1751328000000 implements MigrationInterface {
  name = 'DemoSchema1751328000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE orders (
        id uuid PRIMARY KEY,
        customer text NOT NULL,
        lines jsonb NOT NULL,
        total_cents integer NOT NULL CHECK (total_cents >= 0),
        status text NOT NULL,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX orders_created_at_idx ON orders (created_at DESC)`);
    await runner.query(`
      CREATE TABLE payments (
        order_id uuid PRIMARY KEY,
        payment_id uuid,
        amount_cents integer NOT NULL,
        status text NOT NULL,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE stock_items (
        sku text PRIMARY KEY,
        name text NOT NULL,
        price_cents integer NOT NULL CHECK (price_cents >= 0),
        available integer NOT NULL CHECK (available >= 0)
      )`);
    await runner.query(`
      CREATE TABLE reservations (
        order_id uuid NOT NULL,
        sku text NOT NULL REFERENCES stock_items (sku),
        qty integer NOT NULL CHECK (qty > 0),
        status text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (order_id, sku)
      )`);
    await runner.query(`
      CREATE TABLE shipments (
        order_id uuid PRIMARY KEY,
        status text NOT NULL,
        tracking_number text,
        reason text,
        message_id uuid NOT NULL,
        requests integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE shipments, reservations, stock_items, payments, orders`);
  }
}
