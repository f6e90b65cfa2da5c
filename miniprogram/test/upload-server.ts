/**
 * A file service of "your own" that accepts wxlogin's access tokens, for the upload tests and
 * the demo's avatar page: wxlogin keeps only `avatar_url`, it hosts no files.
 *
 *   POST /avatar   multipart, the image in field `file` (at most 1 MiB). The token is checked
 *                  by asking wxlogin (GET /wx/me with the caller's Authentication header); a
 *                  refusal of wxlogin is passed on as it is (401 token_expired …), so the
 *                  client handles it as any answer of wxlogin. 201 {"url", "size", "type",
 *                  "user_id", "fields"}.
 *   GET /files/<name>  the stored image.
 *
 * Run alone for the demo (after `npm run build:test`):
 *   node build/test/upload-server.js [port]   (wxlogin at $WXLOGIN_URL, default http://127.0.0.1:5000)
 * A real service would rather verify the JWT itself (GET /.well-known/jwks.json) and store
 * the file in object storage.
 */

import { createServer, IncomingMessage, ServerResponse } from 'node:http'
import { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { resolve } from 'node:path'

export interface UploadServer {
  url: string
  /** Every upload that got through, newest last. */
  uploads: { userId: number; size: number; type: string; fields: Record<string, string> }[]
  stop(): Promise<void>
}

const LIMIT = 1024 * 1024

function reply(response: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const payload = type === 'application/json' ? JSON.stringify(body) : (body as Buffer)
  response.writeHead(status, { 'Content-Type': type })
  response.end(payload)
}

function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= LIMIT + 64 * 1024) chunks.push(chunk)
    })
    request.on('end', () => resolve(size > LIMIT + 64 * 1024 ? null : Buffer.concat(chunks)))
    request.on('error', reject)
  })
}

export function startUploadServer(wxloginUrl: string, port = 0): Promise<UploadServer> {
  const files = new Map<string, { bytes: Buffer; type: string }>()
  const uploads: UploadServer['uploads'] = []
  let base = ''

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method === 'GET' && path.startsWith('/files/')) {
      const file = files.get(path.slice('/files/'.length))
      return file ? reply(response, 200, file.bytes, file.type) : reply(response, 404, { error: 'not_found', message: 'No such file.' })
    }
    if (path !== '/avatar') return reply(response, 404, { error: 'not_found', message: 'No such route.' })
    if (request.method !== 'POST') return reply(response, 405, { error: 'method_not_allowed', message: 'POST a file.' })

    // Who is it? wxlogin says, in the caller's language.
    const header: Record<string, string> = {}
    for (const name of ['authentication', 'authorization', 'accept-language']) {
      const value = request.headers[name]
      if (typeof value === 'string') header[name] = value
    }
    const me = await fetch(`${wxloginUrl}/wx/me`, { headers: header })
    if (me.status !== 200) return reply(response, me.status, await me.json())
    const user = (await me.json()) as { id: number }

    const body = await readBody(request)
    if (!body) return reply(response, 413, { error: 'payload_too_large', message: 'At most 1 MiB.' })
    let form: FormData
    try {
      form = await new Response(body, { headers: { 'Content-Type': request.headers['content-type'] ?? '' } }).formData()
    } catch {
      return reply(response, 400, { error: 'invalid_request', message: 'Send multipart/form-data.' })
    }
    const file = form.get('file')
    if (!file || typeof file === 'string') {
      return reply(response, 422, { error: 'invalid_request', message: 'No file.', details: { file: ['Missing file.'] } })
    }
    if (file.size > LIMIT) return reply(response, 413, { error: 'payload_too_large', message: 'At most 1 MiB.' })
    const fields: Record<string, string> = {}
    form.forEach((value, name) => {
      if (typeof value === 'string') fields[name] = value
    })
    const type = file.type || 'application/octet-stream'
    const name = `${randomUUID()}${type === 'image/png' ? '.png' : '.jpg'}`
    files.set(name, { bytes: Buffer.from(await file.arrayBuffer()), type })
    uploads.push({ userId: user.id, size: file.size, type, fields })
    reply(response, 201, { url: `${base}/files/${name}`, size: file.size, type, user_id: user.id, fields })
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => reply(response, 500, { error: 'internal_error', message: error.message }))
  })
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resolve({
        url: base,
        uploads,
        stop: () => new Promise<void>((done) => {
          server.closeAllConnections()
          server.close(() => done())
        }),
      })
    })
  })
}

if (process.argv[1] && resolve(process.argv[1]) === __filename) { // run as a program
  const wxlogin = process.env.WXLOGIN_URL ?? 'http://127.0.0.1:5000'
  startUploadServer(wxlogin, Number(process.argv[2] ?? 5001)).then((server) =>
    console.log(`avatar uploads: POST ${server.url}/avatar (tokens checked by ${wxlogin})`))
}
