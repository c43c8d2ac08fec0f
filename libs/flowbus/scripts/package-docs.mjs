// Copies the repository's README.md (the manual) and LICENSE into the package, run by the
// package's build (and so by prepack): one source of truth, no hand-kept copy. Relative links,
// which point into the repository, become links to the repository on its web host.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';

const pkgDir = new URL('../', import.meta.url);
const root = new URL('../../', pkgDir);
const pkg = JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8'));
const web = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');

const readme = readFileSync(new URL('README.md', root), 'utf8').replace(
  /\]\((?!https?:|#|mailto:)([^)\s]+)\)/g,
  (_, target) => `](${web}/blob/main/${target})`,
);
writeFileSync(new URL('README.md', pkgDir), readme);
copyFileSync(new URL('LICENSE', root), new URL('LICENSE', pkgDir));
