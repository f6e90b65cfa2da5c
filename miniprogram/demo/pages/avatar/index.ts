// 头像昵称填写: the avatar from <button open-type="chooseAvatar"> is a temporary file on the
// phone. upload() sends it (multipart, with the token) to a file service of yours, which
// answers its URL; PATCH /wx/me then keeps that URL on the user. The nickname of
// <input type="nickname"> goes straight to PATCH /wx/me.
import type { User } from 'wxlogin-miniprogram'
import { WxLoginError } from 'wxlogin-miniprogram'
import type { DemoApp } from '../../app'
import { AVATAR_UPLOAD_URL } from '../../config'

interface Uploaded {
  url: string
}

const app = getApp<DemoApp>()

Page({
  data: { avatarUrl: '', nickname: '', message: '' },

  async onLoad() {
    try {
      const me = await app.api.request<User>({ path: '/wx/me' })
      this.setData({ avatarUrl: me.avatar_url || '', nickname: me.nickname || '' })
    } catch (error) {
      this.showError(error)
    }
  },

  async onChooseAvatar(event: WechatMiniprogram.CustomEvent<{ avatarUrl: string }>) {
    const filePath = event.detail.avatarUrl // e.g. http://tmp/… in DevTools, wxfile://tmp_… on a phone
    this.setData({ avatarUrl: filePath, message: '上传中…' })
    try {
      const uploaded = await app.api.upload<Uploaded>({ path: AVATAR_UPLOAD_URL, filePath, name: 'file' })
      const me = await app.api.request<User>({ path: '/wx/me', method: 'PATCH', data: { avatar_url: uploaded.url } })
      this.setData({ avatarUrl: me.avatar_url || '', message: '头像已保存' })
    } catch (error) {
      this.showError(error)
    }
  },

  async onNickname(event: WechatMiniprogram.InputBlur) {
    const nickname = String(event.detail.value || '').trim()
    if (!nickname || nickname === this.data.nickname) return
    try {
      const me = await app.api.request<User>({ path: '/wx/me', method: 'PATCH', data: { nickname } })
      this.setData({ nickname: me.nickname || '', message: '昵称已保存' })
    } catch (error) {
      this.showError(error)
    }
  },

  showError(error: unknown) {
    const text = error instanceof WxLoginError ? `${error.error}: ${error.message}` : String(error)
    this.setData({ message: text })
  },
})
