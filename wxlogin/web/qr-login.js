/**
 * qr-login.js: web login by scanning the mini program code (扫码登录) with wxlogin.
 *
 * The web page shows a mini program code; the user scans it with WeChat and confirms in the
 * mini program; the page then receives the web session's tokens, exactly once. The HTTP
 * contract is docs/API.md, "Web login by scanning the mini program code". Dependency-free
 * ES module for modern browsers (ES2020); import it from the service or copy the file:
 *
 *   <img id="code" alt="">
 *   <script type="module">
 *     import { QrLogin } from "https://api.example.com/web/qr-login.js";
 *
 *     const login = new QrLogin({ baseUrl: "https://api.example.com", lang: "zh-CN" });
 *     login
 *       .on("code", ({ image }) => { document.getElementById("code").src = image; })
 *       .on("scanned", () => {}) // "已扫码，请在手机上确认"
 *       .on("confirmed", ({ tokens, user }) => {}) // keep the tokens in memory
 *       .on("denied", () => {}) // "已在手机上取消": offer login.refresh()
 *       .on("expired", () => {}) // "二维码已过期": offer login.refresh()
 *       .on("error", ({ error }) => {}); // error.code, error.message: offer login.refresh()
 *     login.start();
 *   </script>
 *
 * A page on another origin than the service's needs that origin in the service's
 * CORS_ORIGINS; the module file itself may be imported from anywhere.
 *
 * new QrLogin(options)
 *   baseUrl  the service, e.g. "https://api.example.com" (default "": the page's own origin)
 *   appid    the mini program whose code to show (default: the service's first one)
 *   wait     seconds a long poll may wait for news, 0 to 30 (default 25)
 *   lang     Accept-Language of the requests, for the language of error messages, e.g.
 *            "zh-CN" or "en" (default: the browser's); may be changed later (login.lang)
 *   fetch    a fetch function to use instead of the global one
 *
 * login.start()    asks for a code and follows it; returns login.
 * login.refresh()  asks for a new code, abandoning the current one (after "denied",
 *                  "expired" or "error", or at any time); returns a Promise that resolves
 *                  once the "code" or "error" event has been sent (it never rejects).
 * login.stop()     stops following the code: requests in flight are aborted, no event
 *                  follows (until the next refresh()).
 * login.on(type, handler)  calls handler(detail) on each `type` event; returns login.
 *                  QrLogin is an EventTarget: addEventListener(type, (e) => e.detail) works too.
 * login.state      "idle", "loading", "pending", "scanned", then one of the final states
 *                  "confirmed", "denied", "expired", "error"; "stopped" after stop().
 *
 * Events and their detail:
 *   code       { image: "data:image/png;base64,...", expiresAt: Date, expiresIn: seconds }
 *   scanned    {}: scanned; the user is now asked to confirm on the phone
 *   confirmed  { tokens: { access_token, refresh_token, token_type, expires_in }, user }: final.
 *              The tokens are ordinary wxlogin tokens: send `Authentication: <access_token>`.
 *   denied     {}: the user refused on the phone; final
 *   expired    {}: the code expired (or the service no longer knows it); final
 *   error      { error: QrLoginError }: asking for a code failed, or following it cannot go
 *              on (e.g. the user is disabled); final
 *   retry      { error: QrLoginError, delay: seconds }: a poll failed (network, 5xx, 429);
 *              the module asks again after `delay`, nothing for the page to do
 *
 * QrLoginError is an Error with `status` (the HTTP status, 0 when there was no answer),
 * `code` (the service's error slug, or "network_error", "timeout", "bad_response",
 * "used": the tokens were handed to another request) and `retryAfter` (seconds, or null).
 *
 * The module hands the tokens over once, in the "confirmed" event, keeps no copy and never
 * logs anything.
 */

const MAX_WAIT = 30; // the service's upper bound for ?wait=
const SLACK_SECONDS = 10; // a request still unanswered this long after it should be is dead
const GIVE_UP_SECONDS = 60; // retrying failed polls stops this long after the code's expiry
const CREATE_TIMEOUT_SECONDS = 30; // the service's WeChat call is bounded well below this
const TRANSIENT = (status) => status === 0 || status === 408 || status === 429 || status >= 500;

export class QrLoginError extends Error {
  constructor(message, { status = 0, code = "network_error", retryAfter = null } = {}) {
    super(message);
    this.name = "QrLoginError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class QrLogin extends EventTarget {
  constructor({ baseUrl = "", appid = undefined, wait = 25, lang = undefined, fetch = undefined } = {}) {
    super();
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.appid = appid;
    this.wait = Math.min(Math.max(Math.round(Number(wait) || 0), 0), MAX_WAIT);
    this.lang = lang;
    this._fetch = fetch || ((url, init) => globalThis.fetch(url, init));
    this._state = "idle";
    this._run = null; // the code being followed; a new one per refresh(), null when none
  }

  get state() {
    return this._state;
  }

  on(type, handler) {
    this.addEventListener(type, (event) => handler(event.detail));
    return this;
  }

  start() {
    this.refresh();
    return this;
  }

  refresh() {
    this._abandon();
    const run = { controller: new AbortController() };
    this._run = run;
    this._state = "loading";
    return this._create(run).then((code) => {
      if (code) this._follow(run);
    });
  }

  stop() {
    if (!this._run) return; // nothing to stop: a final state stays as it is
    this._abandon();
    this._state = "stopped";
  }

  _abandon() {
    const run = this._run;
    this._run = null;
    if (run) run.controller.abort();
  }

  _live(run) {
    return this._run === run;
  }

  // Every final state goes through here: the run is over before the listeners run, so a
  // listener may call refresh() at once.
  _finish(run, state, detail) {
    this._run = null;
    run.controller.abort();
    this._state = state;
    this._emit(state, detail);
  }

  _emit(type, detail) {
    // dispatchEvent reports a listener's exception and carries on: a page's bug cannot stop
    // the polling, nor make an event go out twice.
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  async _create(run) {
    let code;
    try {
      code = await this._call(run, "POST", "/wx/qr-login", this.appid ? { appid: this.appid } : {},
        CREATE_TIMEOUT_SECONDS);
      if (typeof code.ticket !== "string" || typeof code.qr_code !== "string") {
        throw new QrLoginError("The service answered something unexpected", { status: 201, code: "bad_response" });
      }
    } catch (error) {
      if (this._live(run)) this._finish(run, "error", { error: asQrLoginError(error) });
      return null;
    }
    if (!this._live(run)) return null;
    const expiresIn = Number(code.expires_in) || 0;
    run.ticket = code.ticket;
    run.pollInterval = Number(code.poll_interval) > 0 ? Number(code.poll_interval) : 1;
    run.expiresAt = Date.now() + expiresIn * 1000;
    this._state = "pending";
    this._emit("code", { image: code.qr_code, expiresAt: new Date(run.expiresAt), expiresIn });
    return this._live(run) ? code : null; // a "code" listener may have stopped or refreshed
  }

  async _follow(run) {
    const path = `/wx/qr-login/${encodeURIComponent(run.ticket)}?wait=${this.wait}`;
    while (this._live(run)) {
      const before = this._state;
      const started = Date.now();
      let answer;
      try {
        answer = await this._call(run, "GET", path, undefined, this.wait + SLACK_SECONDS);
      } catch (failure) {
        if (!this._live(run)) return;
        const error = asQrLoginError(failure);
        if (error.status === 404) return this._finish(run, "expired", {});
        if (!TRANSIENT(error.status) || Date.now() > run.expiresAt + GIVE_UP_SECONDS * 1000) {
          return this._finish(run, "error", { error });
        }
        const delay = Math.max(run.pollInterval, error.retryAfter || 0);
        this._emit("retry", { error, delay });
        await sleep(run.controller.signal, delay);
        continue;
      }
      if (!this._live(run)) return;
      const status = answer.status;
      if (status === "confirmed") return this._confirmed(run, answer);
      if (status === "denied" || status === "expired") return this._finish(run, status, {});
      if (status === "used") {
        return this._finish(run, "error", {
          error: new QrLoginError("The tokens of this code were already handed out", { status: 200, code: "used" }),
        });
      }
      if (status !== "pending" && status !== "scanned") {
        return this._finish(run, "error", {
          error: new QrLoginError("The service answered something unexpected", { status: 200, code: "bad_response" }),
        });
      }
      if (status !== before) {
        this._state = status;
        if (status === "scanned") this._emit("scanned", {});
      }
      // Short polling (wait=0), or an early answer with no news: pause rather than ask at once.
      if (this.wait === 0 || (status === before && Date.now() - started < this.wait * 500)) {
        await sleep(run.controller.signal, run.pollInterval);
      }
    }
  }

  _confirmed(run, answer) {
    if (typeof answer.access_token !== "string" || typeof answer.refresh_token !== "string") {
      return this._finish(run, "error", {
        error: new QrLoginError("The service answered something unexpected", { status: 200, code: "bad_response" }),
      });
    }
    const tokens = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      token_type: answer.token_type || "Bearer",
      expires_in: answer.expires_in,
    };
    this._finish(run, "confirmed", { tokens, user: answer.user || null });
  }

  // One request and its JSON answer, within `timeout` seconds overall (a stalled connection
  // or a trickling body ends as a failed request). Non-2xx answers throw a QrLoginError.
  async _call(run, method, path, body, timeout) {
    const controller = new AbortController();
    const abort = () => controller.abort();
    run.controller.signal.addEventListener("abort", abort);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout * 1000);
    const headers = { Accept: "application/json" };
    if (this.lang) headers["Accept-Language"] = this.lang;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      let response;
      let data = null;
      try {
        response = await this._fetch(this.baseUrl + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
          credentials: "omit", // the service uses no cookies
          cache: "no-store",
        });
        data = await response.json().catch(() => null);
      } catch (error) {
        if (timedOut) throw new QrLoginError("The service did not answer in time", { code: "timeout" });
        if (run.controller.signal.aborted) throw error; // stopped or refreshed: nobody listens
        // A browser refusing a cross-origin answer (CORS) fails this way too.
        throw new QrLoginError("Could not reach the service", { code: "network_error" });
      }
      if (timedOut) throw new QrLoginError("The service did not answer in time", { code: "timeout" });
      if (!response.ok) {
        throw new QrLoginError((data && data.message) || `HTTP ${response.status}`, {
          status: response.status,
          code: (data && data.error) || "http_error",
          retryAfter: retryAfter(response.headers.get("Retry-After")),
        });
      }
      if (!data || typeof data !== "object") {
        throw new QrLoginError("The service answered something unexpected", { status: response.status, code: "bad_response" });
      }
      return data;
    } finally {
      clearTimeout(timer);
      run.controller.signal.removeEventListener("abort", abort);
    }
  }
}

function asQrLoginError(error) {
  return error instanceof QrLoginError ? error : new QrLoginError(String((error && error.message) || error));
}

// Retry-After is seconds or an HTTP date.
function retryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(seconds, 0);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max((date - Date.now()) / 1000, 0);
}

// Resolves after `seconds`, or at once when `signal` aborts (the caller then sees it is over).
function sleep(signal, seconds) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, seconds * 1000);
    signal.addEventListener("abort", done);
  });
}
