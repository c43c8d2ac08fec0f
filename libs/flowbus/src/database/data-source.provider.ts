import { Logger, type Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FLOWBUS_DATA_SOURCE, FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';

/**
 * The DataSource Flowbus uses: `options.dataSource`, else the one `@nestjs/typeorm` registers
 * under the `DataSource` token. Must be PostgreSQL. A DataSource given uninitialised is
 * initialised here (and then destroyed by Flowbus on shutdown).
 */
export const dataSourceProvider: Provider = {
  provide: FLOWBUS_DATA_SOURCE,
  // Injecting the DataSource token (optional) makes Nest create @nestjs/typeorm's async
  // DataSource provider before this one.
  inject: [FLOWBUS_RESOLVED_OPTIONS, { token: DataSource, optional: true }],
  useFactory: async (options: ResolvedOptions, provided: DataSource | undefined): Promise<DataSource> => {
    const dataSource = options.dataSource ?? provided;
    if (!dataSource) {
      throw new InvalidOptionsError(
        'dataSource',
        'not given, and no DataSource is provided by @nestjs/typeorm (import TypeOrmModule.forRoot(...) or pass dataSource)',
      );
    }
    if (dataSource.options.type !== 'postgres') {
      throw new InvalidOptionsError(
        'dataSource',
        `must be a PostgreSQL DataSource (type "postgres"), got "${dataSource.options.type}"`,
      );
    }
    if (!dataSource.isInitialized) {
      await dataSource.initialize();
      ownedDataSources.add(dataSource);
      new Logger('Flowbus').log('Initialised the DataSource passed in options.dataSource');
    }
    return dataSource;
  },
};

/** DataSources Flowbus initialised itself and so must destroy. */
export const ownedDataSources = new WeakSet<DataSource>();
