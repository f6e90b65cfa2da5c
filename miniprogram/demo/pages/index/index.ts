// The seed's page: "登录" logs in, "查询" calls /wx/findsome with the token; "导出我的数据" shows
// what the service holds about the user, "注销账号" erases the account after a confirmation.
import type { User } from 'wxlogin-miniprogram'
import { summarizeExport, WxLoginError } from 'wxlogin-miniprogram'
import type { DemoApp } from '../../app'

interface FindSome {
  user: User
  notes: { id: number; title: string }[]
}

const LOGGED_OUT = '未登录'
const DELETE_WARNING =
  '将永久删除你的资料（昵称、头像）、手机号、笔记，以及你在所有小程序中的账号。此操作无法撤销。'

const app = getApp<DemoApp>()

Page({
  data: { status: LOGGED_OUT, result: '', deleting: false },

  async login() {
    try {
      const tokens = await app.api.login()
      this.setData({ status: `已登录：用户 ${tokens.user.id}` })
    } catch (error) {
      this.showError(error)
    }
  },

  async query() {
    try {
      const found = await app.api.request<FindSome>({ path: '/wx/findsome' })
      this.setData({ result: JSON.stringify(found, null, 2), status: `已登录：用户 ${found.user.id}` })
    } catch (error) {
      this.showError(error)
    }
  },

  avatar() {
    wx.navigateTo({ url: '/pages/avatar/index' })
  },

  async exportData() {
    try {
      const data = await app.api.exportData()
      const s = summarizeExport(data)
      const lines = [
        `用户 ${s.userId}，昵称：${data.profile.nickname || '未设置'}，手机号：${s.hasPhoneNumber ? '已绑定' : '未绑定'}`,
        `小程序身份 ${s.identities} 个，笔记 ${s.notes} 条`,
        `登录记录 ${s.loginAttempts} 条，网页扫码登录 ${s.webLogins} 次`,
      ]
      this.setData({ result: lines.join('\n'), status: `已登录：用户 ${s.userId}` })
    } catch (error) {
      this.showError(error)
    }
  },

  asking: false,

  async deleteAccount() {
    if (this.asking || this.data.deleting) return // one modal, one deletion at a time
    this.asking = true
    const confirmed = await ask('注销账号', DELETE_WARNING)
    this.asking = false
    if (!confirmed) return
    this.setData({ deleting: true })
    try {
      await app.api.deleteAccount()
      this.setData({ status: LOGGED_OUT, result: '账号已注销。再次登录将创建一个新账号。' })
    } catch (error) {
      this.showError(error, '注销失败，请稍后重试：') // the tokens are kept: retrying is fine
    } finally {
      this.setData({ deleting: false })
    }
  },

  showError(error: unknown, prefix = '') {
    // The message is in the WeChat language (the client sends it as Accept-Language).
    const text = error instanceof WxLoginError ? `${error.error}: ${error.message}` : String(error)
    this.setData({ result: prefix + text })
  },
})

/** wx.showModal as a promise of the user's answer (the callback form works on every base library). */
function ask(title: string, content: string): Promise<boolean> {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText: '注销',
      confirmColor: '#fa5151',
      cancelText: '取消',
      success: (result) => resolve(result.confirm),
      fail: () => resolve(false),
    })
  })
}
