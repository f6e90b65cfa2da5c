/**
 * The package as a mini program developer gets it: `npm pack` (its prepare step builds dist/),
 * the tarball's files, then a plain-JS mini program project that installs the tarball,
 * 构建 npm as DevTools does it (test/mp-runtime.ts), and logs in through
 * require('wxlogin-miniprogram') against a live wxlogin, in a realm with nothing of Node.
 */

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { parse } from 'acorn'

import { installFakeWx } from './fake-wx'
import { buildNpm, loadMiniProgram } from './mp-runtime'
import { Service, startService } from './service'

const PACKAGE = resolve(__dirname, '..', '..') // build/test -> miniprogram
const manifest = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'))
const NAME: string = manifest.name

const SHIPPED = [
  'LICENSE', 'README.md', 'README.zh-CN.md', 'package.json',
  'dist/index.js', 'dist/index.d.ts', 'dist/wxlogin.js', 'dist/wxlogin.d.ts', 'dist/qr-login.js', 'dist/qr-login.d.ts',
  'dist/account.js', 'dist/account.d.ts',
]

let service: Service
let work: string
let tarball: string
let listing: string[]

const npm = (cwd: string, ...args: string[]) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

before(async () => {
  service = await startService()
  work = mkdtempSync(join(tmpdir(), 'wxlogin-mp-pack-'))
  const [packed] = JSON.parse(npm(PACKAGE, 'pack', '--json', '--pack-destination', work))
  tarball = join(work, packed.filename)
  listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n').filter(Boolean).map((path) => path.replace(/^package\//, ''))
})

after(async () => {
  await service.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('npm pack', () => {
  it('ships the built JS, its .d.ts, the READMEs and the LICENSE, nothing else', () => {
    assert.deepEqual([...listing].sort(), [...SHIPPED].sort())
  })

  it('points main, types and miniprogram at the built output', () => {
    assert.equal(manifest.private, undefined)
    assert.ok(listing.includes(manifest.main))
    assert.ok(listing.includes(manifest.types))
    assert.ok(listing.includes(`${manifest.miniprogram}/index.js`)) // what require('<name>') loads after 构建 npm
    assert.deepEqual(manifest.dependencies ?? {}, {}) // nothing for 构建 npm to bring along
  })

  it('is CommonJS in ES2017 syntax, requiring only its own files', () => {
    const folder = join(work, 'unpacked')
    mkdirSync(folder)
    execFileSync('tar', ['-xzf', tarball, '-C', folder])
    for (const file of listing.filter((path) => path.endsWith('.js'))) {
      const code = readFileSync(join(folder, 'package', file), 'utf8')
      assert.doesNotThrow(() => parse(code, { ecmaVersion: 2017, sourceType: 'script' }), `${file} is not ES2017`)
      const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1])
      assert.ok(required.every((request) => request.startsWith('./')), `${file} requires ${required}`)
      assert.doesNotMatch(code, /\bimport\s*\(|\bexport\s/, `${file} is not CommonJS`)
    }
    for (const file of listing.filter((path) => path.endsWith('.d.ts'))) {
      const types = readFileSync(join(folder, 'package', file), 'utf8')
      assert.doesNotMatch(types.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''), /WechatMiniprogram\./, `${file} needs a typings package`)
    }
  })
})

describe('构建 npm in a plain JS mini program', () => {
  let project: string

  before(() => {
    project = join(work, 'project')
    const files: Record<string, string> = {
      'project.config.json': JSON.stringify({ compileType: 'miniprogram', appid: 'touristappid', setting: { urlCheck: false } }),
      'package.json': JSON.stringify({ name: 'plain-js-project', private: true, dependencies: { [NAME]: `file:${tarball}` } }),
      'app.json': JSON.stringify({ pages: ['pages/index/index'] }),
      'app.js': `
        const { createClient } = require('${NAME}')
        App({
          api: createClient({ baseUrl: '${service.url}' }),
          onLaunch() {
            this.ready = this.api.login()
          },
        })
      `,
      'pages/index/index.js': `
        const { WxLoginError } = require('${NAME}')
        const app = getApp()
        Page({
          data: { user: null, error: null },
          async onLoad() {
            await app.ready
            const user = await app.api.request({ path: '/wx/me' })
            this.setData({ user: { id: user.id, openid: user.openid } })
          },
          async missing() {
            try {
              await app.api.request({ path: '/wx/notes/999999' })
            } catch (error) {
              this.setData({ error: error instanceof WxLoginError ? { slug: error.error, status: error.status } : String(error) })
            }
          },
        })
      `,
    }
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(project, path)), { recursive: true })
      writeFileSync(join(project, path), text)
    }
    npm(project, 'install', '--offline', '--no-audit', '--no-fund', '--no-package-lock') // a local tarball: no registry
  })

  it('copies the package folder into miniprogram_npm, index.js first', () => {
    assert.deepEqual(buildNpm(project), [NAME])
    const built = readdirSync(join(project, 'miniprogram_npm', NAME)).sort()
    assert.deepEqual(built, [
      'account.d.ts', 'account.js', 'index.d.ts', 'index.js', 'qr-login.d.ts', 'qr-login.js', 'wxlogin.d.ts', 'wxlogin.js',
    ])
  })

  it('logs in and calls the service from plain JS, with no Node and no node_modules', async () => {
    rmSync(join(project, 'node_modules'), { recursive: true }) // not in the uploaded code package
    assert.ok(!existsSync(join(project, 'node_modules')))
    const fake = installFakeWx(`mp-pack-${process.pid}`)
    const mp = loadMiniProgram(project, fake.wx)
    const tokens = (await (mp.app.ready as Promise<{ user: { id: number } }>))
    assert.equal(fake.logins, 1)

    const page = mp.page('pages/index/index')
    await (page.onLoad as () => Promise<void>)()
    const user = page.data.user as { id: number; openid: string }
    assert.equal(user.id, tokens.user.id)
    assert.ok(user.openid)

    await (page.missing as () => Promise<void>)()
    assert.deepEqual(page.data.error, { slug: 'not_found', status: 404 })
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/login', '/wx/me', '/wx/notes/999999'])
    assert.equal(fake.requests[1].header['Accept-Language'], 'zh-CN')
  })

  it('has no Node in that realm: a Node module is not defined there', async () => {
    const mp = loadMiniProgram(project, installFakeWx(`mp-pack-node-${process.pid}`).wx)
    await mp.app.ready
    assert.throws(() => mp.require('http'), /module 'http' is not defined/)
    const exported = mp.require(NAME) as Record<string, unknown>
    assert.equal(typeof exported, 'object')
    assert.equal(typeof exported.qrSceneOf, 'function') // the QR login helpers come with it (src/qr-login.ts)
    assert.equal((exported.qrOpenedByCamera as (scene: number) => boolean)(exported.QR_SCENE_CAMERA as number), true)
    assert.equal(typeof exported.summarizeExport, 'function') // and the account's (src/account.ts)
  })
})
