/**
 * Thrown from inside a transaction whose work lost a race with a concurrent writer (a saga
 * instance saved or created meanwhile): the transaction's owner rolls it back and runs the work
 * again from the start, which is cheaper in the common case than a savepoint around it.
 */
export class TransactionConflict extends Error {}

/** Attempts of a transaction that keeps conflicting before its owner gives up. */
export const MAX_CONFLICT_ATTEMPTS = 5;
