// The citizen's live page: keeps the server-rendered page current over /qa, asks, votes.
//
// Every text shown comes from the server (config.t); user text goes in with textContent only.
// Questions asked while the connection is down wait in localStorage and are sent again, with
// the same client_id, once the page has re-joined: the server returns the stored question
// instead of making a second one.
//
// Without the socket script (it failed to load) or without a connection that ever worked, the
// page keeps its plain forms: asking, changing and withdrawing post as they would with no
// script at all, and votes go through the JSON API.

import {
  QaStream, bdi, el, format, readConfig, reloadButton, sortQuestions, timeFormatter, userText,
} from "./qa_stream.js";
import { PollsView } from "./polls.js";
import { renderFactsList, renderTitle } from "./session_facts.js";
import { buildPhoto, renderMaterials, setStream } from "./media.js";

const config = readConfig("live-config");
const t = config.t;
const when = timeFormatter(config.timezone);
const PENDING_KEY = `qa_live:pending:${config.slug}`;
const VOTED_KEY = `qa_live:voted:${config.slug}`;
const $ = (id) => document.getElementById(id);
const ANSWERED_KEY = "qa_live:answered-seen";
// The socket script did not load (blocked, failed on a bad line): keep the plain forms.
const plain = typeof window.io !== "function";
const csrfInput = document.querySelector("input[name=csrf_token][form=ask-form]");
const csrfToken = csrfInput ? csrfInput.value : "";

// Storage that may be missing (private browsing) ---------------------------------------------

function load(key, fallback) {
  try {
    const raw = window.localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch (_error) {
    return fallback;
  }
}

function save(key, value) {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch (_error) {
    // Without storage a question is only retried while the page stays open.
  }
}

function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();  // secure contexts (https, localhost) only
  }
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) {
    window.crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// State ----------------------------------------------------------------------------------------

let order = config.sort === "votes" ? "votes" : "newest";
const filter = {
  text: (config.filter && config.filter.q) || "",
  show: (config.filter && config.filter.show) || "all",
};
const voted = new Set([...(config.voted || []), ...load(VOTED_KEY, [])]);
let pending = load(PENDING_KEY, []).filter((q) => q && typeof q.client_id === "string");
const sending = new Set();
const caches = {
  questions: new Map(), posts: new Map(), mine: new Map(), unanswered: new Map(), photos: new Map(),
};

const stream = new QaStream(config, {
  onChange: render,
  onStatus: showConnection,
  onJoined: sendPending,
  onMine: noticeAnswer,
});
window.qaStream = stream;  // a handle for the browser console and the browser tests
const polls = new PollsView(stream, {
  list: $("poll-list"), section: $("polls"), t: config.poll_t, mine: config.my_polls,
  answerable: true,
});

// Drop what the server already has (it was acknowledged just before the page was left).
const known = new Set([...stream.mine.values()].map((q) => q.client_id));
pending = pending.filter((q) => !known.has(q.client_id));
save(PENDING_KEY, pending);

// Drawing --------------------------------------------------------------------------------------

function timeNode(iso, withDate = false) {
  const node = el("time", "", when(iso, withDate));
  if (iso) node.dateTime = iso;
  return node;
}

function buildAnswers(answers) {
  const list = el("ol", "answers");
  for (const a of answers) {
    const item = el("li", `answer kind-${a.kind}`);
    const meta = el("p", "a-meta");
    meta.append(el("strong", "", a.kind === "follow_up" ? t.follow_up_answer : t.answer));
    if (a.guest) {
      // A guest's answer typed by a text editor: the guest's name and title, as on the page.
      const guest = el("span", "a-guest");
      guest.append(el("bdi", "a-guest-name", a.guest.name));
      if (a.guest.title) guest.append(" ", el("bdi", "a-guest-title", a.guest.title));
      meta.append(" ", guest);
    }
    if (a.department) meta.append(" ", userText("span", "a-dept", a.department));
    meta.append(" ", timeNode(a.created_at, a.kind === "follow_up"));
    item.append(meta, userText("p", "a-body", a.body));
    list.append(item);
  }
  return list;
}

function buildQuestion(q, live) {
  const item = el("li", q.pinned ? "question is-pinned" : "question");
  item.id = `q-${q.id}`;
  item.dataset.id = String(q.id);
  const meta = el("p", "q-meta");
  meta.append(userText("span", "q-author", q.nickname || t.citizen), " ",
    timeNode(q.published_at || q.created_at));
  if (q.department) meta.append(" ", userText("span", "tag", q.department));
  if (q.pinned) meta.append(" ", el("span", "badge badge-pinned", t.pinned));
  if (q.source === "advance") meta.append(" ", el("span", "badge", t.advance));
  if (q.needs_follow_up) meta.append(" ", el("span", "badge badge-follow", t.follow_up));
  item.append(meta, userText("p", "q-text", q.text));
  if (q.answers && q.answers.length) item.append(buildAnswers(q.answers));
  const actions = el("div", "q-actions");
  if (live) {
    const mine = voted.has(q.id);
    const button = el("button", "vote");
    button.type = "button";
    button.dataset.vote = String(q.id);
    button.dataset.focus = "vote";
    button.setAttribute("aria-pressed", mine ? "true" : "false");
    button.append(el("span", "vote-label", mine ? t.upvoted : t.upvote), " ",
      el("span", "vote-count", q.upvotes));
    actions.append(button);
  } else {
    actions.append(el("span", "vote-static", format(t.votes, { n: q.upvotes })));
  }
  item.append(actions);
  return item;
}

function buildPost(p) {
  const item = el("li", `post kind-${p.kind}${p.pinned ? " is-pinned" : ""}`);
  item.id = `post-${p.id}`;
  const meta = el("p", "post-meta");
  meta.append(el("span", `badge badge-${p.kind}`, p.kind === "policy" ? t.policy : t.notice));
  if (p.pinned) meta.append(" ", el("span", "badge badge-pinned", t.pinned));
  meta.append(" ", timeNode(p.created_at));
  item.append(meta, userText("p", "post-body", p.body));
  return item;
}

function buildMine(q) {
  const item = el("li", "mine-item");
  item.id = `mine-${q.id}`;
  item.dataset.clientId = q.client_id;
  item.append(userText("p", "q-text", q.original_text),
    el("p", `status status-${q.status}`, q.status_label));
  if ((q.status === "approved" || q.status === "answered") && q.text !== q.original_text) {
    const hint = el("p", "hint", `${t.published_as} `);
    hint.append(bdi(q.text));
    item.append(hint);
  }
  if (q.answers && q.answers.length) item.append(buildAnswers(q.answers));
  if (q.status === "pending" && stream.session.state === "live" && typeof q.link === "string"
      && q.link.startsWith("/q/")) {
    item.append(buildOwnControls(q));
  }
  if (typeof q.link === "string" && q.link.startsWith("/q/")) {
    const line = el("p", "mine-link");
    const link = el("a", "", t.follow_link);
    link.href = q.link;
    line.append(link);
    item.append(line);
  }
  return item;
}

/** The same plain forms the server renders (live/_items.html): they work without the socket. */
function buildOwnControls(q) {
  const back = encodeURIComponent(`${window.location.pathname}${window.location.search}#mine`);
  const box = el("div", "mine-actions");
  const csrf = () => {
    const input = el("input");
    input.type = "hidden";
    input.name = "csrf_token";
    input.value = csrfToken;
    return input;
  };
  const edit = el("details", "mine-edit");
  const editSummary = el("summary", "button small", t.change);
  editSummary.dataset.focus = "edit";
  const editForm = el("form", "edit-form");
  editForm.method = "post";
  editForm.action = `${q.link}/edit?next=${back}`;
  editForm.noValidate = true;
  editForm.dataset.question = String(q.id);
  const label = el("label", "", t.your_question);
  label.htmlFor = `edit-${q.id}`;
  const area = el("textarea");
  area.id = `edit-${q.id}`;
  area.name = "text";
  area.rows = 3;
  area.maxLength = config.question_max;
  area.value = q.original_text;
  const editError = el("p", "error");
  editError.setAttribute("role", "alert");
  editError.hidden = true;
  const save = el("button", "button small primary", t.save_change);
  save.type = "submit";
  editForm.append(csrf(), label, area, editError, save);
  edit.append(editSummary, editForm);

  const withdraw = el("details", "mine-withdraw");
  const withdrawSummary = el("summary", "button small danger", t.withdraw);
  withdrawSummary.dataset.focus = "withdraw";
  const withdrawForm = el("form", "withdraw-form");
  withdrawForm.method = "post";
  withdrawForm.action = `${q.link}/withdraw?next=${back}`;
  withdrawForm.dataset.question = String(q.id);
  const withdrawError = el("p", "error");
  withdrawError.setAttribute("role", "alert");
  withdrawError.hidden = true;
  const yes = el("button", "button small danger", t.withdraw_yes);
  yes.type = "submit";
  withdrawForm.append(csrf(), el("p", "", t.withdraw_confirm), withdrawError, yes);
  withdraw.append(withdrawSummary, withdrawForm);
  box.append(edit, withdraw);
  return box;
}

function buildPending(q) {
  const item = el("li", "mine-item is-sending");
  item.dataset.clientId = q.client_id;
  item.append(userText("p", "q-text", q.text),
    el("p", "status status-sending", sending.has(q.client_id) ? t.sending : t.queued));
  return item;
}

function buildUnanswered(q) {
  const item = el("li");
  item.append(userText("span", "q-author", q.nickname || t.citizen), " ",
    userText("span", "q-text", q.text));
  return item;
}

/** What to focus in a rebuilt item: the data-focus name of the focused element inside it. */
function focusKeyIn(node) {
  const active = document.activeElement;
  if (!active || active === document.body || !node.contains(active)) return null;
  const marked = active.closest("[data-focus]");
  return marked && node.contains(marked) ? marked.dataset.focus : null;
}

/** Put the items in the list in order, rebuilding only those whose data changed. */
function renderKeyed(list, cache, items, idOf, keyOf, build) {
  const seen = new Set();
  let previous = null;
  for (const item of items) {
    const id = idOf(item);
    const key = keyOf(item);
    seen.add(id);
    let entry = cache.get(id);
    if (!entry || entry.key !== key) {
      const node = build(item);
      if (entry) {
        // Keep the keyboard where it was: a rebuilt item gets its focus back (the vote button
        // that was just pressed, an open form), and an open <details> stays open.
        const focus = focusKeyIn(entry.node);
        const open = [...entry.node.querySelectorAll("details[open]")].map((d) => d.className);
        const typed = [...entry.node.querySelectorAll("textarea")].map((a) => a.value);
        entry.node.replaceWith(node);
        for (const name of open) {
          const details = node.querySelector(`details.${name.split(" ")[0]}`);
          if (details) details.open = true;
        }
        node.querySelectorAll("textarea").forEach((area, i) => {
          if (typed[i] !== undefined && open.length) area.value = typed[i];
        });
        if (focus) {
          const target = node.querySelector(`[data-focus="${focus}"]`);
          if (target) target.focus();
        }
      }
      entry = { key, node };
      cache.set(id, entry);
    }
    const wanted = previous ? previous.nextSibling : list.firstChild;
    if (wanted !== entry.node) list.insertBefore(entry.node, wanted);
    previous = entry.node;
  }
  for (const [id, entry] of cache) {
    if (!seen.has(id)) {
      entry.node.remove();
      cache.delete(id);
    }
  }
}

function render() {
  const session = stream.session;
  const live = session.state === "live";
  const root = $("live");
  root.dataset.state = session.state;
  const badge = $("state-badge");
  badge.textContent = config.states[session.state] || session.state;
  badge.className = `state-badge state-${session.state}`;
  $("ended-banner").hidden = live || session.state === "announced";
  const ask = $("ask");
  if (ask) ask.hidden = !live;
  renderTitle(session);
  renderFactsList(session, t);
  setStream(live ? session.stream_url : null, "hls", config.hls_src);

  const photos = [...stream.photos.values()].sort((a, b) => b.id - a.id);
  $("photos").hidden = photos.length === 0 && !live;
  $("photos-empty").hidden = photos.length > 0;
  renderKeyed($("photo-list"), caches.photos, photos, (p) => p.id, (p) => JSON.stringify(p),
    (p) => buildPhoto(p, when, t));
  renderMaterials(stream.materials, t);
  polls.render();

  for (const name of ["online", "participant_visits", "questions", "answered"]) {
    const value = stream.counts[name];
    if (value !== undefined) $(`count-${name}`).textContent = String(value);
  }

  const posts = [...stream.posts.values()].sort((a, b) => b.id - a.id)
    .sort((a, b) => Number(b.pinned) - Number(a.pinned));
  $("posts").hidden = posts.length === 0;
  renderKeyed($("post-list"), caches.posts, posts, (p) => p.id, (p) => JSON.stringify(p),
    buildPost);

  const questions = sortQuestions([...stream.questions.values()], order);
  const shown = questions.filter(matchesFilter);
  const filtering = Boolean(filter.text) || filter.show !== "all";
  $("stream-empty").hidden = questions.length > 0;
  $("filter-empty").hidden = !(questions.length > 0 && shown.length === 0);
  const count = $("filter-count");
  count.hidden = !filtering;
  count.textContent = filtering ? format(t.filter_count, { n: shown.length, total: questions.length }) : "";
  renderKeyed($("question-list"), caches.questions, shown, (q) => q.id,
    (q) => `${live}|${voted.has(q.id)}|${JSON.stringify(q)}`, (q) => buildQuestion(q, live));

  const unanswered = questions.filter((q) => q.status === "approved");
  $("unanswered").hidden = live || session.state === "announced";
  $("unanswered-empty").hidden = unanswered.length > 0;
  renderKeyed($("unanswered-list"), caches.unanswered, unanswered, (q) => q.id,
    (q) => `${q.nickname}|${q.text}`, buildUnanswered);

  const mine = [...stream.mine.values()].sort((a, b) =>
    (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : b.id - a.id));
  const have = new Set(mine.map((q) => q.client_id));
  const waiting = pending.filter((q) => !have.has(q.client_id)).reverse();
  const items = [...waiting.map((q) => ({ pending: true, q })),
    ...mine.map((q) => ({ pending: false, q }))];
  $("mine").hidden = items.length === 0;
  renderKeyed($("my-list"), caches.mine, items,
    (x) => (x.pending ? `c:${x.q.client_id}` : `q:${x.q.id}`),
    (x) => (x.pending ? `p|${sending.has(x.q.client_id)}` : `${live}|${JSON.stringify(x.q)}`),
    (x) => (x.pending ? buildPending(x.q) : buildMine(x.q)));
  showNotifyOffer();
}

// Connection banner ----------------------------------------------------------------------------

let wasDown = false;
let bannerTimer = null;

function showConnection(status, message) {
  const banner = $("conn-banner");
  clearTimeout(bannerTimer);
  if (status === "connected") {
    if (wasDown) {
      banner.textContent = t.reconnected;
      banner.dataset.kind = "ok";
      banner.hidden = false;
      bannerTimer = setTimeout(() => { banner.hidden = true; }, 2500);
    } else {
      banner.hidden = true;
    }
    wasDown = false;
    return;
  }
  wasDown = true;
  const warn = status === "reconnecting" || status === "wait" || status === "unavailable";
  banner.replaceChildren(status === "reconnecting" ? t.reconnecting
    : status === "unavailable" ? (message || t.unavailable) : (message || t.reload));
  banner.dataset.kind = warn ? "warn" : "error";
  if (status === "reload") banner.append(" ", reloadButton(t.reload_button));
  banner.hidden = false;
  render();  // questions being sent now wait: say so
}

let toastTimer = null;

function toast(message) {
  const node = $("toast");
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 4000);
}

// Sorting --------------------------------------------------------------------------------------

for (const link of document.querySelectorAll(".sort [data-sort]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    order = link.dataset.sort;
    for (const other of document.querySelectorAll(".sort [data-sort]")) {
      if (other === link) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    }
    const url = new URL(window.location.href);
    url.searchParams.set("sort", order);
    window.history.replaceState(null, "", url);
    render();
  });
}

// Voting ---------------------------------------------------------------------------------------

const voting = new Set();

function applyVote(id, ack) {
  if (ack.ok || ack.error === "already_voted") {
    voted.add(id);
    save(VOTED_KEY, [...voted]);
    const question = stream.questions.get(id);
    if (question && ack.ok) question.upvotes = ack.upvotes;
  }
  if (!ack.ok && ack.error !== "already_voted") toast(ack.message || t.failed);
  render();
}

/** A vote without the socket: the JSON API, which takes the same visitor cookie. */
function voteByApi(id) {
  return fetch(`/api/v1/sessions/${encodeURIComponent(config.slug)}/questions/${id}/vote`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: "{}",
  }).then((response) => response.json().then((body) => (
    response.ok ? { ok: true, upvotes: body.upvotes } : { ok: false, ...body })));
}

$("question-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-vote]");
  if (!button) return;
  const id = Number(button.dataset.vote);
  // Not `disabled`: a disabled button drops the keyboard focus (aria-disabled keeps it).
  if (voted.has(id) || voting.has(id)) return;
  const done = () => {
    voting.delete(id);
    button.removeAttribute("aria-disabled");
  };
  if (plain || stream.unreachable) {
    voting.add(id);
    button.setAttribute("aria-disabled", "true");
    voteByApi(id).then((ack) => { done(); applyVote(id, ack); })
      .catch(() => { done(); toast(t.failed); });
    return;
  }
  if (!stream.ready) {
    toast(t.reconnecting);
    return;
  }
  voting.add(id);
  button.setAttribute("aria-disabled", "true");
  stream.emit("vote", { question_id: id }, (error, ack) => {
    done();
    if (error) {
      toast(t.failed);
      return;
    }
    applyVote(id, ack);
  });
});

// Asking ---------------------------------------------------------------------------------------

const form = $("ask-form");

function cleanText(value) {
  return String(value || "").replace(/\r\n?/g, "\n").trim();
}

function clearErrors() {
  if (!form) return;
  for (const node of form.querySelectorAll(".field .error")) node.remove();
  for (const node of form.querySelectorAll(".field.has-error")) node.classList.remove("has-error");
  $("ask-error").hidden = true;
}

function showErrors(fields, message) {
  let shown = false;
  for (const [name, text] of Object.entries(fields || {})) {
    const input = form.elements.namedItem(name);
    const field = input && input.closest && input.closest(".field");
    if (!field) continue;
    field.classList.add("has-error");
    const note = el("p", "error", text);
    note.setAttribute("role", "alert");
    field.append(note);
    shown = true;
  }
  if (!shown) {
    const box = $("ask-error");
    box.textContent = message || t.failed;
    box.hidden = false;
  }
}

function say(message) {
  const box = $("ask-status");
  box.textContent = message;
  box.hidden = !message;
}

function checkLocally(entry) {
  const errors = {};
  const length = [...entry.text].length;
  if (!entry.text) errors.text = t.text_empty;
  else if (length < config.question_min) errors.text = format(t.text_short, { n: config.question_min });
  else if (length > config.question_max) {
    errors.text = format(t.text_long, { n: config.question_max, len: length });
  }
  if ([...entry.nickname].length > config.nickname_max) {
    errors.nickname = format(t.nickname_long, { n: config.nickname_max });
  }
  if (entry.phone && !new RegExp(config.phone_pattern).test(entry.phone)) errors.phone = t.phone_bad;
  return errors;
}

function forget(clientId) {
  pending = pending.filter((q) => q.client_id !== clientId);
  save(PENDING_KEY, pending);
}

function fillForm(entry) {
  form.elements.namedItem("text").value = entry.text;
  form.elements.namedItem("nickname").value = entry.nickname || "";
  form.elements.namedItem("phone").value = entry.phone || "";
}

/** Send one question; `typed` says it came from the form just now (not a retry). */
function send(entry, typed) {
  const payload = { client_id: entry.client_id, text: entry.text };
  if (entry.nickname) payload.nickname = entry.nickname;
  if (entry.phone) payload.phone = entry.phone;
  sending.add(entry.client_id);
  render();
  stream.emit("ask", payload, (error, ack) => {
    sending.delete(entry.client_id);
    if (typed) $("ask-submit").disabled = false;
    if (error) {
      // Lost or unanswered: it stays in storage and goes again after the next join.
      if (typed) {
        form.elements.namedItem("text").value = "";
        say(stream.ready ? t.no_reply : t.queued);
      }
      if (stream.ready) {
        // Still connected but no answer: try once more in a while (a re-join also retries).
        setTimeout(() => {
          const waiting = pending.some((q) => q.client_id === entry.client_id);
          if (waiting && stream.ready && !sending.has(entry.client_id)) send(entry, false);
        }, 5000);
      }
      render();
      return;
    }
    if (!ack.ok && ack.error === "unavailable") {
      // Not stored (the server's database is out for a moment): it stays queued and goes
      // again shortly with the same client_id.
      if (typed) {
        form.elements.namedItem("text").value = "";
        say(t.unavailable);
      }
      setTimeout(() => {
        const waiting = pending.some((q) => q.client_id === entry.client_id);
        if (waiting && stream.ready && !sending.has(entry.client_id)) send(entry, false);
      }, 5000);
      render();
      return;
    }
    forget(entry.client_id);
    if (ack.ok) {
      stream.upsertMine(ack.question);
      if (typed) {
        form.elements.namedItem("text").value = "";
        say(t.received);
      }
    } else {
      // Refused (too short, too fast, session over…): give the text back to edit.
      const textBox = form && form.elements.namedItem("text");
      if (form && (typed || !cleanText(textBox.value))) fillForm(entry);
      if (form) {
        clearErrors();
        say("");
        showErrors(ack.fields, ack.message);
      }
    }
    render();
  });
}

function sendPending() {
  for (const entry of pending) {
    if (!sending.has(entry.client_id)) send(entry, false);
  }
}

if (form) {
  form.addEventListener("submit", (event) => {
    // No socket script, or a connection that never worked: the form posts as it is.
    if (plain || stream.unreachable) return;
    event.preventDefault();
    clearErrors();
    say("");
    const entry = {
      client_id: newClientId(),
      text: cleanText(form.elements.namedItem("text").value),
      nickname: cleanText(form.elements.namedItem("nickname").value),
      phone: String(form.elements.namedItem("phone").value || "").replace(/[\s-]/g, ""),
    };
    const errors = checkLocally(entry);
    if (Object.keys(errors).length) {
      showErrors(errors);
      return;
    }
    pending.push(entry);
    save(PENDING_KEY, pending);
    if (!stream.ready) {
      form.elements.namedItem("text").value = "";
      say(t.queued);
      render();
      return;
    }
    $("ask-submit").disabled = true;
    send(entry, true);
  });
}

// Start ----------------------------------------------------------------------------------------

// Changing and withdrawing one's own question -------------------------------------------------

function formError(formNode, message) {
  const box = formNode.querySelector(".error");
  box.textContent = message || "";
  box.hidden = !message;
}

$("my-list").addEventListener("submit", (event) => {
  const formNode = event.target.closest("form.edit-form, form.withdraw-form");
  // Without a live connection the form posts as it is (the same operation, by its private link).
  if (!formNode || !stream.ready) return;
  event.preventDefault();
  const id = Number(formNode.dataset.question);
  const editing = formNode.classList.contains("edit-form");
  const data = { question_id: id };
  if (editing) data.text = cleanText(formNode.elements.namedItem("text").value);
  formError(formNode, "");
  stream.emit(editing ? "edit" : "withdraw", data, (error, ack) => {
    if (error) {
      formError(formNode, t.failed);
      return;
    }
    if (!ack.ok) {
      formError(formNode, (ack.fields && ack.fields.text) || ack.message || t.failed);
      return;
    }
    if (editing) {
      stream.upsertMine(ack.question);
      formNode.closest("details").open = false;
      toast(t.changed);
    } else {
      stream.mine.delete(id);
      toast(t.withdrawn);
    }
    render();
  });
});

// Search and filter ------------------------------------------------------------------------------

function matchesFilter(q) {
  if (filter.show === "answered" && q.status !== "answered") return false;
  if (filter.show === "waiting" && q.status === "answered") return false;
  if (!filter.text) return true;
  const haystack = [q.text, q.nickname || "", q.department || "",
    ...(q.answers || []).map((a) => a.body)].join(" ").toLowerCase();
  return filter.text.toLowerCase().split(/\s+/).every((word) => haystack.includes(word));
}

function readFilter() {
  filter.text = $("stream-q").value.trim().replace(/\s+/g, " ").slice(0, 100);
  filter.show = $("stream-show").value;
  const url = new URL(window.location.href);
  if (filter.text) url.searchParams.set("q", filter.text);
  else url.searchParams.delete("q");
  if (filter.show !== "all") url.searchParams.set("show", filter.show);
  else url.searchParams.delete("show");
  window.history.replaceState(null, "", url);
  render();
}

$("stream-q").addEventListener("input", readFilter);
$("stream-show").addEventListener("change", readFilter);
$("stream-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  readFilter();
});

// Told when one's question is answered ------------------------------------------------------------

const seenAnswered = new Set(load(ANSWERED_KEY, []));
for (const q of stream.mine.values()) if (q.status === "answered") seenAnswered.add(q.id);
save(ANSWERED_KEY, [...seenAnswered].slice(-200));

function noticeAnswer(question, before) {
  if (!question || question.status !== "answered" || seenAnswered.has(question.id)) return;
  if (before && before.status === "answered") return;
  seenAnswered.add(question.id);
  save(ANSWERED_KEY, [...seenAnswered].slice(-200));
  const here = before !== undefined;  // a question of this page's session (else another one)
  $("answered-text").textContent = `${t.answered_notice} ${question.original_text || question.text}`;
  const link = $("answered-link");
  link.textContent = t.show_answer;
  link.href = here ? `#mine-${question.id}` : question.link;
  $("answered-banner").hidden = false;
  if ("Notification" in window && window.Notification.permission === "granted") {
    try {
      const note = new window.Notification(t.answered_title, {
        body: question.original_text || question.text, tag: `qa-answer-${question.id}`,
      });
      note.onclick = () => { window.focus(); window.location.href = question.link; };
    } catch (_error) {
      // Some phones only notify from a service worker: the banner on the page remains.
    }
  }
}

function showNotifyOffer() {
  const line = $("notify-line");
  const waiting = [...stream.mine.values()].some((q) => q.status === "pending" || q.status === "approved")
    || pending.length > 0;
  if (!("Notification" in window) || plain || !waiting) {
    line.hidden = true;
    return;
  }
  const permission = window.Notification.permission;
  const button = $("notify-button");
  button.textContent = t.notify_me;
  button.hidden = permission !== "default";
  $("notify-state").textContent = permission === "granted" ? t.notify_on
    : permission === "denied" ? t.notify_denied : "";
  line.hidden = false;
}

$("notify-button").addEventListener("click", () => {
  const asked = window.Notification.requestPermission();
  if (asked && typeof asked.then === "function") asked.then(showNotifyOffer);
});

// Start ----------------------------------------------------------------------------------------

if (plain) {
  // No live updates: the page shows the snapshot it came with; asking, changing and
  // withdrawing post their forms, votes use the API, search works.
  $("conn-banner").textContent = t.plain_mode;
  $("conn-banner").dataset.kind = "warn";
  $("conn-banner").hidden = false;
}
for (const id of ["post-list", "question-list", "unanswered-list", "my-list", "photo-list"]) {
  $(id).replaceChildren();  // the script draws from here on, from the same snapshot
}
render();
if (!plain) stream.connect();
