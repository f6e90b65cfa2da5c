// The demo app: one client for the whole app, logged in at launch. The client comes from npm
// (package.json: wxlogin-miniprogram), as in any DevTools project: npm install, then
// 工具 → 构建 npm puts it in miniprogram_npm/, where this import finds it.
import { createClient, WxLoginClient } from 'wxlogin-miniprogram'
import { BASE_URL } from './config'

export interface DemoApp {
  api: WxLoginClient
}

App<DemoApp>({
  api: createClient({ baseUrl: BASE_URL }),
  onLaunch() {
    this.api.login().catch((error) => console.error('login failed', error))
  },
})
