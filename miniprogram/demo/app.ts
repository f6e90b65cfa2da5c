// The demo app: one client for the whole app, logged in at launch.
import { createClient, WxLoginClient } from './lib/wxlogin'

// Your wxlogin. In WeChat DevTools: Details → Local settings → "Do not verify valid domain
// names" (不校验合法域名), then a local `flask --app wxlogin run --debug` answers here.
const BASE_URL = 'http://127.0.0.1:5000'

export interface DemoApp {
  api: WxLoginClient
}

App<DemoApp>({
  api: createClient({ baseUrl: BASE_URL }),
  onLaunch() {
    this.api.login().catch((error) => console.error('login failed', error))
  },
})
