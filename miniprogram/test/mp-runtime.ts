/**
 * Just enough of WeChat DevTools and the mini program runtime to try the package as a
 * mini program project gets it:
 *
 * - buildNpm(): 工具 → 构建 npm. For each package of the project's `dependencies`, the folder
 *   named by its package.json `miniprogram` field (default `miniprogram_dist`) is copied whole
 *   into `miniprogram_npm/<name>/`. (A package without one would be bundled from `main`
 *   instead; this package has one, so that case is not emulated.)
 * - loadMiniProgram(): the runtime's module system in a fresh JS realm (node:vm) that has
 *   `wx`, App/Page/getApp, console and timers, and nothing of Node (no process, Buffer,
 *   require of Node modules). require('./x') is relative to the file ('.js' implied);
 *   require('pkg') is `miniprogram_npm/pkg/index.js` in the file's folder or one above it,
 *   up to the project root; anything else is "module is not defined".
 */

import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { createContext, runInContext } from 'node:vm'

export function buildNpm(root: string): string[] {
  const project = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const built: string[] = []
  for (const name of Object.keys(project.dependencies ?? {})) {
    const home = join(root, 'node_modules', name)
    const manifest = JSON.parse(readFileSync(join(home, 'package.json'), 'utf8'))
    const folder = join(home, manifest.miniprogram ?? 'miniprogram_dist')
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new Error(`${name}: no "miniprogram" folder (${folder}); 构建 npm would bundle its main instead`)
    }
    const target = join(root, 'miniprogram_npm', name)
    mkdirSync(dirname(target), { recursive: true })
    cpSync(folder, target, { recursive: true })
    built.push(name)
  }
  return built
}

export interface PageInstance {
  data: Record<string, unknown>
  setData(changes: Record<string, unknown>): void
  [method: string]: unknown
}

export interface MiniProgram {
  /** What app.js gave App() (getApp() of the pages); its onLaunch has run. */
  app: Record<string, unknown>
  /** require() of the runtime, from the project root. */
  require(request: string): unknown
  /** Loads a page's .js (which calls Page()) and gives an instance of it. */
  page(path: string): PageInstance
}

export function loadMiniProgram(root: string, wx: unknown): MiniProgram {
  root = resolve(root)
  let app: Record<string, unknown> | undefined
  let lastPage: Record<string, unknown> | undefined
  const context = createContext({
    wx,
    console,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    App: (options: Record<string, unknown>) => void (app = options),
    Page: (options: Record<string, unknown>) => void (lastPage = options),
    getApp: () => app,
  })
  const cache = new Map<string, { exports: unknown }>()

  const inside = (file: string) => file === root || file.startsWith(root + sep)
  const asFile = (base: string) =>
    [base, `${base}.js`, join(base, 'index.js')].find((f) => inside(f) && existsSync(f) && statSync(f).isFile())

  const resolveFrom = (dir: string, request: string): string => {
    let found: string | undefined
    if (request.startsWith('./') || request.startsWith('../')) found = asFile(resolve(dir, request))
    else if (request.startsWith('/')) found = asFile(join(root, request))
    else {
      for (let at = dir; inside(at) && !found; at = dirname(at)) {
        found = asFile(join(at, 'miniprogram_npm', request))
        if (at === root) break
      }
    }
    if (!found) throw new Error(`module '${request}' is not defined, require args is '${request}' (from ${relative(root, dir) || '.'})`)
    return found
  }

  const load = (file: string): unknown => {
    const cached = cache.get(file)
    if (cached) return cached.exports
    const module = { exports: {} as unknown }
    cache.set(file, module)
    const code = readFileSync(file, 'utf8')
    const define = runInContext(`(function (module, exports, require) {${code}\n})`, context, { filename: file })
    define(module, module.exports, (request: string) => load(resolveFrom(dirname(file), request)))
    return module.exports
  }

  load(join(root, 'app.js')) // as the runtime starts: app.js, App(), onLaunch
  if (app && typeof app.onLaunch === 'function') (app.onLaunch as () => void).call(app)

  return {
    get app() {
      if (!app) throw new Error('App() was not called')
      return app
    },
    require: (request: string) => load(resolveFrom(root, request)),
    page(path: string) {
      lastPage = undefined
      load(resolveFrom(root, `/${path}`))
      const definition = lastPage as Record<string, unknown> | undefined // set by Page(), in load()
      if (!definition) throw new Error(`${path} did not call Page()`)
      const instance = Object.create(definition) as PageInstance
      instance.data = JSON.parse(JSON.stringify(definition.data ?? {}))
      instance.setData = (changes) => Object.assign(instance.data, JSON.parse(JSON.stringify(changes))) // copied, as to the view layer
      return instance
    },
  }
}
