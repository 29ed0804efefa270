/**
 * A plain-JavaScript copy of the package for children that must start fast:
 * every `.ts` file under the given folders is transpiled (no type check)
 * into a temporary directory with the same layout, next to links to the
 * built addon and node_modules. A child then starts in a fraction of the
 * time the TypeScript loader needs, which matters when a test forks dozens.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Transpiles `folders` (relative to the package root) and returns the copy's root; removed at exit. */
export function transpiledTree(folders: string[]): string {
  const out = mkdtempSync(join(tmpdir(), 'shmnet-js-'));
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  for (const folder of folders) {
    for (const file of tsFiles(join(ROOT, folder))) {
      const js = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
        fileName: file,
      }).outputText;
      const dest = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, js);
    }
  }
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  copyFileSync(join(ROOT, 'binding.gyp'), join(out, 'binding.gyp'));
  symlinkSync(join(ROOT, 'build'), join(out, 'build'));
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  return out;
}
