// Deskmate's sidebar API: the session token from the page, refreshed before it expires.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute("content") || "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
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
      throw new ApiError(response.status, data?.error?.message || response.statusText);
    }
    return data;
  }

  ticket(ticketId, locale) {
    return this.request("GET", `/tickets/${encodeURIComponent(ticketId)}?locale=${encodeURIComponent(locale)}`);
  }
}
