/** Sizes of one saga bench run. */
export interface SagaBudget {
  /** Fresh processes per measurement, each doing a warm-up and one measured round. */
  readonly passes: number;
  readonly instances: number;
  readonly warmupInstances: number;
  /** Rows of the relay no-op drain measured next to the saga steps, with the same relay. */
  readonly noopRows: number;
  readonly timeouts: number;
  /** Due times are spread evenly over this window. */
  readonly spreadMs: number;
  readonly warmupTimeouts: number;
}

export const FULL_BUDGET: SagaBudget = {
  passes: 5,
  instances: 10_000,
  warmupInstances: 200,
  noopRows: 20_000,
  timeouts: 10_000,
  spreadMs: 5_000,
  warmupTimeouts: 1_000,
};

export const QUICK_BUDGET: SagaBudget = {
  passes: 1,
  instances: 300,
  warmupInstances: 100,
  noopRows: 5_000,
  timeouts: 2_000,
  spreadMs: 2_000,
  warmupTimeouts: 300,
};

export const SAGA_SCHEMA = 'bench_saga';
/** Concurrent `bus.publish` loops creating timer instances. */
export const CREATORS = 8;
