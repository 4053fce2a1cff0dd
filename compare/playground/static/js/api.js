// The server's JSON API, and the set-up as the address holds it.

export class ApiError extends Error {
  constructor(message, field, status) { super(message); this.field = field; this.status = status; }
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}) });
  } catch (e) {
    throw new ApiError("the playground's server does not answer: is `python -m compare playground` still running?",
      null, 0);
  }
  let data = null;
  try { data = await response.json(); } catch (e) { /* an answer that is not JSON: said below */ }
  const timing = /app;dur=([\d.]+), cpu;dur=([\d.]+)/.exec(response.headers.get("Server-Timing") || "");
  if (data && timing) { data.serverMs = Number(timing[1]); data.cpuMs = Number(timing[2]); }
  if (!response.ok) {
    throw new ApiError((data && data.error) || `the server answered ${response.status}`,
      data && data.field, response.status);
  }
  return data;
}

export class Session {
  constructor() { this.id = null; }

  // This tab's session with these settings: the same one, or a new one where it has ended.
  async open(settings, csv) {
    const body = { settings, csv: csv || undefined };
    let data = null;
    if (this.id) {
      try {
        data = await post(`/api/sessions/${this.id}/settings`, body);
      } catch (e) {
        if (e.status !== 404) throw e;
      }
    }
    data = data || await post("/api/sessions", body);
    this.id = data.session;
    return data;
  }

  step(n, since, detail) { return post(`/api/sessions/${this.id}/step`, { n, since, detail }); }
  current(since) { return post(`/api/sessions/${this.id}/state`, { since }); }
  reset() { return post(`/api/sessions/${this.id}/reset`, {}); }

  close() {
    if (this.id) navigator.sendBeacon(`/api/sessions/${this.id}/close`, new Blob([], { type: "application/json" }));
    this.id = null;
  }
}

export const FIELDS = ["dataset", "noise", "test", "hidden", "activation", "lr", "dtype", "seed", "init", "backends"];

// The set-up named in the address, as text: the server checks every value.
export function settingsFromUrl() {
  const query = new URLSearchParams(window.location.search);
  const settings = {};
  for (const name of FIELDS) if (query.has(name)) settings[name] = query.get(name);
  return settings;
}

export function writeUrl(settings, defaults) {
  const query = new URLSearchParams();
  for (const name of FIELDS) {
    if (settings[name] !== undefined && String(settings[name]) !== String(defaults[name])) {
      query.set(name, settings[name]);
    }
  }
  const text = query.toString();
  window.history.replaceState(null, "", text ? `?${text}` : window.location.pathname);
}

export async function options() {
  const response = await fetch("/api/options");
  return response.json();
}
