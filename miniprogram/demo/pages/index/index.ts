// The seed's page: "登录" logs in, "查询" calls /wx/findsome with the token.
import type { User } from 'wxlogin-miniprogram'
import { WxLoginError } from 'wxlogin-miniprogram'
import type { DemoApp } from '../../app'

interface FindSome {
  user: User
  notes: { id: number; title: string }[]
}

const app = getApp<DemoApp>()

Page({
  data: { status: '未登录', result: '' },

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

  showError(error: unknown) {
    // The message is in the WeChat language (the client sends it as Accept-Language).
    const text = error instanceof WxLoginError ? `${error.error}: ${error.message}` : String(error)
    this.setData({ result: text })
  },
})
