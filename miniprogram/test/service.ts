/**
 * A real wxlogin for the tests: `flask db upgrade`, then `flask run` in development mode
 * (the built-in WeChat simulator answers sim: codes), on a free port, SQLite in a temp dir.
 * The Python is the repository's .venv (or WXLOGIN_PYTHON).
 */

import { ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(__dirname, '..', '..', '..') // build/test -> miniprogram -> repository
export const JWT_KEY = 'miniprogram-tests-signing-key-' + 'm'.repeat(32)

export interface Service {
  url: string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => done(port))
    })
  })
}

export interface ServiceOptions {
  /** More environment of the service (QR_LOGIN_TTL…), over the tests' defaults. */
  env?: Record<string, string>
}

export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const python = process.env.WXLOGIN_PYTHON ?? join(ROOT, '.venv', 'bin', 'python')
  const dir = mkdtempSync(join(tmpdir(), 'wxlogin-mp-'))
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: `sqlite:///${dir}/wxlogin.sqlite`,
    JWT_SECRET_KEY: JWT_KEY,
    FLASK_DEBUG: '1', // development: the built-in WeChat simulator answers sim: codes
    LOGIN_RATE_LIMIT: 'off',
    LOGIN_RATE_LIMIT_PER_USER: 'off',
    QR_LOGIN_RATE_LIMIT: 'off',
    ...options.env,
  }
  const flask = ['-m', 'flask', '--app', 'wxlogin']
  execFileSync(python, [...flask, 'db', 'upgrade'], { cwd: dir, env, stdio: 'pipe' })
  const port = await freePort()
  const child: ChildProcess = spawn(python, [...flask, 'run', '--debug', '--no-reload', '--port', String(port)], {
    cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr?.on('data', (chunk) => (log += chunk))
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`wxlogin exited: ${log}`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) break
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    stop: () => new Promise<void>((done) => {
      child.once('exit', () => done())
      child.kill('SIGTERM')
    }),
  }
}

/** The same token, expired a minute ago (beyond the service's 30 s leeway), signed with its key. */
export function expired(token: string): string {
  const [header, payload] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  const now = Math.floor(Date.now() / 1000)
  Object.assign(claims, { iat: now - 7300, nbf: now - 7300, exp: now - 100 })
  const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${body}.${createHmac('sha256', JWT_KEY).update(body).digest('base64url')}`
}
