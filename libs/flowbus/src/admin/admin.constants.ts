/** Injection token of the resolved admin options (`ResolvedAdminOptions`). */
export const FLOWBUS_ADMIN_OPTIONS = Symbol('FLOWBUS_ADMIN_OPTIONS');

/** Route prefix of the admin API and dashboard when none is given. */
export const DEFAULT_ADMIN_PATH = 'flowbus';
