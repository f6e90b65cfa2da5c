/**
 * The client against a live wxlogin (development mode, its WeChat simulator), through a
 * fake `wx` whose request is real HTTP.
 */

import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'

import { createClient, Tokens, User, WxLoginClient, WxLoginError } from '../src/wxlogin'
import { FakeWx, installFakeWx } from './fake-wx'
import { expired, Service, startService } from './service'
import { startUploadServer, UploadServer } from './upload-server'
import { rejection } from './rejection'

const KEY = 'wxlogin:tokens'
let service: Service
let fake: FakeWx
let api: WxLoginClient
let run = 0

let files: UploadServer
let avatar: string // a file as chooseAvatar gives one
const AVATAR = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(2048, 7)])

before(async () => {
  service = await startService()
  files = await startUploadServer(service.url)
  avatar = join(mkdtempSync(join(tmpdir(), 'wxlogin-mp-files-')), 'tmp_avatar.png')
  writeFileSync(avatar, AVATAR)
})

after(async () => {
  await files.stop()
  await service.stop()
})

beforeEach(() => {
  fake = installFakeWx(`mp${process.pid}x${run++}`)
  api = createClient({ baseUrl: service.url })
})

const stored = () => fake.storage.get(KEY) as Tokens
const calls = (path: string) => fake.requests.filter((r) => r.path === path).length


describe('login on demand', () => {
  it('shares one login among 20 concurrent requests', async () => {
    const users = await Promise.all(Array.from({ length: 20 }, () => api.request<User>({ path: '/wx/me' })))
    assert.equal(fake.logins, 1)
    assert.equal(calls('/wx/login'), 1)
    assert.equal(new Set(users.map((u) => u.id)).size, 1)
    assert.equal(stored().user.id, users[0].id)
    assert.equal(api.user?.id, users[0].id)
  })

  it('gets a new code once when the first is refused as used', async () => {
    const used = `sim:${fake.user}:spent`
    await fetch(`${service.url}/wx/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: used }),
    })
    fake.codes.push(used)
    const user = await api.request<User>({ path: '/wx/me' })
    assert.equal(fake.logins, 2)
    assert.equal(calls('/wx/login'), 2)
    assert.ok(user.openid)
  })

  it('gives up after the second refused code', async () => {
    fake.codes.push('sim-fail:40029', 'sim-fail:40029')
    const error = await rejection(api.login())
    assert.equal(error.error, 'invalid_code')
    assert.equal(fake.logins, 2)
  })
})

describe('expired and revoked tokens', () => {
  it('refreshes once, then retries, for 20 concurrent requests', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...first, access_token: expired(first.access_token) })
    fake.requests.length = 0
    const users = await Promise.all(Array.from({ length: 20 }, () => api.request<User>({ path: '/wx/me' })))
    assert.equal(users.length, 20)
    assert.equal(calls('/wx/refresh'), 1)
    assert.equal(calls('/wx/login'), 0)
    assert.equal(fake.logins, 1)
    assert.notEqual(stored().refresh_token, first.refresh_token)
  })

  it('logs in again when the refresh fails, then retries', async () => {
    const first = await api.login()
    await api.refresh() // the first refresh token is spent now
    fake.storage.set(KEY, { ...first, access_token: expired(first.access_token) })
    fake.requests.length = 0
    const user = await api.request<User>({ path: '/wx/me' })
    assert.equal(user.id, first.user.id)
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/me', '/wx/refresh', '/wx/login', '/wx/me'])
    assert.equal(fake.logins, 2)
  })

  it('logs in again when the token was revoked, then retries', async () => {
    const first = await api.login()
    await fetch(`${service.url}/wx/logout`, { method: 'POST', headers: { Authentication: first.access_token } })
    const user = await api.request<User>({ path: '/wx/me' })
    assert.equal(user.id, first.user.id)
    assert.equal(fake.logins, 2)
    assert.notEqual(stored().access_token, first.access_token)
  })
})

describe('typed errors', () => {
  it('carries the slug and status of the service', async () => {
    const missing = await rejection(api.request({ path: '/wx/notes/999999' }))
    assert.equal(missing.status, 404)
    assert.equal(missing.error, 'not_found')
    assert.ok(missing.requestId)
  })

  it('carries field details on 422', async () => {
    const invalid = await rejection(api.request({ path: '/wx/notes', method: 'POST', data: { title: '' } }))
    assert.equal(invalid.status, 422)
    assert.equal(invalid.error, 'invalid_request')
    assert.ok(invalid.details && 'title' in invalid.details)
  })

  it('carries Retry-After on 429', async () => {
    fake.codes.push('sim-fail:45011')
    const limited = await rejection(api.login())
    assert.equal(limited.status, 429)
    assert.equal(limited.error, 'rate_limited')
    assert.equal(limited.retryAfter, 60)
  })

  it('is network_error when the service does not answer', async () => {
    const nowhere = createClient({ baseUrl: 'http://127.0.0.1:9', timeout: 2000 })
    const error = await rejection(nowhere.request({ path: '/healthz', auth: false }))
    assert.equal(error.status, 0)
    assert.equal(error.error, 'network_error')
  })

  it('is cancelled when the user declines the phone number button', async () => {
    const event = { detail: { errMsg: 'getPhoneNumber:fail user deny', code: '' } }
    const error = await rejection(api.phoneNumber(event as unknown as WechatMiniprogram.ButtonGetPhoneNumber))
    assert.equal(error.error, 'cancelled')
    assert.equal(fake.requests.length, 0)
  })
})

describe('helpers', () => {
  it('stores the phone number from the button event', async () => {
    const event = { detail: { errMsg: 'getPhoneNumber:ok', code: 'sim-phone:13800138000' } }
    const phone = await api.phoneNumber(event as unknown as WechatMiniprogram.ButtonGetPhoneNumber)
    assert.equal(phone.pure_phone_number, '13800138000')
    assert.equal((await api.request<User>({ path: '/wx/me' })).phone_number, phone.phone_number)
  })

  it('logs out: the tokens are forgotten and refused by the service', async () => {
    const first = await api.login()
    await api.logout()
    assert.equal(fake.storage.has(KEY), false)
    const refused = await fetch(`${service.url}/wx/me`, { headers: { Authentication: first.access_token } })
    assert.equal(refused.status, 401)
    assert.equal(((await refused.json()) as { error: string }).error, 'token_revoked')
  })

  it('asks again when the logout did not reach the service', async () => {
    const first = await api.login()
    fake.failNext = 1
    await api.logout()
    assert.deepEqual(fake.requests.slice(-2).map((r) => r.path), ['/wx/logout', '/wx/logout'])
    const refused = await fetch(`${service.url}/wx/me`, { headers: { Authentication: first.access_token } })
    assert.equal(((await refused.json()) as { error: string }).error, 'token_revoked')
  })
})

describe('refresh before expiry', () => {
  const expiringIn = (ms: number) => fake.storage.set(KEY, { ...stored(), expires_at: Date.now() + ms })

  it('keeps when the access token expires', async () => {
    const start = Date.now()
    const tokens = await api.login()
    const kept = stored()
    assert.ok(kept.expires_in > 0)
    assert.ok(kept.expires_at! >= start + kept.expires_in * 1000 && kept.expires_at! <= Date.now() + kept.expires_in * 1000)
    assert.equal(tokens.expires_at, kept.expires_at)
  })

  it('refreshes once, before the calls, for 20 concurrent requests within the margin', async () => {
    const first = await api.login()
    expiringIn(60_000) // a minute left: within the default 5 minutes of a 2-hour token
    fake.requests.length = 0
    const users = await Promise.all(Array.from({ length: 20 }, () => api.request<User>({ path: '/wx/me' })))
    assert.equal(users.length, 20)
    assert.equal(fake.requests[0].path, '/wx/refresh')
    assert.equal(fake.requests.length, 21) // one refresh, 20 calls, no 401 and no retry
    const renewed = stored()
    assert.notEqual(renewed.refresh_token, first.refresh_token)
    assert.ok(fake.requests.slice(1).every((r) => r.path === '/wx/me' && r.header.Authentication === renewed.access_token))
    assert.ok(renewed.expires_at! > Date.now() + 3600_000)
    assert.equal(fake.logins, 1)
  })

  it('does not refresh while more than the margin is left', async () => {
    await api.login()
    expiringIn(10 * 60_000)
    fake.requests.length = 0
    await api.request<User>({ path: '/wx/me' })
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/me'])
  })

  it('takes the margin of the refreshMargin option', async () => {
    api = createClient({ baseUrl: service.url, refreshMargin: 3600 })
    await api.login()
    expiringIn(30 * 60_000)
    fake.requests.length = 0
    await api.request<User>({ path: '/wx/me' })
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/refresh', '/wx/me'])

    api = createClient({ baseUrl: service.url, refreshMargin: 0 })
    expiringIn(1000)
    fake.requests.length = 0
    await api.request<User>({ path: '/wx/me' })
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/me'])
  })

  it('goes on with the current token when the early refresh gets no answer', async () => {
    const first = await api.login()
    expiringIn(60_000)
    fake.requests.length = 0
    fake.failNext = 1
    const user = await api.request<User>({ path: '/wx/me' })
    assert.equal(user.id, first.user.id)
    assert.deepEqual(fake.requests.map((r) => r.path), ['/wx/refresh', '/wx/me'])
    assert.equal(fake.requests[1].header.Authentication, first.access_token)
    assert.equal(stored().refresh_token, first.refresh_token)
  })

  it('an early refresh and a refresh after a 401 are one refresh', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...stored(), access_token: expired(first.access_token), expires_at: Date.now() + 60_000 })
    const stale = stored()
    fake.requests.length = 0
    const [refreshed, user] = await Promise.all([api.refresh(stale), api.request<User>({ path: '/wx/me' })])
    assert.equal(user.id, first.user.id)
    assert.equal(calls('/wx/refresh'), 1)
    assert.equal(refreshed.access_token, stored().access_token)
  })
})

describe('upload', () => {
  const avatarUrl = () => `${files.url}/avatar`

  it('logs in, sends the file with the token and resolves with the JSON answer', async () => {
    const result = await api.upload<{ url: string; user_id: number; size: number; fields: Record<string, string> }>({
      path: avatarUrl(), filePath: avatar, formData: { purpose: 'avatar' }, header: { 'X-Trace': 'up-1' },
    })
    assert.equal(fake.logins, 1)
    assert.equal(result.user_id, stored().user.id)
    assert.equal(result.size, AVATAR.length)
    assert.deepEqual(result.fields, { purpose: 'avatar' })
    const sent = fake.requests.find((r) => r.kind === 'upload')!
    assert.equal(sent.header.Authentication, stored().access_token)
    assert.equal(sent.header['X-Trace'], 'up-1')
    assert.equal(sent.header['Accept-Language'], 'zh-CN')
    assert.ok(!Object.keys(sent.header).some((name) => name.toLowerCase() === 'content-type'))
    const image = await fetch(result.url)
    assert.deepEqual(Buffer.from(await image.arrayBuffer()), AVATAR)
    // and the avatar goes on the user, as the demo does
    const user = await api.request<User>({ path: '/wx/me', method: 'PATCH', data: { avatar_url: result.url } })
    assert.equal(user.avatar_url, result.url)
  })

  it('refreshes an expired token and retries once', async () => {
    const first = await api.login()
    fake.storage.set(KEY, { ...stored(), access_token: expired(first.access_token) })
    fake.requests.length = 0
    const result = await api.upload<{ user_id: number }>({ path: avatarUrl(), filePath: avatar })
    assert.equal(result.user_id, first.user.id)
    assert.deepEqual(fake.requests.map((r) => r.path), ['/avatar', '/wx/refresh', '/avatar'])
    assert.equal(files.uploads.at(-1)!.userId, first.user.id)
  })

  it('logs in again when the token was revoked, then retries', async () => {
    const first = await api.login()
    await fetch(`${service.url}/wx/logout`, { method: 'POST', headers: { Authentication: first.access_token } })
    fake.requests.length = 0
    await api.upload({ path: avatarUrl(), filePath: avatar })
    assert.deepEqual(fake.requests.map((r) => r.path), ['/avatar', '/wx/login', '/avatar'])
    assert.equal(fake.logins, 2)
  })

  it('rejects with a WxLoginError carrying the slug, status and details', async () => {
    await api.login()
    const invalid = await rejection(api.upload({ path: avatarUrl(), filePath: avatar, name: 'photo' }))
    assert.equal(invalid.status, 422)
    assert.equal(invalid.error, 'invalid_request')
    assert.deepEqual(invalid.details, { file: ['Missing file.'] })
    const missing = await rejection(api.upload({ path: '/wx/no-such-upload', filePath: avatar })) // on wxlogin itself
    assert.equal(missing.status, 404)
    assert.equal(missing.error, 'not_found')
    assert.ok(missing.message)
  })

  it('is network_error when the service does not answer', async () => {
    await api.login()
    fake.failNext = 1
    const error = await rejection(api.upload({ path: avatarUrl(), filePath: avatar }))
    assert.equal(error.status, 0)
    assert.equal(error.error, 'network_error')
  })

  it('refuses a token header of the caller unless auth is false', async () => {
    await assert.rejects(api.upload({ path: avatarUrl(), filePath: avatar, header: { authorization: 'Bearer x' } }), TypeError)
    assert.equal(fake.requests.length, 0)
  })
})

describe('headers', () => {
  it('merges the client header option and the call header, names in any case', async () => {
    api = createClient({ baseUrl: service.url, header: { 'X-App-Version': '1.2.3' } })
    await api.request<User>({ path: '/wx/me', header: { 'X-Trace': 'abc', 'content-type': 'application/json; charset=utf-8' } })
    const [login, me] = fake.requests
    assert.equal(login.path, '/wx/login')
    assert.equal(login.header['X-App-Version'], '1.2.3')
    assert.equal(me.header['X-App-Version'], '1.2.3')
    assert.equal(me.header['X-Trace'], 'abc')
    assert.equal(me.header['content-type'], 'application/json; charset=utf-8')
    assert.equal(me.header['Content-Type'], undefined)
    assert.equal(me.header.Authentication, stored().access_token)
  })

  it('refuses a token header on a call with the token, before any request', async () => {
    await assert.rejects(api.request({ path: '/wx/me', header: { Authentication: 'mine' } }), TypeError)
    await assert.rejects(api.request({ path: '/wx/me', header: { AUTHORIZATION: 'Bearer mine' } }), TypeError)
    assert.equal(fake.requests.length, 0)
    assert.throws(() => createClient({ baseUrl: service.url, header: { Authorization: 'Bearer x' } }), TypeError)
  })

  it("sends the caller's own token header when auth is false", async () => {
    const other = createClient({ baseUrl: service.url, storageKey: 'other' })
    const tokens = await other.login()
    fake.requests.length = 0
    const user = await api.request<User>({ path: '/wx/me', auth: false, header: { Authentication: tokens.access_token } })
    assert.equal(user.id, tokens.user.id)
    assert.equal(fake.storage.has(KEY), false) // api itself never logged in
  })
})

describe('language', () => {
  const CHINESE = /[\u4e00-\u9fff]/
  const language = (path: string) => fake.requests.find((r) => r.path === path)?.header['Accept-Language']

  it('sends the WeChat language of wx.getAppBaseInfo as Accept-Language', async () => {
    await api.request<User>({ path: '/wx/me' })
    assert.equal(language('/wx/login'), 'zh-CN')
    assert.equal(language('/wx/me'), 'zh-CN')
  })

  it('falls back to wx.getSystemInfoSync on older base libraries', async () => {
    delete fake.wx.getAppBaseInfo
    fake.language = 'en'
    await api.request<User>({ path: '/wx/me' })
    assert.equal(language('/wx/me'), 'en')
  })

  it('takes the language option, and a call header, over the WeChat language', async () => {
    api = createClient({ baseUrl: service.url, language: 'en' })
    await api.request<User>({ path: '/wx/me' })
    await api.request<User>({ path: '/wx/findsome', header: { 'accept-language': 'zh-Hans' } })
    assert.equal(language('/wx/me'), 'en')
    assert.equal(fake.requests.find((r) => r.path === '/wx/findsome')!.header['accept-language'], 'zh-Hans')
    assert.equal(fake.requests.find((r) => r.path === '/wx/findsome')!.header['Accept-Language'], undefined)
    api = createClient({ baseUrl: service.url, language: '' })
    fake.requests.length = 0
    await api.request({ path: '/healthz', auth: false })
    assert.equal(language('/healthz'), undefined)
  })

  it('gets the error messages of the service in that language', async () => {
    const chinese = await rejection(api.request({ path: '/wx/notes/999999' }))
    const english = await rejection(createClient({ baseUrl: service.url, language: 'en' }).request({ path: '/wx/notes/999999' }))
    assert.equal(chinese.error, english.error)
    assert.match(chinese.message, CHINESE)
    assert.doesNotMatch(english.message, CHINESE)
  })
})
