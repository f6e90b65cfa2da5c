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
 * browser to a victim (QR login hijacking), and confirming it logs *that* browser in.
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

/**
 * A short readable name of a browser from its User-Agent: 'Chrome 120 · Windows',
 * 'Safari 17 · macOS', 'WeChat 8 · iOS'. An unknown one: its first product ('curl 8.5.0'), else
 * the start of the text; '' for none.
 */
export function describeUserAgent(userAgent: string): string {
  const ua = String(userAgent || '').trim()
  if (!ua) return ''
  const browser = firstMatch(ua, BROWSERS)
  const system = firstMatch(ua, SYSTEMS)
  if (browser || system) return [browser || 'Browser', system].filter(Boolean).join(' · ')
  const product = /^([A-Za-z][\w.-]*)\/(\d[\w.-]*)/.exec(ua)
  if (product && product[1] !== 'Mozilla') return `${product[1]} ${product[2]}`
  return ua.length > MAX_UNKNOWN ? `${ua.slice(0, MAX_UNKNOWN)}…` : ua
}

const MAX_UNKNOWN = 40

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
    if (match) return match[1] ? `${name} ${match[1]}` : name
  }
  return ''
}
