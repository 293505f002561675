// Boot, the hash router, the top bar and keyboard shortcuts.
import { api, connectLive, esc, on, store, toast } from "./core.js";
import { initMap, mapShown, refreshAlarms } from "./map.js";
import {
  loadInitial, moveSel, openSelected, queue, renderQueue, setTab, showAudit, showIncident,
  showIsac, showLevels, showMail, triageSelected,
} from "./views.js";

const VIEWS = ["map", "queue", "incident", "mail", "isac", "levels", "audit"];
let view = "map";

async function route() {
  const [, name = "map", arg] = (location.hash || "#/map").split("/");
  view = VIEWS.includes(name) ? name : "map";
  for (const v of VIEWS) document.getElementById(`view-${v}`).hidden = v !== view;
  document.querySelectorAll("#nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.view === view || (view === "incident" && a.dataset.view === "queue"));
  });
  try {
    if (view === "map") mapShown();
    else if (view === "queue") renderQueue();
    else if (view === "incident") await showIncident(decodeURIComponent(arg || ""));
    else if (view === "mail") await showMail();
    else if (view === "isac") await showIsac();
    else if (view === "levels") await showLevels();
    else if (view === "audit") await showAudit();
  } catch (e) {
    toast(e.message, "err");
  }
  document.body.dataset.view = view;
}

function updateBadge() {
  const open = [...store.incidents.values()].filter((i) => ["new", "triage", "contained"].includes(i.status)).length;
  document.getElementById("badge-open").textContent = open ? String(open) : "";
}

let pendingG = false;
function keys(e) {
  if (e.target.closest("input, textarea, select")) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const go = { m: "#/map", q: "#/queue", e: "#/mail", s: "#/isac", l: "#/levels", a: "#/audit" };
  if (pendingG) {
    pendingG = false;
    if (go[e.key]) {
      location.hash = go[e.key];
      e.preventDefault();
    }
    return;
  }
  if (e.key === "g") {
    pendingG = true;
    setTimeout(() => (pendingG = false), 1200);
    return;
  }
  if (e.key === "?") {
    document.getElementById("help").showModal();
    return;
  }
  if (e.key === "Escape" && view === "incident") {
    location.hash = "#/queue";
    return;
  }
  if (view !== "queue") return;
  const act = {
    j: () => moveSel(1),
    ArrowDown: () => moveSel(1),
    k: () => moveSel(-1),
    ArrowUp: () => moveSel(-1),
    Enter: openSelected,
    o: openSelected,
    i: () => setTab("incidents"),
    a: () => setTab("alerts"),
    t: triageSelected,
    h: () => {
      const cb = document.getElementById("q-hybrid");
      cb.checked = !cb.checked;
      cb.dispatchEvent(new Event("input"));
    },
    "/": () => document.getElementById("q-text").focus(),
  }[e.key];
  if (act) {
    e.preventDefault();
    act();
  }
}

async function boot() {
  try {
    store.me = await api("/api/v1/me");
    store.features = await api("/console/features");
  } catch (e) {
    return; // api() sends the browser to the log-in page
  }
  const me = store.me;
  document.getElementById("who").innerHTML = `${esc(me.username)} · <b>${esc(me.role)}</b>${me.organisation ? ` · ${esc(me.organisation)}` : ""}`;
  document.querySelectorAll("#nav a[data-perm]").forEach((a) => (a.hidden = !store.can(a.dataset.perm)));
  document.getElementById("logout").onclick = async () => {
    await api("/console/logout", { method: "POST" }).catch(() => null);
    location.assign("/console/login");
  };
  document.getElementById("help-btn").onclick = () => document.getElementById("help").showModal();
  document.addEventListener("keydown", keys);
  window.addEventListener("hashchange", route);
  setInterval(() => {
    document.getElementById("clock").textContent = new Date(Date.now() + store.clockOffset).toLocaleTimeString("en-GB");
  }, 1000);
  on("incidents", () => {
    updateBadge();
    if (view === "queue" && queue.tab === "incidents") renderQueue();
  });
  on("alerts", () => {
    if (view === "queue" && queue.tab === "alerts") renderQueue();
  });
  await initMap();
  await loadInitial();
  refreshAlarms();
  connectLive();
  await route();
}

boot();
