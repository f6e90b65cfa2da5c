/**
 * The Mini Program side of wxlogin: one client that logs in when it has to, refreshes a token
 * shortly before it expires (and after, if it must), retries, and turns every error of the
 * service into a typed WxLoginError.
 *
 *   const api = createClient({ baseUrl: 'https://api.example.com' })
 *   const me = await api.request<User>({ path: '/wx/me' })
 *
 * No dependency: only the `wx` global. Concurrent calls share one login and one refresh in
 * flight: never two wx.login() at once, and a refresh token is spent once (the service treats
 * a second use as theft). The public types below need no typings package; the source is
 * compiled against miniprogram-api-typings.
 */

import { AccountDeleted, AccountExport } from './account'
import { decodeScene, QrConfirmResult, QrDenyResult, QrScanResult } from './qr-login'

/** Every `error` slug of the service (docs/API.md), plus the client's own two. */
export type ErrorSlug =
  | 'invalid_request' | 'invalid_code' | 'code_used' | 'rate_limited' | 'user_blocked'
  | 'token_missing' | 'token_invalid' | 'token_expired' | 'token_revoked' | 'user_disabled'
  | 'invalid_signature' | 'session_key_stale' | 'upstream_unavailable' | 'upstream_error'
  | 'upstream_timeout' | 'payload_too_large' | 'not_found' | 'method_not_allowed'
  | 'internal_error' | 'database_unavailable' | 'redis_unavailable'
  | 'qr_not_found' | 'qr_expired' | 'qr_used'
  | 'network_error' // wx.request / wx.uploadFile failed: no answer from the service
  | 'cancelled' // the user declined (the getPhoneNumber button)

export class WxLoginError extends Error {
  constructor(
    /** HTTP status; 0 when the service did not answer. */
    readonly status: number,
    readonly error: ErrorSlug,
    message: string,
    /** Field → messages, for 422 invalid_request. */
    readonly details?: Record<string, string[]>,
    /** Seconds to wait, on 429 rate_limited and 503 (not known for upload(): wx.uploadFile gives no headers). */
    readonly retryAfter?: number,
    /** Quote it when reporting a 500 (not known for upload()). */
    readonly requestId?: string,
  ) {
    super(message)
    this.name = 'WxLoginError'
    Object.setPrototypeOf(this, WxLoginError.prototype) // instanceof, even when compiled to ES5
  }
}

export interface User {
  id: number
  openid: string
  unionid: string | null
  nickname: string | null
  avatar_url: string | null
  phone_number: string | null
  created_at: string
  last_login_at: string
}

export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: 'Bearer'
  /** Lifetime of the access token in seconds, as the service said. */
  expires_in: number
  /** When the access token expires, in ms since the epoch by the device clock (set by the client on receipt). */
  expires_at?: number
  user: User
}

export interface LoginResult extends Tokens {
  is_new_user: boolean
}

export interface PhoneNumber {
  phone_number: string
  pure_phone_number: string
  country_code: string
}

/** HTTP header name → value. */
export type Headers = Record<string, string>

/** Any JSON object or array (what wx.request sends as the body, or as the query of a GET). */
export type Data = Record<string, unknown> | unknown[] | string

export interface RequestOptions {
  /** A path of the service ('/wx/me'), or a full URL (https://…) of another service of yours that accepts wxlogin's tokens. */
  path: string
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  data?: Data
  /**
   * Headers of this request, merged over the client's (names compared case-insensitively). A
   * token header (Authentication, Authorization) is refused with a TypeError unless `auth` is
   * false: the client's token is never replaced or dropped silently.
   */
  header?: Headers
  /** false: send no token (the default sends one, logging in first if there is none). */
  auth?: boolean
  /** Milliseconds for this request (default: the client's `timeout`). */
  timeout?: number
}

export interface UploadOptions {
  /** A path of the service, or a full URL (https://…) of another service of yours that accepts wxlogin's tokens. */
  path: string
  /** The local file: a temporary path from chooseAvatar, chooseMedia, canvasToTempFilePath… */
  filePath: string
  /** The multipart field of the file (default 'file'). */
  name?: string
  /** More multipart fields. */
  formData?: Record<string, string>
  /** As for request(): merged over the client's headers; no token header unless `auth` is false. */
  header?: Headers
  /** false: send no token. */
  auth?: boolean
  /** Milliseconds for this upload (default: the client's `timeout`). */
  timeout?: number
}

export interface ClientOptions {
  /** The service, e.g. 'https://api.example.com' (an https domain allowed in the mp settings). */
  baseUrl: string
  /** Several mini programs on one service: this one's appid. */
  appid?: string
  /** Where the tokens are kept with wx.setStorageSync (default 'wxlogin:tokens'). */
  storageKey?: string
  /** Milliseconds for one wx.request or wx.uploadFile (default 15000). */
  timeout?: number
  /**
   * Accept-Language of every call, hence the language of the errors' `message`. Default: the
   * WeChat language (wx.getAppBaseInfo().language, else wx.getSystemInfoSync().language),
   * e.g. 'zh_CN', sent as 'zh-CN'. '' sends none.
   */
  language?: string
  /**
   * Seconds before the access token expires from which a call refreshes it first. Default:
   * 10% of its lifetime, at most 300 (a 2-hour token: 5 minutes). 0: only after it expired.
   */
  refreshMargin?: number
  /** Headers of every call (login and refresh included); no token header. */
  header?: Headers
}

/** What a `<button open-type="getPhoneNumber">` event carries (WechatMiniprogram.ButtonGetPhoneNumber). */
export interface PhoneNumberEvent {
  detail: { code?: string; errMsg: string }
}

/** wx.getUserInfo's result (WechatMiniprogram.GetUserInfoSuccessCallbackResult). */
export interface UserInfoResult {
  encryptedData: string
  iv: string
  rawData: string
  signature: string
}

const LOG_IN_AGAIN: ErrorSlug[] = ['token_invalid', 'token_revoked', 'token_missing']
const CODE_REFUSED: ErrorSlug[] = ['code_used', 'invalid_code']
const TOKEN_HEADERS = ['authentication', 'authorization']
const MAX_REFRESH_MARGIN = 300 // seconds

export class WxLoginClient {
  private readonly baseUrl: string
  private readonly storageKey: string
  private loggingIn: Promise<Tokens> | null = null
  private refreshing: Promise<Tokens> | null = null
  private language: string | undefined

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.storageKey = options.storageKey || 'wxlogin:tokens'
    if (hasTokenHeader(options.header)) {
      throw new TypeError('ClientOptions.header must not carry a token header: the client sends its own.')
    }
  }

  /** The logged-in user as of the last login or refresh, or null. */
  get user(): User | null {
    const tokens = this.stored()
    return tokens ? tokens.user : null
  }

  /**
   * A call to the service with the access token. No token yet: log in first; a token that
   * expires within `refreshMargin`: refresh first. 401 token_expired: refresh (or, if that
   * fails, log in) and retry once; token_revoked or token_invalid: log in and retry once.
   * Anything else rejects with a WxLoginError.
   */
  request<T>(options: RequestOptions): Promise<T> {
    return this.authorized(options, (tokens) => this.send<T>(options, tokens && tokens.access_token))
  }

  /**
   * wx.uploadFile with the access token (a multipart POST): the same login, refresh, retry and
   * errors as request(). Resolves with the answer's JSON (its text if it is not JSON).
   */
  upload<T>(options: UploadOptions): Promise<T> {
    return this.authorized(options, (tokens) => this.sendFile<T>(options, tokens && tokens.access_token))
  }

  /**
   * wx.login() then POST /wx/login; concurrent calls share one. A refused code (used or
   * invalid) gets one fresh wx.login() and one more try. `stale`: the tokens that failed;
   * when others have replaced them meanwhile, those are used instead of logging in again.
   */
  login(stale?: Tokens): Promise<Tokens> {
    const current = this.stored()
    if (stale && current && current.access_token !== stale.access_token) return Promise.resolve(current)
    if (!this.loggingIn) {
      this.loggingIn = settle(this.logInOnce(), () => (this.loggingIn = null))
    }
    return this.loggingIn
  }

  /**
   * POST /wx/refresh, once for all concurrent callers; a refresh refused by the service logs
   * in instead. `expired`: the tokens to replace; when others have replaced them meanwhile,
   * those are used.
   */
  refresh(expired?: Tokens): Promise<Tokens> {
    const current = this.stored()
    if (!current) return this.login()
    if (expired && current.access_token !== expired.access_token) return Promise.resolve(current)
    if (!this.refreshing) {
      this.refreshing = settle(this.refreshOnce(current), () => (this.refreshing = null))
    }
    return this.refreshing
  }

  /**
   * POST /wx/logout (every session with `all`). The tokens are forgotten here at once; the
   * service is asked again (up to 3 times, as its Retry-After says) while it has not
   * recorded the logout (503, or no answer), since until then the tokens still work there.
   */
  async logout(all = false): Promise<void> {
    const tokens = this.stored()
    this.forget()
    if (!tokens) return
    const path = `/wx/logout${all ? '?all=true' : ''}`
    for (let attempt = 1; ; attempt++) {
      try {
        await this.send({ path, method: 'POST' }, tokens.access_token)
        return
      } catch (error) {
        if (error instanceof WxLoginError && error.status === 401) return // already refused: logged out
        const unrecorded = error instanceof WxLoginError && (error.status === 503 || error.error === 'network_error')
        if (!unrecorded || attempt === LOGOUT_ATTEMPTS) throw error
        const retryAfter = (error as WxLoginError).retryAfter
        await sleep(1000 * (retryAfter === undefined ? 1 : retryAfter))
      }
    }
  }

  /** The phone number behind a `<button open-type="getPhoneNumber">` tap, stored on the user. */
  phoneNumber(event: PhoneNumberEvent): Promise<PhoneNumber> {
    const code = event.detail.code
    if (!code) return Promise.reject(new WxLoginError(0, 'cancelled', event.detail.errMsg || 'The user declined.'))
    return this.request<PhoneNumber>({ path: '/wx/phone', method: 'POST', data: { code } })
  }

  /** Nickname and avatar from wx.getUserInfo's encrypted data (older clients). */
  userInfo(result: UserInfoResult): Promise<User> {
    const data = {
      encrypted_data: result.encryptedData,
      iv: result.iv,
      raw_data: result.rawData,
      signature: result.signature,
    }
    return this.request<User>({ path: '/wx/userinfo', method: 'POST', data })
  }

  /**
   * Web login by scanning (扫码登录): who asked for the code of `scene` (POST /wx/qr-login/scan),
   * to show the user before they confirm. `scene`: the page's `options.scene`, URL-encoded as
   * it arrives or decoded. Scanning again is fine. 404 qr_not_found, 410 qr_expired, 409 qr_used
   * (another user scanned it, or it was answered already).
   */
  async qrScan(scene: string): Promise<QrScanResult> {
    const result = await this.qrCall<QrScanResult>('scan', scene)
    result.expires_at = Date.now() + result.expires_in * 1000
    return result
  }

  /** Logs the browser that asked in as this user (POST /wx/qr-login/confirm); only after qrScan() by this user. */
  qrConfirm(scene: string): Promise<QrConfirmResult> {
    return this.qrCall<QrConfirmResult>('confirm', scene)
  }

  /** Refuses the login (POST /wx/qr-login/deny): the web page's poll says denied. */
  qrDeny(scene: string): Promise<QrDenyResult> {
    return this.qrCall<QrDenyResult>('deny', scene)
  }

  /** Everything the service holds about the user (GET /wx/me/export): see account.ts. */
  exportData(): Promise<AccountExport> {
    return this.request<AccountExport>({ path: '/wx/me/export' })
  }

  /**
   * Erases the account (DELETE /wx/me), then forgets its tokens: the next call logs in afresh,
   * as a new account. A failed deletion rejects and keeps them (the account may still be there).
   */
  deleteAccount(): Promise<void> {
    return this.authorized({}, async (tokens) => {
      const used = tokens as Tokens // auth is on: always given
      await this.send<AccountDeleted>({ path: '/wx/me', method: 'DELETE' }, used.access_token)
      // Only the deleted user's tokens: a call may have logged in anew meanwhile, as a new account.
      const current = this.stored()
      const same = current && (current.access_token === used.access_token || (current.user && current.user.id === used.user.id))
      if (same) this.forget()
    })
  }

  private qrCall<T>(action: 'scan' | 'confirm' | 'deny', scene: string): Promise<T> {
    return this.request<T>({ path: `/wx/qr-login/${action}`, method: 'POST', data: { scene: decodeScene(scene) } })
  }

  /** `call` gets the tokens to send (none with `auth: false`). */
  private async authorized<T>(options: { auth?: boolean; header?: Headers }, call: (tokens?: Tokens) => Promise<T>): Promise<T> {
    if (options.auth === false) return call()
    if (hasTokenHeader(options.header)) {
      throw new TypeError('A request with the token (auth not false) must not set Authentication or Authorization itself.')
    }
    let tokens = this.stored() || (await this.login())
    if (this.expiresSoon(tokens)) tokens = await this.refreshEarly(tokens)
    try {
      return await call(tokens)
    } catch (error) {
      if (!(error instanceof WxLoginError) || error.status !== 401) throw error
      let renewed: Tokens
      if (error.error === 'token_expired') renewed = await this.refresh(tokens)
      else if (LOG_IN_AGAIN.indexOf(error.error) >= 0) renewed = await this.login(tokens)
      else throw error
      return call(renewed)
    }
  }

  private expiresSoon(tokens: Tokens): boolean {
    if (typeof tokens.expires_at !== 'number') return false // kept by an older version: refreshed on 401
    const configured = this.options.refreshMargin
    const margin = configured === undefined ? Math.min(MAX_REFRESH_MARGIN, tokens.expires_in / 10) : configured
    return margin > 0 && Date.now() >= tokens.expires_at - margin * 1000
  }

  /**
   * The shared refresh, ahead of expiry. The token still works meanwhile, so when the service
   * cannot refresh right now (no answer, 429, 5xx) the call goes on with it.
   */
  private async refreshEarly(tokens: Tokens): Promise<Tokens> {
    try {
      return await this.refresh(tokens)
    } catch (error) {
      const transient = error instanceof WxLoginError && (error.status === 0 || error.status === 429 || error.status >= 500)
      if (!transient) throw error
      return this.stored() || tokens
    }
  }

  private async logInOnce(): Promise<Tokens> {
    const appid = this.options.appid
    const body = (code: string) => (appid ? { code, appid } : { code })
    let result: LoginResult
    try {
      result = await this.send<LoginResult>({ path: '/wx/login', method: 'POST', data: body(await wxLogin()) })
    } catch (error) {
      if (!(error instanceof WxLoginError) || CODE_REFUSED.indexOf(error.error) < 0) throw error
      result = await this.send<LoginResult>({ path: '/wx/login', method: 'POST', data: body(await wxLogin()) })
    }
    result.expires_at = this.keep(result).expires_at
    return result
  }

  private async refreshOnce(current: Tokens): Promise<Tokens> {
    let renewed: Tokens
    try {
      renewed = await this.send<Tokens>({ path: '/wx/refresh', method: 'POST' }, current.refresh_token)
    } catch (error) {
      if (error instanceof WxLoginError && error.status === 401) return this.login(current)
      throw error
    }
    return this.keep(renewed)
  }

  private send<T>(options: RequestOptions, token?: string): Promise<T> {
    const header = this.headers({ 'Content-Type': 'application/json' }, options.header, token)
    let method = options.method || 'GET'
    if (method === 'PATCH') {
      method = 'POST' // wx.request cannot send PATCH: the service takes this override instead
      header['X-HTTP-Method-Override'] = 'PATCH'
    }
    return new Promise<T>((resolve, reject) => {
      wx.request({
        url: this.urlOf(options.path),
        method,
        data: options.data as WechatMiniprogram.IAnyObject,
        header,
        timeout: options.timeout || this.options.timeout || DEFAULT_TIMEOUT,
        success: (response) => {
          if (response.statusCode >= 200 && response.statusCode < 300) resolve(response.data as T)
          else reject(errorOf(response.statusCode, response.data, response.header))
        },
        fail: (failure) => reject(new WxLoginError(0, 'network_error', failure.errMsg)),
      })
    })
  }

  private sendFile<T>(options: UploadOptions, token?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      wx.uploadFile({
        url: this.urlOf(options.path),
        filePath: options.filePath,
        name: options.name || 'file',
        formData: options.formData,
        header: this.headers({}, options.header, token), // wx.uploadFile sets the multipart Content-Type
        timeout: options.timeout || this.options.timeout || DEFAULT_TIMEOUT,
        success: (response) => {
          const data = parseJson(response.data)
          if (response.statusCode >= 200 && response.statusCode < 300) resolve(data as T)
          else reject(errorOf(response.statusCode, data, {}))
        },
        fail: (failure) => reject(new WxLoginError(0, 'network_error', failure.errMsg)),
      })
    })
  }

  /** The client's defaults, then its `header` option, then the call's, then the token. */
  private headers(defaults: Headers, extra: Headers | undefined, token: string | undefined): Headers {
    const header: Headers = defaults
    const language = this.acceptLanguage()
    if (language) header['Accept-Language'] = language
    merge(header, this.options.header)
    merge(header, extra)
    if (token) header.Authentication = token
    return header
  }

  private acceptLanguage(): string {
    if (this.options.language !== undefined) return this.options.language
    if (this.language === undefined) this.language = wechatLanguage()
    return this.language
  }

  private urlOf(path: string): string {
    return /^https?:\/\//i.test(path) ? path : this.baseUrl + path
  }

  private stored(): Tokens | null {
    const tokens = wx.getStorageSync(this.storageKey) as Tokens | ''
    return tokens && tokens.access_token ? tokens : null
  }

  private keep(tokens: Tokens): Tokens {
    const { access_token, refresh_token, token_type, expires_in, user } = tokens
    const kept: Tokens = { access_token, refresh_token, token_type, expires_in, expires_at: Date.now() + expires_in * 1000, user }
    wx.setStorageSync(this.storageKey, kept)
    return kept
  }

  private forget(): void {
    wx.removeStorageSync(this.storageKey)
  }
}

export function createClient(options: ClientOptions): WxLoginClient {
  return new WxLoginClient(options)
}

const DEFAULT_TIMEOUT = 15000
const LOGOUT_ATTEMPTS = 3

/** The WeChat language as a language tag: 'zh_CN' → 'zh-CN'; '' when the API is missing. */
function wechatLanguage(): string {
  try {
    const info = typeof wx.getAppBaseInfo === 'function' ? wx.getAppBaseInfo() : wx.getSystemInfoSync()
    return (info && info.language ? String(info.language) : '').replace(/_/g, '-')
  } catch (error) {
    return ''
  }
}

function hasTokenHeader(header: Headers | undefined): boolean {
  return !!header && Object.keys(header).some((name) => TOKEN_HEADERS.indexOf(name.toLowerCase()) >= 0)
}

/** Copy `extra` into `header`, a name given in any case replacing the same name already there. */
function merge(header: Headers, extra: Headers | undefined): void {
  if (!extra) return
  for (const name of Object.keys(extra)) {
    const value = extra[name]
    if (value === undefined || value === null) continue
    for (const existing of Object.keys(header)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete header[existing]
    }
    header[name] = String(value)
  }
}

/** p, then `done` whatever its outcome (Promise.prototype.finally is ES2018). */
function settle<T>(p: Promise<T>, done: () => void): Promise<T> {
  return p.then(
    (value) => {
      done()
      return value
    },
    (error) => {
      done()
      throw error
    },
  )
}

function wxLogin(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (result) => resolve(result.code),
      fail: (failure) => reject(new WxLoginError(0, 'network_error', failure.errMsg)),
    })
  })
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    return text
  }
}

function errorOf(status: number, data: unknown, headers: unknown): WxLoginError {
  const body = (typeof data === 'object' && data ? data : {}) as Record<string, unknown>
  const header = (headers || {}) as Record<string, string | undefined>
  const headerValue = (name: string) => {
    const wanted = name.toLowerCase()
    for (const key of Object.keys(header)) if (key.toLowerCase() === wanted) return header[key]
    return undefined
  }
  const retryAfter = headerValue('Retry-After')
  return new WxLoginError(
    status,
    typeof body.error === 'string' ? (body.error as ErrorSlug) : 'internal_error',
    typeof body.message === 'string' ? body.message : `HTTP ${status}`,
    body.details as Record<string, string[]> | undefined,
    retryAfter ? Number(retryAfter) : undefined,
    headerValue('X-Request-ID'),
  )
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
