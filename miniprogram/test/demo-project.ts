/**
 * The demo (demo/) as DevTools compiles it, for the mini program sandbox (mp-runtime.ts):
 * TypeScript → JS, the package as compiled for the tests in miniprogram_npm, config.js
 * pointing at a test service.
 */

import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'

import ts from 'typescript'

export const DEMO = resolve(__dirname, '..', '..', 'demo') // build/test -> miniprogram/demo
const BUILT = resolve(__dirname, '..', 'src') // the package as compiled for the tests

/** A new project folder holding the compiled demo, calling `baseUrl`. */
export function compileDemo(baseUrl: string): string {
  const project = mkdtempSync(join(tmpdir(), 'wxlogin-mp-demo-'))
  const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return ['node_modules', 'miniprogram_npm'].includes(entry.name) ? [] : sources(path)
    return [path]
  })
  for (const file of sources(DEMO)) {
    const target = join(project, relative(DEMO, file))
    mkdirSync(dirname(target), { recursive: true })
    if (!file.endsWith('.ts')) {
      cpSync(file, target)
      continue
    }
    let code = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS },
      fileName: file,
    }).outputText
    if (file.endsWith('config.ts')) {
      const local = code.replace("'http://127.0.0.1:5000'", JSON.stringify(baseUrl))
      assert.notEqual(local, code, 'BASE_URL of demo/config.ts')
      code = local
    }
    writeFileSync(target.replace(/\.ts$/, '.js'), code)
  }
  const npm = join(project, 'miniprogram_npm', 'wxlogin-miniprogram')
  mkdirSync(npm, { recursive: true })
  for (const name of readdirSync(BUILT).filter((f) => f.endsWith('.js'))) cpSync(join(BUILT, name), join(npm, name))
  return project
}

/** The names a WXML binds ({{…}}, quoted text left out) and its bindtap handlers. */
export function wxmlBindings(wxml: string): { bound: Set<string>; handlers: string[] } {
  const bound = new Set([...wxml.matchAll(/{{([^}]*)}}/g)].flatMap((m) => m[1].replace(/'[^']*'/g, '').match(/[A-Za-z_]\w*/g) ?? []))
  return { bound, handlers: [...wxml.matchAll(/bindtap="(\w+)"/g)].map((m) => m[1]) }
}
