// voicekit mock dashboard: reads /dashboard/state, follows /dashboard/events (server-sent events) and drives the
// control API. Plain DOM, no build step. Every value shown comes from the server and is inserted as text.
"use strict";

const MAX_STREAM = 200;
const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem("voicekit-token") || "";

function token() { return tokenInput.value.trim(); }
function headers() {
  const h = { "Content-Type": "application/json" };
  if (token()) h.Authorization = "Bearer " + token();
  return h;
}
function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function say(text, isError) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

async function control(method, path, body) {
  const response = await fetch("/control" + path, {
    method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.statusMessage || ("HTTP " + response.status));
  return data;
}
function act(label, promise) {
  promise.then((data) => { say(label + ": " + JSON.stringify(data)); refresh(); })
    .catch((err) => say(label + " failed: " + err.message, true));
}

// ---- state -----------------------------------------------------------------------------------------------------
let pending = null;
function refresh() {
  if (pending) return;
  pending = setTimeout(load, 150);  // coalesce bursts of notifications into one read
}
async function load() {
  pending = null;
  const q = token() ? "?token=" + encodeURIComponent(token()) : "";
  const response = await fetch("/dashboard/state" + q, { cache: "no-store" });
  if (!response.ok) { say("state: HTTP " + response.status + " (control token?)", true); return; }
  render(await response.json());
}

function caps(list) {
  const cell = el("td");
  (list || []).forEach((c) => cell.appendChild(el("span", c, "cap")));
  return cell;
}
function row(cells, attrs) {
  const tr = el("tr");
  Object.entries(attrs || {}).forEach(([k, v]) => tr.setAttribute(k, v));
  cells.forEach((c) => tr.appendChild(c instanceof Node ? c : el("td", c)));
  return tr;
}
function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}

function render(state) {
  const gws = state.gws || {};
  document.getElementById("voice-service").textContent = gws.voiceService || "?";
  const agents = [];
  const targets = [];
  (gws.agents || []).forEach((agent) => {
    const devices = agent.devices.length ? agent.devices : [null];
    devices.forEach((d) => {
      const user = d && d.userState ? d.userState : {};
      agents.push(row([agent.userName, d ? d.phoneNumber : "—",
        el("td", [user.state, user.workMode].filter(Boolean).join(" / "), "state"),
        d ? d.doNotDisturb : "", d ? (d.forwardTo || "") : "", caps(d ? d.capabilities : [])],
        { "data-user": agent.userName, "data-state": user.state || "" }));
      if (d) targets.push([d.phoneNumber, agent.userName + " (" + d.phoneNumber + ")"]);
    });
  });
  fill("agents", agents);
  (gws.queues || []).forEach((q) => targets.push(["queue:" + q, "queue " + q]));
  const select = document.getElementById("offer-to");
  const chosen = select.value;
  select.replaceChildren(...targets.map(([value, label]) => { const o = el("option", label); o.value = value; return o; }));
  if (chosen) select.value = chosen;

  fill("calls", (gws.calls || []).map((call) => {
    const farEnd = el("td");
    if ((call.external || []).length) {
      const answer = el("button", "answer");
      answer.dataset.action = "answer";
      answer.onclick = () => act("far end answers", control("POST", "/gws/calls/" + call.connId + "/answer"));
      const hangup = el("button", "hang up");
      hangup.dataset.action = "hangup";
      hangup.onclick = () => act("far end hangs up", control("POST", "/gws/calls/" + call.connId + "/hangup"));
      farEnd.append(answer, hangup);
    }
    return row([call.device, el("td", call.id, "mono"), el("td", call.state, "state"), call.callType,
      (call.participants || []).join(", "), el("td", JSON.stringify(call.userData || {}), "mono"),
      caps(call.capabilities), farEnd], { "data-call": call.id, "data-device": call.device,
      "data-state": call.state, "data-capabilities": (call.capabilities || []).join(",") });
  }));

  const scenario = state.scenario || {};
  document.getElementById("scenario-name").textContent = scenario.name
    ? scenario.name + (scenario.running ? " — running" : " — stopped") : "none loaded (voicekit mock --scenario FILE)";
  document.getElementById("scenario-log").replaceChildren(
    ...(scenario.log || []).slice().reverse().slice(0, 50).map((l) => el("li", l.t + " s  " + l.text)));

  fill("bus-agents", (state.connect || []).map((a) => row([a.id, (a.state || {}).label || a.status,
    a.contact ? JSON.stringify(a.contact) : "", a.sockets])));
  fill("conversations", (state.platform || []).map((c) => row([el("td", c.id, "mono"),
    c.participants.map((p) => p.purpose + ":" + p.state).join(", ")])));
}

// ---- live stream -----------------------------------------------------------------------------------------------
function push(listId, text, cls) {
  const list = document.getElementById(listId);
  const item = el("li", text, cls);
  list.prepend(item);
  while (list.children.length > MAX_STREAM) list.lastChild.remove();
}
let source = null;
function follow() {
  if (source) source.close();
  const q = token() ? "?token=" + encodeURIComponent(token()) : "";
  source = new EventSource("/dashboard/events" + q);
  const badge = document.getElementById("connection");
  source.addEventListener("hello", () => { badge.textContent = "live"; badge.className = "badge on"; load(); });
  source.onerror = () => { badge.textContent = "reconnecting…"; badge.className = "badge off"; };
  source.addEventListener("notification", (e) => {
    const n = JSON.parse(e.data);
    const type = (n.data && (n.data.messageType || n.data.notificationType || n.data.subtopic)) || "";
    push("notifications", new Date().toLocaleTimeString() + " " + n.system + " " + n.channel + " " + type +
      (n.audience ? " → " + n.audience : "") + "\n" + JSON.stringify(n.data).slice(0, 600));
    refresh();
  });
  source.addEventListener("journal", (e) => {
    const j = JSON.parse(e.data);
    const problems = (j.violations || []).map((v) => v.rule + " " + v.message +
      (v.sources && v.sources[0] ? " [" + v.sources[0].document + " l." + v.sources[0].lines.join("-") + "]" : ""));
    push("journal", j.method + " " + j.path + " → " + j.status + "  " + (j.operationName || j.operation || "") +
      "  " + (j.user || "") + (problems.length ? "\n  ✗ " + problems.join("\n  ✗ ") : "  ✓"),
      j.ok ? "" : "violation");
    refresh();
  });
  source.addEventListener("overflow", () => load());
  source.addEventListener("scenario", () => refresh());
}

// ---- buttons ---------------------------------------------------------------------------------------------------
document.getElementById("scenario-stop").onclick = () => act("scenario stopped", control("DELETE", "/scenario"));
document.getElementById("reset").onclick = () => act("reset", control("POST", "/reset"));
document.getElementById("voice-down").onclick = () =>
  act("voice service down", control("PUT", "/gws/services/voice", { state: "Inactive" }));
document.getElementById("voice-up").onclick = () =>
  act("voice service up", control("PUT", "/gws/services/voice", { state: "Active" }));
document.getElementById("offer-form").onsubmit = (e) => {
  e.preventDefault();
  const to = document.getElementById("offer-to").value;
  const body = { from: document.getElementById("offer-from").value.trim() };
  if (to.startsWith("queue:")) body.queue = to.slice(6); else body.to = to;
  act("call offered", control("POST", "/gws/calls", body));
};
document.getElementById("fault-form").onsubmit = (e) => {
  e.preventDefault();
  const body = { kind: document.getElementById("fault-kind").value };
  const operation = document.getElementById("fault-operation").value.trim();
  if (operation) body.operation = operation;
  if (body.kind === "latency") body.delayMs = Number(document.getElementById("fault-delay").value);
  act("fault queued", control("POST", "/gws/faults", body));
};
document.getElementById("agent-form").onsubmit = (e) => {
  e.preventDefault();
  act("agent created", control("POST", "/gws/agents", { userName: document.getElementById("agent-user").value.trim(),
    password: "password", phoneNumber: document.getElementById("agent-phone").value.trim() }));
};
tokenInput.onchange = () => { sessionStorage.setItem("voicekit-token", token()); follow(); };

follow();
