import { existsSync } from 'node:fs';

/**
 * Finds a Chromium to drive with playwright-core, as test/dashboard.e2e-spec.ts does:
 * CHROMIUM_PATH, else the `@sparticuz/chromium` npm package when installed, else the system's
 * /usr/bin/chromium. Undefined when there is none: the caller reports "skipped: no browser".
 */
export async function findChromium(): Promise<string | undefined> {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    const name = '@sparticuz/chromium';
    const mod = (await import(name)) as { default: { executablePath(): Promise<string> } };
    const path = await mod.default.executablePath();
    if (path && existsSync(path)) return path;
  } catch {
    // Not installed: fall through to the system browser.
  }
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
