/* qa_live console: the studio's panels, beside console.js.
 *
 * The review queue of a reviewed session (reviewers approve, edit and approve, or send back;
 * authors see the state of what they sent and send it again) and the director's projector
 * choice (docs/realtime.md). console.js owns the socket and the state; it tells this script
 * through "console:*" events on #console. User text only ever goes in through textContent.
 */
(function () {
  "use strict";

  const root = document.getElementById("console");
  const api = window.qaConsole;
  if (!root || !api) return;
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const T = cfg.t;
  const {state, request, el, fmt, iso, button, showTime, announce} = api;
  const $ = (id) => document.getElementById(id);
  const forms = new Map(); // review item id -> {kind: "edit"|"return"|"resubmit", text}

  // -- the review queue -----------------------------------------------------------------------

  function mine(item) { return state.me && item.author_id === state.me.id; }

  function visibleItems() {
    const items = [...state.reviews.values()];
    // Reviewers see the whole queue; others what they sent.
    const shown = state.me.can_review ? items : items.filter(mine);
    return shown.sort((a, b) => (a.submitted_at > b.submitted_at ? 1 : -1) || a.id - b.id);
  }

  function describe(item) {
    const f = item.fields || {};
    const parts = [];
    if (item.kind === "answer") {
      parts.push(el("p", {class: "review-what"}, fmt(T.review_for_question, {id: item.question_id})));
      const q = state.questions.get(item.question_id);
      if (q) parts.push(el("p", {class: "review-question muted", dir: "auto"}, q.text));
    } else if (item.kind === "post") {
      parts.push(el("p", {class: "review-what"}, fmt(T.review_post_kind, {kind: f.post_kind === "notice" ? T.notice : T.policy})));
    } else if (item.kind === "photo") {
      // A photo waiting for review: its preview (served to the session's staff only) and,
      // below, its caption as the text to approve.
      parts.push(el("p", {class: "review-what"}, item.kind_label || item.kind));
      if (f.preview) parts.push(el("img", {class: "review-photo", src: f.preview, alt: "", width: 240, loading: "lazy"}));
    } else {
      parts.push(el("p", {class: "review-what"}, item.kind_label || item.kind));
    }
    if (f.guest) parts.push(el("p", {class: "review-guest"}, fmt(T.review_guest, {name: iso(f.guest.name), title: iso(f.guest.title || "")})));
    return parts;
  }

  function itemNode(item) {
    const node = el("li", {class: "review-item review-" + item.state, id: "review-" + item.id,
      data: {reviewId: String(item.id), kind: item.kind}});
    node.append(...describe(item));
    node.append(el("p", {class: "review-meta muted"}, fmt(T.review_by, {name: iso(item.author_name || "?"), time: showTime(item.submitted_at)})));
    node.append(el("p", {class: "review-body", dir: "auto"}, item.body));
    node.append(el("p", {class: "review-state"}, item.state === "returned"
      ? fmt(T.review_state_returned, {reason: iso(item.reason)}) : T.review_state_pending));
    const open = forms.get(item.id);
    if (open) node.append(itemForm(item, open));
    else node.append(actions(item));
    node.append(el("p", {class: "action-error", role: "alert"}));
    return node;
  }

  function actions(item) {
    const row = el("div", {class: "q-actions"});
    if (item.state === "pending" && state.me.can_review) {
      if (mine(item)) row.append(el("span", {class: "muted small"}, T.review_own));
      else {
        row.append(button(T.review_approve, {class: "button small primary", data: {reviewAction: "approve"}}));
        row.append(button(T.review_edit, {data: {reviewAction: "edit"}}));
        row.append(button(T.review_return, {class: "button small danger", data: {reviewAction: "return"}}));
      }
    }
    if (item.state === "returned" && mine(item)) {
      row.append(button(T.review_resubmit, {class: "button small primary", data: {reviewAction: "resubmit"}}));
    }
    return row;
  }

  function itemForm(item, form) {
    const node = el("form", {class: "inline-form review-form", novalidate: true});
    const areaId = "review-text-" + item.id;
    const area = el("textarea", {id: areaId, rows: form.kind === "return" ? "2" : "4"});
    area.value = form.text;
    area.addEventListener("input", () => { form.text = area.value; });
    const label = form.kind === "return" ? T.review_reason : T.review_text;
    const submitLabel = {edit: T.review_approve, "return": T.review_return, resubmit: T.send_for_review}[form.kind];
    const submit = el("button", {type: "submit", class: "button small " + (form.kind === "return" ? "danger" : "primary")}, submitLabel);
    const cancel = button(T.cancel);
    cancel.addEventListener("click", () => { forms.delete(item.id); render(); });
    node.append(el("label", {for: areaId}, label), area, el("div", {class: "form-row"}, [submit, cancel]));
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = {item_id: item.id};
      if (form.kind === "return") data.reason = area.value;
      else data.body = area.value;
      const name = {edit: "review_approve", "return": "review_return", resubmit: "review_resubmit"}[form.kind];
      await send(item.id, name, data, submit);
    });
    node.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); cancel.click(); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); node.requestSubmit(); }
    });
    window.setTimeout(() => area.focus(), 0);
    return node;
  }

  async function send(id, name, data, busy) {
    const node = $("review-" + id);
    const error = node && node.querySelector(".action-error");
    if (error) error.textContent = "";
    busy.disabled = true;
    const ack = await request(name, data);
    busy.disabled = false;
    if (!ack.ok) {
      const again = $("review-" + id);
      if (again) again.querySelector(".action-error").textContent = ack.message;
      return;
    }
    forms.delete(id);
    // The "review" event updates the list; the ack does too, in case it arrives first.
    if (ack.item) {
      if (ack.item.state === "approved") state.reviews.delete(ack.item.id);
      else state.reviews.set(ack.item.id, ack.item);
    }
    render();
  }

  function render() {
    const card = $("review-card");
    if (!state.me || !state.session) return;
    const items = visibleItems();
    card.hidden = !(state.session.reviewed || items.length);
    $("review-count").textContent = String(items.length);
    $("review-hint").textContent = state.me.can_review ? T.review_hint_reviewer : T.review_hint_author;
    const list = $("review-list");
    const active = document.activeElement;
    if (active && list.contains(active) && active.closest("form")) return; // do not yank a form
    list.replaceChildren(...items.map(itemNode));
    if (!items.length) list.append(el("li", {class: "muted"}, T.review_none));
  }

  $("review-list").addEventListener("click", (event) => {
    const trigger = event.target.closest("button[data-review-action]");
    if (!trigger) return;
    const node = trigger.closest("[data-review-id]");
    const item = state.reviews.get(Number(node.dataset.reviewId));
    if (!item) return;
    const action = trigger.dataset.reviewAction;
    if (action === "approve") { send(item.id, "review_approve", {item_id: item.id}, trigger); return; }
    forms.set(item.id, {kind: action, text: action === "return" ? "" : item.body});
    render();
  });

  // -- the projector --------------------------------------------------------------------------

  function screenText(choice) {
    if (!choice || choice.kind === "latest") return T.screen_latest;
    if (choice.kind === "qr") return T.screen_qr;
    if (choice.kind === "question") return fmt(T.screen_question, {id: choice.id});
    if (choice.kind === "post") {
      const post = state.posts.get(choice.id);
      const text = post ? (post.body.length > 40 ? post.body.slice(0, 40) + "…" : post.body) : "";
      return fmt(T.screen_post, {text: iso(text)});
    }
    if (choice.kind === "photo") {
      const photo = media.photos.get(choice.id);
      return fmt(T.screen_photo, {text: iso(photo ? short(photo.caption || "") : "")});
    }
    if (choice.kind === "poll") {
      const poll = media.polls.get(choice.id);
      return fmt(T.screen_poll, {text: iso(poll ? short(poll.question) : "")});
    }
    return fmt(T.screen_other, {kind: choice.kind, id: choice.id});
  }

  function short(text) { return text.length > 40 ? text.slice(0, 40) + "…" : text; }

  // The photos and polls the director may put on the projector, kept from the join's snapshot
  // and the console's `photo`, `photo.removed` and `poll` events.
  const media = {photos: new Map(), polls: new Map()};

  function fillSelect(select, items, label) {
    const chosen = select.value;
    select.replaceChildren(...items.map((item) => el("option", {value: String(item.id)}, label(item))));
    if (items.some((item) => String(item.id) === chosen)) select.value = chosen;
  }

  function renderScreenItems() {
    const photos = [...media.photos.values()].sort((a, b) => b.id - a.id);
    const polls = [...media.polls.values()].sort((a, b) => b.id - a.id);
    fillSelect($("screen-photo"), photos, (p) => fmt(T.screen_photo_option, {id: p.id, text: short(p.caption || "")}));
    fillSelect($("screen-poll"), polls, (p) => fmt(T.screen_poll_option, {id: p.id, text: short(p.question)}));
    $("screen-photo-row").hidden = photos.length === 0;
    $("screen-poll-row").hidden = polls.length === 0;
  }

  function renderScreen() {
    const card = $("screen-card");
    if (!state.me || !state.session) return;
    const live = state.session.state === "live";
    card.hidden = !(state.me.can_direct && live);
    const choice = state.session.screen || {kind: "latest", id: null};
    $("screen-now").textContent = fmt(T.screen_now, {what: screenText(choice)});
    for (const b of card.querySelectorAll("[data-screen-choice]")) {
      b.setAttribute("aria-pressed", b.dataset.screenChoice === choice.kind ? "true" : "false");
    }
  }

  $("screen-card").addEventListener("click", async (event) => {
    const trigger = event.target.closest("button[data-screen-choice]");
    if (!trigger) return;
    $("screen-error").textContent = "";
    trigger.disabled = true;
    const ack = await request("screen", {kind: trigger.dataset.screenChoice});
    trigger.disabled = false;
    if (!ack.ok) $("screen-error").textContent = ack.message;
    else announce(fmt(T.screen_now, {what: screenText(ack)}));
  });

  $("screen-card").addEventListener("click", async (event) => {
    const trigger = event.target.closest("button[data-screen-item]");
    if (!trigger) return;
    const kind = trigger.dataset.screenItem;
    const id = Number($(`screen-${kind}`).value);
    if (!id) return;
    $("screen-error").textContent = "";
    trigger.disabled = true;
    const ack = await request("screen", {kind, id});
    trigger.disabled = false;
    if (!ack.ok) $("screen-error").textContent = ack.message;
    else announce(fmt(T.screen_now, {what: screenText(ack)}));
  });

  root.addEventListener("qa:joined", (event) => {
    const snap = event.detail || {};
    media.photos = new Map((snap.photos || []).map((p) => [p.id, p]));
    media.polls = new Map((snap.polls || []).map((p) => [p.id, p]));
    renderScreenItems();
    renderScreen();
  });
  if (api.socket) {
    api.socket.on("photo", (p) => { if (p && p.id) { media.photos.set(p.id, p); renderScreenItems(); } });
    api.socket.on("photo.removed", (p) => { if (p) { media.photos.delete(p.id); renderScreenItems(); } });
    api.socket.on("poll", (p) => { if (p && p.id) { media.polls.set(p.id, p); renderScreenItems(); } });
  }

  function renderAll() { render(); renderScreen(); }
  root.addEventListener("console:joined", renderAll);
  root.addEventListener("console:session", renderAll);
  root.addEventListener("console:reviews", render);
}());
