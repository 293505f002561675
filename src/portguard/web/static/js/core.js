// API calls, the shared state of the console and the live stream (server-sent events).
// The session is an HttpOnly cookie: this code never sees a token. State changes carry the
// X-PortGuard-Console header the server requires for cookie-authenticated writes.

export const SEVERITIES = ["info", "low", "medium", "high", "critical"];
export const sevName = (s) => (typeof s === "number" ? SEVERITIES[s] || String(s) : String(s));
export const sevRank = (s) => SEVERITIES.indexOf(sevName(s));

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-PortGuard-Console"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    location.assign("/console/login");
    throw new ApiError(401, null);
  }
  if (raw) return res;
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// --- a tiny event emitter and the store ---------------------------------------------------
const listeners = new Map();
export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(fn);
  return () => listeners.get(name).delete(fn);
}
export function emit(name, data) {
  for (const fn of listeners.get(name) || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(e);
    }
  }
}

export const store = {
  me: null,
  features: {},
  alerts: new Map(), // id -> compact alert
  incidents: new Map(), // id -> IncidentRead
  vessels: new Map(), // mmsi -> {mmsi, lat, lon, cog, sog, heading, t, name, type}
  levels: {},
  assets: {},
  clockOffset: 0, // server time - local time, ms
  can(perm) {
    return !!(this.me && this.me.permissions.includes(perm));
  },
};

export function toast(text, kind = "") {
  const box = document.getElementById("toast");
  const el = document.createElement("div");
  el.textContent = text;
  if (kind) el.className = kind;
  box.appendChild(el);
  setTimeout(() => el.remove(), 5000);
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function h(html) {
  const t = document.createElement("template");
  t.innerHTML = html.trim();
  return t.content.firstElementChild;
}

export const fmtTime = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
};

export function fmtLeft(seconds) {
  const neg = seconds < 0;
  let s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  const p = (n) => String(n).padStart(2, "0");
  return `${neg ? "-" : ""}${d ? d + "d " : ""}${p(hh)}:${p(mm)}:${p(s)}`;
}

export const sevBadge = (s) => `<span class="sev sev-${sevName(s)}">${sevName(s)}</span>`;
export const tlpBadge = (t) => {
  const v = String(t || "").toLowerCase().replace("tlp:", "");
  return `<span class="tlp tlp-${v.replace("+", "-")}">TLP:${esc(v.toUpperCase())}</span>`;
};
export const domBadge = (d) => `<span class="dom dom-${esc(d)}">${esc(d)}</span>`;

// --- normalising alerts from the REST API and the stream into one shape ---------------------
export function alertFromRest(a) {
  return {
    id: a.id,
    rule_id: a.rule_id,
    domain: a.domain,
    severity: sevRank(a.severity),
    title: a.title,
    tlp: a.tlp,
    observed_at: a.observed_at,
    last_seen: a.last_seen,
    count: a.count,
    incident_id: a.incident_id,
    location: a.alert ? a.alert.location : a.location,
    why: a.alert ? a.alert.why : undefined,
  };
}

// --- the live stream -------------------------------------------------------------------------
let source = null;
export function connectLive() {
  const live = document.getElementById("live");
  const setLive = (ok) => {
    live.className = "live " + (ok ? "on" : "off");
    live.textContent = ok ? "live" : "reconnecting";
  };
  if (source) source.close();
  source = new EventSource("/api/v1/stream");
  source.addEventListener("hello", (e) => {
    const d = JSON.parse(e.data);
    store.clockOffset = new Date(d.server_time).getTime() - Date.now();
    setLive(true);
  });
  source.addEventListener("alerts", (e) => {
    const list = JSON.parse(e.data);
    for (const a of list) store.alerts.set(a.id, a);
    emit("alerts", list);
  });
  source.addEventListener("incidents", (e) => {
    const list = JSON.parse(e.data);
    for (const i of list) {
      const old = store.incidents.get(i.id);
      store.incidents.set(i.id, i);
      if (!old) toast(`New incident ${i.ref}: ${i.title}`);
    }
    emit("incidents", list);
  });
  source.addEventListener("vessels", (e) => {
    const d = JSON.parse(e.data);
    const t0 = performance.now();
    for (const r of d.v) {
      let v = store.vessels.get(r[0]);
      if (!v) {
        v = { mmsi: r[0], name: null, type: null };
        store.vessels.set(r[0], v);
      }
      v.lat = r[1]; v.lon = r[2]; v.cog = r[3]; v.sog = r[4]; v.heading = r[5]; v.t = r[6];
      if (r[7] !== null) v.name = r[7];
      if (r[8] !== null) v.type = r[8];
    }
    window.pgStats.vesselMsgMs.push(performance.now() - t0);
    window.pgStats.vesselMsgs += 1;
    emit("vessels", d);
  });
  source.addEventListener("levels", (e) => {
    store.levels = JSON.parse(e.data);
    emit("levels", store.levels);
  });
  source.addEventListener("assets", (e) => {
    store.assets = JSON.parse(e.data);
    emit("assets", store.assets);
  });
  source.onerror = async () => {
    setLive(false);
    if (source.readyState === EventSource.CLOSED) {
      // Refused (session over?): check, then try again.
      try {
        await api("/api/v1/me");
        setTimeout(connectLive, 2000);
      } catch (e) {
        /* api() redirects to the log-in page on 401 */
      }
    }
  };
}

window.pgStats = window.pgStats || { drawMs: [], vesselMsgMs: [], vesselMsgs: 0, marks: {} };
// For tests and benchmarks: the vessels the console holds.
window.pgVessels = () => store.vessels.entries();
