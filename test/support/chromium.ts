import { existsSync } from 'node:fs';

/** A Chromium to drive with playwright-core: where it is and the flags to launch it with. */
export interface ChromiumLaunch {
  executablePath: string;
  args: string[];
  /** Where it came from, for error messages and logs. */
  source: string;
}

const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Flags of a system or user-given browser: headless, no sandbox (containers run as root), quiet. */
const DESKTOP_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Flags of `@sparticuz/chromium` that would weaken what the dashboard test checks (its CSP and
 * same-origin behaviour); the rest of its recommended flags are kept.
 */
const WEAKENING_ARGS = new Set(['--disable-web-security', '--allow-running-insecure-content']);

/**
 * Finds a browser without any system package: `CHROMIUM_PATH` if set; else the Chromium shipped
 * inside the `@sparticuz/chromium` npm package (Linux x64; unpacked on first use into the temp
 * dir); else a system Chromium; else a clear error saying how to provide one.
 */
export async function findChromium(): Promise<ChromiumLaunch> {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH is set to ${given}, which does not exist`);
    return { executablePath: given, args: DESKTOP_ARGS, source: 'CHROMIUM_PATH' };
  }
  if (process.platform === 'linux' && process.arch === 'x64') {
    const { default: packaged } = await import('@sparticuz/chromium');
    return {
      executablePath: await packaged.executablePath(),
      args: packaged.args.filter((a) => !WEAKENING_ARGS.has(a)),
      source: '@sparticuz/chromium',
    };
  }
  const system = SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (system) return { executablePath: system, args: DESKTOP_ARGS, source: system };
  throw new Error(
    `No Chromium for the dashboard test: the packaged one (@sparticuz/chromium) exists for Linux x64 only ` +
      `(this is ${process.platform} ${process.arch}) and none was found at ${SYSTEM_CHROMIUM.join(', ')}. ` +
      'Install Chromium or Chrome, or point CHROMIUM_PATH at its binary.',
  );
}
