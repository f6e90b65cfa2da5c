/**
 * The `wx` global of a Mini Program, for Node: wx.request does real HTTP (fetch), wx.login
 * hands out simulator codes, storage is a Map. Counters let tests see what was called.
 */

export interface FakeWx {
  storage: Map<string, unknown>
  logins: number
  requests: { method: string; path: string }[]
  /** The next codes wx.login gives (then fresh `sim:<user>:<n>` codes). */
  codes: string[]
  user: string
  /** How many of the next wx.request calls fail as with no network. */
  failNext: number
}

let counter = 0

export function installFakeWx(user: string): FakeWx {
  const fake: FakeWx = { storage: new Map(), logins: 0, requests: [], codes: [], user, failNext: 0 }
  const wxGlobal = {
    login(options: { success: (r: { code: string }) => void; fail: (e: { errMsg: string }) => void }) {
      fake.logins += 1
      const code = fake.codes.shift() ?? `sim:${fake.user}:${process.pid}-${Date.now()}-${counter++}`
      setTimeout(() => options.success({ code }), 5) // asynchronous, as on a phone
    },
    request(options: WechatMiniprogram.RequestOption) {
      const url = new URL(options.url)
      fake.requests.push({ method: options.method ?? 'GET', path: url.pathname + url.search })
      if (fake.failNext > 0) {
        fake.failNext -= 1
        setTimeout(() => options.fail?.({ errMsg: 'request:fail no network', errno: 0 } as WechatMiniprogram.RequestFailCallbackErr), 5)
        return
      }
      const hasBody = options.data !== undefined && options.method !== 'GET'
      fetch(options.url, {
        method: options.method ?? 'GET',
        headers: options.header as Record<string, string>,
        body: hasBody ? JSON.stringify(options.data) : undefined,
        signal: AbortSignal.timeout(options.timeout ?? 15000),
      })
        .then(async (response) => {
          const text = await response.text()
          let data: unknown = text
          try {
            data = JSON.parse(text) // wx.request parses JSON bodies (dataType 'json')
          } catch {
            // not JSON: left as text, like wx.request
          }
          const header: Record<string, string> = {}
          response.headers.forEach((value, name) => (header[name] = value))
          options.success?.({ statusCode: response.status, data, header } as WechatMiniprogram.RequestSuccessCallbackResult)
        })
        .catch((error: Error) =>
          options.fail?.({ errMsg: `request:fail ${error.message}`, errno: 0 } as WechatMiniprogram.RequestFailCallbackErr))
    },
    getStorageSync: (key: string) => fake.storage.get(key) ?? '',
    setStorageSync: (key: string, value: unknown) => void fake.storage.set(key, structuredClone(value)),
    removeStorageSync: (key: string) => void fake.storage.delete(key),
  }
  ;(globalThis as unknown as { wx: unknown }).wx = wxGlobal
  return fake
}
