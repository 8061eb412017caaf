// The console's shared code: labels (中文 / English), the session, actions with the CSRF
// token, and the live store fed by the engine's event stream (Server-Sent Events).
"use strict";

const LABELS = {
  en: {
    console: "Hotline console", user: "User", password: "Password", log_in: "Log in",
    log_out: "Log out", other_language: "中文", wallboard: "Wallboard", agent_panel: "Agent panel",
    agents: "Agents", agent: "Agent", state: "State", since: "Since", reason: "Pause reason",
    current_call: "Current call", answered_today: "Answered today", ronas_today: "RONAs today",
    actions: "Actions", calls: "Calls", queue: "Queue", caller: "Caller", waited: "Waiting / waited",
    talk_time: "Talk time", monitoring: "Monitoring", session: "Session", mode: "Mode",
    started_by: "Started by", cancel: "Cancel", confirm: "Confirm", waiting: "Waiting",
    longest_wait: "Longest wait", answered: "Answered", abandoned: "Abandoned",
    service_level: "Service level", within_rings: "Answered within {x} rings",
    average_wait: "Average wait", agents_in: "Agents logged in / available",
    listen: "Listen", whisper: "Whisper", barge: "Barge", stop: "Stop", pause: "Pause",
    unpause: "Unpause", force_logout: "Log out", end_wrapup: "End wrap-up",
    agent_log_in: "Log in to take calls", agent_log_out: "Stop taking calls",
    agent_id: "Agent ID", pin: "PIN", my_state: "My state", no_call: "No call.",
    wait_before_answer: "Wait before answer", greeting: "Greeting played", transfer: "Transfer",
    blind: "Blind", attended: "Attended", transfer_to: "Transfer", complete: "Complete transfer",
    cancel_transfer: "Take the caller back", my_figures: "My figures today",
    average_ring: "Average ring time", ronas: "RONAs", forbidden_text: "This page is not for your role.",
    back: "Back", sl_by_hour: "Service level by hour (today)",
    answers_by_ring: "Answers by ring (today)", ring_n: "ring {n}", later: "later",
    target: "target", confirm_whisper: "Whisper to agent {a}? The agent will hear you.",
    confirm_barge: "Barge into agent {a}'s call? Caller and agent will hear you.",
    confirm_logout: "Log agent {a} out? Calls will no longer be offered to them.",
    done: "Done.", failed: "Failed: {m}", login_failed: "Login failed: {m}",
    logged_out: "logged out", available: "available", ringing: "ringing", on_call: "on call",
    wrapup: "wrap-up", paused: "paused", queued: "queued", offering: "ringing an agent",
    talking: "talking", on_hold: "on hold", transferring: "transferring",
    connecting: "connecting", live: "live", reconnecting: "reconnecting",
    no_phone: "No phone is configured for you (users[].device).",
  },
  zh: {
    console: "热线控制台", user: "用户名", password: "密码", log_in: "登录", log_out: "退出",
    other_language: "English", wallboard: "监控大屏", agent_panel: "坐席面板", agents: "坐席",
    agent: "坐席", state: "状态", since: "持续", reason: "暂停原因", current_call: "当前通话",
    answered_today: "今日接听", ronas_today: "今日未接 (RONA)", actions: "操作", calls: "通话",
    queue: "队列", caller: "来电号码", waited: "等待时长", talk_time: "通话时长", monitoring: "监听",
    session: "会话", mode: "方式", started_by: "发起人", cancel: "取消", confirm: "确认",
    waiting: "排队中", longest_wait: "最长等待", answered: "已接听", abandoned: "放弃",
    service_level: "服务水平", within_rings: "{x} 声内接听", average_wait: "平均等待",
    agents_in: "在线 / 空闲坐席", listen: "监听", whisper: "耳语", barge: "强插", stop: "停止",
    pause: "暂停", unpause: "恢复", force_logout: "签出", end_wrapup: "结束话后处理",
    agent_log_in: "签入接听", agent_log_out: "签出", agent_id: "工号", pin: "密码 (PIN)",
    my_state: "我的状态", no_call: "当前没有通话。", wait_before_answer: "接听前等待",
    greeting: "播放的问候语", transfer: "转接", blind: "直接转接", attended: "咨询转接",
    transfer_to: "转接", complete: "完成转接", cancel_transfer: "取回来电",
    my_figures: "我的今日数据", average_ring: "平均振铃时长", ronas: "未接 (RONA)",
    forbidden_text: "您的角色无权访问此页面。", back: "返回", sl_by_hour: "今日每小时服务水平",
    answers_by_ring: "今日按振铃声数接听", ring_n: "第 {n} 声", later: "更晚", target: "目标",
    confirm_whisper: "对坐席 {a} 耳语？坐席会听到您的声音。",
    confirm_barge: "强插坐席 {a} 的通话？来电者和坐席都会听到您。",
    confirm_logout: "签出坐席 {a}？之后不再向其分配来电。",
    done: "完成。", failed: "失败：{m}", login_failed: "登录失败：{m}",
    logged_out: "已签出", available: "空闲", ringing: "振铃中", on_call: "通话中",
    wrapup: "话后处理", paused: "暂停", queued: "排队中", offering: "振铃坐席",
    talking: "通话中", on_hold: "保持中", transferring: "转接中",
    connecting: "连接中", live: "实时", reconnecting: "重新连接中",
    no_phone: "未为您配置电话 (users[].device)。",
  },
};

const Hotline = {
  lang: localStorage.getItem("hotline-lang") ||
    ((navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh"),
  session: null,

  t(key, values) {
    let text = (LABELS[this.lang] && LABELS[this.lang][key]) || LABELS.en[key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.replaceAll(`{${k}}`, String(v));
    return text;
  },

  applyLabels(root) {
    document.documentElement.lang = this.lang;
    for (const el of (root || document).querySelectorAll("[data-i18n]")) {
      el.textContent = this.t(el.dataset.i18n);
    }
  },

  setupLanguage(onChange) {
    this.applyLabels();
    const button = document.getElementById("lang");
    if (button) {
      button.addEventListener("click", () => {
        this.lang = this.lang === "zh" ? "en" : "zh";
        localStorage.setItem("hotline-lang", this.lang);
        this.applyLabels();
        if (onChange) onChange();
      });
    }
  },

  async loadSession() {
    const reply = await fetch("/console/api/session", { credentials: "same-origin" });
    if (reply.status === 401) {
      location.assign("/console/login");
      throw new Error("not logged in");
    }
    if (!reply.ok) throw new Error(`session: ${reply.status}`);
    this.session = await reply.json();
    const org = document.getElementById("org");
    if (org) org.textContent = this.session.organisation;
    const who = document.getElementById("who");
    if (who) who.textContent = `${this.session.user} (${this.session.role})`;
    const logout = document.getElementById("logout");
    if (logout) logout.addEventListener("click", () => this.logout());
    return this.session;
  },

  async post(path, body) {
    const init = {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": this.session ? this.session.csrf : "" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const reply = await fetch(path, init);
    let data = null;
    try { data = await reply.json(); } catch (e) { data = null; }
    if (!reply.ok) {
      const error = new Error((data && data.detail) || `HTTP ${reply.status}`);
      error.status = reply.status;
      throw error;
    }
    return data;
  },

  async logout() {
    try { await this.post("/console/logout"); } finally { location.assign("/console/login"); }
  },

  say(text, bad) {
    const el = document.getElementById("message");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !!bad);
  },

  async act(path, body, okText) {
    try {
      const result = await this.post(path, body);
      this.say(okText || this.t("done"));
      return result;
    } catch (e) {
      this.say(this.t("failed", { m: e.message }), true);
      return null;
    }
  },

  // durations as m:ss or h:mm:ss
  duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? `${h}:` : "") + `${mm}:${String(r).padStart(2, "0")}`;
  },

  percent(ratio) {
    return ratio === null || ratio === undefined ? "—" : `${Math.round(ratio * 100)}%`;
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  },
};

// The live store: a snapshot, then deltas in order. EventSource reconnects by itself and
// sends the last id it got (Last-Event-ID): the engine answers with the deltas missed
// ("resumed") or, if it cannot, a new snapshot. `stats` proves nothing was lost or doubled.
class LiveStore {
  constructor(onChange) {
    this.items = new Map();
    this.seq = null;
    this.offset = 0; // server clock - local clock, seconds
    this.onChange = onChange;
    this.stats = { snapshots: 0, resumes: 0, deltas: 0, gaps: 0, duplicates: 0, errors: 0 };
    this.source = null;
  }

  now() { return Date.now() / 1000 + this.offset; }

  clock(data) { if (typeof data.now === "number") this.offset = data.now - Date.now() / 1000; }

  status(state) {
    const el = document.getElementById("conn");
    if (el) { el.dataset.state = state; el.textContent = Hotline.t(state); }
  }

  start() {
    this.status("connecting");
    const source = this.source = new EventSource("/console/api/events");
    source.addEventListener("open", () => this.status("live"));
    source.addEventListener("snapshot", (e) => {
      const data = JSON.parse(e.data);
      this.clock(data);
      this.items = new Map(Object.entries(data.items));
      this.seq = data.seq;
      this.stats.snapshots += 1;
      this.changed();
    });
    source.addEventListener("resumed", (e) => {
      const data = JSON.parse(e.data);
      this.clock(data);
      if (data.seq !== this.seq) this.stats.gaps += 1;
      this.stats.resumes += 1;
    });
    source.addEventListener("delta", (e) => {
      const data = JSON.parse(e.data);
      this.clock(data);
      if (this.seq !== null && data.seq <= this.seq) { this.stats.duplicates += 1; return; }
      if (data.after !== this.seq) this.stats.gaps += 1;
      if (data.value === null) this.items.delete(data.key);
      else this.items.set(data.key, data.value);
      this.seq = data.seq;
      this.stats.deltas += 1;
      this.changed();
    });
    source.addEventListener("error", () => {
      this.stats.errors += 1;
      if (source.readyState === EventSource.CLOSED) {
        // refused (logged out, session over): back to the login form
        location.assign("/console/login");
      } else {
        this.status("reconnecting");
      }
    });
  }

  changed() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.onChange(this); });
  }

  all(prefix) {
    const out = [];
    for (const [key, value] of this.items) if (key.startsWith(prefix)) out.push(value);
    return out;
  }

  get(key) { return this.items.get(key); }
}

window.Hotline = Hotline;
window.LiveStore = LiveStore;
