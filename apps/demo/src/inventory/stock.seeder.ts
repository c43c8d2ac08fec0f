import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { CATALOGUE } from './catalogue.js';
import { StockItem } from './stock-item.entity.js';

/** Puts the catalogue's SKUs in a fresh database; SKUs already there keep their stock. */
@Injectable()
export class StockSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('StockSeeder');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    const result = await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(StockItem)
      .values([...CATALOGUE])
      .orIgnore()
      .returning(['sku'])
      .execute();
    const added = (result.raw as { sku: string }[]).map((r) => r.sku);
    if (added.length > 0) this.logger.log(`Seeded the catalogue: ${added.join(', ')}`);
  }
}
