// The sessionrec web page: one session per tab, every action re-ranks the slate.
// Plain DOM code, no build step; user-supplied text is only ever set as textContent.
"use strict";

const SLATE_SIZE = 10;
const SVG_NS = "http://www.w3.org/2000/svg";
const state = { sessionId: null, token: null, request: null, titles: new Map() };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function setStatus(message) { $("status").textContent = message || ""; }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message || `${method} ${path}: HTTP ${response.status}`);
    error.status = response.status;
    error.code = data?.error?.code;
    throw error;
  }
  return data;
}

// Session --------------------------------------------------------------------------------
async function startSession(forceNew = false) {
  const saved = JSON.parse(sessionStorage.getItem("sessionrec") || "null");
  if (saved && !forceNew) {
    Object.assign(state, { sessionId: saved.sessionId, token: saved.token });
    try { await api("GET", `/v1/sessions/${encodeURIComponent(state.sessionId)}`); }
    catch (error) { if ([401, 403, 404].includes(error.status)) return startSession(true); throw error; }
  } else {
    state.token = null;
    const created = await api("POST", "/v1/sessions");
    Object.assign(state, { sessionId: created.session_id, token: created.token });
    sessionStorage.setItem("sessionrec", JSON.stringify({ sessionId: state.sessionId, token: state.token }));
  }
  $("new-session").dataset.ready = "1";
  document.querySelector('[data-testid="session-id"]').textContent = state.sessionId.slice(0, 10) + "…";
}

const sessionPath = (suffix = "") => `/v1/sessions/${encodeURIComponent(state.sessionId)}${suffix}`;

// Actions on items ------------------------------------------------------------------------
async function act(itemId, kind) {
  setStatus("");
  try {
    if (kind === "click") await api("POST", sessionPath("/events"), { events: [{ item_id: itemId, type: "click" }] });
    else await api("POST", sessionPath("/feedback"), { item_id: itemId, kind });
    await refresh();
  } catch (error) { setStatus(error.message); }
}

function actionButtons(itemId) {
  const button = (kind, label) => el("button", {
    type: "button", class: kind, "data-testid": `${kind}-button`, "data-item-id": itemId,
    title: `${label} this item`, onclick: () => act(itemId, kind), text: label,
  });
  return el("div", { class: "actions" }, button("click", "Open"), button("like", "Like"), button("dislike", "Dislike"));
}

// Catalogue -------------------------------------------------------------------------------
async function loadCatalogue(query) {
  const q = (query || "").trim();
  const params = new URLSearchParams({ limit: "20" });
  if (q) params.set("query", q);
  try {
    const data = await api("GET", `/v1/items?${params}`);
    $("catalogue-hint").textContent = q ? `Results for “${q}”` : "Most popular items";
    const list = $("catalogue");
    list.replaceChildren(...data.items.map((item) => {
      state.titles.set(item.item_id, item.title);
      return el("li", { "data-testid": "catalogue-item", "data-item-id": item.item_id },
        el("div", { class: "title", text: item.title || item.item_id }),
        el("div", { class: "meta", text: item.categories.join(" · ") }),
        actionButtons(item.item_id));
    }));
    if (!data.items.length) list.append(el("li", { class: "hint", text: "Nothing found." }));
  } catch (error) { setStatus(error.message); }
}

// Slate, interests, events ------------------------------------------------------------------
function renderSlate(slate) {
  const list = $("slate");
  list.replaceChildren(...slate.items.map((item) => {
    state.titles.set(item.item_id, item.title);
    const reasons = el("ul", { class: "reasons", "data-testid": "reasons" },
      ...item.reasons.map((r) => el("li", { "data-testid": "reason", "data-kind": r.kind, text: r.text })));
    // An item picked only because it matches the typed request serves no session interest.
    const requestOnly = item.reasons.length > 0 && item.reasons.every((r) => r.kind === "request");
    const interest = requestOnly || item.interest === null || item.interest === undefined
      ? null : slate.interests[item.interest];
    return el("li", { "data-testid": "slate-item", "data-item-id": item.item_id },
      el("span", { class: "score", "data-testid": "score", text: item.score.toFixed(3) }),
      el("div", { class: "title", text: item.title || item.item_id },
        interest ? el("span", { class: "slate-interest", text: `for: ${interest.label}` }) : null),
      reasons, actionButtons(item.item_id));
  }));
  if (!slate.items.length) list.append(el("li", { class: "hint", text: "No items match." }));
  list.dataset.version = String(Number(list.dataset.version) + 1);
}

// How the engine read the typed request: "Understood: Horror · not Comedy · year 1970–1979".
function describeUnderstood(understood) {
  if (!understood) return "";
  const parts = [];
  if (understood.include.length) parts.push(understood.include.join(" + "));
  understood.exclude.forEach((c) => parts.push(`not ${c}`));
  Object.entries(understood.ranges).forEach(([name, [lo, hi]]) => {
    if (lo !== null && hi !== null) parts.push(`${name} ${lo}–${hi}`);
    else if (lo !== null) parts.push(`${name} from ${lo}`);
    else if (hi !== null) parts.push(`${name} up to ${hi}`);
  });
  Object.entries(understood.values).forEach(([name, values]) => parts.push(`${name}: ${values.join(" or ")}`));
  Object.entries(understood.exclude_values).forEach(([name, values]) => parts.push(`${name} not ${values.join(" or ")}`));
  if (understood.soft) parts.push(`“${understood.soft}”`);
  return parts.length ? `Understood: ${parts.join(" · ")}` : "";
}

function renderUnderstood(slate) {
  const box = $("request-understood");
  const text = describeUnderstood(slate.understood);
  const notes = (slate.notes || []).join(" ");
  box.textContent = [text, notes].filter(Boolean).join(" — ");
  box.hidden = !box.textContent;
}

function renderInterests(interests) {
  const box = $("interests");
  if (!interests.length) {
    box.replaceChildren(el("p", { class: "hint", text: "Interact with a few items to see them." }));
    return;
  }
  const rowHeight = 26, labelWidth = 120, width = 300;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "interest-chart");
  svg.setAttribute("viewBox", `0 0 ${width} ${interests.length * rowHeight}`);
  svg.setAttribute("data-testid", "interests-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Weights of the session's interests");
  interests.forEach((interest, i) => {
    const y = i * rowHeight;
    const bar = document.createElementNS(SVG_NS, "rect");
    const barWidth = Math.max(2, (width - labelWidth - 40) * interest.weight);
    Object.entries({ x: labelWidth, y: y + 5, width: barWidth, height: rowHeight - 10, rx: 3 })
      .forEach(([k, v]) => bar.setAttribute(k, String(v)));
    bar.setAttribute("data-testid", "interest-bar");
    bar.setAttribute("data-weight", String(interest.weight));
    const members = interest.item_ids.map((id) => state.titles.get(id) || id).join(", ");
    const tip = document.createElementNS(SVG_NS, "title");
    tip.textContent = `${interest.label}: ${members}`;
    bar.append(tip);
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("x", "0"); label.setAttribute("y", String(y + rowHeight / 2 + 4));
    label.textContent = interest.label.length > 18 ? interest.label.slice(0, 17) + "…" : interest.label;
    const value = document.createElementNS(SVG_NS, "text");
    value.setAttribute("x", String(labelWidth + barWidth + 4)); value.setAttribute("y", String(y + rowHeight / 2 + 4));
    value.textContent = `${Math.round(interest.weight * 100)}%`;
    svg.append(bar, label, value);
  });
  box.replaceChildren(svg);
}

function renderEvents(session) {
  const list = $("events");
  list.replaceChildren(...session.events.slice(-30).reverse().map((event) =>
    el("li", { "data-testid": "event", "data-type": event.type },
      el("span", { class: `type type-${event.type}`, text: event.type }),
      document.createTextNode(state.titles.get(event.item_id) || event.item_id))));
}

let refreshing = Promise.resolve();
function refresh() {
  // One refresh at a time, in order: a slow response never overwrites a newer one.
  refreshing = refreshing.then(async () => {
    const body = { k: SLATE_SIZE, explain: true };
    if (state.request) body.query = state.request;
    try {
      const slate = await api("POST", sessionPath("/recommendations"), body);
      renderSlate(slate);
      renderUnderstood(slate);
      renderInterests(slate.interests);
      renderEvents(await api("GET", sessionPath()));
    } catch (error) { setStatus(error.message); }
  });
  return refreshing;
}

// Wiring ------------------------------------------------------------------------------------
function wire() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    loadCatalogue($("search-input").value);
  });
  $("request-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("request-input").value.trim();
    state.request = text || null;
    $("request-active").textContent = text ? `Following your request: “${text}”` : "";
    setStatus("");
    refresh();
  });
  $("request-clear").addEventListener("click", () => {
    $("request-input").value = "";
    state.request = null;
    $("request-active").textContent = "";
    refresh();
  });
  $("new-session").addEventListener("click", async () => {
    try { await api("DELETE", sessionPath()); } catch (error) { /* already gone */ }
    sessionStorage.removeItem("sessionrec");
    await startSession(true);
    await refresh();
  });
}

async function main() {
  wire();
  try {
    await startSession();
    await Promise.all([loadCatalogue(""), refresh()]);
    document.body.dataset.ready = "1";
  } catch (error) { setStatus(`Could not start a session: ${error.message}`); }
}

main();
