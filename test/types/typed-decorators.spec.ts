import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The decorators' and SagaContext's types catch mistakes: the fixture compiles with the repo's
 * compiler options, and each line marked `@ts-expect-error` is an error of its own. The fixture
 * is checked twice in one program: as written (zero diagnostics, as `tsc --noEmit` would report),
 * and with the markers removed (errors exactly on the marked lines, so no marker is satisfied by
 * an unrelated error and none has become stale).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./typed-decorators.fixture.ts', import.meta.url));
const stripped = fixture.replace(/\.fixture\.ts$/, '.stripped.ts');
const MARKER = /^\s*\/\/ @ts-expect-error/;

function compilerOptions(): ts.CompilerOptions {
  const file = ts.readConfigFile(`${root}/tsconfig.json`, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(file.config, ts.sys, root);
  return { ...parsed.options, noEmit: true };
}

function lineOf(d: ts.Diagnostic): number {
  return d.file!.getLineAndCharacterOfPosition(d.start!).line;
}

function describeDiagnostic(d: ts.Diagnostic): string {
  return `line ${lineOf(d) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
}

describe('typed decorators (type test)', () => {
  it('rejects each marked mistake at compile time, and only those', () => {
    const source = readFileSync(fixture, 'utf8');
    const lines = source.split('\n');
    // The line after each marker; with the marker blanked, lines keep their numbers.
    const marked = lines.flatMap((l, i) => (MARKER.test(l) ? [i + 1] : []));
    const withoutMarkers = lines.map((l) => (MARKER.test(l) ? '' : l)).join('\n');
    expect(marked.length).toBeGreaterThanOrEqual(8);

    const options = compilerOptions();
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    host.readFile = (name) => (name === stripped ? withoutMarkers : read(name));
    const exists = host.fileExists.bind(host);
    host.fileExists = (name) => name === stripped || exists(name);
    const program = ts.createProgram({ rootNames: [fixture, stripped], options, host });

    const asWritten = ts.getPreEmitDiagnostics(program, program.getSourceFile(fixture));
    expect(asWritten.map(describeDiagnostic)).toEqual([]);

    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(stripped));
    const errorLines = [...new Set(errors.map(lineOf))].sort((a, b) => a - b);
    // A decorator's error may land on the decorated member just below it: count it for the marker.
    const attributed = errorLines.map((l) => (marked.includes(l) ? l : marked.includes(l - 1) ? l - 1 : l));
    expect({ lines: [...new Set(attributed)].map((l) => l + 1) }).toEqual({ lines: marked.map((l) => l + 1) });
  });
});
