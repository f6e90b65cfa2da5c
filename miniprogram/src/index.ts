// The package's entry: WeChat DevTools' 构建 npm copies dist/ (package.json "miniprogram")
// into miniprogram_npm/wxlogin-miniprogram/, where requiring the package by its name loads index.js.
export * from './wxlogin'
export * from './qr-login'
export * from './account'
