import { ConfigurationError } from '../../errors/configuration.error.js';

/**
 * Loads an optional peer dependency (`amqplib`, `nats`) on first use, so the library works
 * without it installed; a missing package is a configuration error that says what to install.
 */
export async function loadOptionalPackage<T>(pkg: string, user: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissing(error, pkg)) {
      throw new ConfigurationError(
        `${user} needs the optional package "${pkg}": install it with \`npm install ${pkg}\``,
      );
    }
    throw error;
  }
}

function isMissing(error: unknown, pkg: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // Node's ESM loader says ERR_MODULE_NOT_FOUND, CommonJS and Jest say MODULE_NOT_FOUND.
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return error instanceof Error && error.message.includes(`'${pkg}'`);
}

/**
 * The module object of a CommonJS package loaded with `import()`: named exports when Node could
 * detect them, else the `default` export (it differs between Node and Jest's module loader).
 */
export function commonJsExports<T extends object>(mod: T | { default: T }, probe: keyof T): T {
  if (probe in mod && typeof (mod as T)[probe] === 'function') return mod as T;
  return (mod as { default: T }).default;
}
