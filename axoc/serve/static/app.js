// The dashboard of axoc serve: runs, schedules, and the selected run's lattice, live.
// Talks to the daemon's own API only (no CDN, no other origin); text from the daemon is
// always set as text, never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { token: sessionStorage.getItem("axoc-token"), selected: null, stream: null, drawn: null };

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    document.getElementById("token-form").hidden = false;
    throw new Error("a bearer token is needed");
  }
  return response;
}

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function refreshHealth() {
  try {
    const health = await (await api("/health")).json();
    document.getElementById("health").textContent =
      `${health.config} · ${health.live_runs} live run(s)`;
    const select = document.getElementById("target");
    const wanted = health.workflows || [];
    if (select.options.length !== wanted.length) {
      select.replaceChildren(...wanted.map((w) => el("option", { value: w }, w)));
    }
  } catch (error) {
    document.getElementById("health").textContent = `not connected: ${error.message}`;
  }
}

async function refreshRuns() {
  let runs;
  try {
    runs = (await (await api("/runs")).json()).runs;
  } catch (error) {
    return;
  }
  const list = document.getElementById("runs");
  list.replaceChildren(...runs.slice(0, 200).map((run) => {
    const item = el("li", { "data-run-id": run.run_id });
    item.append(el("span", {}, `${run.target} · ${run.run_id.slice(9, 15)}`),
                el("span", { class: "status" }, run.status));
    if (run.run_id === state.selected) item.classList.add("selected");
    item.addEventListener("click", () => select(run.run_id));
    return item;
  }));
  if (state.selected === null && runs.length) {  // the run going on, else the newest
    const going = runs.find((r) => r.status === "running" || r.status === "queued");
    select((going || runs[0]).run_id);
  }
}

async function refreshSchedules() {
  let listed;
  try {
    listed = await (await api("/schedules")).json();
  } catch (error) {
    return;
  }
  const body = document.querySelector("#schedules tbody");
  body.replaceChildren(...listed.schedules.map((s) => {
    const row = el("tr", { "data-schedule": s.id });
    const wait = Math.max(0, s.next - Date.now() / 1000);
    row.append(el("td", {}, `${s.id} → ${s.target}`), el("td", {}, `${s.every} s`),
               el("td", { class: "next" }, `${wait.toFixed(0)} s`));
    return row;
  }));
}

async function select(runId) {
  state.selected = runId;
  if (state.stream) state.stream.abort();
  document.querySelectorAll("#runs li").forEach((li) =>
    li.classList.toggle("selected", li.dataset.runId === runId));
  document.getElementById("run-title").textContent = `Run ${runId}`;
  const response = await api(`/runs/${runId}/lattice`);
  if (!response.ok) {
    document.getElementById("run-status").textContent = (await response.json()).error.message;
    return;
  }
  const found = await response.json();
  draw(found.drawing);
  apply(found.board, found.status);
  follow(runId);
}

function draw(drawing) {
  const { width: w, height: h } = drawing.node;
  const margin = 12;
  const svg = el("svg:svg", {
    viewBox: `${-margin} ${-margin} ${drawing.width + 2 * margin} ${drawing.height + 2 * margin}`,
    width: drawing.width + 2 * margin, role: "img",
  });
  const defs = el("svg:defs");
  const marker = el("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
                                    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(el("svg:path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c8c96" }));
  defs.append(marker);
  svg.append(defs);
  const at = Object.fromEntries(drawing.nodes.map((n) => [n.id, n]));
  for (const edge of drawing.edges) {
    const a = at[edge.from], b = at[edge.to];
    if (!a || !b) continue;
    const x1 = a.x + w, y1 = a.y + h / 2, x2 = b.x, y2 = b.y + h / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    const path = el("svg:path", { class: "edge", "marker-end": "url(#arrow)",
                                  d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
    path.append(el("svg:title", {}, edge.label));
    svg.append(path);
  }
  for (const node of drawing.nodes) {
    const group = el("svg:g", { class: node.agent ? "node st-waiting" : "node source",
                                transform: `translate(${node.x},${node.y})` });
    if (node.agent) group.dataset.agent = node.agent;
    group.append(el("svg:rect", { class: "box", width: w, height: h }));
    group.append(el("svg:text", { x: 8, y: 16 }, node.label));
    node.units.forEach((unit, i) => {
      const y = 26 + i * 14;
      if (y > h - 6) return;
      group.append(el("svg:rect", { class: "bar", x: 8, y, width: 70, height: 8 }));
      group.append(el("svg:rect", { class: "fill", x: 8, y, width: 0, height: 8, "data-unit": unit.id }));
      group.append(el("svg:text", { class: "level", x: 84, y: y + 8, "data-unit": unit.id,
                                    "data-threshold": unit.threshold }, `0 / ${unit.threshold}`));
    });
    svg.append(group);
  }
  const holder = document.getElementById("lattice");
  holder.replaceChildren(svg);
  state.drawn = drawing;
}

function apply(board, status) {
  if (status) document.getElementById("run-status").textContent = status;
  if (!board) return;
  for (const node of document.querySelectorAll("#lattice g.node[data-agent]")) {
    const now = board.status[node.dataset.agent] || "waiting";
    node.setAttribute("class", `node st-${now}`);
  }
  for (const text of document.querySelectorAll("#lattice text.level")) {
    const unit = text.dataset.unit, threshold = Number(text.dataset.threshold);
    const level = board.level[unit] || 0;
    text.textContent = `${+level.toFixed(3)} / ${threshold}`;
    const fill = document.querySelector(`#lattice rect.fill[data-unit="${CSS.escape(unit)}"]`);
    if (fill) fill.setAttribute("width", 70 * Math.min(1, threshold > 0 ? level / threshold : 0));
  }
  const body = document.querySelector("#tokens tbody");
  body.replaceChildren(...Object.entries(board.tokens).map(([agent, used]) => {
    const row = el("tr", { "data-agent": agent });
    row.append(el("td", {}, agent), el("td", {}, String(used)));
    return row;
  }));
}

async function follow(runId) {
  const controller = new AbortController();
  state.stream = controller;
  let response;
  try {
    response = await api(`/runs/${runId}/board`, { signal: controller.signal });
  } catch (error) {
    return;
  }
  if (!response.ok || !response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const message = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = message.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (!data || state.selected !== runId) continue;
        const update = JSON.parse(data);
        apply(update.board, update.status);
      }
    }
  } catch (error) {
    if (error.name !== "AbortError") console.warn(error);
  }
}

document.getElementById("run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const shown = document.getElementById("run-error");
  shown.textContent = "";
  const body = { workflow: document.getElementById("target").value,
                 input: document.getElementById("input").value,
                 dry_run: document.getElementById("dry").checked };
  try {
    const response = await api("/runs", { method: "POST", body: JSON.stringify(body),
                                          headers: { "Content-Type": "application/json" } });
    const answer = await response.json();
    if (!response.ok) { shown.textContent = answer.error.message; return; }
    await refreshRuns();
    select(answer.run_id);
  } catch (error) {
    shown.textContent = error.message;
  }
});

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = document.getElementById("token").value;
  sessionStorage.setItem("axoc-token", state.token);
  document.getElementById("token-form").hidden = true;
  tick();
});

function tick() {
  refreshHealth();
  refreshRuns();
  refreshSchedules();
}

tick();
setInterval(refreshRuns, 2000);
setInterval(refreshHealth, 5000);
setInterval(refreshSchedules, 5000);
