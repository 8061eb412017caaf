// The wallboard: queue tiles, charts, agents, calls and monitoring sessions, live.
"use strict";

const H = Hotline;
let S = null;
let live = null;
const charts = new Map(); // queue -> {sl: svg, ring: svg}

function hourNow() {
  const parts = new Intl.DateTimeFormat("en-GB", { hour: "numeric", hour12: false, timeZone: S.timezone || undefined })
    .formatToParts(new Date(live.now() * 1000));
  const hour = parts.find((p) => p.type === "hour");
  return hour ? Number(hour.value) % 24 : new Date().getHours();
}

function confirmThen(text, action) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.addEventListener("close", function once() {
    dialog.removeEventListener("close", once);
    if (dialog.returnValue === "ok") action();
  });
  dialog.showModal();
}

function monitorButtons(target, agentId, path) {
  const box = H.el("span", { class: "actions" });
  for (const mode of ["listen", "whisper", "barge"]) {
    box.append(H.el("button", {
      type: "button", "data-action": mode, class: mode === "listen" ? "" : "intrusive",
      text: H.t(mode),
      onclick: () => {
        const go = () => H.act(path, { mode });
        if (!S.phone) { H.say(H.t("no_phone"), true); return; }
        if (mode === "listen") go();
        else confirmThen(H.t(`confirm_${mode}`, { a: agentId }), go);
      },
    }));
  }
  return box;
}

function queueTile(q) {
  const stats = live.get(`stats/queue/${q.name}`) || {};
  const longest = q.oldest_arrival ? live.now() - q.oldest_arrival : 0;
  const waitBad = q.oldest_arrival && longest > q.thresholds.longest_wait_seconds;
  const slBad = !!stats.alert_service_level;
  const figure = (key, value, bad, label) => H.el("div", { class: bad ? "figure bad" : "figure", "data-figure": key },
    H.el("span", { class: "label", text: label || H.t(key) }), H.el("span", { class: "value", text: value }));
  return H.el("article", { class: waitBad || slBad ? "tile alert" : "tile", id: `queue-${q.name}`, "data-queue": q.name },
    H.el("h2", { text: q.name }),
    figure("waiting", String(q.waiting)),
    figure("longest_wait", H.duration(longest), waitBad),
    figure("answered", String(stats.answered ?? 0)),
    figure("abandoned", String(stats.abandoned ?? 0)),
    figure("service_level", H.percent(stats.service_level), slBad),
    figure("within_rings", H.percent(stats.within_rings_ratio), false, H.t("within_rings", { x: S.rings })),
    figure("average_wait", stats.average_wait_seconds == null ? "—" : H.duration(stats.average_wait_seconds)),
    figure("agents_in", `${q.agents_logged_in} / ${q.agents_available}`));
}

function renderCharts(queues) {
  const box = document.getElementById("charts");
  const hour = hourNow();
  for (const q of queues) {
    const series = live.get(`series/${q.name}`);
    if (!series) continue;
    let entry = charts.get(q.name);
    if (!entry) {
      const sl = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      const ring = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      sl.id = `chart-sl-${q.name}`; ring.id = `chart-ring-${q.name}`;
      const slTitle = H.el("h3", { "data-i18n": "sl_by_hour" });
      const ringTitle = H.el("h3", { "data-i18n": "answers_by_ring" });
      const legend = H.el("div", { class: "legend-box" });
      box.append(H.el("div", { class: "card chart" }, H.el("h2", { text: q.name }), slTitle, sl),
        H.el("div", { class: "card chart" }, H.el("h2", { text: q.name }), ringTitle, ring, legend));
      entry = { sl, ring, legend };
      charts.set(q.name, entry);
    }
    Charts.serviceLevel(entry.sl, series, q.thresholds.service_level_target, hour);
    Charts.byRing(entry.ring, series, hour);
    entry.legend.replaceChildren(Charts.legend(series.rings));
  }
  H.applyLabels(box);
}

function agentRow(a) {
  const stats = live.get(`stats/agent/${a.agent_id}`) || {};
  const call = a.call_id ? live.get(`call/${a.call_id}`) : null;
  const callCell = H.el("td", { class: "call" });
  if (call) {
    callCell.append(`${call.queue} · ${call.caller}`);
    if (call.answered) callCell.append(" · ", ticking(call.answered));
  }
  const actions = H.el("span", { class: "actions" });
  if (a.state === "on_call") {
    actions.append(monitorButtons("agent", a.agent_id, `/console/api/agents/${a.agent_id}/monitor`));
  }
  if (a.state !== "logged_out") {
    if (a.state === "paused") {
      actions.append(H.el("button", { type: "button", "data-action": "unpause", text: H.t("unpause"),
        onclick: () => H.act(`/console/api/agents/${a.agent_id}/unpause`) }));
    } else {
      actions.append(H.el("button", { type: "button", "data-action": "pause", text: H.t("pause"),
        onclick: () => H.act(`/console/api/agents/${a.agent_id}/pause`, { reason: S.pause_reasons[0] || "break" }) }));
    }
    actions.append(H.el("button", { type: "button", "data-action": "logout", class: "intrusive", text: H.t("force_logout"),
      onclick: () => confirmThen(H.t("confirm_logout", { a: a.agent_id }), () => H.act(`/console/api/agents/${a.agent_id}/logout`)) }));
  }
  return H.el("tr", { id: `agent-${a.agent_id}`, "data-state": a.state, class: stats.alert_rona ? "alert" : "" },
    H.el("td", {}, H.el("b", { text: a.agent_id }), " ", a.name, a.team ? H.el("span", { class: "muted", text: ` (${a.team})` }) : ""),
    H.el("td", {}, H.el("span", { class: `badge ${a.state}`, text: H.t(a.state) })),
    H.el("td", {}, a.since ? ticking(a.since) : ""),
    H.el("td", { text: a.state === "paused" ? a.reason : "" }),
    callCell,
    H.el("td", { class: "num", text: String(stats.answered ?? 0) }),
    H.el("td", { class: stats.alert_rona ? "num bad" : "num", text: `${stats.rona ?? 0}${stats.rona_streak ? ` (${stats.rona_streak}↯)` : ""}` }),
    H.el("td", {}, actions));
}

function callRow(c) {
  const actions = H.el("span", { class: "actions" });
  if (c.state === "talking" && c.agent_id) {
    actions.append(monitorButtons("call", c.agent_id, `/console/api/calls/${c.call_id}/monitor`));
  }
  return H.el("tr", { id: `call-${c.call_id}`, "data-state": c.state },
    H.el("td", { text: c.queue }),
    H.el("td", { text: c.caller }),
    H.el("td", {}, H.el("span", { class: `badge ${c.state}`, text: H.t(c.state) })),
    H.el("td", {}, c.answered ? H.duration(c.wait_seconds) : ticking(c.arrival)),
    H.el("td", {}, c.answered ? ticking(c.answered) : ""),
    H.el("td", { text: c.agent_id || "" }),
    H.el("td", {}, actions));
}

function monitorRow(m) {
  const actions = H.el("span", { class: "actions" });
  if (m.started_by === S.user || S.role === "supervisor") {
    for (const mode of ["listen", "whisper", "barge"]) {
      if (mode === m.mode) continue;
      actions.append(H.el("button", { type: "button", "data-action": `mode-${mode}`, class: mode === "listen" ? "" : "intrusive", text: H.t(mode),
        onclick: () => {
          const go = () => H.act(`/console/api/monitor/${m.session_id}/mode`, { mode });
          if (mode === "listen") go(); else confirmThen(H.t(`confirm_${mode}`, { a: m.agent_id }), go);
        } }));
    }
    actions.append(H.el("button", { type: "button", "data-action": "stop", text: H.t("stop"),
      onclick: () => H.act(`/console/api/monitor/${m.session_id}/stop`) }));
  }
  return H.el("tr", { id: `monitor-${m.session_id}`, "data-mode": m.mode },
    H.el("td", { text: m.session_id }),
    H.el("td", { text: m.agent_id }),
    H.el("td", { text: H.t(m.mode) }),
    H.el("td", { text: m.started_by }),
    H.el("td", {}, actions));
}

// a duration since `epoch` (server clock) that `tick` keeps current
function ticking(epoch) {
  return H.el("span", { class: "ticking", "data-since": String(epoch), text: H.duration(live.now() - epoch) });
}

function tick() {
  if (!live) return;
  for (const el of document.querySelectorAll("[data-since]")) {
    el.textContent = H.duration(live.now() - Number(el.dataset.since));
  }
  const queues = live.all("queue/").sort(byKey("name"));
  document.getElementById("queues").replaceChildren(...queues.map(queueTile));
}

function byKey(key) { return (a, b) => String(a[key]).localeCompare(String(b[key])); }

function render() {
  if (!S || !live) return;
  const queues = live.all("queue/").sort(byKey("name"));
  document.getElementById("queues").replaceChildren(...queues.map(queueTile));
  renderCharts(queues);
  const agents = live.all("agent/").sort(byKey("agent_id"));
  document.querySelector("#agents tbody").replaceChildren(...agents.map(agentRow));
  const calls = live.all("call/").sort((a, b) => a.arrival - b.arrival);
  document.querySelector("#calls tbody").replaceChildren(...calls.map(callRow));
  const monitors = live.all("monitor/").sort(byKey("started"));
  document.querySelector("#monitors tbody").replaceChildren(...monitors.map(monitorRow));
}

document.addEventListener("DOMContentLoaded", async () => {
  H.setupLanguage(render);
  S = await H.loadSession();
  live = new LiveStore(render);
  window.hotlineLive = live;
  live.start();
  setInterval(tick, 1000); // waits and talk times tick between deltas
});
