import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A Flowbus schema change. `id` orders them and is what the built-in runner records; `name`
 * (with the 13-digit timestamp TypeORM expects) is what TypeORM's own runner records.
 */
export abstract class FlowbusMigration implements MigrationInterface {
  abstract readonly id: number;
  abstract readonly name: string;

  constructor(protected readonly schema = 'public') {}

  abstract up(queryRunner: QueryRunner): Promise<void>;
  abstract down(queryRunner: QueryRunner): Promise<void>;
}
