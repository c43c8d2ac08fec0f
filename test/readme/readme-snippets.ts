import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the snippets are compiled, next to the files standing in for the reader's own code. */
const HERE = dirname(fileURLToPath(import.meta.url));

/** The README's TypeScript blocks tagged ```` ```ts file=<name> ````, by file (same name: concatenated). */
export function readmeSnippets(markdown = readFileSync(join(ROOT, 'README.md'), 'utf8')): Map<string, string> {
  const files = new Map<string, string>();
  for (const match of markdown.matchAll(/^```ts file=(\S+)\n([\s\S]*?)^```$/gm)) {
    files.set(match[1]!, (files.get(match[1]!) ?? '') + match[2]);
  }
  return files;
}

/** The packages the README's install section tells the reader to install. */
export function installedPackages(markdown = readFileSync(join(ROOT, 'README.md'), 'utf8')): Set<string> {
  const section = markdown.slice(markdown.indexOf('## Install in your app'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const packages = new Set<string>();
  for (const line of block.split('\n')) {
    const command = line.split('#')[0]!.trim();
    if (!command.startsWith('npm install ')) continue;
    for (const word of command.slice('npm install '.length).split(/\s+/)) if (word) packages.add(word);
  }
  return packages;
}

/** The bare (package) imports of some TypeScript sources. */
export function packageImports(sources: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(/^import [^;]*? from '([^.'][^']*)';/gm)) {
      const parts = match[1]!.split('/');
      out.add(match[1]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return out;
}

/**
 * Type-checks the snippets as files of one program against the library's sources (the repository
 * tsconfig maps `nestjs-flowbus`, `nestjs-flowbus/admin` and `nestjs-flowbus/testing` to them) and
 * returns the diagnostics, formatted.
 */
let previous: ts.Program | undefined;

export function compileSnippets(snippets: Map<string, string>): string[] {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, types: ['node'] };
  const virtual = new Map([...snippets].map(([name, text]) => [join(HERE, name), text]));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) => {
    const text = virtual.get(f);
    return text === undefined ? getSourceFile.call(host, f, language, ...rest) : ts.createSourceFile(f, text, language);
  };
  // The previous program lends its unchanged files (the library, node_modules' declarations).
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host, oldProgram: previous });
  previous = program;
  // Only the snippets' own diagnostics: the library is type-checked by its build, and checking
  // just these files lets the checker look at no more of it than they use.
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...[...virtual.keys()].flatMap((f) => {
      const file = program.getSourceFile(f)!;
      return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    }),
  ];
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return message;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.slice(ROOT.length)}:${line + 1}:${character + 1} TS${d.code} ${message}`;
  });
}
