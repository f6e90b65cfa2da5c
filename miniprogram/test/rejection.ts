/** The WxLoginError a promise rejects with; fails the test if it resolves or rejects otherwise. */

import { WxLoginError } from '../src'

export async function rejection(promise: Promise<unknown>): Promise<WxLoginError> {
  try {
    await promise
  } catch (error) {
    if (!(error instanceof WxLoginError)) throw new Error(`not a WxLoginError: ${error}`)
    return error
  }
  throw new Error('resolved, expected a rejection')
}
