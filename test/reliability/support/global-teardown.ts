// Loaded by Jest after the scenarios ran.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const START = '<!-- reliability:start -->';
const END = '<!-- reliability:end -->';

/**
 * After a full run (`npm run test:reliability`), writes the figures every scenario recorded
 * (test/reliability/out/full/*.json) into bench/RELIABILITY.md, between its markers; the text
 * around them is left alone. Short runs write nothing.
 */
export default async function globalTeardown(globalConfig: { rootDir: string }): Promise<void> {
  if (process.env.FLOWBUS_RELIABILITY_PROFILE !== 'full') return;
  const dir = join(globalConfig.rootDir, 'test/reliability/out/full');
  const file = join(globalConfig.rootDir, 'bench/RELIABILITY.md');
  if (!existsSync(dir) || !existsSync(file)) return;
  const sections = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const { scenario, profile: _profile, at, ...figures } = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      return `### ${scenario}\n\nRecorded ${at}.\n\n\`\`\`json\n${JSON.stringify(figures, null, 2)}\n\`\`\`\n`;
    });
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) return;
  writeFileSync(file, `${text.slice(0, from + START.length)}\n\n${sections.join('\n')}\n${text.slice(to)}`);
}
