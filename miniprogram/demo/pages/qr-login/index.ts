// 扫码登录: the page a web login code opens (the service's QR_LOGIN_PAGE). It shows who asked
// (IP, browser, time) before the user confirms: anyone can send a login code of their own
// browser to a victim, and confirming it would log *their* browser in as this user. Such a
// code arrives forwarded (a picture long-pressed or picked from the album) or as a card: when
// the page was not opened by the camera, it warns and 确认登录 takes a second, explicit tap.
import type { QrScanResult } from 'wxlogin-miniprogram'
import { describeUserAgent, entryScene, qrOpenedByCamera, qrSceneOf, WxLoginError } from 'wxlogin-miniprogram'
import type { DemoApp } from '../../app'

type State = 'loading' | 'ready' | 'busy' | 'confirmed' | 'denied' | 'failed'

const EXPIRED = '二维码已过期，请在电脑上刷新'
const MESSAGES: Record<string, string> = {
  qr_expired: EXPIRED,
  qr_used: '二维码已被使用，请在电脑上刷新后重新扫码',
  qr_not_found: '二维码无效，请在电脑上刷新后重新扫码',
  network_error: '网络不可用，请检查网络后重试',
}

const CONFIRM = '确认登录'
const CONFIRM_AGAIN = '我确认是我本人在电脑上登录'
/** After the first tap, taps this soon are ignored: a double tap is not a second decision. */
const ARM_DELAY_MS = 1000

const app = getApp<DemoApp>()

Page({
  data: {
    state: 'loading' as State, ip: '', browser: '', time: '', secondsLeft: 0, message: '',
    forwarded: false, // not opened by the camera: warn, and ask twice
    armed: false, // forwarded, and 确认登录 tapped once
    confirmText: CONFIRM,
  },
  scene: '',
  expiresAt: 0,
  armedAt: 0,
  timer: 0,

  async onLoad(options: Record<string, string | undefined>) {
    this.scene = qrSceneOf(options) // options.scene arrives URL-encoded
    this.setData({ forwarded: !qrOpenedByCamera(entryScene()), armed: false, confirmText: CONFIRM })
    if (!this.scene) {
      this.finish('failed', '请用微信扫描电脑网页上的登录二维码')
      return
    }
    try {
      this.show(await app.api.qrScan(this.scene))
    } catch (error) {
      this.fail(error)
    }
  },

  onUnload() {
    this.stopCountdown()
  },

  show(scan: QrScanResult) {
    this.expiresAt = scan.expires_at
    this.setData({
      state: 'ready',
      ip: scan.requester.ip,
      browser: describeUserAgent(scan.requester.user_agent), // known names only, else 未知浏览器
      time: localTime(scan.requester.created_at),
      secondsLeft: scan.expires_in,
    })
    this.stopCountdown()
    this.timer = setInterval(() => this.tick(), 1000)
  },

  tick() {
    const secondsLeft = Math.max(0, Math.ceil((this.expiresAt - Date.now()) / 1000))
    if (secondsLeft > 0) this.setData({ secondsLeft })
    else if (this.data.state === 'ready') this.finish('failed', EXPIRED) // while busy, the answer decides
  },

  async confirm() {
    if (this.data.state !== 'ready') return // one answer: a second tap would be qr_used
    if (this.data.forwarded) {
      if (!this.data.armed) {
        this.armedAt = Date.now()
        this.setData({ armed: true, confirmText: CONFIRM_AGAIN })
        return
      }
      if (Date.now() - this.armedAt < ARM_DELAY_MS) return
    }
    this.setData({ state: 'busy' })
    try {
      await app.api.qrConfirm(this.scene)
      this.finish('confirmed', '已确认，可回到电脑上继续')
    } catch (error) {
      this.fail(error)
    }
  },

  async deny() {
    if (this.data.state !== 'ready') return
    this.setData({ state: 'busy' })
    try {
      await app.api.qrDeny(this.scene)
      this.finish('denied', '已取消')
    } catch (error) {
      this.fail(error)
    }
  },

  home() {
    wx.reLaunch({ url: '/pages/index/index' })
  },

  fail(error: unknown) {
    // Our own words for the QR slugs; the service's message (in the WeChat language) otherwise.
    const text = error instanceof WxLoginError ? MESSAGES[error.error] || error.message : String(error)
    this.finish('failed', text)
  },

  finish(state: State, message: string) {
    this.stopCountdown()
    this.setData({ state, message })
  },

  stopCountdown() {
    if (this.timer) clearInterval(this.timer)
    this.timer = 0
  },
})

/** Local time: '今天 14:03:22', else '2024-05-01 14:03:22'. */
function localTime(iso: string): string {
  const at = new Date(iso.replace(/(\.\d{3})\d+/, '$1')) // microseconds: older iOS cannot parse them
  if (isNaN(at.getTime())) return iso
  const pad = (n: number) => String(n).padStart(2, '0')
  const clock = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  if (at.toDateString() === new Date().toDateString()) return `今天 ${clock}`
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${clock}`
}
