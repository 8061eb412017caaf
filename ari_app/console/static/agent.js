// The agent panel: own state, pause / unpause / end wrap-up / log out, the current call and
// its transfer, own figures today. Everything shown arrives on the event stream.
"use strict";

const H = Hotline;
let S = null;
let live = null;

function show(id, visible) { document.getElementById(id).hidden = !visible; }
function text(id, value) { document.getElementById(id).textContent = value; }

function setup() {
  const reasons = document.getElementById("pause-reason");
  reasons.replaceChildren(...S.pause_reasons.map((r) => H.el("option", { value: r, text: r })));
  const targets = document.getElementById("transfer-target");
  targets.replaceChildren(
    ...S.departments.map((d) => H.el("option", { value: d, text: d })),
    ...S.queues.map((q) => H.el("option", { value: `queue:${q}`, text: `${H.t("queue")} ${q}` })));
  document.getElementById("agent-id").value = S.agent_id;
  const me = () => `/console/api/agents/${encodeURIComponent(S.agent_id)}`;
  document.getElementById("agent-login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = document.getElementById("agent-id").value.trim();
    const pin = document.getElementById("pin");
    await H.act(`/console/api/agents/${encodeURIComponent(id)}/login`, { pin: pin.value });
    pin.value = "";
  });
  document.getElementById("pause").addEventListener("click", () =>
    H.act(`${me()}/pause`, { reason: document.getElementById("pause-reason").value }));
  document.getElementById("unpause").addEventListener("click", () => H.act(`${me()}/unpause`));
  document.getElementById("end-wrapup").addEventListener("click", () => H.act(`${me()}/wrapup/end`));
  document.getElementById("agent-logout").addEventListener("click", () => H.act(`${me()}/logout`));
  document.getElementById("transfer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const call = currentCall();
    if (!call) return;
    const kind = document.querySelector("input[name=kind]:checked").value;
    H.act(`/console/api/calls/${call.call_id}/transfer`, { kind, target: targets.value });
  });
  document.getElementById("transfer-complete").addEventListener("click", () => {
    const call = currentCall();
    if (call) H.act(`/console/api/calls/${call.call_id}/transfer/complete`);
  });
  document.getElementById("transfer-cancel").addEventListener("click", () => {
    const call = currentCall();
    if (call) H.act(`/console/api/calls/${call.call_id}/transfer/cancel`);
  });
}

function me() { return live && live.get(`agent/${S.agent_id}`); }

function currentCall() {
  const agent = me();
  if (agent && agent.call_id) return live.get(`call/${agent.call_id}`) || null;
  // an attended transfer's caller on hold is still this agent's call
  return live ? live.all("call/").find((c) => c.agent_id === S.agent_id && c.answered) || null : null;
}

function render() {
  if (!S || !live) return;
  const agent = me();
  const state = agent ? agent.state : "logged_out";
  const badge = document.getElementById("state");
  badge.className = `badge ${state}`;
  badge.textContent = H.t(state);
  badge.dataset.state = state;
  const since = document.getElementById("since");
  since.dataset.since = agent && agent.since ? String(agent.since) : "";
  text("reason", state === "paused" && agent.reason ? `(${agent.reason})` : "");
  show("agent-login", state === "logged_out");
  show("agent-actions", state !== "logged_out");
  show("pause", state === "available" || state === "wrapup");
  show("unpause", state === "paused");
  show("end-wrapup", state === "wrapup");

  const call = currentCall();
  show("no-call", !call);
  show("call", !!call);
  show("transfer-form", !!(call && call.answered));
  if (call) {
    text("call-queue", call.queue);
    text("call-caller", call.caller);
    text("call-wait", call.wait_seconds == null ? "—" : H.duration(call.wait_seconds));
    text("call-greeting", call.greeting || "—");
    document.getElementById("call-talk").dataset.since = call.answered ? String(call.answered) : "";
    const t = call.transfer;
    text("call-transfer", t ? `${H.t(t.kind)} → ${t.target} (${t.state})` : "—");
    const consulting = !!(t && t.kind === "attended" && t.state === "started") || call.state === "on_hold";
    show("transfer-complete", consulting);
    show("transfer-cancel", consulting);
    show("transfer", !consulting);
  }
  const stats = live.get(`stats/agent/${S.agent_id}`) || {};
  text("fig-answered", String(stats.answered ?? 0));
  text("fig-within-label", H.t("within_rings", { x: S.rings }));
  text("fig-within", String(stats.within_rings ?? 0));
  text("fig-ring", stats.average_ring_seconds == null ? "—" : `${stats.average_ring_seconds} s`);
  text("fig-rona", String(stats.rona ?? 0));
  tick();
}

function tick() {
  if (!live) return;
  for (const id of ["since", "call-talk"]) {
    const el = document.getElementById(id);
    el.textContent = el.dataset.since ? H.duration(live.now() - Number(el.dataset.since)) : "";
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  H.setupLanguage(render);
  S = await H.loadSession();
  text("who", `${S.user} · ${S.agent_id}${S.agent_name ? " " + S.agent_name : ""}`);
  setup();
  live = new LiveStore(render);
  window.hotlineLive = live;
  live.start();
  setInterval(tick, 1000);
});
