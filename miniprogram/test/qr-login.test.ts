/**
 * Web login by scanning (扫码登录) against a live wxlogin: the browser's side is plain fetch
 * (POST /wx/qr-login, then its poll), the mini program's side the client through the fake
 * `wx`; then the demo's page in the mini program sandbox. A second service with
 * QR_LOGIN_TTL=1 lets codes expire within the test.
 */

import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'

import {
  createClient, decodeScene, describeUserAgent, entryScene, QR_SCENE_ALBUM, QR_SCENE_CAMERA, QR_SCENE_LONG_PRESS,
  qrOpenedByCamera, qrSceneOf, Tokens, UNKNOWN_BROWSER, User, WxLoginClient, WxLoginError,
} from '../src'
import { compileDemo, DEMO, wxmlBindings } from './demo-project'
import { FakeWx, installFakeWx } from './fake-wx'
import { loadMiniProgram, PageInstance } from './mp-runtime'
import { expired, Service, startService } from './service'
import { rejection } from './rejection'

const KEY = 'wxlogin:tokens'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
const TTL = 1 // seconds, on the short service

interface QrCode {
  ticket: string
  scene: string
  qr_code: string
  expires_in: number
  poll_interval: number
}

interface Poll {
  status: string
  access_token?: string
  refresh_token?: string
  token_type?: string
  expires_in?: number
  user?: User
}

let service: Service
let short: Service // QR_LOGIN_TTL=1
let fake: FakeWx
let api: WxLoginClient
let run = 0

before(async () => {
  ;[service, short] = await Promise.all([startService(), startService({ env: { QR_LOGIN_TTL: String(TTL) } })])
})

after(async () => {
  await Promise.all([service.stop(), short.stop()])
})

beforeEach(() => {
  fake = installFakeWx(`qr${process.pid}x${run++}`)
  api = createClient({ baseUrl: service.url })
})

/** What the web page does first: a new code, from a browser. */
async function newCode(base = service.url, userAgent = CHROME): Promise<QrCode> {
  const response = await fetch(`${base}/wx/qr-login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': userAgent }, body: '{}',
  })
  assert.equal(response.status, 201, await response.clone().text())
  return (await response.json()) as QrCode
}

/** One poll of the web page, answering at once. */
async function poll(ticket: string, base = service.url): Promise<Poll> {
  const response = await fetch(`${base}/wx/qr-login/${ticket}?wait=0`)
  assert.equal(response.status, 200, await response.clone().text())
  return (await response.json()) as Poll
}

/** A second mini program user, on the same fake wx (its own storage key). */
async function otherUser(base = service.url): Promise<WxLoginClient> {
  const own = fake.user
  fake.user = `${own}-other`
  const other = createClient({ baseUrl: base, storageKey: 'other' })
  await other.login()
  fake.user = own
  return other
}


/** The three answers of the mini program, one after the other (each started only when called). */
const everyCall = (client: WxLoginClient, scene: string): [string, () => Promise<unknown>][] => [
  ['qrScan', () => client.qrScan(scene)],
  ['qrConfirm', () => client.qrConfirm(scene)],
  ['qrDeny', () => client.qrDeny(scene)],
]

const percentEncoded = (text: string) => [...text].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('')
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))
const CHINESE = /[\u4e00-\u9fff]/

describe('qrScan, qrConfirm, qrDeny', () => {
  it('shows who asked; after confirm the browser collects its tokens once, then used', async () => {
    const code = await newCode()
    assert.match(code.scene, /^[A-Za-z0-9_-]{1,32}$/)
    assert.equal((await poll(code.ticket)).status, 'pending')

    const before = Date.now()
    const scan = await api.qrScan(code.scene)
    assert.equal(fake.logins, 1) // logged in on demand
    assert.equal(scan.status, 'scanned')
    assert.equal(scan.requester.ip, '127.0.0.1')
    assert.equal(scan.requester.user_agent, CHROME)
    assert.equal(describeUserAgent(scan.requester.user_agent), 'Chrome 120 · Windows')
    const created = Date.parse(scan.requester.created_at)
    assert.ok(Math.abs(created - before) < 60_000, scan.requester.created_at)
    assert.ok(scan.expires_in > 0 && scan.expires_in <= code.expires_in)
    assert.ok(Math.abs(scan.expires_at - (Date.now() + scan.expires_in * 1000)) < 2000)
    const sent = fake.requests.find((r) => r.path === '/wx/qr-login/scan')!
    assert.equal(sent.method, 'POST')
    assert.equal(sent.header.Authentication, (fake.storage.get(KEY) as Tokens).access_token)
    assert.equal((await poll(code.ticket)).status, 'scanned')

    assert.deepEqual(await api.qrConfirm(code.scene), { status: 'confirmed' })
    const confirmed = await poll(code.ticket)
    assert.equal(confirmed.status, 'confirmed')
    assert.equal(confirmed.token_type, 'Bearer')
    assert.ok(confirmed.access_token && confirmed.refresh_token && confirmed.expires_in! > 0)
    assert.equal(confirmed.user?.id, api.user?.id)
    assert.notEqual(confirmed.access_token, (fake.storage.get(KEY) as Tokens).access_token) // a session of its own

    const later = await poll(code.ticket)
    assert.deepEqual(later, { status: 'used' }) // the tokens were handed out once
    assert.equal((await poll(code.ticket)).status, 'used')

    const me = await fetch(`${service.url}/wx/me`, { headers: { Authentication: confirmed.access_token! } })
    assert.equal(me.status, 200)
    assert.equal(((await me.json()) as User).id, api.user?.id)
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/login', '/wx/qr-login/scan', '/wx/qr-login/confirm'])
  })

  it("wakes the browser's waiting poll", async () => {
    const code = await newCode()
    const start = Date.now()
    const waiting = fetch(`${service.url}/wx/qr-login/${code.ticket}?wait=10`).then((r) => r.json() as Promise<Poll>)
    await sleep(300)
    await api.qrScan(code.scene)
    assert.equal((await waiting).status, 'scanned')
    assert.ok(Date.now() - start < 5000, `${Date.now() - start} ms`)
  })

  it('answers the same to a second scan by the same user', async () => {
    const code = await newCode()
    const first = await api.qrScan(code.scene)
    const again = await api.qrScan(code.scene)
    assert.deepEqual(again.requester, first.requester)
    assert.equal(again.status, 'scanned')
  })

  it('deny: the browser sees denied, and the code cannot be confirmed any more', async () => {
    const code = await newCode()
    await api.qrScan(code.scene)
    assert.deepEqual(await api.qrDeny(code.scene), { status: 'denied' })
    assert.deepEqual(await poll(code.ticket), { status: 'denied' })
    const used = await rejection(api.qrConfirm(code.scene))
    assert.equal(used.status, 409)
    assert.equal(used.error, 'qr_used')
    assert.equal((await poll(code.ticket)).status, 'denied')
  })

  it('a code scanned by one user is qr_used for another, who can neither scan, confirm nor deny it', async () => {
    const code = await newCode()
    await api.qrScan(code.scene)
    const other = await otherUser()
    assert.notEqual(other.user?.id, api.user?.id)
    for (const [name, call] of everyCall(other, code.scene)) {
      const error = await rejection(call())
      assert.equal(error.status, 409, name)
      assert.equal(error.error, 'qr_used', name)
    }
    assert.equal((await poll(code.ticket)).status, 'scanned')
    await api.qrConfirm(code.scene) // still the scanner's to answer
    assert.equal((await poll(code.ticket)).user?.id, api.user?.id)
  })

  it('confirm without a scan first is qr_used; a confirmed code is qr_used after', async () => {
    const code = await newCode()
    const unscanned = await rejection(api.qrConfirm(code.scene))
    assert.equal(unscanned.status, 409)
    assert.equal(unscanned.error, 'qr_used')
    await api.qrScan(code.scene)
    await api.qrConfirm(code.scene)
    for (const [name, call] of everyCall(api, code.scene)) {
      assert.equal((await rejection(call())).error, 'qr_used', name)
    }
  })

  it('an unknown scene is qr_not_found (404), with a message in the WeChat language', async () => {
    for (const [name, call] of everyCall(api, 'no-such-scene')) {
      const error = await rejection(call())
      assert.equal(error.status, 404, name)
      assert.equal(error.error, 'qr_not_found', name)
      assert.match(error.message, CHINESE)
    }
  })

  it('refreshes an expired access token and retries the scan', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...first, access_token: expired(first.access_token) })
    const code = await newCode()
    fake.requests.length = 0
    const scan = await api.qrScan(code.scene)
    assert.equal(scan.status, 'scanned')
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/qr-login/scan', '/wx/refresh', '/wx/qr-login/scan'])
    assert.equal(fake.logins, 1)
  })
})

describe('the scene of the page options', () => {
  it('is decoded: options.scene arrives URL-encoded', async () => {
    const code = await newCode()
    const encoded = percentEncoded(code.scene) // a valid encoding of the same scene, unlike the scene itself
    assert.equal(qrSceneOf({ scene: encoded }), code.scene)
    assert.equal(qrSceneOf({ scene: code.scene }), code.scene) // decoding a decoded scene changes nothing
    assert.equal(qrSceneOf({}), '')
    assert.equal(qrSceneOf(undefined), '')
    assert.equal(decodeScene('%zz'), '%zz') // malformed: left for the service to refuse
    assert.equal(decodeScene('a+b'), 'a+b') // '+' is not a space here
    const scan = await api.qrScan(encoded) // the methods decode too
    assert.equal(scan.requester.user_agent, CHROME)
    await api.qrConfirm(encoded)
    assert.equal((await poll(code.ticket)).status, 'confirmed')
  })
})

describe('expiry (QR_LOGIN_TTL=1)', () => {
  it('is qr_expired (410) for scan and confirm, and the poll says expired', async () => {
    api = createClient({ baseUrl: short.url })
    await api.login() // before the clock runs
    const [scanned, unscanned] = await Promise.all([newCode(short.url), newCode(short.url)])
    assert.equal(scanned.expires_in, TTL)
    await api.qrScan(scanned.scene)
    await sleep(TTL * 1000 + 1100)
    const late = await rejection(api.qrConfirm(scanned.scene))
    assert.equal(late.status, 410)
    assert.equal(late.error, 'qr_expired')
    assert.match(late.message, CHINESE)
    const scan = await rejection(api.qrScan(unscanned.scene))
    assert.equal(scan.status, 410)
    assert.equal(scan.error, 'qr_expired')
    assert.equal((await poll(scanned.ticket, short.url)).status, 'expired')
    assert.equal((await poll(unscanned.ticket, short.url)).status, 'expired')
  })
})

describe('describeUserAgent', () => {
  const cases: [string, string][] = [
    [CHROME, 'Chrome 120 · Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15', 'Safari 17 · macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91', 'Edge 120 · Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0', 'Firefox 121 · Linux'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1', 'Safari 17 · iOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36', 'Chrome 120 · Android'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)', 'WeChat 7 · Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0', 'Opera 106 · Windows'],
    ['Mozilla/5.0 (Linux; Android 12; HarmonyOS; ALN-AL00) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.88 Mobile Safari/537.36', 'Chrome 99 · HarmonyOS'],
    // Whoever asks for the code chooses its User-Agent: nothing of it is shown but the names of the tables.
    ['Official WeChat security check - safe, tap Confirm', '未知浏览器'],
    ['Official-WeChat-security-check/1.0 (safe, tap Confirm)', '未知浏览器'],
    ['Mozilla/5.0 (官方安全检测，请放心点确认登录)', '未知浏览器'],
    ['curl/8.5.0', '未知浏览器'],
    ['python-requests/2.31.0', '未知浏览器'],
    [`Mozilla/5.0 ${'x'.repeat(200)}`, '未知浏览器'],
    ['Mozilla/5.0 (Windows NT 10.0) safe, tap Confirm', '未知浏览器 · Windows'],
    ['Mozilla/5.0 (Windows NT 10.0) Chrome/1200000000 Safari/537.36', 'Chrome · Windows'], // no long numbers either
    ['', '未知浏览器'],
    ['   ', '未知浏览器'],
  ]
  for (const [ua, name] of cases) {
    it(`${name} for ${ua.slice(0, 40) || "''"}`, () => assert.equal(describeUserAgent(ua), name))
  }

  it('says only names of its tables and short numbers, whatever the User-Agent', () => {
    const known = /^(?:(?:WeChat|Edge|Opera|Firefox|Chrome|Safari)(?: \d{1,4})?|未知浏览器)(?: · (?:HarmonyOS|Windows|iOS|Android|ChromeOS|macOS|Linux))?$/
    for (const [ua] of cases) assert.match(describeUserAgent(ua), known, ua)
    assert.equal(UNKNOWN_BROWSER, '未知浏览器')
    assert.equal(describeUserAgent(undefined as unknown as string), UNKNOWN_BROWSER)
  })
})

describe('the launch scene: qrOpenedByCamera(entryScene())', () => {
  it('is true only for a mini program code scanned with the camera (1047)', () => {
    assert.deepEqual([QR_SCENE_CAMERA, QR_SCENE_LONG_PRESS, QR_SCENE_ALBUM], [1047, 1048, 1049])
    const truth: [number | undefined, boolean][] = [
      [1047, true],
      [1048, false], // long-pressed in a picture: a code sent in a chat
      [1049, false], // picked from the album
      [1011, false], [1012, false], [1013, false], // plain QR codes: not what the service makes
      [1007, false], [1008, false], // a card in a one-to-one or group chat
      [1001, false], [1089, false], [1037, false], [1124, false], [0, false], [-1047, false], [NaN, false],
      [undefined, false],
    ]
    for (const [scene, camera] of truth) assert.equal(qrOpenedByCamera(scene), camera, String(scene))
    assert.equal(qrOpenedByCamera('1047' as unknown as number), false) // a number, as WeChat gives it
  })

  it('reads wx.getEnterOptionsSync(), else wx.getLaunchOptionsSync() on older base libraries', () => {
    fake.scene = 1047
    assert.equal(entryScene(), 1047)
    fake.scene = 1048
    assert.equal(entryScene(), 1048)
    fake.scene = undefined
    assert.equal(entryScene(), undefined)

    // a hot start: launched by the camera, entered again from a chat
    fake.scene = 1047
    fake.wx.getEnterOptionsSync = () => ({ scene: 1007, path: '', query: {} })
    assert.equal(entryScene(), 1007)
    assert.equal(qrOpenedByCamera(entryScene()), false)

    delete fake.wx.getEnterOptionsSync // before 2.9.4
    assert.equal(entryScene(), 1047)
    delete fake.wx.getLaunchOptionsSync
    assert.equal(entryScene(), undefined)

    fake.wx.getEnterOptionsSync = () => {
      throw new Error('not here')
    }
    assert.equal(entryScene(), undefined)
    fake.wx.getEnterOptionsSync = () => ({ scene: 'a card' })
    assert.equal(entryScene(), undefined)
  })
})

describe('the demo page pages/qr-login/index', () => {
  let project: string

  before(() => {
    project = compileDemo(service.url)
  })

  after(() => rmSync(project, { recursive: true, force: true }))

  /** The page as WeChat opens it: from `scene` (default: a code scanned with the camera; null: none said), with `options`. */
  const open = async (options: Record<string, string>, scene: number | null = QR_SCENE_CAMERA): Promise<PageInstance> => {
    fake.scene = scene ?? undefined
    const mp = loadMiniProgram(project, fake.wx)
    const page = mp.page('pages/qr-login/index')
    await (page.onLoad as (o: Record<string, string>) => Promise<void>).call(page, options)
    // app.ts's launch login, which the page need not wait for (tokens kept): over before the service stops
    await (mp.app.api as unknown as { loggingIn: Promise<unknown> | null }).loggingIn
    return page
  }
  const tap = (page: PageInstance, handler: string) => (page[handler] as () => Promise<void>).call(page)
  const close = (page: PageInstance) => (page.onUnload as () => void).call(page)

  it('is registered in app.json, and its WXML binds only what the page sets', async () => {
    const appJson = JSON.parse(readFileSync(join(DEMO, 'app.json'), 'utf8'))
    assert.ok(appJson.pages.includes('pages/qr-login/index'))
    const wxml = readFileSync(join(DEMO, 'pages', 'qr-login', 'index.wxml'), 'utf8')
    const { bound, handlers } = wxmlBindings(wxml)
    const page = await open({})
    for (const name of bound) assert.ok(name in page.data, `{{${name}}} is not in the page's data`)
    for (const handler of handlers) assert.equal(typeof page[handler], 'function', handler)
    assert.match(wxml, /请确认是你本人在电脑上发起的登录/)
    assert.match(wxml, /此二维码不是你用相机扫描电脑屏幕得到的。如果是别人发给你的，请不要确认/)
    close(page)
  })

  it('shows the requester and the seconds left; 确认登录 logs the browser in', async () => {
    const code = await newCode()
    const page = await open({ scene: percentEncoded(code.scene) }) // as WeChat hands it: URL-encoded
    try {
      assert.equal(page.data.state, 'ready', String(page.data.message))
      assert.equal(page.data.ip, '127.0.0.1')
      assert.equal(page.data.browser, 'Chrome 120 · Windows')
      assert.equal(page.data.forwarded, false) // scanned with the camera: no warning, one tap
      assert.equal(page.data.confirmText, '确认登录')
      assert.match(String(page.data.time), /^(今天 |\d{4}-\d\d-\d\d )\d\d:\d\d:\d\d$/)
      assert.ok(Number(page.data.secondsLeft) > 100 && Number(page.data.secondsLeft) <= 120)
      await tap(page, 'confirm')
      assert.equal(page.data.state, 'confirmed')
      assert.equal(page.data.message, '已确认，可回到电脑上继续')
      const collected = await poll(code.ticket)
      assert.equal(collected.status, 'confirmed')
      assert.equal(collected.user?.id, (fake.storage.get(KEY) as Tokens).user.id)
      await tap(page, 'confirm') // a second tap sends nothing
      assert.equal(fake.requests.filter((r) => r.path === '/wx/qr-login/confirm').length, 1)
    } finally {
      close(page)
    }
  })

  it('取消 denies', async () => {
    const code = await newCode()
    const page = await open({ scene: code.scene })
    try {
      await tap(page, 'deny')
      assert.equal(page.data.state, 'denied')
      assert.equal(page.data.message, '已取消')
      assert.equal((await poll(code.ticket)).status, 'denied')
    } finally {
      close(page)
    }
  })

  it('says what to do on qr_not_found, qr_used and without a scene', async () => {
    const unknown = await open({ scene: 'no-such-scene' })
    assert.equal(unknown.data.state, 'failed')
    assert.equal(unknown.data.message, '二维码无效，请在电脑上刷新后重新扫码')

    const code = await newCode()
    const other = await otherUser()
    await other.qrScan(code.scene)
    const taken = await open({ scene: code.scene })
    assert.equal(taken.data.state, 'failed')
    assert.equal(taken.data.message, '二维码已被使用，请在电脑上刷新后重新扫码')

    const sent = fake.requests.length
    const none = await open({})
    assert.equal(none.data.state, 'failed')
    assert.equal(none.data.message, '请用微信扫描电脑网页上的登录二维码')
    assert.ok(fake.requests.slice(sent).every((r) => !r.path.startsWith('/wx/qr-login')))
  })

  for (const [scene, how] of [[QR_SCENE_LONG_PRESS, 'long-pressed in a chat'], [QR_SCENE_ALBUM, 'picked from the album'],
    [1007, 'a card in a chat'], [null, 'no scene']] as [number | null, string][]) {
    it(`warns, and 确认登录 takes a second tap, when not opened by the camera: ${scene ?? 'none'} (${how})`, async () => {
      const code = await newCode()
      const page = await open({ scene: code.scene }, scene)
      const confirms = () => fake.requests.filter((r) => r.path === '/wx/qr-login/confirm').length
      try {
        assert.equal(page.data.state, 'ready', String(page.data.message))
        assert.equal(page.data.forwarded, true) // the WXML's warning: 此二维码不是你用相机扫描电脑屏幕得到的…
        assert.equal(page.data.browser, 'Chrome 120 · Windows') // who asked, shown all the same
        assert.equal(page.data.confirmText, '确认登录')

        await tap(page, 'confirm') // the first tap only arms
        assert.equal(page.data.state, 'ready')
        assert.equal(page.data.armed, true)
        assert.equal(page.data.confirmText, '我确认是我本人在电脑上登录')
        await tap(page, 'confirm') // at once: a double tap, not a decision
        assert.equal(page.data.state, 'ready')
        assert.equal(confirms(), 0)
        assert.equal((await poll(code.ticket)).status, 'scanned')

        await sleep(1100)
        await tap(page, 'confirm') // the second, explicit tap
        assert.equal(page.data.state, 'confirmed', String(page.data.message))
        assert.equal(confirms(), 1)
        assert.equal((await poll(code.ticket)).status, 'confirmed')
      } finally {
        close(page)
      }
    })
  }

  it("shows 未知浏览器, not the requester's own words, for a User-Agent it does not know", async () => {
    const lure = 'Official WeChat security check - safe, tap Confirm'
    const code = await newCode(service.url, lure)
    const page = await open({ scene: code.scene })
    try {
      assert.equal(page.data.state, 'ready', String(page.data.message))
      assert.equal(page.data.browser, '未知浏览器')
      assert.ok(Object.values(page.data).every((value) => !String(value).includes('tap Confirm')))
    } finally {
      close(page)
    }
  })

  it('取消 takes one tap when not opened by the camera, even once armed', async () => {
    const code = await newCode()
    const page = await open({ scene: code.scene }, QR_SCENE_LONG_PRESS)
    try {
      await tap(page, 'confirm')
      assert.equal(page.data.armed, true)
      await tap(page, 'deny')
      assert.equal(page.data.state, 'denied')
      assert.equal((await poll(code.ticket)).status, 'denied')
      assert.ok(fake.requests.every((r) => r.path !== '/wx/qr-login/confirm'))
    } finally {
      close(page)
    }
  })

  it('reads the scene of this entry: opened by the camera, then again from a chat, it warns', async () => {
    const first = await newCode()
    const scanned = await open({ scene: first.scene })
    assert.equal(scanned.data.forwarded, false)
    close(scanned)
    const second = await newCode()
    fake.wx.getEnterOptionsSync = () => ({ scene: 1007, path: 'pages/qr-login/index', query: { scene: second.scene } })
    const page = await open({ scene: second.scene }) // the launch said 1047
    try {
      assert.equal(page.data.forwarded, true)
      await tap(page, 'confirm')
      assert.equal(page.data.state, 'ready')
      assert.equal(page.data.confirmText, '我确认是我本人在电脑上登录')
    } finally {
      close(page)
    }
  })

  it('says 二维码已过期，请在电脑上刷新 when the countdown ends, or the code had expired', async () => {
    const config = join(project, 'config.js')
    const local = readFileSync(config, 'utf8')
    writeFileSync(config, local.replace(JSON.stringify(service.url), JSON.stringify(short.url)))
    const pages: PageInstance[] = []
    try {
      const [shown, late] = await Promise.all([newCode(short.url), newCode(short.url)])
      pages.push(await open({ scene: shown.scene }))
      assert.equal(pages[0].data.state, 'ready', String(pages[0].data.message))
      await sleep(TTL * 1000 + 1100)
      assert.equal(pages[0].data.state, 'failed') // by the countdown, with no request
      assert.equal(pages[0].data.message, '二维码已过期，请在电脑上刷新')
      pages.push(await open({ scene: late.scene }))
      assert.equal(pages[1].data.state, 'failed')
      assert.equal(pages[1].data.message, '二维码已过期，请在电脑上刷新')
    } finally {
      pages.forEach(close)
      writeFileSync(config, local)
    }
  })
})
