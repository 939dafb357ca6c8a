// Deskmate's sidebar API: the session token from the page, refreshed before it expires.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || "";

// ``field`` names the input a refusal is about ({"error": {"message", "field"}}, a form's 422); ``detail`` is the
// answer's whole error object, whose message may be a text ({"t": key, ...}) rather than plain words.
export class ApiError extends Error {
  constructor(status, message, field = null, detail = null) {
    super(message);
    this.status = status;
    this.field = field;
    this.detail = detail;
  }
}

export class Api {
  constructor() {
    this.base = meta("deskmate-api");
    this.token = meta("deskmate-session");
    this.expiresAt = Date.parse(meta("deskmate-session-expires")) || Date.now() + 10 * 60 * 1000;
    this.onExpired = () => {};
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    clearTimeout(this.timer);
    // Two minutes before expiry (never sooner than in ten seconds): a page left open keeps working.
    const delay = Math.max(10_000, this.expiresAt - Date.now() - 120_000);
    this.timer = setTimeout(() => this.refresh().catch(() => this.onExpired()), delay);
  }

  async refresh() {
    const answer = await this.request("POST", "/session");
    this.token = answer.token;
    this.expiresAt = Date.parse(answer.expires_at);
    this.scheduleRefresh();
  }

  async request(method, path, body) {
    const url = path.startsWith("/sidebar/") ? path : `${this.base}${path}`;
    const response = await fetch(url, {
      method,
      credentials: "omit",
      headers: {
        Authorization: `Bearer ${this.token}`,
        Accept: "application/json",
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      if (response.status === 401) this.onExpired();
      const error = data?.error && typeof data.error === "object" ? data.error : null;
      const message = typeof error?.message === "string" && error.message ? error.message : response.statusText;
      throw new ApiError(response.status, message, typeof error?.field === "string" ? error.field : null, error);
    }
    // Whether the work is done (200) or only accepted (202), without adding a field to the plugin's answer.
    if (data && typeof data === "object") Object.defineProperty(data, "httpStatus", { value: response.status });
    return data;
  }

  ticket(ticketId, locale) {
    return this.request("GET", `/tickets/${encodeURIComponent(ticketId)}?locale=${encodeURIComponent(locale)}`);
  }
}
