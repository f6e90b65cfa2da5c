// Where the demo calls. Imported by app.ts and the pages (a page must not import app.ts:
// App() runs once, in app.js).

// Your wxlogin. In WeChat DevTools: 详情 → 本地设置 → 不校验合法域名、web-view（业务域名）、TLS 版本以及
// HTTPS 证书 (do not verify valid domain names), then a local `flask --app wxlogin run --debug`
// answers here.
export const BASE_URL = 'http://127.0.0.1:5000'

// Where the avatar page uploads: a file service of yours that accepts wxlogin's tokens (wxlogin
// keeps only the avatar's URL). `npm run demo:upload` in miniprogram/ runs a local one here.
export const AVATAR_UPLOAD_URL = 'http://127.0.0.1:5001/avatar'
