/**
 * The Mini Program side of wxlogin: one client that logs in when it has to, refreshes an
 * expired token, retries, and turns every error of the service into a typed WxLoginError.
 *
 *   const api = createClient({ baseUrl: 'https://api.example.com' })
 *   const me = await api.request<User>({ path: '/wx/me' })
 *
 * No dependency: only the `wx` global (typed by miniprogram-api-typings). Concurrent calls
 * share one login and one refresh in flight: never two wx.login() at once, and a refresh
 * token is spent once (the service treats a second use as theft).
 */

/** Every `error` slug of the service (docs/API.md), plus the client's own two. */
export type ErrorSlug =
  | 'invalid_request' | 'invalid_code' | 'code_used' | 'rate_limited' | 'user_blocked'
  | 'token_missing' | 'token_invalid' | 'token_expired' | 'token_revoked' | 'user_disabled'
  | 'invalid_signature' | 'session_key_stale' | 'upstream_unavailable' | 'upstream_error'
  | 'upstream_timeout' | 'payload_too_large' | 'not_found' | 'method_not_allowed'
  | 'internal_error' | 'database_unavailable' | 'redis_unavailable'
  | 'network_error' // wx.request failed: no answer from the service
  | 'cancelled' // the user declined (the getPhoneNumber button)

export class WxLoginError extends Error {
  constructor(
    /** HTTP status; 0 when the service did not answer. */
    readonly status: number,
    readonly error: ErrorSlug,
    message: string,
    /** Field → messages, for 422 invalid_request. */
    readonly details?: Record<string, string[]>,
    /** Seconds to wait, on 429 rate_limited and 503. */
    readonly retryAfter?: number,
    /** Quote it when reporting a 500. */
    readonly requestId?: string,
  ) {
    super(message)
    this.name = 'WxLoginError'
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
  expires_in: number
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

export interface RequestOptions {
  path: string
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  data?: WechatMiniprogram.IAnyObject
  /** false: send no token (the default sends one, logging in first if there is none). */
  auth?: boolean
}

export interface ClientOptions {
  /** The service, e.g. 'https://api.example.com' (an https domain allowed in the mp settings). */
  baseUrl: string
  /** Several mini programs on one service: this one's appid. */
  appid?: string
  /** Where the tokens are kept with wx.setStorageSync. */
  storageKey?: string
  /** Milliseconds for one wx.request. */
  timeout?: number
}

const LOG_IN_AGAIN: ErrorSlug[] = ['token_invalid', 'token_revoked', 'token_missing']
const CODE_REFUSED: ErrorSlug[] = ['code_used', 'invalid_code']

export class WxLoginClient {
  private readonly baseUrl: string
  private readonly storageKey: string
  private loggingIn: Promise<Tokens> | null = null
  private refreshing: Promise<Tokens> | null = null

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.storageKey = options.storageKey ?? 'wxlogin:tokens'
  }

  /** The logged-in user as of the last login or refresh, or null. */
  get user(): User | null {
    return this.stored()?.user ?? null
  }

  /**
   * A call to the service with the access token. No token yet: log in first. 401
   * token_expired: refresh (or, if that fails, log in) and retry once; token_revoked or
   * token_invalid: log in and retry once. Anything else rejects with a WxLoginError.
   */
  async request<T>(options: RequestOptions): Promise<T> {
    if (options.auth === false) return this.send<T>(options)
    const tokens = this.stored() ?? (await this.login())
    try {
      return await this.send<T>(options, tokens.access_token)
    } catch (error) {
      if (!(error instanceof WxLoginError) || error.status !== 401) throw error
      let renewed: Tokens
      if (error.error === 'token_expired') renewed = await this.refresh(tokens)
      else if (LOG_IN_AGAIN.includes(error.error)) renewed = await this.login(tokens)
      else throw error
      return this.send<T>(options, renewed.access_token)
    }
  }

  /**
   * wx.login() then POST /wx/login; concurrent calls share one. A refused code (used or
   * invalid) gets one fresh wx.login() and one more try. `stale`: the tokens that failed;
   * when others have replaced them meanwhile, those are used instead of logging in again.
   */
  login(stale?: Tokens): Promise<Tokens> {
    const current = this.stored()
    if (stale && current && current.access_token !== stale.access_token) return Promise.resolve(current)
    this.loggingIn ??= this.logInOnce().finally(() => (this.loggingIn = null))
    return this.loggingIn
  }

  /** POST /wx/refresh, once for all concurrent callers; a failed refresh logs in instead. */
  refresh(expired?: Tokens): Promise<Tokens> {
    const current = this.stored()
    if (!current) return this.login()
    if (expired && current.access_token !== expired.access_token) return Promise.resolve(current)
    this.refreshing ??= this.refreshOnce(current).finally(() => (this.refreshing = null))
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
        await sleep(1000 * ((error as WxLoginError).retryAfter ?? 1))
      }
    }
  }

  /** The phone number behind a `<button open-type="getPhoneNumber">` tap, stored on the user. */
  phoneNumber(event: WechatMiniprogram.ButtonGetPhoneNumber): Promise<PhoneNumber> {
    const code = event.detail.code
    if (!code) return Promise.reject(new WxLoginError(0, 'cancelled', event.detail.errMsg || 'The user declined.'))
    return this.request<PhoneNumber>({ path: '/wx/phone', method: 'POST', data: { code } })
  }

  /** Nickname and avatar from wx.getUserInfo's encrypted data (older clients). */
  userInfo(result: WechatMiniprogram.GetUserInfoSuccessCallbackResult): Promise<User> {
    const data = {
      encrypted_data: result.encryptedData,
      iv: result.iv,
      raw_data: result.rawData,
      signature: result.signature,
    }
    return this.request<User>({ path: '/wx/userinfo', method: 'POST', data })
  }

  private async logInOnce(): Promise<Tokens> {
    const body = (code: string) => (this.options.appid ? { code, appid: this.options.appid } : { code })
    let result: LoginResult
    try {
      result = await this.send<LoginResult>({ path: '/wx/login', method: 'POST', data: body(await wxLogin()) })
    } catch (error) {
      if (!(error instanceof WxLoginError) || !CODE_REFUSED.includes(error.error)) throw error
      result = await this.send<LoginResult>({ path: '/wx/login', method: 'POST', data: body(await wxLogin()) })
    }
    this.keep(result)
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
    this.keep(renewed)
    return renewed
  }

  private send<T>(options: RequestOptions, token?: string): Promise<T> {
    const header: WechatMiniprogram.IAnyObject = { 'Content-Type': 'application/json' }
    if (token) header.Authentication = token
    let method = options.method ?? 'GET'
    if (method === 'PATCH') {
      method = 'POST' // wx.request cannot send PATCH: the service takes this override instead
      header['X-HTTP-Method-Override'] = 'PATCH'
    }
    return new Promise<T>((resolve, reject) => {
      wx.request({
        url: this.baseUrl + options.path,
        method,
        data: options.data,
        header,
        timeout: this.options.timeout ?? 15000,
        success: (response) => {
          if (response.statusCode >= 200 && response.statusCode < 300) resolve(response.data as T)
          else reject(errorOf(response))
        },
        fail: (failure) => reject(new WxLoginError(0, 'network_error', failure.errMsg)),
      })
    })
  }

  private stored(): Tokens | null {
    const tokens = wx.getStorageSync(this.storageKey) as Tokens | ''
    return tokens && tokens.access_token ? tokens : null
  }

  private keep(tokens: Tokens): void {
    const { access_token, refresh_token, token_type, expires_in, user } = tokens
    wx.setStorageSync(this.storageKey, { access_token, refresh_token, token_type, expires_in, user })
  }

  private forget(): void {
    wx.removeStorageSync(this.storageKey)
  }
}

export function createClient(options: ClientOptions): WxLoginClient {
  return new WxLoginClient(options)
}

function wxLogin(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (result) => resolve(result.code),
      fail: (failure) => reject(new WxLoginError(0, 'network_error', failure.errMsg)),
    })
  })
}

function errorOf(response: WechatMiniprogram.RequestSuccessCallbackResult): WxLoginError {
  const body = (typeof response.data === 'object' && response.data ? response.data : {}) as WechatMiniprogram.IAnyObject
  const header = response.header as Record<string, string | undefined>
  const headerValue = (name: string) => header[name] ?? header[name.toLowerCase()]
  const retryAfter = headerValue('Retry-After')
  return new WxLoginError(
    response.statusCode,
    (body.error as ErrorSlug) ?? 'internal_error',
    (body.message as string) ?? `HTTP ${response.statusCode}`,
    body.details as Record<string, string[]> | undefined,
    retryAfter ? Number(retryAfter) : undefined,
    headerValue('X-Request-ID'),
  )
}

const LOGOUT_ATTEMPTS = 3

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
