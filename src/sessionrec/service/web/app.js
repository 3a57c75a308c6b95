// The sessionrec web page: one session per tab, every action re-ranks the slate.
// Plain DOM code, no build step; user-supplied text is only ever set as textContent.
"use strict";

const SLATE_SIZE = 10;
const SVG_NS = "http://www.w3.org/2000/svg";
const state = {
  sessionId: null, token: null, request: null,
  titles: new Map(),
  feedback: new Map(), // item id -> "like" | "dislike": the person's standing feedback
  notice: null, // what the next announcement starts with ("Removed your like of …")
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function setStatus(message) { $("status").textContent = message || ""; }
// Said by screen readers (a polite live region); a pending note goes with the next update.
function announce(message) {
  $("slate-announcement").textContent = [state.notice, message].filter(Boolean).join(" ");
  state.notice = null;
}

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

// Text helpers --------------------------------------------------------------------------
const capitalise = (text) => text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
const sentence = (text) => {
  const trimmed = capitalise(text.trim());
  return /[.!?。！？]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};
const titleOf = (itemId) => state.titles.get(itemId) || `item ${itemId}`;

// "Horror · Thriller", then the catalogue's attributes: "1995" for a year, "Brand Acme".
function describeFacts(categories, attributes) {
  const facts = el("div", { class: "facts" });
  (categories || []).forEach((c) => facts.append(el("span", { class: "tag", text: c })));
  Object.entries(attributes || {}).forEach(([name, value]) => {
    facts.append(el("span", { class: "attr", "data-attribute": name },
      el("span", { class: "attr-name", text: capitalise(name) }), document.createTextNode(` ${value}`)));
  });
  return facts;
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
  state.feedback.clear();
  $("new-session").dataset.ready = "1";
  document.querySelector('[data-testid="session-id"]').textContent = state.sessionId.slice(0, 10) + "…";
}

const sessionPath = (suffix = "") => `/v1/sessions/${encodeURIComponent(state.sessionId)}${suffix}`;

// Actions on items ------------------------------------------------------------------------
// Like and dislike are toggles: pressing a pressed one takes the feedback back (the API
// removes it from the session), pressing the other one replaces it.
let acting = Promise.resolve();
function act(itemId, kind) {
  // One action at a time, in order: a quick second press never overtakes the first.
  acting = acting.then(() => perform(itemId, kind));
  return acting;
}

async function perform(itemId, kind) {
  setStatus("");
  const title = titleOf(itemId);
  try {
    if (kind === "click") {
      await api("POST", sessionPath("/events"), { events: [{ item_id: itemId, type: "click" }] });
    } else {
      const current = state.feedback.get(itemId);
      if (current) await api("DELETE", sessionPath(`/feedback/${encodeURIComponent(itemId)}`));
      if (current === kind) {
        state.feedback.delete(itemId);
        state.notice = `Removed your ${kind} of ${title}.`;
      } else {
        await api("POST", sessionPath("/feedback"), { item_id: itemId, kind });
        state.feedback.set(itemId, kind);
        state.notice = `${kind === "like" ? "Liked" : "Disliked"} ${title}.`;
      }
      syncFeedbackButtons();
    }
    await refresh();
  } catch (error) { setStatus(error.message); }
}

function feedbackLabel(kind, itemId, pressed) {
  const title = titleOf(itemId);
  if (pressed) return `Undo ${kind} of ${title}`;
  return `${kind === "like" ? "Like" : "Dislike"} ${title}`;
}

function setFeedbackButton(button) {
  const { itemId, kind } = button.dataset;
  const pressed = state.feedback.get(itemId) === kind;
  button.setAttribute("aria-pressed", String(pressed));
  button.setAttribute("aria-label", feedbackLabel(kind, itemId, pressed));
  button.title = pressed ? `Undo your ${kind}` : capitalise(kind);
  button.querySelector(".label").textContent = pressed ? (kind === "like" ? "Liked" : "Disliked")
    : capitalise(kind);
}

function syncFeedbackButtons() {
  document.querySelectorAll("button[data-kind='like'], button[data-kind='dislike']").forEach(setFeedbackButton);
}

const ICONS = { click: "↗", like: "♥", dislike: "⊘" };

function actionButtons(itemId) {
  const button = (kind, text) => {
    const node = el("button", {
      type: "button", class: `action ${kind}`, "data-testid": `${kind}-button`,
      "data-item-id": itemId, "data-kind": kind, onclick: () => act(itemId, kind),
    }, el("span", { class: "icon", "aria-hidden": "true", text: ICONS[kind] }),
    el("span", { class: "label", text }));
    if (kind === "click") {
      node.setAttribute("aria-label", `Open ${titleOf(itemId)}`);
      node.title = "Open (counts as a click)";
    } else setFeedbackButton(node);
    return node;
  };
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
      return el("li", { class: "card", "data-testid": "catalogue-item", "data-item-id": item.item_id },
        el("h3", { class: "title", text: item.title || item.item_id }),
        describeFacts(item.categories, item.attributes),
        actionButtons(item.item_id));
    }));
    if (!data.items.length) list.append(el("li", { class: "hint", text: "Nothing found." }));
  } catch (error) { setStatus(error.message); }
}

// Slate, interests, events ------------------------------------------------------------------
// The reasons as prose: "Close to “Blood Manor”, which you liked. For your interest in Horror."
function reasonsParagraph(reasons) {
  const box = el("p", { class: "reasons", "data-testid": "reasons" });
  reasons.forEach((r, i) => {
    if (i) box.append(document.createTextNode(" "));
    box.append(el("span", { "data-testid": "reason", "data-kind": r.kind, text: sentence(r.text) }));
  });
  return reasons.length ? box : null;
}

function renderSlate(slate) {
  const list = $("slate");
  list.replaceChildren(...slate.items.map((item) => {
    state.titles.set(item.item_id, item.title);
    // The service says which interest an item may be tagged with: the one it belongs to,
    // only where the item has the category that interest is named by.
    const interest = item.interest_label || null;
    return el("li", { class: "card", "data-testid": "slate-item", "data-item-id": item.item_id },
      el("div", { class: "card-head" },
        el("h3", { class: "title", text: item.title || item.item_id }),
        interest ? el("span", { class: "slate-interest", text: `for ${interest}` }) : null),
      describeFacts(item.categories, item.attributes),
      reasonsParagraph(item.reasons),
      item.explanation ? el("p", { class: "explanation", "data-testid": "explanation", text: sentence(item.explanation) }) : null,
      actionButtons(item.item_id));
  }));
  if (!slate.items.length) list.append(el("li", { class: "hint empty", text: "No items match." }));
  list.dataset.version = String(Number(list.dataset.version) + 1);
  const n = slate.items.length;
  announce(n ? `${n} suggestion${n === 1 ? "" : "s"} updated.` : "No suggestions match.");
}

// How the engine read the typed request, as chips: "Horror", "not Comedy", "year 1970–1979".
function understoodChips(understood) {
  if (!understood) return [];
  const chips = [];
  const chip = (kind, text, key) => chips.push(el("li", { class: `chip chip-${kind}`, "data-testid": "understood-chip", "data-kind": kind },
    key ? el("span", { class: "chip-key", text: key }) : null, document.createTextNode((key ? " " : "") + text)));
  const number = (x) => Number.isInteger(x) ? String(x) : String(Math.round(x * 100) / 100);
  understood.include.forEach((c) => chip("include", c));
  understood.exclude.forEach((c) => chip("exclude", `not ${c}`));
  Object.entries(understood.ranges).forEach(([name, [lo, hi]]) => {
    if (lo !== null && hi !== null) chip("range", lo === hi ? number(lo) : `${number(lo)}–${number(hi)}`, name);
    else if (lo !== null) chip("range", `from ${number(lo)}`, name);
    else if (hi !== null) chip("range", `up to ${number(hi)}`, name);
  });
  Object.entries(understood.values).forEach(([name, values]) => chip("value", values.join(" or "), name));
  Object.entries(understood.exclude_values).forEach(([name, values]) => chip("exclude", `not ${values.join(" or ")}`, name));
  (understood.loose || []).forEach((c) => chip("loose", `maybe ${c}`));
  if (understood.soft) chip("soft", `“${understood.soft}”`);
  if (understood.avoid) chip("exclude", `avoiding “${understood.avoid}”`);
  return chips;
}

function renderUnderstood(slate) {
  const box = $("request-understood");
  const chips = understoodChips(slate.understood);
  const notes = (slate.notes || []).map(sentence).join(" ");
  $("understood-chips").replaceChildren(...chips);
  $("understood-chips").hidden = !chips.length;
  $("understood-notes").textContent = notes;
  box.hidden = !chips.length && !notes;
}

function renderInterests(interests) {
  const box = $("interests");
  if (!interests.length) {
    box.replaceChildren(el("p", { class: "hint", text: "Interact with a few items to see them." }));
    return;
  }
  const rowHeight = 28, labelWidth = 104, width = 260;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "interest-chart");
  svg.setAttribute("viewBox", `0 0 ${width} ${interests.length * rowHeight}`);
  svg.setAttribute("data-testid", "interests-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Weights of the session's interests: " +
    interests.map((i) => `${i.label} ${Math.round(i.weight * 100)}%`).join(", "));
  interests.forEach((interest, i) => {
    const y = i * rowHeight;
    const bar = document.createElementNS(SVG_NS, "rect");
    const barWidth = Math.max(2, (width - labelWidth - 40) * interest.weight);
    Object.entries({ x: labelWidth, y: y + 5, width: barWidth, height: rowHeight - 10, rx: 3 })
      .forEach(([k, v]) => bar.setAttribute(k, String(v)));
    bar.setAttribute("data-testid", "interest-bar");
    bar.setAttribute("data-weight", String(interest.weight));
    const members = interest.item_ids.map(titleOf).join(", ");
    const tip = document.createElementNS(SVG_NS, "title");
    tip.textContent = `${interest.label}: ${members}`;
    bar.append(tip);
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("x", "0"); label.setAttribute("y", String(y + rowHeight / 2 + 4));
    label.textContent = interest.label.length > 15 ? interest.label.slice(0, 14) + "…" : interest.label;
    const value = document.createElementNS(SVG_NS, "text");
    value.setAttribute("x", String(labelWidth + barWidth + 4)); value.setAttribute("y", String(y + rowHeight / 2 + 4));
    value.textContent = `${Math.round(interest.weight * 100)}%`;
    svg.append(bar, label, value);
  });
  box.replaceChildren(svg);
}

const EVENT_WORDS = { view: "Viewed", click: "Opened", like: "Liked", dislike: "Disliked", skip: "Skipped", cart: "Added to cart", purchase: "Bought" };

function renderEvents(session) {
  // The standing feedback is the session's own: the latest like or dislike of each item
  // (a retracted one is gone from the log).
  state.feedback.clear();
  session.events.forEach((e) => { if (e.type === "like" || e.type === "dislike") state.feedback.set(e.item_id, e.type); });
  syncFeedbackButtons();
  const list = $("events");
  list.replaceChildren(...session.events.slice(-30).reverse().map((event) =>
    el("li", { "data-testid": "event", "data-type": event.type },
      el("span", { class: `type type-${event.type}`, text: EVENT_WORDS[event.type] || capitalise(event.type) }),
      document.createTextNode(` ${titleOf(event.item_id)}`))));
  if (!session.events.length) list.append(el("li", { class: "hint", text: "Nothing yet." }));
}

let refreshing = Promise.resolve();
function refresh() {
  // One refresh at a time, in order: a slow response never overwrites a newer one.
  refreshing = refreshing.then(async () => {
    const body = { k: SLATE_SIZE, explain: true };
    if (state.request) body.query = state.request;
    try {
      const [slate, session] = [await api("POST", sessionPath("/recommendations"), body), await api("GET", sessionPath())];
      renderEvents(session);
      renderSlate(slate);
      renderUnderstood(slate);
      renderInterests(slate.interests);
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
    const active = $("request-active");
    active.replaceChildren();
    // Chinese text marked as such picks the Simplified Chinese glyphs of the font stack.
    const lang = /[\u3400-\u9fff]/.test(text) ? "zh-Hans" : null;
    if (text) active.append(document.createTextNode("Following your request: "), el("q", { lang, text }));
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
