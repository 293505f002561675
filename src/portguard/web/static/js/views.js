// The console's screens other than the map: queue, incident, mail, ISAC, security levels, audit.
import {
  alertFromRest, api, domBadge, emit, esc, fmtLeft, fmtTime, h, on, sevBadge, sevName, sevRank,
  store, tlpBadge, toast,
} from "./core.js";

const OPEN = ["new", "triage", "contained"];
const NEXT = {
  new: ["triage", "contained", "resolved"],
  triage: ["contained", "resolved"],
  contained: ["resolved", "triage"],
  resolved: ["closed", "triage"],
  closed: ["triage"],
};
const STAGES = [
  ["early_warning", "Early warning"],
  ["notification", "Incident notification"],
  ["intermediate", "Intermediate report"],
  ["progress", "Progress report"],
  ["final", "Final report"],
];

// ============================================================================== queue
export const queue = {
  tab: "incidents",
  sel: 0,
  rows: [],
  f: { q: "", sev: "", domain: "", status: "open", hybrid: false },
  built: false,
};

function buildQueue() {
  const el = document.getElementById("view-queue");
  el.innerHTML = `
    <div class="toolbar">
      <span class="tabs"><button data-tab="incidents" id="tab-incidents">Incidents <kbd>i</kbd></button>
      <button data-tab="alerts" id="tab-alerts">Alerts <kbd>a</kbd></button></span>
      <input id="q-text" type="search" placeholder="Filter (/): title, rule, entity…" size="28">
      <select id="q-sev" title="Minimum severity"><option value="">any severity</option>
        ${["low", "medium", "high", "critical"].map((s) => `<option value="${s}">≥ ${s}</option>`).join("")}</select>
      <select id="q-domain" title="Domain"><option value="">any domain</option>
        ${["mail", "maritime", "access", "infra", "logs", "intel", "system", "analyst"].map((d) => `<option>${d}</option>`).join("")}</select>
      <select id="q-status" title="Status (incidents)"><option value="open">open</option><option value="">any status</option>
        ${["new", "triage", "contained", "resolved", "closed"].map((s) => `<option>${s}</option>`).join("")}</select>
      <label><input type="checkbox" id="q-hybrid"> hybrid only <kbd>h</kbd></label>
      <span class="spacer"></span><span id="q-count" class="muted"></span>
    </div>
    <div class="queue-body"><table class="list" id="q-table"><thead></thead><tbody></tbody></table></div>`;
  el.querySelectorAll("[data-tab]").forEach((b) => (b.onclick = () => setTab(b.dataset.tab)));
  const bind = (id, key, prop = "value") => {
    document.getElementById(id).addEventListener("input", (e) => {
      queue.f[key] = e.target[prop];
      queue.sel = 0;
      renderQueue();
    });
  };
  bind("q-text", "q");
  bind("q-sev", "sev");
  bind("q-domain", "domain");
  bind("q-status", "status");
  bind("q-hybrid", "hybrid", "checked");
  el.querySelector("tbody").addEventListener("click", (e) => {
    const tr = e.target.closest("tr.row");
    if (!tr) return;
    queue.sel = Number(tr.dataset.i);
    openSelected();
  });
  queue.built = true;
}

export function setTab(tab) {
  queue.tab = tab;
  queue.sel = 0;
  renderQueue();
}

function matches(text, q) {
  return !q || text.toLowerCase().includes(q.toLowerCase());
}

export function renderQueue() {
  if (!queue.built) buildQueue();
  const f = queue.f;
  document.getElementById("tab-incidents").classList.toggle("on", queue.tab === "incidents");
  document.getElementById("tab-alerts").classList.toggle("on", queue.tab === "alerts");
  const minSev = f.sev ? sevRank(f.sev) : -1;
  const thead = document.querySelector("#q-table thead");
  const tbody = document.querySelector("#q-table tbody");
  let rows;
  if (queue.tab === "incidents") {
    rows = [...store.incidents.values()].filter(
      (i) =>
        sevRank(i.severity) >= minSev &&
        (!f.domain || i.domains.includes(f.domain)) &&
        (f.status === "open" ? OPEN.includes(i.status) : !f.status || i.status === f.status) &&
        (!f.hybrid || i.hybrid) &&
        matches(`${i.ref} ${i.title} ${i.category} ${i.domains.join(" ")} ${i.assignee || ""}`, f.q),
    );
    rows.sort((a, b) => sevRank(b.severity) - sevRank(a.severity) || (a.last_seen < b.last_seen ? 1 : -1));
    thead.innerHTML = "<tr><th>Ref</th><th>Severity</th><th>Title</th><th>Domains</th><th>Status</th><th>Alerts</th><th>NIS2</th><th>Last seen</th></tr>";
    tbody.innerHTML = rows
      .slice(0, 500)
      .map(
        (i, n) =>
          `<tr class="row" data-i="${n}" data-id="${esc(i.id)}"><td class="mono">${esc(i.ref)}</td><td>${sevBadge(i.severity)}</td>` +
          `<td>${i.hybrid ? '<span class="hybrid">hybrid</span> ' : ""}${esc(i.title)}</td>` +
          `<td>${i.domains.map(domBadge).join("")}</td><td class="status">${esc(i.status)}</td>` +
          `<td>${i.alert_count}</td><td>${i.significant ? "⏱ significant" : ""}</td><td>${fmtTime(i.last_seen)}</td></tr>`,
      )
      .join("");
  } else {
    rows = [...store.alerts.values()].filter(
      (a) =>
        a.severity >= minSev &&
        (!f.domain || a.domain === f.domain) &&
        matches(`${a.title} ${a.rule_id} ${a.domain}`, f.q),
    );
    rows.sort((a, b) => (a.observed_at < b.observed_at ? 1 : -1));
    thead.innerHTML = "<tr><th>Observed</th><th>Severity</th><th>Domain</th><th>Title</th><th>Rule</th><th>TLP</th><th>Incident</th></tr>";
    tbody.innerHTML = rows
      .slice(0, 500)
      .map((a, n) => {
        const inc = a.incident_id ? store.incidents.get(a.incident_id) : null;
        return (
          `<tr class="row" data-i="${n}" data-id="${esc(a.id)}"><td>${fmtTime(a.observed_at)}</td><td>${sevBadge(a.severity)}</td>` +
          `<td>${domBadge(a.domain)}</td><td>${esc(a.title)}${a.count > 1 ? ` <span class="muted">×${a.count}</span>` : ""}</td>` +
          `<td class="mono small">${esc(a.rule_id)}</td><td>${tlpBadge(a.tlp)}</td><td class="mono">${inc ? esc(inc.ref) : ""}</td></tr>`
        );
      })
      .join("");
  }
  queue.rows = rows.slice(0, 500);
  document.getElementById("q-count").textContent = `${rows.length} shown${rows.length > 500 ? " (first 500)" : ""}`;
  highlight();
}

function highlight() {
  const trs = document.querySelectorAll("#q-table tbody tr");
  trs.forEach((tr) => tr.classList.remove("sel"));
  if (!trs.length) return;
  queue.sel = Math.max(0, Math.min(queue.sel, trs.length - 1));
  trs[queue.sel].classList.add("sel");
  trs[queue.sel].scrollIntoView({ block: "nearest" });
}

export function moveSel(d) {
  queue.sel += d;
  highlight();
}

export function openSelected() {
  const r = queue.rows[queue.sel];
  if (!r) return;
  if (queue.tab === "incidents") location.hash = `#/incident/${r.id}`;
  else if (r.incident_id) location.hash = `#/incident/${r.incident_id}`;
  else toast(`${r.title} — not part of an incident`);
}

export async function triageSelected() {
  const r = queue.rows[queue.sel];
  if (!r || queue.tab !== "incidents" || !store.can("incidents:write")) return;
  if (r.status !== "new") return toast(`${r.ref} is already ${r.status}`);
  try {
    const upd = await api(`/api/v1/incidents/${r.id}/status`, { method: "POST", body: { status: "triage" } });
    store.incidents.set(upd.id, { ...r, ...upd });
    toast(`${r.ref} taken into triage`);
    renderQueue();
  } catch (e) {
    toast(e.message, "err");
  }
}

// ============================================================================== incident
let current = null;
let ticker = null;
const CAP = 300;
const showAll = new Set();

export async function showIncident(id) {
  const el = document.getElementById("view-incident");
  const t0 = performance.now();
  if (!current || current.id !== id) el.innerHTML = '<p class="muted">Loading…</p>';
  let inc;
  try {
    // The server sends the first CAP alerts and the latest CAP entries; big incidents page
    // the rest in only when asked.
    inc = await api(`/api/v1/incidents/${encodeURIComponent(id)}?alerts=${CAP}&timeline=${CAP}`);
    if (showAll.has(inc.id)) await loadAll(inc);
  } catch (e) {
    el.innerHTML = `<p>Incident not found or not visible to you (${esc(e.message)}). <a href="#/queue">Back to the queue</a></p>`;
    return;
  }
  current = inc;
  renderIncident(el, inc);
  window.pgStats.marks.incidentMs = performance.now() - t0;
  document.body.dataset.incident = inc.ref;
}

const PAGE = 5000;

async function loadAll(inc) {
  const id = encodeURIComponent(inc.id);
  const pages = async (what, total) => {
    const out = [];
    while (out.length < total) {
      const page = await api(`/api/v1/incidents/${id}/${what}?limit=${PAGE}&offset=${out.length}`);
      out.push(...page);
      if (page.length < PAGE) break;
    }
    return out;
  };
  if (inc.alerts.length < inc.alert_count) inc.alerts = await pages("alerts", inc.alert_count);
  if (inc.timeline.length < inc.timeline_count) inc.timeline = await pages("timeline", inc.timeline_count);
}

function renderIncident(el, inc) {
  const canWrite = store.can("incidents:write");
  const canReport = store.can("reports:write");
  const domainOf = new Map(inc.alerts.map((a) => [a.id, a.domain]));
  // Big incidents (thousands of alerts) come with the latest entries and the first alerts;
  // the rest on demand (loadAll).
  const timeline = [...inc.timeline].sort((a, b) => (a.at < b.at ? -1 : 1));
  const evidence = inc.alerts;
  const more = inc.timeline_count - timeline.length + (inc.alert_count - evidence.length);
  const nis2 = inc.nis2 || {};
  const clock = nis2.clock;
  const ents = inc.entities;
  el.innerHTML = `
    <div class="inc-head">
      <h1><span class="mono">${esc(inc.ref)}</span> ${esc(inc.title)}</h1>
      ${sevBadge(inc.severity)} ${inc.hybrid ? '<span class="hybrid">hybrid</span>' : ""}
      ${tlpBadge(inc.tlp)} <span class="status">${esc(inc.status)}</span>
      ${inc.domains.map(domBadge).join("")}
    </div>
    <p class="muted">Category ${esc(inc.category)} · first seen ${fmtTime(inc.first_seen)} · last seen ${fmtTime(inc.last_seen)}
      · assignee ${esc(inc.assignee || "nobody")}</p>
    <div id="inc-actions">${
      canWrite
        ? (NEXT[inc.status] || []).map((s) => `<button data-status="${s}" id="to-${s}">Move to ${s}</button>`).join(" ") +
          ` <button id="assign-me">Assign to me</button>`
        : '<span class="muted small">Read-only for your role.</span>'
    }</div>
    <div class="inc-grid">
      <div>
        <h2>Timeline across domains</h2>
        ${more ? `<p class="small muted">Showing the latest ${timeline.length} entries and first ${evidence.length} alerts. <button id="show-all">Show all ${inc.timeline_count} entries and ${inc.alert_count} alerts</button></p>` : ""}
        <ol class="timeline">${timeline
          .map((t) => {
            const dom = t.data && t.data.alert_id ? domainOf.get(t.data.alert_id) || "" : "";
            return `<li class="d-${esc(dom)}"><div class="when">${fmtTime(t.at)} · ${esc(t.kind)} · ${esc(t.actor)}</div>${esc(t.text)}` +
              (t.data && t.data.why ? `<div class="why small">${esc(t.data.why)}</div>` : "") + `</li>`;
          })
          .join("")}</ol>
        <h2>Evidence (${inc.alert_count} alerts)</h2>
        <table class="list"><thead><tr><th>Observed</th><th></th><th>Domain</th><th>Alert and why</th><th>TLP</th></tr></thead><tbody>
        ${evidence
          .map(
            (a) =>
              `<tr><td>${fmtTime(a.observed_at)}</td><td>${sevBadge(a.severity)}</td><td>${domBadge(a.domain)}</td>` +
              `<td>${esc(a.title)} <span class="mono small muted">${esc(a.rule_id)}</span><div class="why">${esc(a.alert && a.alert.why)}</div>` +
              `${a.alert && a.alert.evidence && a.alert.evidence.length ? `<div class="small muted">events: ${a.alert.evidence.map(esc).join(", ")}</div>` : ""}</td>` +
              `<td>${tlpBadge(a.tlp)}</td></tr>`,
          )
          .join("")}</tbody></table>
        <h2>Entities</h2>
        <div class="entities">${ents
          .map((e) => `<span class="dom" title="${esc(e.domains.join(", "))}">${esc(e.kind)}: <b>${esc(e.value)}</b></span>`)
          .join("")}</div>
      </div>
      <div>
        <div class="card" id="nis2">
          <h3>NIS2 reporting clock</h3>
          ${
            clock
              ? `<p class="small muted">Aware since ${fmtTime(nis2.aware_at)} · criteria: ${esc((nis2.criteria || []).join(", "))}</p>` +
                clock.deadlines
                  .map(
                    (d) =>
                      `<div class="deadline"><div><b>${esc(stageTitle(d.stage))}</b><div class="small muted">${
                        d.due_at ? `due ${fmtTime(d.due_at)}` : "due date follows from an earlier stage"
                      }</div></div>` +
                      (d.due_at
                        ? `<div class="countdown ${d.status === "submitted" ? "done" : ""}" data-due="${esc(d.due_at)}" data-status="${esc(d.status)}">` +
                          `${d.status === "submitted" ? "submitted" : ""}</div>`
                        : `<div class="countdown done">${esc(d.status)}</div>`) +
                      `<div class="reports small" style="grid-column: 1 / span 2">${reportLinks(inc, d.stage)}</div></div>`,
                  )
                  .join("")
              : `<p class="muted small">Not marked significant: no reporting clock runs.</p>${
                  canReport ? `<button id="mark-significant" class="primary">Mark significant…</button><div id="sig-form"></div>` : ""
                }`
          }
          <h3>Reports</h3>
          ${STAGES.map(([s, t]) => `<div class="reports small"><b>${t}</b>: ${reportLinks(inc, s)}</div>`).join("")}
        </div>
        ${inc.summary ? `<div class="card"><h3>Summary</h3><p>${esc(inc.summary)}</p></div>` : ""}
        ${
          inc.tasks.length
            ? `<div class="card"><h3>Tasks</h3><ul>${inc.tasks.map((t) => `<li>${t.done ? "✔" : "☐"} ${esc(t.title)}</li>`).join("")}</ul></div>`
            : ""
        }
        ${canWrite ? `<div class="card"><h3>Add a note</h3><textarea id="note" rows="3" style="width:100%"></textarea><button id="add-note">Add note</button></div>` : ""}
      </div>
    </div>`;
  el.querySelectorAll("[data-status]").forEach(
    (b) =>
      (b.onclick = async () => {
        try {
          await api(`/api/v1/incidents/${inc.id}/status`, { method: "POST", body: { status: b.dataset.status } });
          toast(`${inc.ref} moved to ${b.dataset.status}`);
          showIncident(inc.id);
        } catch (e) {
          toast(e.message, "err");
        }
      }),
  );
  const am = document.getElementById("assign-me");
  if (am)
    am.onclick = async () => {
      try {
        await api(`/api/v1/incidents/${inc.id}/assign`, { method: "POST", body: { assignee: store.me.username } });
        showIncident(inc.id);
      } catch (e) {
        toast(e.message, "err");
      }
    };
  const note = document.getElementById("add-note");
  if (note)
    note.onclick = async () => {
      const text = document.getElementById("note").value.trim();
      if (!text) return;
      try {
        await api(`/api/v1/incidents/${inc.id}/notes`, { method: "POST", body: { text } });
        showIncident(inc.id);
      } catch (e) {
        toast(e.message, "err");
      }
    };
  const sa = document.getElementById("show-all");
  if (sa)
    sa.onclick = async () => {
      sa.disabled = true;
      sa.textContent = "Loading…";
      showAll.add(inc.id);
      try {
        await loadAll(inc);
      } catch (e) {
        toast(e.message, "err");
      }
      renderIncident(el, inc);
    };
  const ms = document.getElementById("mark-significant");
  if (ms) ms.onclick = () => significanceForm(inc);
  tick();
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
}

function stageTitle(s) {
  const f = STAGES.find(([k]) => k === s);
  return f ? f[1] : s;
}

function reportLinks(inc, stage) {
  const base = `/api/v1/incidents/${encodeURIComponent(inc.id)}/nis2/reports/${stage}`;
  return ["html", "md", "json"]
    .map((f) => `<a id="report-${stage}-${f}" href="${base}?format=${f}&amp;download=true" download>${f.toUpperCase()}</a>`)
    .join(" ");
}

function tick() {
  const now = Date.now() + store.clockOffset;
  document.querySelectorAll(".countdown[data-due]").forEach((el) => {
    if (el.dataset.status === "submitted") return;
    const left = (new Date(el.dataset.due).getTime() - now) / 1000;
    el.textContent = left < 0 ? `overdue ${fmtLeft(-left)}` : fmtLeft(left);
    el.classList.toggle("late", left < 0);
    el.classList.toggle("soon", left >= 0 && left < 6 * 3600);
  });
}

async function significanceForm(inc) {
  const box = document.getElementById("sig-form");
  const list = await api(`/api/v1/incidents/${inc.id}/nis2/checklist`);
  box.innerHTML =
    `<p class="small">Which criteria of NIS2 Art. 23(3) apply?</p>` +
    list
      .map((c) => `<label class="small" title="${esc(c.explanation)}"><input type="checkbox" value="${esc(c.code)}"> ${esc(c.label)}</label><br>`)
      .join("") +
    `<label class="small"><input type="checkbox" id="sig-malicious"> suspected malicious</label><br>` +
    `<button id="sig-save" class="primary">Start the clock</button>`;
  document.getElementById("sig-save").onclick = async () => {
    const criteria = [...box.querySelectorAll("input[type=checkbox][value]:checked")].map((i) => i.value);
    if (!criteria.length) return toast("Pick at least one criterion", "err");
    try {
      await api(`/api/v1/incidents/${inc.id}/nis2/significance`, {
        method: "POST",
        body: { criteria, malicious_suspected: document.getElementById("sig-malicious").checked },
      });
      toast(`${inc.ref}: NIS2 clock started`);
      showIncident(inc.id);
    } catch (e) {
      toast(e.message, "err");
    }
  };
}

on("incidents", (list) => {
  if (current && list.some((i) => i.id === current.id) && !document.getElementById("view-incident").hidden) {
    showIncident(current.id);
  }
});

// ============================================================================== mail
export async function showMail() {
  const el = document.getElementById("view-mail");
  if (!store.features.mail) {
    el.innerHTML = `<div class="placeholder"><h2>Mail gateway</h2><p>The mail gateway is not wired into this
      instance yet, so there is no quarantine to show. When it runs, this screen lists quarantined
      messages (release, delete) and the monthly blocked figures.</p></div>`;
    return;
  }
  el.innerHTML = `<h1>Mail</h1><div id="mail-chart"></div><h2>Quarantine</h2><div id="mail-q"><p class="muted">Loading…</p></div>`;
  const [msgs, stats] = await Promise.all([
    api("/api/v1/mail/messages?status=quarantined&limit=200").catch(() => []),
    api("/api/v1/mail/stats?period=month&limit=12").catch(() => []),
  ]);
  document.getElementById("mail-chart").innerHTML = blockedChart(stats);
  const canRelease = store.can("incidents:write");
  document.getElementById("mail-q").innerHTML = msgs.length
    ? `<table class="list"><thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th>Verdict</th><th>Why</th><th></th></tr></thead><tbody>${msgs
        .map(
          (m) =>
            `<tr data-id="${esc(m.id)}"><td>${fmtTime(m.received_at)}</td><td>${esc(m.sender)}</td><td>${esc(m.recipients.join(", "))}</td>` +
            `<td>${esc(m.subject)}</td><td>${esc(m.category)} <span class="muted">${Number(m.score).toFixed(2)}</span></td>` +
            `<td class="small muted">${esc((m.reasons || []).map((r) => r.name || r.detail).slice(0, 3).join("; "))}</td>` +
            `<td>${canRelease ? `<button class="release" data-id="${esc(m.id)}">Release</button>` : ""}</td></tr>`,
        )
        .join("")}</tbody></table>`
    : '<p class="muted">The quarantine is empty.</p>';
  document.querySelectorAll("button.release").forEach(
    (b) =>
      (b.onclick = async () => {
        if (!confirm("Release this message to its recipients?")) return;
        try {
          await api(`/api/v1/mail/messages/${encodeURIComponent(b.dataset.id)}/release`, { method: "POST" });
          toast("Message released");
          showMail();
        } catch (e) {
          toast(e.message, "err");
        }
      }),
  );
}

function blockedChart(stats) {
  if (!stats.length) return '<p class="muted">No monthly figures yet.</p>';
  const rows = [...stats].sort((a, b) => (a.period < b.period ? -1 : 1));
  const parts = [["phishing", "#ff4d5e"], ["malware", "#c39bff"], ["spam", "#f2c94c"], ["rejected", "#8aa0b6"]];
  const max = Math.max(1, ...rows.map((r) => parts.reduce((s, [k]) => s + (r[k] || 0), 0)));
  const W = 640, H = 180, bw = Math.min(40, (W - 40) / rows.length - 6);
  let bars = "";
  rows.forEach((r, i) => {
    let y = H - 20;
    const x = 40 + i * (bw + 6);
    for (const [k, c] of parts) {
      const hgt = ((r[k] || 0) / max) * (H - 40);
      y -= hgt;
      bars += `<rect x="${x}" y="${y}" width="${bw}" height="${hgt}" fill="${c}"><title>${esc(r.period)} ${k}: ${r[k]}</title></rect>`;
    }
    bars += `<text x="${x}" y="${H - 6}">${esc(String(r.period).slice(0, 7))}</text>`;
  });
  const legend = parts.map(([k, c], i) => `<rect x="${40 + i * 90}" y="4" width="10" height="10" fill="${c}"></rect><text x="${54 + i * 90}" y="13">${k}</text>`).join("");
  return `<h2>Blocked per month</h2><svg class="chart" width="${W}" height="${H}" role="img" aria-label="Blocked mail per month">${legend}<text x="4" y="30">${max}</text>${bars}</svg>`;
}

// ============================================================================== ISAC
const TLP_BY_MARKING = {
  "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
  "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
  "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
  "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
  "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
  "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
  "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
  "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
  "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
};
const tlpOf = (o) => (o.object_marking_refs || []).map((m) => TLP_BY_MARKING[m]).find(Boolean) || "clear";

export async function showIsac() {
  const el = document.getElementById("view-isac");
  el.innerHTML = '<h1>ISAC hub</h1><p class="muted">Loading…</p>';
  const [comms, inds, sights] = await Promise.all([
    api("/api/v1/intel/communities").catch(() => []),
    api("/api/v1/intel/objects?type=indicator&limit=1000").catch(() => ({ objects: [] })),
    api("/api/v1/intel/sightings?limit=200").catch(() => ({ objects: [] })),
  ]);
  const byTlp = {};
  for (const o of inds.objects) (byTlp[tlpOf(o)] ||= []).push(o);
  const order = ["red", "amber+strict", "amber", "green", "clear"];
  el.innerHTML = `<h1>ISAC hub</h1>
    <h2>Feeds and communities</h2>
    <table class="list"><thead><tr><th>Community</th><th>Members</th><th>TAXII collection</th></tr></thead><tbody>
    ${comms.map((c) => `<tr><td><b>${esc(c.name)}</b><div class="small muted">${esc(c.description)}</div></td><td>${esc(c.members.join(", "))}</td><td class="mono small">${esc(c.collection_id)}</td></tr>`).join("")}
    </tbody></table>
    <h2>Indicators by TLP (${inds.objects.length}${inds.more ? "+" : ""})</h2>
    <p>${order.map((t) => `${tlpBadge(t)} ${(byTlp[t] || []).length}`).join(" &nbsp; ")}</p>
    <table class="list" id="indicators"><thead><tr><th>TLP</th><th>Name</th><th>Pattern</th><th>Valid from</th><th>Created by</th></tr></thead><tbody>
    ${order
      .flatMap((t) => (byTlp[t] || []).slice(0, 200))
      .map((o) => `<tr data-id="${esc(o.id)}"><td>${tlpBadge(tlpOf(o))}</td><td>${esc(o.name || "")}</td><td class="mono small">${esc(o.pattern)}</td><td>${fmtTime(o.valid_from)}</td><td class="small muted">${esc(o.created_by_ref || "")}</td></tr>`)
      .join("")}
    </tbody></table>
    <h2>Sightings (${sights.objects.length})</h2>
    <table class="list"><thead><tr><th>Last seen</th><th>Indicator</th><th>Count</th><th>Where</th></tr></thead><tbody>
    ${sights.objects.map((s) => `<tr><td>${fmtTime(s.last_seen || s.created)}</td><td class="mono small">${esc(s.sighting_of_ref)}</td><td>${esc(s.count ?? 1)}</td><td class="small">${esc((s.where_sighted_refs || []).join(", "))}</td></tr>`).join("")}
    </tbody></table>`;
}

// ============================================================================== security levels
export async function showLevels() {
  const el = document.getElementById("view-levels");
  const facilities = await api("/api/v1/portmodel/facilities");
  const canSet = store.can("security_level:write");
  el.innerHTML = `<h1>ISPS security levels</h1>
    <p class="muted">Level 1 normal, 2 heightened, 3 exceptional. A change is audited and tightens every detector's thresholds at once.${
      canSet ? "" : " Your role may only read them."
    }</p>
    <div class="levels">${facilities
      .map(
        (f) => `<div class="card" data-facility="${esc(f.facility_id)}"><h3>${esc(f.facility_name)}</h3>
        <p>Level in force: <span class="lvl lvl-${f.level}" id="level-${esc(f.facility_id)}">${f.level}</span>
        <span class="small muted">${f.changed_at ? `since ${fmtTime(f.changed_at)} by ${esc(f.changed_by)}${f.reason ? ` — ${esc(f.reason)}` : ""}` : "(default)"}</span></p>
        ${
          canSet
            ? `<input class="reason" placeholder="Reason (required)" style="width:100%" maxlength="2000">
               <div class="level-btns" style="margin-top:6px">${[1, 2, 3]
                 .map((l) => `<button class="l${l} ${f.level === l ? "on" : ""}" data-level="${l}">Level ${l}</button>`)
                 .join(" ")}</div>`
            : ""
        }</div>`,
      )
      .join("")}</div>`;
  el.querySelectorAll("[data-facility]").forEach((card) => {
    card.querySelectorAll("button[data-level]").forEach(
      (b) =>
        (b.onclick = async () => {
          const reason = card.querySelector(".reason").value.trim();
          if (!reason) return toast("Give a reason for the change", "err");
          try {
            await api(`/api/v1/portmodel/facilities/${encodeURIComponent(card.dataset.facility)}/security-level`, {
              method: "POST",
              body: { level: Number(b.dataset.level), reason },
            });
            toast(`Security level of ${card.querySelector("h3").textContent} set to ${b.dataset.level}`);
            store.levels[card.dataset.facility] = Number(b.dataset.level);
            emit("levels", store.levels);
            showLevels();
          } catch (e) {
            toast(e.message, "err");
          }
        }),
    );
  });
}

// ============================================================================== audit
export async function showAudit(action = "") {
  const el = document.getElementById("view-audit");
  if (!store.can("audit:read")) {
    el.innerHTML = '<p class="muted">Your role may not read the audit log.</p>';
    return;
  }
  const rows = await api(`/api/v1/audit?limit=300${action ? `&action=${encodeURIComponent(action)}` : ""}`);
  el.innerHTML = `<h1>Audit log</h1>
    <div class="toolbar" style="margin:0 -16px 8px"><input id="audit-action" placeholder="action, e.g. security_level.set" value="${esc(action)}">
    <button id="audit-filter">Filter</button><button id="audit-verify">Verify the hash chain</button><span id="audit-result"></span></div>
    <table class="list"><thead><tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Details</th></tr></thead><tbody>
    ${rows
      .map((r) => `<tr><td class="mono">${r.seq}</td><td>${fmtTime(r.at)}</td><td>${esc(r.actor)}</td><td class="mono">${esc(r.action)}</td><td class="mono small">${esc(r.target)}</td><td class="mono small muted">${esc(JSON.stringify(r.details))}</td></tr>`)
      .join("")}</tbody></table>`;
  document.getElementById("audit-filter").onclick = () => showAudit(document.getElementById("audit-action").value.trim());
  document.getElementById("audit-verify").onclick = async () => {
    const r = await api("/api/v1/audit/verify");
    document.getElementById("audit-result").innerHTML = r.ok
      ? `<span style="color:var(--low)">✔ ${r.entries} entries, chain intact</span>`
      : `<span style="color:var(--crit)">✘ broken at #${r.first_bad_seq}: ${esc(r.reason)}</span>`;
  };
}

// ============================================================================== initial data
export async function loadInitial() {
  const [incs, alerts] = await Promise.all([
    store.can("incidents:read") ? api("/api/v1/incidents?limit=1000") : [],
    store.can("alerts:read") ? api("/api/v1/alerts?limit=1000") : [],
  ]);
  for (const i of incs) store.incidents.set(i.id, i);
  for (const a of alerts) store.alerts.set(a.id, alertFromRest(a));
  emit("incidents", []);
  emit("alerts", []);
}

export { sevName };
export { h };
