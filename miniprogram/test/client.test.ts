/**
 * The client against a live wxlogin (development mode, its WeChat simulator), through a
 * fake `wx` whose request is real HTTP.
 */

import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'

import { createClient, Tokens, User, WxLoginClient, WxLoginError } from '../src/wxlogin'
import { FakeWx, installFakeWx } from './fake-wx'
import { expired, Service, startService } from './service'

const KEY = 'wxlogin:tokens'
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
  fake = installFakeWx(`mp${process.pid}x${run++}`)
  api = createClient({ baseUrl: service.url })
})

const stored = () => fake.storage.get(KEY) as Tokens
const calls = (path: string) => fake.requests.filter((r) => r.path === path).length

async function rejection(promise: Promise<unknown>): Promise<WxLoginError> {
  try {
    await promise
  } catch (error) {
    if (!(error instanceof WxLoginError)) throw new Error(`not a WxLoginError: ${error}`)
    return error
  }
  throw new Error('resolved, expected a rejection')
}

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
