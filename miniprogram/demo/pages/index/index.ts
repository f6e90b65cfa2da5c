// The seed's page: "登录" logs in, "查询" calls /wx/findsome with the token.
import type { DemoApp } from '../../app'
import type { User, WxLoginError } from '../../lib/wxlogin'

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

  showError(error: unknown) {
    const failure = error as WxLoginError
    this.setData({ result: `${failure.error ?? 'error'}: ${failure.message}` })
  },
})
