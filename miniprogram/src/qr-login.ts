/**
 * Web login by scanning the mini program code (扫码登录), the mini program's part. The web page
 * shows a code whose `scene` opens the login page (QR_LOGIN_PAGE, default
 * pages/qr-login/index); that page calls
 *
 *   const scan = await api.qrScan(options.scene)   // who asked: show it
 *   await api.qrConfirm(options.scene)             // or api.qrDeny(options.scene)
 *
 * The calls are methods of WxLoginClient (same login, refresh, retry and errors as request());
 * this module holds their types and the helpers of the page.
 *
 * The user must see who asked before confirming: anyone can send a login code of their own
 * browser to a victim (QR login hijacking), and confirming it logs *that* browser in. Such a
 * code reaches the victim forwarded (a picture in a chat, long-pressed or picked from the
 * album) or as a card or link: qrOpenedByCamera(entryScene()) is false then, and the page
 * should warn and ask twice.
 */

/** What the web page's poll (GET /wx/qr-login/<ticket>) says. */
export type QrLoginStatus = 'pending' | 'scanned' | 'confirmed' | 'denied' | 'expired' | 'used'

/** The browser that asked for the code, as the service saw it. */
export interface QrRequester {
  /** Client IP of the web page's POST /wx/qr-login. */
  ip: string
  /** Its User-Agent header, as sent ('' if none); describeUserAgent() makes it short. */
  user_agent: string
  /** When the code was made, ISO 8601. */
  created_at: string
}

/** The answer of qrScan(). */
export interface QrScanResult {
  status: 'scanned'
  requester: QrRequester
  /** Seconds the code stays valid, as the service said. */
  expires_in: number
  /** When the code expires, in ms since the epoch by the device clock (set by the client on receipt). */
  expires_at: number
}

export interface QrConfirmResult {
  status: 'confirmed'
}

export interface QrDenyResult {
  status: 'denied'
}

/**
 * The scene as the service knows it. A page opened by a mini program code gets it
 * URL-encoded in `options.scene`; WeChat scenes never contain '%', so decoding an already
 * decoded scene changes nothing. Malformed escapes are left as they are (the service then
 * answers qr_not_found).
 */
export function decodeScene(scene: string): string {
  try {
    return decodeURIComponent(scene)
  } catch (error) {
    return scene
  }
}

/** The decoded scene of a page's onLoad options, or '' when it was not opened by a code. */
export function qrSceneOf(options: Record<string, string | undefined> | undefined): string {
  const scene = options && options.scene
  return typeof scene === 'string' ? decodeScene(scene) : ''
}

/** What describeUserAgent() says of a browser it does not know. */
export const UNKNOWN_BROWSER = '未知浏览器'

/**
 * A short readable name of a browser from its User-Agent: 'Chrome 120 · Windows',
 * 'Safari 17 · macOS', 'WeChat 8 · iOS'. Only names of its own tables and a version number
 * (at most 4 digits) make it: the User-Agent is chosen by whoever asked for the code, and an
 * attacker's "WeChat security check - safe, tap Confirm" must not reach the confirm page.
 * Anything else, none included, is UNKNOWN_BROWSER ('未知浏览器'); a known system with an
 * unknown browser is '未知浏览器 · Windows'.
 */
export function describeUserAgent(userAgent: string): string {
  const ua = String(userAgent || '')
  const browser = firstMatch(ua, BROWSERS)
  const system = firstMatch(ua, SYSTEMS)
  return [browser || UNKNOWN_BROWSER, system].filter(Boolean).join(' · ')
}

// Order matters: Edge and Opera say Chrome too, Chrome says Safari, WeChat's browser says both.
const BROWSERS: [RegExp, string][] = [
  [/MicroMessenger\/(\d+)/, 'WeChat'],
  [/Edg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/(?:Chrome|CriOS|Chromium)\/(\d+)/, 'Chrome'],
  [/Version\/(\d+).*Safari\//, 'Safari'],
]

// HarmonyOS and iOS before Android and macOS: their UAs may name those as well.
const SYSTEMS: [RegExp, string][] = [
  [/HarmonyOS|OpenHarmony/, 'HarmonyOS'],
  [/Windows/, 'Windows'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux|X11/, 'Linux'],
]

function firstMatch(ua: string, table: [RegExp, string][]): string {
  for (const [pattern, name] of table) {
    const match = pattern.exec(ua)
    if (match) return match[1] && match[1].length <= 4 ? `${name} ${match[1]}` : name
  }
  return ''
}

/**
 * Launch scenes (场景值) of a mini program code, the kind the service makes
 * (wxa/getwxacodeunlimit): scanned with the camera (扫描小程序码), long-pressed in a picture
 * (长按图片识别小程序码, e.g. one sent in a chat), picked from the album
 * (扫描手机相册中选取的小程序码).
 */
export const QR_SCENE_CAMERA = 1047
export const QR_SCENE_LONG_PRESS = 1048
export const QR_SCENE_ALBUM = 1049

/**
 * Whether the page was opened by scanning a mini program code with the camera (scene 1047),
 * as the user does who scans the code on their own computer's screen. Anything else (a code
 * forwarded as a picture: 1048, 1049; a card or link of a chat: 1007, 1008, ...; an unknown
 * scene) is how a hijacking code arrives: warn, and ask for a second, explicit confirmation.
 * (1011-1013 are plain QR codes, which the service does not make; 1012 and 1013 are
 * forwarded ones too.)
 */
export function qrOpenedByCamera(scene: number | undefined): boolean {
  return scene === QR_SCENE_CAMERA
}

/**
 * The scene the mini program was last entered by: wx.getEnterOptionsSync().scene (hot starts
 * included), or wx.getLaunchOptionsSync().scene on base libraries before 2.9.4, which have no
 * getEnterOptionsSync; undefined when unknown (then qrOpenedByCamera() is false).
 */
export function entryScene(): number | undefined {
  try {
    if (typeof wx === 'undefined') return undefined
    const options = typeof wx.getEnterOptionsSync === 'function'
      ? wx.getEnterOptionsSync()
      : typeof wx.getLaunchOptionsSync === 'function' ? wx.getLaunchOptionsSync() : undefined
    const scene = options ? Number(options.scene) : NaN
    return Number.isInteger(scene) && scene > 0 ? scene : undefined
  } catch (error) {
    return undefined
  }
}
