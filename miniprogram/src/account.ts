/**
 * The user's own account: a copy of everything the service holds about them, and its
 * deletion (注销账号).
 *
 *   const data = await api.exportData()   // GET /wx/me/export: everything, as JSON
 *   await api.deleteAccount()             // DELETE /wx/me, then the tokens are forgotten
 *
 * The calls are methods of WxLoginClient (same login, refresh, retry and errors as request());
 * this module holds their types and a helper of the page.
 *
 * Deletion erases the profile, the phone number, the notes and the identities in every mini
 * program of the service (one account spans them), and cannot be undone: ask the user first.
 * Every token of the account is refused afterwards (401 token_revoked); the next call of the
 * client logs in afresh, as a new account (a new id).
 */

/** The account itself, as the service keeps it. */
export interface AccountProfile {
  id: number
  unionid: string | null
  nickname: string | null
  avatar_url: string | null
  phone_number: string | null
  login_count: number
  created_at: string
  last_login_at: string
}

/** The user as one mini program knows them (never the session key). */
export interface AccountIdentity {
  appid: string
  openid: string
  unionid: string | null
  created_at: string
  last_login_at: string
}

export interface AccountNote {
  id: number
  title: string
  content: string
  created_at: string
  updated_at: string
}

/** One login, as the audit trail keeps it (for as long as the service keeps it). */
export interface AccountLoginAttempt {
  at: string
  appid: string | null
  /** 'code': a wx.login() code; 'qr': a web login by scanning. */
  method: 'code' | 'qr'
  /** 'ok', or the error slug of a refused login. */
  outcome: string
  client_ip: string | null
  user_agent: string | null
}

/** A web login by scanning (扫码登录) that this user scanned. */
export interface AccountWebLogin {
  created_at: string
  appid: string
  /** A QrLoginStatus: 'confirmed', 'denied', 'used', 'expired'… */
  status: string
  requester_ip: string
  requester_user_agent: string
  scanned_at: string | null
  decided_at: string | null
}

/** What exportData() resolves with: GET /wx/me/export. Times are ISO 8601. */
export interface AccountExport {
  exported_at: string
  profile: AccountProfile
  identities: AccountIdentity[]
  /** Every note, not only the latest. */
  notes: AccountNote[]
  login_attempts: AccountLoginAttempt[]
  web_logins: AccountWebLogin[]
}

/** The answer of DELETE /wx/me. */
export interface AccountDeleted {
  deleted: true
}

/** How much an export holds, to show the user ('笔记 3 条'). */
export interface AccountExportSummary {
  userId: number
  identities: number
  notes: number
  loginAttempts: number
  webLogins: number
  hasPhoneNumber: boolean
}

export function summarizeExport(data: AccountExport): AccountExportSummary {
  const count = (list: unknown[] | undefined) => (Array.isArray(list) ? list.length : 0)
  return {
    userId: data.profile.id,
    identities: count(data.identities),
    notes: count(data.notes),
    loginAttempts: count(data.login_attempts),
    webLogins: count(data.web_logins),
    hasPhoneNumber: !!data.profile.phone_number,
  }
}
