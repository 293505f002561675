// The port map: the port model's GeoJSON (no tiles), vessels drawn on one canvas (thousands stay
// smooth), assets coloured by state and security level, alerts pinned where they happen.
/* global L */
import { api, esc, fmtTime, on, sevName, store } from "./core.js";

const KIND_STYLE = {
  port_area: { color: "#2a3b4f", weight: 1, fillColor: "#132231", fillOpacity: 0.7 },
  fairway: { color: "#1d5a85", weight: 1, fillColor: "#123a57", fillOpacity: 0.95 },
  dock: { color: "#1d5a85", weight: 1, fillColor: "#123a57", fillOpacity: 0.95 },
  anchorage: { color: "#2f6f9f", weight: 1, dashArray: "4 4", fillColor: "#123a57", fillOpacity: 0.5 },
  terminal: { color: "#7d8fa3", weight: 1, fillColor: "#243444", fillOpacity: 0.8 },
  exclusion_zone: { color: "#ff4d5e", weight: 1, dashArray: "6 4", fillColor: "#ff4d5e", fillOpacity: 0.06 },
  critical_infrastructure: { color: "#ffb35c", weight: 2, fillOpacity: 0.1 },
  lock: { color: "#5cc8ff", weight: 2, fillColor: "#1b5b85", fillOpacity: 0.95 },
  bridge: { color: "#e0a45c", weight: 5 },
  road: { color: "#4b5d70", weight: 2 },
  berth: { color: "#9fb3c8", weight: 3 },
  jetty: { color: "#9fb3c8", weight: 3 },
  pipeline_crossing: { color: "#c39bff", weight: 2, dashArray: "3 3" },
};
const ORDER = ["port_area", "fairway", "dock", "anchorage", "terminal", "exclusion_zone",
  "critical_infrastructure", "lock", "road", "berth", "jetty", "pipeline_crossing", "bridge"];
const STATE_COLOUR = { open: "#6fcf97", closed: null, moving: "#f2c94c", maintenance: "#c39bff", fault: "#ff4d5e" };
const SEV_COLOUR = ["#8aa0b6", "#6fcf97", "#f2c94c", "#ff8a3d", "#ff4d5e"];
const LEVEL_COLOUR = { 2: "#ff8a3d", 3: "#ff2b2b" };

let map = null;
let canvas = null;
let ctx2d = null;
const features = new Map(); // id -> {feature, layer, centre}
let pinLayer = null;
let pinRenderer = null; // SVG, so pins can pulse and be found in the page
let trackLayer = null;
let selected = null; // mmsi
let drawQueued = false;
let projected = []; // [x, y, vessel] of the last draw, for hover/click
const MAX_PINS = 300;

function vesselColour(type) {
  if (type == null) return "#b7c7d6";
  if (type >= 70 && type < 80) return "#6fcf97"; // cargo
  if (type >= 80 && type < 90) return "#ff6b6b"; // tanker
  if (type >= 60 && type < 70) return "#5cc8ff"; // passenger
  if (type === 31 || type === 32 || type === 52 || type === 50 || type === 51) return "#f2c94c"; // tug, pilot, SAR
  if (type === 30) return "#c39bff"; // fishing
  if (type === 36 || type === 37) return "#ff9ff3"; // sailing, pleasure
  return "#b7c7d6";
}

function shortName(n) {
  return n.split(",")[0].replace(/ \(.*\)$/, "");
}

function styleFor(f) {
  const p = f.properties || {};
  const base = { ...(KIND_STYLE[p.kind] || { color: "#6b7f94", weight: 1, fillOpacity: 0.2 }) };
  const st = store.assets[p.id];
  if (st && STATE_COLOUR[st.state]) {
    base.color = STATE_COLOUR[st.state];
    if (base.fillColor) base.fillColor = STATE_COLOUR[st.state];
  }
  const level = store.levels[p.id];
  if (level && LEVEL_COLOUR[level]) {
    base.color = LEVEL_COLOUR[level];
    base.weight = 3;
    base.dashArray = "8 4";
  }
  if (alarmed.has(p.id)) {
    base.color = "#ff4d5e";
    base.weight = (base.weight || 1) + 2;
  }
  return base;
}

const alarmed = new Set(); // asset/zone ids with an alert of an open incident

function centreOf(layer, f) {
  if (f.geometry.type === "Point") return L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
  return layer.getBounds().getCenter();
}

export function locate(loc) {
  if (!loc) return null;
  if (loc.lat != null && loc.lon != null) return L.latLng(loc.lat, loc.lon);
  for (const key of [loc.asset_id, loc.zone_id]) {
    if (key && features.has(key)) return features.get(key).centre;
  }
  return null;
}

export async function initMap() {
  map = L.map("map", {
    preferCanvas: true,
    zoomAnimation: false,
    fadeAnimation: false,
    markerZoomAnimation: false,
    attributionControl: false,
    zoomSnap: 0.25,
    minZoom: 8,
    maxZoom: 18,
  });
  window.pgMap = map;
  const gj = await api("/api/v1/portmodel");
  const byKind = new Map();
  for (const f of gj.features) {
    const k = (f.properties || {}).kind || "other";
    if (!byKind.has(k)) byKind.set(k, []);
    byKind.get(k).push(f);
  }
  const labels = L.layerGroup();
  const kinds = [...ORDER, ...[...byKind.keys()].filter((k) => !ORDER.includes(k))];
  let antwerp = null;
  for (const k of kinds) {
    for (const f of byKind.get(k) || []) {
      const layer = L.geoJSON(f, {
        style: styleFor,
        pointToLayer: (feat, latlng) =>
          L.circleMarker(latlng, { radius: 4, color: "#9fb3c8", weight: 1, fillColor: "#2a3b4f", fillOpacity: 1 }),
      });
      const p = f.properties || {};
      layer.bindTooltip(`${esc(p.name || p.id)} <span class="muted">(${esc(k.replace("_", " "))})</span>`, { sticky: true });
      layer.on("click", () => showFeature(p));
      if (k === "lock" || k === "dock" || k === "terminal") {
        const c = L.geoJSON(f).getBounds().getCenter();
        L.marker(c, { icon: L.divIcon({ className: "feature-label", html: esc(shortName(p.name || p.id)), iconSize: null }), interactive: false }).addTo(labels);
      }
      layer.addTo(map);
      features.set(p.id, { feature: f, layer, centre: centreOf(layer, f) });
      if (p.id === "antwerp-port-area") antwerp = layer.getBounds();
    }
  }
  const all = L.geoJSON(gj).getBounds();
  const showLabels = () => (map.getZoom() >= 12 ? labels.addTo(map) : labels.remove());
  map.on("zoomend", showLabels);
  map.fitBounds(antwerp || all, { padding: [10, 10] });
  addViewButtons(antwerp, all, byKind);
  showLabels();
  pinRenderer = L.svg({ pane: "markerPane" });
  pinLayer = L.layerGroup().addTo(map);
  trackLayer = L.layerGroup().addTo(map);

  canvas = document.createElement("canvas");
  canvas.className = "vessel-canvas";
  map.getContainer().appendChild(canvas);
  ctx2d = canvas.getContext("2d");
  map.on("move zoom resize viewreset", queueDraw);
  map.on("mousemove", hover);
  map.on("mouseout", () => (document.getElementById("vessel-tip").hidden = true));
  map.on("click", (e) => {
    const v = nearest(e.containerPoint);
    if (v) selectVessel(v.mmsi);
  });
  on("vessels", queueDraw);
  on("alerts", () => refreshPins());
  on("incidents", () => refreshAlarms());
  on("levels", restyle);
  on("assets", restyle);
  legend();
  draw();
  window.pgStats.marks.mapRendered = performance.now();
  document.body.dataset.mapReady = "1";
}

function addViewButtons(antwerp, all, byKind) {
  const Ctl = L.Control.extend({
    onAdd() {
      const div = L.DomUtil.create("div", "leaflet-bar view-btns");
      const zee = (byKind.get("port_area") || []).find((f) => f.properties.id === "zeebrugge-port-area");
      const views = [["Antwerp", antwerp], ["Zeebrugge", zee ? L.geoJSON(zee).getBounds() : null], ["All", all]];
      for (const [name, b] of views) {
        if (!b) continue;
        const a = L.DomUtil.create("a", "", div);
        a.textContent = name;
        a.href = "#";
        L.DomEvent.on(a, "click", (e) => {
          L.DomEvent.preventDefault(e);
          map.fitBounds(b, { padding: [10, 10] });
        });
      }
      return div;
    },
  });
  new Ctl({ position: "topleft" }).addTo(map);
}

function legend() {
  const el = document.getElementById("map-legend");
  el.innerHTML =
    "Vessels:" +
    [["cargo", "#6fcf97"], ["tanker", "#ff6b6b"], ["passenger", "#5cc8ff"], ["tug/pilot", "#f2c94c"], ["other", "#b7c7d6"]]
      .map(([n, c]) => `<span class="sw" style="background:${c}"></span>${n}`)
      .join("") +
    "<br>Assets:" +
    [["open", "#6fcf97"], ["moving", "#f2c94c"], ["fault", "#ff4d5e"], ["ISPS 2", "#ff8a3d"], ["ISPS 3", "#ff2b2b"]]
      .map(([n, c]) => `<span class="sw" style="background:${c}"></span>${n}`)
      .join("") +
    ` <span class="muted" id="vessel-count"></span>`;
}

function restyle() {
  for (const { layer } of features.values()) layer.setStyle(styleFor);
}

export function refreshAlarms() {
  alarmed.clear();
  const open = new Set([...store.incidents.values()].filter((i) => ["new", "triage", "contained"].includes(i.status)).map((i) => i.id));
  for (const a of store.alerts.values()) {
    if (a.incident_id && open.has(a.incident_id) && a.location) {
      if (a.location.asset_id) alarmed.add(a.location.asset_id);
    }
  }
  restyle();
  refreshPins();
}

export function refreshPins() {
  if (!pinLayer) return;
  pinLayer.clearLayers();
  const recent = [...store.alerts.values()]
    .filter((a) => a.location)
    .sort((a, b) => (a.observed_at < b.observed_at ? 1 : -1))
    .slice(0, MAX_PINS);
  for (const a of recent) {
    const at = locate(a.location);
    if (!at) continue;
    const m = L.circleMarker(at, {
      radius: 7,
      color: SEV_COLOUR[a.severity] || "#fff",
      weight: 3,
      fillColor: "#0e1621",
      fillOpacity: 0.6,
      className: a.severity >= 3 ? "pin-pulse alert-pin" : "alert-pin",
      renderer: pinRenderer,
    });
    const link = a.incident_id ? `<br><a href="#/incident/${esc(a.incident_id)}">open incident</a>` : "";
    m.bindPopup(`<b>${esc(a.title)}</b><br><span class="muted">${esc(sevName(a.severity))} · ${esc(a.domain)} · ${fmtTime(a.observed_at)}</span>${link}`);
    m.addTo(pinLayer);
  }
  sideFeed();
}

function sideFeed() {
  const ol = document.getElementById("map-alerts");
  const list = [...store.alerts.values()].sort((a, b) => (a.observed_at < b.observed_at ? 1 : -1)).slice(0, 40);
  document.getElementById("map-alert-count").textContent = `(${store.alerts.size})`;
  ol.innerHTML = list
    .map(
      (a) =>
        `<li data-id="${esc(a.id)}"><span class="sev sev-${sevName(a.severity)}">${sevName(a.severity)}</span> ` +
        `<span class="dom dom-${esc(a.domain)}">${esc(a.domain)}</span> ${esc(a.title)}` +
        `<div class="muted small">${fmtTime(a.observed_at)}</div></li>`,
    )
    .join("");
  ol.onclick = (e) => {
    const li = e.target.closest("li");
    if (!li) return;
    const a = store.alerts.get(li.dataset.id);
    if (!a) return;
    const at = locate(a.location);
    if (at) map.setView(at, Math.max(map.getZoom(), 14));
    else if (a.incident_id) location.hash = `#/incident/${a.incident_id}`;
  };
}

function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function draw() {
  if (!map || !canvas) return;
  const t0 = performance.now();
  const size = map.getSize();
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== size.x * dpr || canvas.height !== size.y * dpr) {
    canvas.width = size.x * dpr;
    canvas.height = size.y * dpr;
    canvas.style.width = size.x + "px";
    canvas.style.height = size.y + "px";
  }
  const c = ctx2d;
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.clearRect(0, 0, size.x, size.y);
  const zoom = map.getZoom();
  const s = zoom >= 14 ? 7 : zoom >= 11 ? 5 : 3.5;
  projected = [];
  const staleBefore = Date.now() / 1000 + store.clockOffset / 1000 - 3600;
  let shown = 0;
  for (const v of store.vessels.values()) {
    if (v.lat == null || (v.t && v.t < staleBefore)) continue;
    const p = map.latLngToContainerPoint([v.lat, v.lon]);
    if (p.x < -10 || p.y < -10 || p.x > size.x + 10 || p.y > size.y + 10) continue;
    projected.push([p.x, p.y, v]);
    shown++;
    c.fillStyle = vesselColour(v.type);
    const dir = v.heading ?? v.cog;
    if (dir == null || (v.sog != null && v.sog < 0.5)) {
      c.beginPath();
      c.arc(p.x, p.y, s * 0.55, 0, 2 * Math.PI);
      c.fill();
    } else {
      const a = (dir * Math.PI) / 180;
      const sin = Math.sin(a), cos = Math.cos(a);
      c.beginPath();
      c.moveTo(p.x + sin * s * 1.4, p.y - cos * s * 1.4);
      c.lineTo(p.x - sin * s * 0.8 + cos * s * 0.7, p.y + cos * s * 0.8 + sin * s * 0.7);
      c.lineTo(p.x - sin * s * 0.8 - cos * s * 0.7, p.y + cos * s * 0.8 - sin * s * 0.7);
      c.closePath();
      c.fill();
    }
    if (v.mmsi === selected) {
      c.strokeStyle = "#fff";
      c.lineWidth = 2;
      c.beginPath();
      c.arc(p.x, p.y, s * 2, 0, 2 * Math.PI);
      c.stroke();
    }
  }
  const ms = performance.now() - t0;
  const st = window.pgStats;
  st.drawMs.push(ms);
  if (st.drawMs.length > 2000) st.drawMs.splice(0, 1000);
  st.vesselsShown = shown;
  const vc = document.getElementById("vessel-count");
  if (vc) vc.textContent = ` · ${shown} vessels in view`;
  document.body.dataset.vessels = String(shown);
}

function nearest(pt) {
  let best = null;
  let bestD = 100; // 10 px squared
  for (const [x, y, v] of projected) {
    const d = (x - pt.x) ** 2 + (y - pt.y) ** 2;
    if (d < bestD) {
      bestD = d;
      best = v;
    }
  }
  return best;
}

function label(v) {
  return v.name ? `${v.name} (${String(v.mmsi).padStart(9, "0")})` : `MMSI ${String(v.mmsi).padStart(9, "0")}`;
}

function hover(e) {
  const tip = document.getElementById("vessel-tip");
  const v = nearest(e.containerPoint);
  if (!v) {
    tip.hidden = true;
    map.getContainer().style.cursor = "";
    return;
  }
  map.getContainer().style.cursor = "pointer";
  tip.hidden = false;
  tip.textContent = `${label(v)} · ${v.sog ?? "?"} kn · ${v.cog ?? "?"}°`;
  tip.style.left = e.containerPoint.x + 14 + "px";
  tip.style.top = e.containerPoint.y + 8 + "px";
}

export async function selectVessel(mmsi) {
  selected = mmsi;
  queueDraw();
  const card = document.getElementById("vessel-card");
  card.hidden = false;
  card.innerHTML = `<h3>MMSI ${String(mmsi).padStart(9, "0")}</h3><p class="muted">loading track…</p>`;
  try {
    const d = await api(`/api/v1/maritime/vessels/${String(mmsi).padStart(9, "0")}`);
    const v = d.vessel;
    trackLayer.clearLayers();
    const tr = L.geoJSON(d.track, { style: { color: "#ffffff", weight: 2, opacity: 0.8, dashArray: "4 3" } });
    tr.addTo(trackLayer);
    const n = d.track && d.track.geometry ? d.track.geometry.coordinates.length : 0;
    card.innerHTML =
      `<h3>${esc(v.name || "unknown name")} <button class="ghost small" id="vessel-close">×</button></h3>` +
      `<div class="grid2 small"><span class="muted">MMSI</span><span class="mono">${esc(v.mmsi)}</span>` +
      `<span class="muted">IMO / call sign</span><span>${esc(v.imo || "–")} / ${esc(v.callsign || "–")}</span>` +
      `<span class="muted">Type</span><span>${esc(v.ship_type ?? "–")}</span>` +
      `<span class="muted">Speed / course</span><span>${esc(v.sog ?? "–")} kn / ${esc(v.cog ?? "–")}°</span>` +
      `<span class="muted">Destination</span><span>${esc(v.destination || "–")}</span>` +
      `<span class="muted">Last seen</span><span>${fmtTime(v.last_seen)}</span>` +
      `<span class="muted">Track</span><span>${n} points</span></div>`;
    document.getElementById("vessel-close").onclick = () => {
      selected = null;
      trackLayer.clearLayers();
      card.hidden = true;
      queueDraw();
    };
  } catch (e) {
    card.innerHTML = `<p class="muted">No track: ${esc(e.message)}</p>`;
  }
}

function showFeature(p) {
  const card = document.getElementById("vessel-card");
  card.hidden = false;
  const st = store.assets[p.id];
  const lvl = store.levels[p.id];
  card.innerHTML =
    `<h3>${esc(p.name || p.id)}</h3><div class="grid2 small">` +
    `<span class="muted">Kind</span><span>${esc(p.kind)}</span>` +
    `<span class="muted">Id</span><span class="mono">${esc(p.id)}</span>` +
    (st ? `<span class="muted">State</span><span>${esc(st.state)} since ${fmtTime(st.since)}</span>` : "") +
    (lvl ? `<span class="muted">ISPS level</span><span class="lvl lvl-${lvl}">${lvl}</span>` : "") +
    (p.operator ? `<span class="muted">Operator</span><span>${esc(p.operator)}</span>` : "") +
    `</div>`;
}

export function mapShown() {
  if (map) {
    map.invalidateSize();
    queueDraw();
  }
}
