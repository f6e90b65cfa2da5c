/**
 * The `wx` global of a Mini Program, for Node: wx.request and wx.uploadFile do real HTTP
 * (fetch), wx.login hands out simulator codes, storage is a Map, the language APIs answer
 * `language`, the launch APIs `scene`. Counters let tests see what was called.
 */

import { readFileSync } from 'node:fs'
import { basename, extname } from 'node:path'

export interface SentRequest {
  method: string
  path: string
  header: Record<string, string>
  /** 'upload' for wx.uploadFile. */
  kind: 'request' | 'upload'
}

/** What the service answered a wx.request. */
export interface Answer {
  method: string
  path: string
  status: number
  data: unknown
}

export interface FakeWx {
  storage: Map<string, unknown>
  logins: number
  requests: SentRequest[]
  answers: Answer[]
  /** The next codes wx.login gives (then fresh `sim:<user>:<n>` codes). */
  codes: string[]
  user: string
  /** How many of the next wx.request / wx.uploadFile calls fail as with no network. */
  failNext: number
  /** What wx.getAppBaseInfo() and wx.getSystemInfoSync() say, as WeChat spells it ('zh_CN', 'en'). */
  language: string
  /**
   * The scene (场景值) wx.getEnterOptionsSync() and wx.getLaunchOptionsSync() say the mini
   * program was opened by: 1001 (its entry in 发现), unless a test sets another (1047: a
   * mini program code scanned with the camera); undefined: no scene in their answer.
   */
  scene: number | undefined
  /** The global itself: delete wx.getAppBaseInfo to be an older base library. */
  wx: Record<string, unknown>
}

let counter = 0

const sceneOf = (scene: number | undefined) => (scene === undefined ? {} : { scene })

const TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' }

export function installFakeWx(user: string): FakeWx {
  const fake: FakeWx = {
    storage: new Map(), logins: 0, requests: [], answers: [], codes: [], user, failNext: 0, language: 'zh_CN', scene: 1001, wx: {},
  }
  const sent = (url: string, method: string, header: unknown, kind: SentRequest['kind']) => {
    const { pathname, search } = new URL(url)
    fake.requests.push({ method, path: pathname + search, header: { ...(header as Record<string, string>) }, kind })
  }
  const offline = (fail: ((e: never) => void) | undefined, api: string) => {
    if (fake.failNext <= 0) return false
    fake.failNext -= 1
    setTimeout(() => fail?.({ errMsg: `${api}:fail no network`, errno: 0 } as never), 5)
    return true
  }
  const headersOf = (response: Response) => {
    const header: Record<string, string> = {}
    response.headers.forEach((value, name) => (header[name] = value))
    return header
  }

  const wxGlobal: Record<string, unknown> = {
    login(options: { success: (r: { code: string }) => void; fail: (e: { errMsg: string }) => void }) {
      fake.logins += 1
      const code = fake.codes.shift() ?? `sim:${fake.user}:${process.pid}-${Date.now()}-${counter++}`
      setTimeout(() => options.success({ code }), 5) // asynchronous, as on a phone
    },
    request(options: WechatMiniprogram.RequestOption) {
      const method = options.method ?? 'GET'
      sent(options.url, method, options.header, 'request')
      if (offline(options.fail, 'request')) return
      const hasBody = options.data !== undefined && method !== 'GET'
      fetch(options.url, {
        method,
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
          const { pathname, search } = new URL(options.url)
          fake.answers.push({ method, path: pathname + search, status: response.status, data })
          options.success?.({ statusCode: response.status, data, header: headersOf(response) } as WechatMiniprogram.RequestSuccessCallbackResult)
        })
        .catch((error: Error) =>
          options.fail?.({ errMsg: `request:fail ${error.message}`, errno: 0 } as WechatMiniprogram.RequestFailCallbackErr))
    },
    /** A multipart POST of the file at filePath, as wx.uploadFile: the answer's text, no headers. */
    uploadFile(options: WechatMiniprogram.UploadFileOption) {
      sent(options.url, 'POST', options.header, 'upload')
      if (offline(options.fail, 'uploadFile')) return
      const form = new FormData()
      for (const [name, value] of Object.entries(options.formData ?? {})) form.append(name, String(value))
      let bytes: Buffer
      try {
        bytes = readFileSync(options.filePath)
      } catch {
        setTimeout(() => options.fail?.({ errMsg: 'uploadFile:fail file not found', errno: 0 } as never), 5)
        return
      }
      const type = TYPES[extname(options.filePath).toLowerCase()] ?? 'application/octet-stream'
      form.append(options.name, new Blob([bytes], { type }), basename(options.filePath))
      fetch(options.url, {
        method: 'POST',
        headers: options.header as Record<string, string>, // fetch sets the multipart Content-Type
        body: form,
        signal: AbortSignal.timeout(options.timeout ?? 60000),
      })
        .then(async (response) => {
          const data = await response.text() // wx.uploadFile never parses the answer
          options.success?.({ statusCode: response.status, data, errMsg: 'uploadFile:ok' } as WechatMiniprogram.UploadFileSuccessCallbackResult)
        })
        .catch((error: Error) => options.fail?.({ errMsg: `uploadFile:fail ${error.message}`, errno: 0 } as never))
    },
    getAppBaseInfo: () => ({ language: fake.language, SDKVersion: '3.5.0', version: '8.0.50', theme: 'light' }),
    getSystemInfoSync: () => ({ language: fake.language, SDKVersion: '3.5.0', version: '8.0.50', platform: 'devtools' }),
    getEnterOptionsSync: () => ({ path: '', query: {}, referrerInfo: {}, ...sceneOf(fake.scene) }),
    getLaunchOptionsSync: () => ({ path: '', query: {}, referrerInfo: {}, ...sceneOf(fake.scene) }),
    getStorageSync: (key: string) => fake.storage.get(key) ?? '',
    setStorageSync: (key: string, value: unknown) => void fake.storage.set(key, structuredClone(value)),
    removeStorageSync: (key: string) => void fake.storage.delete(key),
  }
  fake.wx = wxGlobal
  ;(globalThis as unknown as { wx: unknown }).wx = wxGlobal
  return fake
}
