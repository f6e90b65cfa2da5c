/**
 * The account's export and deletion (注销账号) against a live wxlogin, through the client and
 * the fake `wx`; a fake service for the answers the live one does not give on demand (5xx, a
 * call that stores other tokens meanwhile); then the demo's index page in the mini program
 * sandbox, its modal answered by the test.
 */

import assert from 'node:assert/strict'
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'

import {
  createClient, LoginResult, summarizeExport, Tokens, User, WxLoginClient, WxLoginError,
} from '../src'
import { compileDemo, DEMO, wxmlBindings } from './demo-project'
import { FakeWx, installFakeWx } from './fake-wx'
import { loadMiniProgram, MiniProgram, PageInstance } from './mp-runtime'
import { expired, Service, startService } from './service'
import { rejection } from './rejection'

const KEY = 'wxlogin:tokens'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

let service: Service
let fake: FakeWx
let api: WxLoginClient
let run = 0

before(async () => {
  service = await startService()
})

after(async () => {
  await service.stop()
})

beforeEach(() => {
  fake = installFakeWx(`acct${process.pid}x${run++}`)
  api = createClient({ baseUrl: service.url })
})

const stored = () => fake.storage.get(KEY) as Tokens | undefined


/** A call to the live service with a token of our choosing, as another service or a thief would make it. */
async function raw(path: string, token: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${service.url}${path}`, { method, headers: { Authentication: token } })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function assertRevoked(token: string, path = '/wx/me', method = 'GET'): Promise<void> {
  const { status, body } = await raw(path, token, method)
  assert.equal(status, 401, `${method} ${path}: ${JSON.stringify(body)}`)
  assert.equal(body.error, 'token_revoked', `${method} ${path}`)
}

/** The answers of /wx/login the client got, in order. */
const logins = () => fake.answers.filter((a) => a.path === '/wx/login').map((a) => a.data as LoginResult)

const note = (title: string, content = '') =>
  api.request<{ id: number }>({ path: '/wx/notes', method: 'POST', data: { title, content } })

/** What the web page does first: a new code, from a browser. */
async function newQrCode(): Promise<{ ticket: string; scene: string }> {
  const response = await fetch(`${service.url}/wx/qr-login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': CHROME }, body: '{}',
  })
  assert.equal(response.status, 201, await response.clone().text())
  return (await response.json()) as { ticket: string; scene: string }
}

/** A stand-in service: `answer` decides each reply; `seen` is what it was sent. */
interface FakeService {
  url: string
  seen: { method: string; path: string; authentication?: string }[]
  stop(): Promise<void>
}

async function fakeService(answer: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<FakeService> {
  const seen: FakeService['seen'] = []
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authentication: req.headers.authentication as string | undefined })
    req.resume()
    req.on('end', () => void answer(req, res))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () => new Promise<void>((done) => server.close(() => done())),
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

describe('exportData', () => {
  it('holds the profile, the identity, every note and the login attempts of the user, never a session key', async () => {
    const me = await api.request<User>({ path: '/wx/me', method: 'PATCH', data: { nickname: '小明' } })
    const phone = await api.phoneNumber({ detail: { errMsg: 'getPhoneNumber:ok', code: 'sim-phone:13800138000' } })
    const titles: string[] = []
    for (let i = 0; i < 105; i++) titles.push(`note ${i}`) // more than /wx/findsome's latest 100
    const created = []
    for (const title of titles) created.push(await note(title, title === 'note 0' ? 'two\nlines' : ''))
    const before = Date.now()
    fake.requests.length = 0

    const data = await api.exportData()
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`), ['GET /wx/me/export'])
    assert.equal(fake.requests[0].header.Authentication, stored()!.access_token)
    assert.ok(Math.abs(Date.parse(data.exported_at) - before) < 60_000, data.exported_at)

    assert.deepEqual(Object.keys(data).sort(), ['exported_at', 'identities', 'login_attempts', 'notes', 'profile', 'web_logins'])
    const { profile } = data
    assert.deepEqual(Object.keys(profile).sort(), [
      'avatar_url', 'created_at', 'id', 'last_login_at', 'login_count', 'nickname', 'phone_number', 'unionid',
    ])
    assert.equal(profile.id, me.id)
    assert.equal(profile.nickname, '小明')
    assert.equal(profile.phone_number, phone.phone_number)
    assert.equal(profile.unionid, me.unionid)
    assert.equal(profile.avatar_url, null)
    assert.equal(profile.login_count, 1)
    assert.ok(!Number.isNaN(Date.parse(profile.created_at)) && !Number.isNaN(Date.parse(profile.last_login_at)))

    assert.equal(data.identities.length, 1)
    const [identity] = data.identities
    assert.equal(identity.openid, me.openid)
    assert.equal(typeof identity.appid, 'string')
    assert.deepEqual(Object.keys(identity).sort(), ['appid', 'created_at', 'last_login_at', 'openid', 'unionid'])
    assert.doesNotMatch(JSON.stringify(data), /session_key/)

    assert.equal(data.notes.length, titles.length)
    assert.deepEqual(data.notes.map((n) => n.title).sort(), [...titles].sort())
    assert.deepEqual(new Set(data.notes.map((n) => n.id)), new Set(created.map((n) => n.id)))
    const first = data.notes.find((n) => n.title === 'note 0')!
    assert.equal(first.content, 'two\nlines')
    assert.deepEqual(Object.keys(first).sort(), ['content', 'created_at', 'id', 'title', 'updated_at'])

    assert.equal(data.login_attempts.length, 1)
    const [attempt] = data.login_attempts
    assert.deepEqual(Object.keys(attempt).sort(), ['appid', 'at', 'client_ip', 'method', 'outcome', 'user_agent'])
    assert.equal(attempt.method, 'code')
    assert.equal(attempt.outcome, 'ok')
    assert.equal(attempt.appid, identity.appid)
    assert.equal(attempt.client_ip, '127.0.0.1')
    assert.ok(Math.abs(Date.parse(attempt.at) - before) < 60_000, attempt.at)
    assert.deepEqual(data.web_logins, [])

    assert.deepEqual(summarizeExport(data), {
      userId: me.id, identities: 1, notes: 105, loginAttempts: 1, webLogins: 0, hasPhoneNumber: true,
    })
  })

  it('lists the web logins the user scanned, and the web session among the login attempts', async () => {
    const code = await newQrCode()
    await api.qrScan(code.scene)
    await api.qrConfirm(code.scene)
    const poll = await fetch(`${service.url}/wx/qr-login/${code.ticket}?wait=0`, { headers: { 'User-Agent': CHROME } }).then((r) => r.json() as Promise<{ status: string }>)
    assert.equal(poll.status, 'confirmed')

    const data = await api.exportData()
    assert.equal(data.web_logins.length, 1)
    const [web] = data.web_logins
    assert.deepEqual(Object.keys(web).sort(), [
      'appid', 'created_at', 'decided_at', 'requester_ip', 'requester_user_agent', 'scanned_at', 'status',
    ])
    assert.equal(web.requester_ip, '127.0.0.1')
    assert.equal(web.requester_user_agent, CHROME)
    assert.equal(web.status, 'used') // confirmed, then collected by the browser's poll
    assert.ok(web.scanned_at && web.decided_at, JSON.stringify(web))
    assert.deepEqual(data.login_attempts.map((a) => a.method).sort(), ['code', 'qr'])
    const qr = data.login_attempts.find((a) => a.method === 'qr')!
    assert.equal(qr.outcome, 'ok')
    assert.equal(qr.user_agent, CHROME) // the browser that collected the tokens
    assert.equal(summarizeExport(data).webLogins, 1)
  })

  it("is the caller's only, and the answer is an attachment that is not cached", async () => {
    await note('mine')
    const own = fake.user
    fake.user = `${own}-other`
    const other = createClient({ baseUrl: service.url, storageKey: 'other' })
    await other.request({ path: '/wx/notes', method: 'POST', data: { title: 'theirs' } })
    fake.user = own

    const mine = await api.exportData()
    const theirs = await other.exportData()
    assert.notEqual(mine.profile.id, theirs.profile.id)
    assert.deepEqual(mine.notes.map((n) => n.title), ['mine'])
    assert.deepEqual(theirs.notes.map((n) => n.title), ['theirs'])

    const response = await fetch(`${service.url}/wx/me/export`, { headers: { Authentication: stored()!.access_token } })
    assert.equal(response.status, 200)
    assert.match(response.headers.get('cache-control') ?? '', /no-store/)
    assert.equal(response.headers.get('content-disposition'), `attachment; filename="wxlogin-export-${mine.profile.id}.json"`)
  })

  it('refreshes an expired access token and retries', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...first, access_token: expired(first.access_token) })
    fake.requests.length = 0
    const data = await api.exportData()
    assert.equal(data.profile.id, first.user.id)
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/me/export', '/wx/refresh', '/wx/me/export'])
  })
})

describe('deleteAccount', () => {
  it('erases the account: every token of every session refused, the tokens forgotten, the next call a new account', async () => {
    const first = (await api.login()) as LoginResult
    const kept = await note('to be erased')
    await api.request({ path: '/wx/me', method: 'PATCH', data: { nickname: '小红' } })
    const second = createClient({ baseUrl: service.url, storageKey: 'second' }) // another session of the same user
    const secondTokens = await second.login()
    assert.equal(secondTokens.user.id, first.user.id)
    fake.requests.length = 0

    assert.equal(await api.deleteAccount(), undefined)
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`), ['DELETE /wx/me'])
    assert.equal(fake.requests[0].header.Authentication, first.access_token)
    assert.deepEqual(fake.answers.at(-1), { method: 'DELETE', path: '/wx/me', status: 200, data: { deleted: true } })
    assert.equal(fake.storage.has(KEY), false)
    assert.equal(api.user, null)
    assert.ok(fake.storage.has('second')) // another client's storage is its own

    await assertRevoked(first.access_token)
    await assertRevoked(first.access_token, '/wx/me/export')
    await assertRevoked(first.refresh_token, '/wx/refresh', 'POST')
    await assertRevoked(secondTokens.access_token)
    await assertRevoked(secondTokens.refresh_token, '/wx/refresh', 'POST')

    const loginsBefore = fake.logins
    const me = await api.request<User>({ path: '/wx/me' }) // logs in afresh
    assert.equal(fake.logins, loginsBefore + 1)
    const fresh = logins().at(-1)!
    assert.equal(fresh.is_new_user, true)
    assert.notEqual(fresh.user.id, first.user.id)
    assert.equal(me.id, fresh.user.id)
    assert.equal(me.openid, first.user.openid) // the same WeChat user
    assert.equal(me.nickname, null)
    const data = await api.exportData()
    assert.deepEqual(data.notes, [])
    assert.equal(data.profile.login_count, 1)
    assert.ok(data.login_attempts.every((a) => Date.parse(a.at) >= Date.parse(fresh.user.created_at) - 1000))
    assert.equal((await rejection(api.request({ path: `/wx/notes/${kept.id}` }))).status, 404)

    await assertRevoked(first.access_token) // still refused, now that the WeChat user has an account again

    const again = await second.request<User>({ path: '/wx/me' }) // token_revoked: the other session logs in too
    assert.equal(again.id, fresh.user.id)
    assert.equal(logins().at(-1)!.is_new_user, false)
  })

  it('refreshes an expired access token first, then deletes', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...first, access_token: expired(first.access_token) })
    fake.requests.length = 0
    await api.deleteAccount()
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}`), ['DELETE /wx/me', 'POST /wx/refresh', 'DELETE /wx/me'])
    assert.equal(fake.storage.has(KEY), false)
    const refreshed = fake.requests[2].header.Authentication
    await assertRevoked(refreshed)
  })

  it('keeps the tokens when the service fails (5xx), and the account is still there', async () => {
    const failures: [number, Record<string, string>, Record<string, string>][] = [
      [500, { error: 'internal_error', message: 'Something went wrong.' }, { 'X-Request-ID': 'req-1' }],
      [503, { error: 'database_unavailable', message: 'The database does not answer.' }, { 'Retry-After': '1' }],
    ]
    const tokens = await api.login()
    const before = structuredClone(stored())
    for (const [status, body, headers] of failures) {
      const down = await fakeService((_req, res) => json(res, status, body, headers))
      try {
        const failing = createClient({ baseUrl: down.url }) // the same storage
        const error = await rejection(failing.deleteAccount())
        assert.equal(error.status, status)
        assert.equal(error.error, body.error)
        assert.deepEqual(down.seen, [{ method: 'DELETE', path: '/wx/me', authentication: tokens.access_token }]) // not retried
        assert.deepEqual(stored(), before)
        assert.equal(failing.user?.id, tokens.user.id)
      } finally {
        await down.stop()
      }
    }
    const { status, body } = await raw('/wx/me', tokens.access_token)
    assert.equal(status, 200)
    assert.equal(body.id, tokens.user.id)
  })

  it('keeps the tokens when the service does not answer (no network, or stopped), and a retry then deletes', async () => {
    const tokens = await api.login()
    const before = structuredClone(stored())

    fake.failNext = 1
    const offline = await rejection(api.deleteAccount())
    assert.equal(offline.status, 0)
    assert.equal(offline.error, 'network_error')
    assert.deepEqual(stored(), before)

    const stopped = await fakeService((_req, res) => json(res, 200, { deleted: true }))
    await stopped.stop()
    const refused = await rejection(createClient({ baseUrl: stopped.url }).deleteAccount())
    assert.equal(refused.error, 'network_error')
    assert.deepEqual(stored(), before)
    assert.equal((await raw('/wx/me', tokens.access_token)).status, 200)

    await api.deleteAccount()
    assert.equal(fake.storage.has(KEY), false)
    await assertRevoked(tokens.access_token)
  })

  it("forgets only the deleted user's tokens: not those a call stored meanwhile for a new account", async () => {
    const tokens = await api.login()
    let swap: Tokens | undefined
    const fakeOk = await fakeService((_req, res) => {
      if (swap) fake.storage.set(KEY, swap) // as a call that logged in (or refreshed) during the deletion
      json(res, 200, { deleted: true })
    })
    try {
      const client = createClient({ baseUrl: fakeOk.url })
      swap = { ...tokens, access_token: 'new-account-token', user: { ...tokens.user, id: tokens.user.id + 1000 } }
      await client.deleteAccount()
      assert.deepEqual(stored(), swap) // another account's: kept

      fake.storage.set(KEY, tokens)
      swap = { ...tokens, access_token: 'refreshed-token' } // the same user, refreshed meanwhile
      await client.deleteAccount()
      assert.equal(fake.storage.has(KEY), false)
    } finally {
      await fakeOk.stop()
    }
  })
})

describe('the demo page pages/index/index', () => {
  let project: string
  let modals: WechatMiniprogram.ShowModalOption[]
  let answer: boolean

  before(() => {
    project = compileDemo(service.url)
  })

  after(() => rmSync(project, { recursive: true, force: true }))

  beforeEach(() => {
    modals = []
    answer = true
    fake.wx.showModal = (options: WechatMiniprogram.ShowModalOption) => {
      modals.push(options)
      setTimeout(() => options.success?.({ confirm: answer, cancel: !answer, errMsg: 'showModal:ok' } as never), 5)
    }
  })

  const open = async (): Promise<{ mp: MiniProgram; page: PageInstance }> => {
    const mp = loadMiniProgram(project, fake.wx)
    await (mp.app.api as unknown as { loggingIn: Promise<unknown> | null }).loggingIn // app.ts's launch login
    return { mp, page: mp.page('pages/index/index') }
  }
  const tap = (page: PageInstance, handler: string) => (page[handler] as () => Promise<void>).call(page)
  const appApi = (mp: MiniProgram) => mp.app.api as WxLoginClient

  it('binds only what the page sets, and has 导出我的数据 and 注销账号', async () => {
    const wxml = readFileSync(join(DEMO, 'pages', 'index', 'index.wxml'), 'utf8')
    const { bound, handlers } = wxmlBindings(wxml)
    const { page } = await open()
    for (const name of bound) assert.ok(name in page.data, `{{${name}}} is not in the page's data`)
    for (const handler of handlers) assert.equal(typeof page[handler], 'function', handler)
    assert.ok(handlers.includes('deleteAccount') && handlers.includes('exportData'))
    assert.match(wxml, /注销账号/)
    assert.match(wxml, /导出我的数据/)
  })

  it('注销账号, confirmed: the modal says what is erased and that it is final; then the account is gone, the page logged out', async () => {
    const { mp, page } = await open()
    await tap(page, 'login')
    const tokens = stored()!
    assert.equal(page.data.status, `已登录：用户 ${tokens.user.id}`)

    await tap(page, 'deleteAccount')
    assert.equal(modals.length, 1)
    const [modal] = modals
    assert.equal(modal.title, '注销账号')
    for (const word of ['资料', '手机号', '笔记', '所有小程序中的账号', '无法撤销']) assert.ok(modal.content?.includes(word), word)
    assert.ok(modal.confirmText && modal.confirmText.length <= 4) // WeChat's limit
    assert.equal(page.data.status, '未登录')
    assert.match(String(page.data.result), /账号已注销/)
    assert.equal(page.data.deleting, false)
    assert.equal(fake.storage.has(KEY), false)
    assert.equal(appApi(mp).user, null)
    await assertRevoked(tokens.access_token)
  })

  it('注销账号 tapped twice: one modal, one deletion', async () => {
    const { page } = await open()
    await tap(page, 'login')
    await Promise.all([tap(page, 'deleteAccount'), tap(page, 'deleteAccount')])
    assert.equal(modals.length, 1)
    assert.equal(fake.requests.filter((r) => r.method === 'DELETE').length, 1)
    assert.equal(fake.storage.has(KEY), false)
  })

  it('注销账号, cancelled: nothing is sent, the user stays logged in', async () => {
    answer = false
    const { page } = await open()
    await tap(page, 'login')
    const tokens = stored()!
    const status = page.data.status
    const sent = fake.requests.length
    await tap(page, 'deleteAccount')
    assert.equal(modals.length, 1)
    assert.equal(fake.requests.length, sent)
    assert.deepEqual(stored(), tokens)
    assert.equal(page.data.status, status)
    assert.equal((await raw('/wx/me', tokens.access_token)).status, 200)
  })

  it('注销账号 that fails says so and keeps the login', async () => {
    const { page } = await open()
    await tap(page, 'login')
    const tokens = stored()!
    fake.failNext = 1
    await tap(page, 'deleteAccount')
    assert.match(String(page.data.result), /^注销失败，请稍后重试：network_error/)
    assert.deepEqual(stored(), tokens)
    assert.equal((await raw('/wx/me', tokens.access_token)).status, 200)
  })

  it('导出我的数据 shows how much the service holds', async () => {
    const { mp, page } = await open()
    await appApi(mp).request({ path: '/wx/notes', method: 'POST', data: { title: 'a' } })
    await appApi(mp).request({ path: '/wx/notes', method: 'POST', data: { title: 'b' } })
    await tap(page, 'exportData')
    const result = String(page.data.result)
    assert.match(result, new RegExp(`用户 ${stored()!.user.id}`))
    assert.match(result, /笔记 2 条/)
    assert.match(result, /小程序身份 1 个/)
    assert.match(result, /登录记录 1 条/)
    assert.equal(modals.length, 0)
  })
})
