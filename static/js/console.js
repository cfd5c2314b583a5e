/* qa_live moderation console: the queues, moderation, answers and host posts of one session.
 *
 * Everything comes from the /moderation socket (docs/realtime.md): the `join` acknowledgement
 * holds the full state, pushed events upsert it. A reconnect joins again and rebuilds, so the
 * page never needs a reload. No framework; user text only ever goes in through textContent.
 */
(function () {
  "use strict";

  const configNode = document.getElementById("console-config");
  const root = document.getElementById("console");
  if (!configNode || !root || typeof window.io !== "function") return;

  const cfg = JSON.parse(configNode.textContent);
  const T = cfg.t;
  const QUEUES = ["pending", "published", "answered", "rejected"];
  const OPEN_STATES = ["live", "announced"];
  const lang = document.documentElement.lang || "zh-CN";
  const $ = (id) => document.getElementById(id);

  const state = {
    me: null,
    session: null,
    questions: new Map(), // id -> staff question
    posts: new Map(), // id -> post
    presence: new Map(), // user id -> name
    cards: new Map(), // question id -> <li>
    forms: new Map(), // question id -> {kind, text, answerId}
    postForms: new Map(), // post id -> {kind: "edit"|"remove", text}
    queue: "pending",
    filter: "",
    sort: "time",
    joining: false,
    joinedOnce: false,
    buffer: [],
    unseen: new Set(),
    loginEnded: false,
    retryTimer: 0, // a connect refused as 'unavailable' goes again after a few seconds
    reclaimAt: new Map(), // question id -> ms of the last automatic re-claim
    selected: new Set(), // question ids ticked for a bulk action
    similar: new Map(), // question id -> answered questions close to it (the answer form's hint)
    reviews: new Map(), // review item id -> item (a reviewed session's queue, studio.js shows it)
  };

  // -- small helpers ----------------------------------------------------------------------

  /** Fill a translated template: "%(name)s" / "%(n)d" placeholders. */
  function fmt(template, values) {
    return String(template).replace(/%\((\w+)\)[sd]/g, (match, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match);
  }

  /** Make an element; strings among the children become text nodes, never markup. */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of [].concat(children === undefined ? [] : children)) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  /** User text inside a translated sentence (fmt), bidi-isolated (U+2068 … U+2069): a
   *  right-to-left name or a U+202E in it cannot reorder the sentence around it. Elements
   *  holding user text get dir="auto" instead, bare pieces a <bdi>. */
  function iso(text) {
    return "\u2068" + text + "\u2069";
  }

  function button(label, props) {
    return el("button", Object.assign({type: "button", class: "button small"}, props), label);
  }

  /** The masked phone number, with a button that reveals it (the server logs each reveal). */
  function phoneLine(q) {
    const text = el("span", {}, fmt(T.phone, {phone: q.phone_masked}));
    const line = el("p", {class: "q-phone muted"}, [text]);
    if (!canAnswer(q)) return line;
    const reveal = button(T.reveal_phone, {class: "button small link", data: {action: "reveal"}});
    reveal.addEventListener("click", async () => {
      reveal.disabled = true;
      const ack = await request("reveal_phone", {question_id: q.id});
      if (ack.ok) {
        text.textContent = fmt(T.phone, {phone: ack.phone});
        reveal.remove();
      } else {
        reveal.disabled = false;
        line.append(el("span", {class: "action-error", role: "alert"}, " " + ack.message));
      }
    });
    line.append(" ", reveal);
    return line;
  }

  const timeFormat = new Intl.DateTimeFormat(lang, {
    timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", hour12: false});
  const dayFormat = new Intl.DateTimeFormat(lang, {
    timeZone: cfg.timezone, month: "2-digit", day: "2-digit"});

  /** A time in the configured zone: "10:32" today, "05/20 10:32" on other days. */
  function showTime(iso) {
    if (!iso) return "";
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    const time = timeFormat.format(moment);
    return dayFormat.format(moment) === dayFormat.format(new Date())
      ? time : dayFormat.format(moment) + " " + time;
  }

  function stamp(iso) {
    const t = iso ? Date.parse(iso) : NaN;
    return Number.isNaN(t) ? 0 : t;
  }

  let announceTimer = null;
  function announce(text) {
    const live = $("announcer");
    if (!live) return;
    live.textContent = "";
    window.clearTimeout(announceTimer);
    announceTimer = window.setTimeout(() => { live.textContent = text; }, 50);
  }

  // -- connection and requests ------------------------------------------------------------

  const socket = window.io(cfg.namespace, {path: cfg.socket_path});
  // A handle for the browser tests, and for the studio's panels (studio.js), which listen to
  // the "console:joined", "console:session" and "console:reviews" events on #console.
  window.qaConsole = {socket, state, request, el, fmt, iso, button, showTime, announce};

  function setBanner(text, kind, link) {
    const banner = $("conn-banner");
    banner.textContent = text || "";
    banner.dataset.kind = kind || "info";
    if (link) banner.append(" ", el("a", {href: link.href}, link.text));
    banner.hidden = !text;
  }

  function loginEnded() {
    state.loginEnded = true;
    setBanner(T.login_ended, "error", {href: cfg.login_url, text: T.log_in});
    root.classList.add("is-offline");
  }

  /** Send a staff event; always resolves to an ack object ({ok:false,...} on any failure). */
  function request(event, data) {
    return new Promise((resolve) => {
      if (!socket.connected) {
        resolve({ok: false, error: "not_connected", message: T.not_connected});
        return;
      }
      socket.timeout(cfg.ack_timeout_ms).emit(event, data || {}, (err, ack) => {
        if (err) resolve({ok: false, error: "timeout", message: T.no_reply});
        else if (!ack || typeof ack !== "object") resolve({ok: false, error: "server_error", message: T.failed});
        else {
          if (ack.ok === false && ack.error === "unauthorized") loginEnded();
          resolve(ack);
        }
      });
    });
  }

  function join() {
    state.joining = true;
    state.buffer = [];
    state.presence.clear();
    request("join", {session_id: cfg.session_id}).then((ack) => {
      if (!ack.ok) {
        state.joining = false;
        state.buffer = [];
        if (ack.error === "unauthorized") return; // request() has said so already
        setBanner(fmt(T.join_failed, {message: ack.message}), "error");
        if (ack.error === "timeout" || ack.error === "rate_limited") window.setTimeout(() => {
          if (socket.connected && !state.joining) join();
        }, 3000);
        return;
      }
      state.me = ack.me;
      state.presence.set(ack.me.id, ack.me.name);
      root.classList.toggle("studio-first", Boolean(ack.me.can_review || ack.me.can_direct) && !ack.me.can_answer);
      rebuild(ack.snapshot);
      // Panels kept in scripts of their own (console_polls.js) start from the same snapshot.
      root.dispatchEvent(new CustomEvent("qa:joined", {detail: ack.snapshot}));
      state.joining = false;
      const buffered = state.buffer;
      state.buffer = [];
      for (const [handler, data] of buffered) handler(data);
      root.classList.remove("is-offline");
      if (state.joinedOnce) {
        setBanner(T.reconnected, "ok");
        window.setTimeout(() => { if ($("conn-banner").dataset.kind === "ok") setBanner(""); }, 4000);
      } else {
        setBanner("");
      }
      state.joinedOnce = true;
      root.dataset.ready = "true";
    });
  }

  socket.on("connect", () => {
    if (state.loginEnded) return;
    if (state.joinedOnce) setBanner(T.reconnecting, "warn");
    join();
  });

  socket.on("disconnect", (reason) => {
    state.joining = false;
    root.classList.add("is-offline");
    if (reason === "io server disconnect") loginEnded(); // the server closes us on "unauthorized"
    else if (!state.loginEnded) setBanner(T.reconnecting, "warn");
  });

  /** The server refused the socket for a reason a retry may cure (e.g. "forbidden": outside
   *  the office network). socket.io does not try again after a refusal: a button does. */
  function refused(message) {
    setBanner(message || T.failed, "error");
    const retry = button(T.retry, {class: "button small", data: {action: "retry"}});
    retry.addEventListener("click", () => {
      setBanner(T.connecting, "warn");
      socket.connect();
    });
    $("conn-banner").append(" ", retry);
    root.classList.add("is-offline");
  }

  socket.on("connect_error", (err) => {
    // A refusal carries {error, message} as err.data (docs/realtime.md, "Refused
    // connections"); a transport failure has none, and socket.io retries it by itself.
    const data = (err && err.data) || {};
    if (data.error === "unauthorized") {
      loginEnded();
    } else if (state.loginEnded) {
      return;
    } else if (data.error === "unavailable") {
      // The database or Redis is briefly down (docs/realtime.md): say so, try again shortly.
      setBanner(typeof data.message === "string" ? data.message : T.reconnecting, "warn");
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(() => {
        if (!socket.connected) socket.connect();
      }, 3000 + Math.random() * 3000);
    } else if (!socket.active) {
      refused(typeof data.message === "string" ? data.message : "");
    } else {
      setBanner(state.joinedOnce ? T.reconnecting : T.connecting, "warn");
    }
  });

  // The message queue's state, told by this console's own worker (not through the queue): while
  // it is down, changes made through other workers do not reach this console; once it is back
  // the console joins again, which reloads the queues from the database.
  let queueDown = false;
  let queueBackTimer = null;
  socket.on("service", (data) => {
    const banner = $("service-banner");
    if (!data || !banner) return;
    window.clearTimeout(queueBackTimer);
    if (data.message_queue === "down") {
      queueDown = true;
      banner.textContent = fmt(T.queue_down, {since: showTime(data.since) || "—"});
      banner.dataset.kind = "warn";
      banner.hidden = false;
    } else if (queueDown) {
      queueDown = false;
      banner.textContent = T.queue_back;
      banner.dataset.kind = "ok";
      banner.hidden = false;
      queueBackTimer = window.setTimeout(() => { banner.hidden = true; }, 5000);
      if (socket.connected && !state.joining && !state.loginEnded) join();
    }
  });

  /** Events that arrive while a join is in flight wait for its snapshot, then apply in order. */
  function on(event, handler) {
    socket.on(event, (data) => {
      if (state.joining) state.buffer.push([handler, data]);
      else if (state.me) handler(data);
    });
  }

  on("question", (q) => upsertQuestion(q, true));
  on("question.moved", (data) => {
    const mine = state.me.departments;
    if (mine && data.department_id !== null && !mine.includes(data.department_id)) removeQuestion(data.id);
  });
  on("question.withdrawn", (data) => removeQuestion(data.id)); // its asker took it back
  on("session", (info) => { state.session = info; renderSession(); renderAllCards(); renderPosts(); renderBulkBar(); tell("session"); });
  on("review", (item) => {
    if (item.state === "approved") state.reviews.delete(item.id);
    else state.reviews.set(item.id, item);
    if (item.question_id !== null) { const q = state.questions.get(item.question_id); if (q) renderCard(q); }
    tell("reviews", item);
  });
  on("post", (post) => { state.posts.set(post.id, post); renderPosts(); });
  on("post.removed", (data) => { state.posts.delete(data.id); state.postForms.delete(data.id); renderPosts(); });
  on("counts", renderCounts);
  on("votes", (data) => {
    for (const [id, n] of Object.entries(data.upvotes || {})) {
      const q = state.questions.get(Number(id));
      if (q && q.upvotes !== n) { q.upvotes = n; renderCard(q); }
    }
    if (state.sort === "votes") QUEUES.forEach(arrangeList);
  });
  on("presence", (data) => {
    if (data.online) {
      state.presence.set(data.user_id, data.name);
      if (data.reply && data.user_id !== state.me.id) socket.emit("here", {});
    } else if (data.user_id === state.me.id) {
      socket.emit("here", {}); // another tab of ours closed; this one is still open
    } else {
      state.presence.delete(data.user_id);
    }
    renderPresence();
  });

  // -- the model --------------------------------------------------------------------------

  function queueOf(q) {
    return {pending: "pending", approved: "published", answered: "answered"}[q.status] || "rejected";
  }

  function sessionOpen() {
    return Boolean(state.session) && OPEN_STATES.includes(state.session.state);
  }

  function canModerate() { return Boolean(state.me && state.me.can_moderate); }
  function canDirect() { return Boolean(state.me && state.me.can_direct); }
  function reviewed() { return Boolean(state.session && state.session.reviewed); }

  /** Tell the studio panels (studio.js) that something they show changed. */
  function tell(what, detail) {
    root.dispatchEvent(new CustomEvent("console:" + what, {detail: detail === undefined ? null : detail}));
  }

  function canAnswer(q) {
    if (!state.me || !state.me.can_answer) return false;
    const mine = state.me && state.me.departments;
    if (!mine) return Boolean(state.me);
    if (q.department_id !== null) return mine.includes(q.department_id);
    return mine.some((d) => d !== 0);
  }

  function claimActive(q) {
    return q.claimed_by !== null && q.claimed_by !== undefined && stamp(q.claim_expires_at) > Date.now();
  }
  const isHighlighted = (q) => Boolean(state.session && state.session.screen) &&
    state.session.screen.kind === "question" && state.session.screen.id === q.id;
  const heldByMe = (q) => claimActive(q) && q.claimed_by === state.me.id;
  const heldByOther = (q) => claimActive(q) && q.claimed_by !== state.me.id;
  const takeOverLabel = (q) => fmt(T.take_over, {name: iso(q.claimed_by_name || "?")});

  function rebuild(snapshot) {
    state.session = snapshot.session;
    state.questions.clear();
    for (const q of snapshot.questions) state.questions.set(q.id, q);
    state.posts.clear();
    for (const p of snapshot.posts) state.posts.set(p.id, p);
    for (const id of [...state.forms.keys()]) if (!state.questions.has(id)) state.forms.delete(id);
    for (const id of [...state.postForms.keys()]) if (!state.posts.has(id)) state.postForms.delete(id);
    state.reviews.clear();
    for (const item of snapshot.review_items || []) state.reviews.set(item.id, item);
    for (const card of state.cards.values()) card.remove();
    state.cards.clear();
    renderSession();
    for (const q of state.questions.values()) renderCard(q);
    QUEUES.forEach(arrangeList);
    renderPosts();
    renderCounts(snapshot.counts);
    renderPresence();
    renderBulkBar();
    tell("joined");
  }

  function upsertQuestion(q, live) {
    const before = state.questions.get(q.id);
    state.questions.set(q.id, q);
    const fresh = !before;
    renderCard(q);
    if (live && before && heldByMe(before) && heldByOther(q)) {
      const message = fmt(T.taken_from_you, {name: iso(q.claimed_by_name || "?")});
      cardError(q.id, message);
      announce(message);
    }
    if (fresh && live) {
      const card = state.cards.get(q.id);
      card.classList.add("is-new");
      window.setTimeout(() => card.classList.remove("is-new"), 6000);
      if (q.status === "pending") announce(fmt(T.new_question, {id: q.id}));
    }
    const queue = queueOf(q);
    if (live && queue !== state.queue && (fresh || (before && queueOf(before) !== queue))) {
      state.unseen.add(queue);
    }
    QUEUES.forEach(arrangeList);
    renderBulkBar();
  }

  function removeQuestion(id) {
    const card = state.cards.get(id);
    if (card) card.remove();
    state.cards.delete(id);
    state.questions.delete(id);
    state.forms.delete(id);
    QUEUES.forEach(arrangeList);
    renderBulkBar();
  }

  // -- rendering: session, counters, presence ------------------------------------------------

  function renderSession() {
    const s = state.session;
    if (!s) return;
    root.dataset.state = s.state;
    const theme = $("console-theme"); // the office may change it before the session goes live
    if (theme && typeof s.title === "string" && theme.textContent !== s.title) {
      theme.textContent = s.title;
    }
    const badge = $("state-badge");
    badge.textContent = cfg.states[s.state] || s.state;
    badge.className = "state-badge state-" + s.state;
    const start = $("start-button");
    const end = $("end-button");
    if (start) start.hidden = s.state !== "announced";
    if (end) end.hidden = s.state !== "live";
    const confirm = $("session-confirm");
    if (confirm && !confirm.hidden && confirm.dataset.action) {
      const wanted = confirm.dataset.action === "start" ? "announced" : "live";
      if (s.state !== wanted) hideConfirm();
    }
    const closed = $("closed-banner");
    closed.hidden = sessionOpen();
    closed.textContent = sessionOpen() ? ""
      : ({draft: T.session_draft, cancelled: T.session_cancelled}[s.state] || T.session_closed);
    const composer = $("post-composer");
    if (composer) composer.hidden = !sessionOpen();
    const postSubmit = $("post-submit");
    if (postSubmit) postSubmit.textContent = reviewed() ? T.send_for_review : postSubmit.dataset.label;
  }

  function renderCounts(counts) {
    if (!counts) return;
    for (const key of ["online", "participant_visits", "questions", "answered", "answer_rate",
                       "pending"]) {
      const node = $("count-" + key);
      if (node && counts[key] !== undefined) node.textContent = String(counts[key]);
    }
    const median = $("count-median");
    const seconds = counts.median_answer_seconds;
    if (seconds === null || seconds === undefined) median.textContent = "–";
    else {
      const total = Math.round(seconds);
      median.textContent = total >= 60
        ? fmt(T.minutes_seconds, {m: Math.floor(total / 60), s: total % 60})
        : fmt(T.seconds, {s: total});
    }
  }

  function renderPresence() {
    const list = $("presence-list");
    list.replaceChildren();
    if (!state.me) return;
    const others = [...state.presence.entries()].filter(([id]) => id !== state.me.id)
      .sort((a, b) => a[1].localeCompare(b[1], lang));
    list.append(el("li", {class: "me"}, [el("bdi", {}, state.me.name), " ", el("span", {class: "muted"}, "(" + T.you + ")")]));
    for (const [, name] of others) list.append(el("li", {dir: "auto"}, name));
    if (!others.length) list.append(el("li", {class: "muted"}, T.nobody_else));
  }

  // -- rendering: question cards ---------------------------------------------------------------

  /** Text with the spans the server found (sensitive words as written) wrapped in <mark>. */
  function markedText(tag, cls, text, spans) {
    const node = el(tag, {class: cls, dir: "auto"});
    let at = 0;
    for (const span of [...(spans || [])].sort((a, b) => a.start - b.start)) {
      if (span.start < at || span.end > text.length) continue; // overlapping or stale: skip
      if (span.start > at) node.append(text.slice(at, span.start));
      node.append(el("mark", {}, text.slice(span.start, span.end)));
      at = span.end;
    }
    if (at < text.length) node.append(text.slice(at));
    return node;
  }

  function badge(text, cls) { return el("span", {class: "badge " + cls}, text); }

  // -- bulk selection --------------------------------------------------------------------------

  const BULK_STATUSES = ["pending", "approved", "rejected"];

  /** The tick box that puts a question in the bulk selection (moderators, open session). */
  function selectBox(q) {
    if (!canModerate() || !sessionOpen() || !BULK_STATUSES.includes(q.status)) return null;
    return el("input", {type: "checkbox", class: "q-select", checked: state.selected.has(q.id),
      "aria-label": fmt(T.select_question, {id: q.id}), data: {select: String(q.id), focusKey: "select"}});
  }

  function renderBulkBar() {
    const bar = $("bulk-bar");
    if (!bar) return;
    for (const id of [...state.selected]) {
      const q = state.questions.get(id);
      if (!q || !BULK_STATUSES.includes(q.status) || !sessionOpen()) state.selected.delete(id);
    }
    bar.hidden = state.selected.size === 0;
    $("bulk-count").textContent = fmt(T.bulk_selected, {n: state.selected.size});
  }

  async function bulk(event, extra, busy) {
    const ids = [...state.selected];
    const result = $("bulk-result");
    if (!ids.length) return;
    result.replaceChildren();
    busy.disabled = true;
    const ack = await request(event, Object.assign({question_ids: ids}, extra));
    busy.disabled = false;
    if (!ack.ok) { result.textContent = ack.message; return; }
    const failures = [];
    for (const r of ack.results) {
      if (r.ok) { state.selected.delete(r.question_id); cardError(r.question_id, ""); }
      else { cardError(r.question_id, r.message); failures.push(r); }
    }
    result.append(fmt(T.bulk_done, {done: ack.done, failed: ack.failed}));
    if (failures.length) {
      const list = el("ul", {class: "bulk-failures"});
      for (const r of failures) list.append(el("li", {}, fmt(T.question_no, {id: r.question_id}) + ": " + r.message));
      result.append(list);
    }
    renderAllCards();
    renderBulkBar();
  }

  // -- answered before: the answer form's hint ---------------------------------------------------

  function fillSimilar(list, hits) {
    list.replaceChildren();
    if (!hits.length) { list.append(el("li", {class: "muted"}, T.similar_none)); return; }
    for (const h of hits) {
      const meta = el("p", {class: "similar-meta muted"}, h.same_session ? T.similar_this_session
        : fmt(T.similar_from, {title: h.session.title, time: showTime(h.answered_at)}));
      if (h.department) meta.append(" · " + h.department);
      if (h.link) meta.append(" · ", el("a", {href: h.link, target: "_blank", rel: "noopener"}, T.similar_open));
      const answer = h.answer.length > 160 ? h.answer.slice(0, 160) + "…" : h.answer;
      list.append(el("li", {class: "similar-item"}, [
        el("p", {class: "similar-q"}, h.text), el("p", {class: "similar-a"}, answer), meta]));
    }
  }

  /** Up to five earlier answered questions close to this one (asked once per question). */
  function similarBox(id) {
    const list = el("ol", {class: "similar-list"});
    const box = el("section", {class: "similar", "aria-label": T.similar_title},
      [el("h3", {}, T.similar_title), list]);
    const known = state.similar.get(id);
    if (known) { fillSimilar(list, known); return box; }
    list.append(el("li", {class: "muted"}, T.similar_loading));
    request("similar", {question_id: id}).then((ack) => {
      if (!ack.ok) { list.replaceChildren(el("li", {class: "muted"}, ack.message)); return; }
      state.similar.set(id, ack.similar);
      fillSimilar(list, ack.similar);
    });
    return box;
  }

  function cardMain(q) {
    const head = el("p", {class: "q-meta"}, [
      selectBox(q),
      el("span", {class: "q-no"}, fmt(T.question_no, {id: q.id})),
      q.nickname ? markedText("span", "q-who", q.nickname, q.nickname_spans) : el("span", {class: "q-who", dir: "auto"}, T.citizen),
      isHighlighted(q) ? badge(T.on_screen, "badge-screen") : null,
      el("time", {datetime: q.created_at}, fmt(T.asked_at, {time: showTime(q.created_at)})),
      q.source === "advance" ? badge(T.advance, "badge-advance") : null,
      q.pinned ? badge(T.pinned, "badge-pinned") : null,
      q.needs_follow_up ? badge(T.follow_up, "badge-follow") : null,
      q.department ? el("span", {class: "badge badge-dept", dir: "auto"}, q.department)
        : badge(T.no_department, "badge-nodept"),
      el("span", {class: "q-votes"}, fmt(T.votes, {n: q.upvotes || 0})),
    ]);
    const parts = [head];
    if (q.sensitive_hits && q.sensitive_hits.length) {
      parts.push(el("p", {class: "q-flag"}, fmt(T.flagged, {words: q.sensitive_hits.map(iso).join("、")})));
    }
    if (q.nickname_hits && q.nickname_hits.length) {
      parts.push(el("p", {class: "q-flag q-flag-nickname"}, fmt(T.flagged_nickname, {words: q.nickname_hits.join("、")})));
    }
    parts.push(markedText("p", "q-text", q.text, q.sensitive_spans));
    if (q.original_text && q.original_text !== q.text) {
      parts.push(el("div", {class: "q-original"}, [
        el("span", {class: "muted"}, T.edited), el("p", {dir: "auto"}, q.original_text)]));
    }
    if (q.phone_masked) parts.push(phoneLine(q));
    if (claimActive(q)) {
      const until = showTime(q.claim_expires_at);
      parts.push(el("p", {class: "q-claim" + (heldByMe(q) ? " mine" : "")},
        heldByMe(q) ? fmt(T.claimed_by_you, {time: until})
          : fmt(T.claimed_by, {name: iso(q.claimed_by_name || "?"), time: until})));
    }
    const takeover = (q.takeovers || []).slice(-1)[0];
    if (takeover) {
      parts.push(el("p", {class: "q-takeover"}, fmt(T.taken_over, {
        by: iso(takeover.by_name || "?"), from: iso(takeover.from_name || "?"), time: showTime(takeover.at)})));
    }
    if (q.status === "rejected") {
      parts.push(el("p", {class: "q-rejected"}, q.merged_into_id
        ? fmt(T.merged_into, {id: q.merged_into_id})
        : fmt(T.rejected_because, {reason: cfg.reasons[q.reject_reason] || q.reject_reason || ""})));
    }
    if (q.status === "pending" && !canModerate()) parts.push(el("p", {class: "muted"}, T.awaiting_review));
    if (q.note) {
      parts.push(el("div", {class: "q-note", role: "note"}, [
        el("p", {class: "q-note-meta"}, fmt(T.note_by, {name: q.note.updated_by || "?", time: showTime(q.note.updated_at)})),
        el("p", {class: "q-note-body"}, q.note.body)]));
    }
    for (const item of state.reviews.values()) {
      if (item.question_id !== q.id) continue;
      const who = item.fields && item.fields.guest ? item.fields.guest.name : item.author_name || "?";
      parts.push(el("p", {class: "q-review q-review-" + item.state, data: {reviewItem: String(item.id)}},
        item.state === "returned" ? fmt(T.review_returned, {name: iso(who), reason: iso(item.reason)})
          : fmt(T.review_waiting, {name: iso(who)})));
    }
    if (q.answers && q.answers.length) {
      const list = el("ol", {class: "q-answers"});
      for (const a of q.answers) {
        const meta = el("p", {class: "a-meta"}, [
          a.kind === "follow_up" ? badge(T.follow_up_answer, "badge-follow") : null,
          a.guest ? el("span", {class: "a-guest"}, fmt(T.guest_said, {name: iso(a.guest.name), title: iso(a.guest.title || "")}) + " · ") : null,
          a.department ? fmt(T.answer_by, {department: iso(a.department), time: showTime(a.created_at)})
            : showTime(a.created_at),
          a.author_name ? " · " + fmt(T.typed_by, {name: iso(a.author_name)}) : null,
          a.updated_at || a.revisions ? " · " + T.answer_edited : null,
        ]);
        const item = el("li", {class: "a-item", data: {answerId: String(a.id)}}, [meta, el("p", {class: "a-body", dir: "auto"}, a.body)]);
        if (canModerate() || a.author_id === state.me.id) {
          item.append(button(T.edit_answer, {class: "button small link-like", data: {action: "edit_answer", answerId: String(a.id), focusKey: "edit_answer:" + a.id}}));
        }
        list.append(item);
      }
      parts.push(list);
    }
    return parts;
  }

  function cardActions(q) {
    const open = sessionOpen();
    const mod = canModerate();
    const answerable = canAnswer(q);
    const list = [];
    const add = (action, label, cls, key) => list.push(button(label, {
      class: "button small" + (cls ? " " + cls : ""), data: {action, focusKey: key || action}}));
    if (q.status === "pending") {
      if (mod && open) {
        add("approve", T.approve, "primary");
        add("edit", T.edit);
        add("reject", T.reject, "danger");
        add("merge", T.merge);
        add("assign", T.assign);
      }
      if (mod && open && answerable) {
        if (heldByOther(q)) add("take_over", takeOverLabel(q), "", "take_over");
        else if (heldByMe(q)) add("answer", T.answer, "", "claim");
        else add("claim", T.claim, "", "claim");
      }
    } else if (q.status === "approved") {
      if (open && answerable) {
        // A colleague's claim: the host or the office may take it over (asked to confirm);
        // answerers wait, and the server refuses them anyway (docs/realtime.md, claims).
        if (heldByOther(q)) { if (mod) add("take_over", takeOverLabel(q), "primary", "take_over"); }
        else if (heldByMe(q)) { add("answer", T.answer, "primary", "claim"); add("release", T.release); }
        else add("claim", T.claim, "primary", "claim");
      }
      if (answerable) add("follow_up", q.needs_follow_up ? T.follow_up_off : T.follow_up_on, "", "follow_up");
      if (mod) {
        add("pin", q.pinned ? T.unpin : T.pin, "", "pin");
        add("assign", T.assign);
        if (open) { add("edit", T.edit); add("reject", T.reject, "danger"); add("merge", T.merge); }
      }
    } else if (q.status === "answered") {
      if (open && answerable && !heldByOther(q)) add("add_answer", T.add_answer);
      if (answerable) add("follow_up", q.needs_follow_up ? T.follow_up_off : T.follow_up_on, "", "follow_up");
      if (mod) {
        add("pin", q.pinned ? T.unpin : T.pin, "", "pin");
        add("assign", T.assign);
        if (open) add("edit", T.edit);
      }
    } else if (mod && open) {
      add("restore", T.restore);
    }
    if (canDirect() && q.status === "approved" && state.session && state.session.state === "live") {
      if (isHighlighted(q)) add("unhighlight", T.stop_screen, "", "highlight");
      else add("highlight", T.show_on_screen, "", "highlight");
    }
    if (mod && q.nickname && (q.status !== "rejected" || open)) add("clear_nickname", T.clear_nickname);
    // Answerers act on a question once it is published; the host may note it while reviewing.
    if (answerable && (mod || q.status !== "pending")) add("note", q.note ? T.edit_note : T.add_note, "", "note");
    return list;
  }

  function focusKeyIn(card) {
    const active = document.activeElement;
    if (!active || !card.contains(active) || card.querySelector(".q-form").contains(active)) return null;
    return active.dataset.focusKey || null;
  }

  function renderCard(q) {
    let card = state.cards.get(q.id);
    if (!card) {
      card = el("li", {class: "q-card", id: "q-" + q.id, tabindex: "-1", data: {id: String(q.id)}}, [
        el("div", {class: "q-main"}), el("div", {class: "q-actions"}),
        el("div", {class: "q-form"}), el("p", {class: "action-error", role: "alert"})]);
      state.cards.set(q.id, card);
      const form = state.forms.get(q.id);
      if (form) window.setTimeout(() => buildForm(q.id, false), 0);
    }
    const key = focusKeyIn(card);
    card.dataset.status = q.status;
    card.classList.toggle("is-flagged", Boolean(q.sensitive_hits && q.sensitive_hits.length));
    card.classList.toggle("is-advance", q.source === "advance");
    card.classList.toggle("is-pinned", Boolean(q.pinned));
    card.classList.toggle("is-claimed", claimActive(q));
    card.querySelector(".q-main").replaceChildren(...cardMain(q));
    card.querySelector(".q-actions").replaceChildren(...cardActions(q));
    if (key) {
      const again = card.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
      (again || card).focus();
    }
  }

  function renderAllCards() {
    for (const q of state.questions.values()) renderCard(q);
  }

  function matches(q) {
    const f = state.filter.trim().toLowerCase();
    if (!f) return true;
    const number = f.replace(/^(no\.?|#|第)\s*/, "").replace(/号$/, "");
    if (/^\d+$/.test(number) && String(q.id) === number) return true;
    const hay = [q.text, q.original_text, q.nickname, q.department,
      ...(q.answers || []).map((a) => a.body)].join("\n").toLowerCase();
    return hay.includes(f);
  }

  function compare(a, b) {
    if (state.sort === "votes" && (b.upvotes || 0) !== (a.upvotes || 0)) return (b.upvotes || 0) - (a.upvotes || 0);
    const order = stamp(a.created_at) - stamp(b.created_at) || a.id - b.id;
    return state.sort === "newest" ? -order : order;
  }

  /** Put each card of a queue in its list, in order, moving only the cards out of place. */
  function arrangeList(queue) {
    const list = $("list-" + queue);
    const items = [...state.questions.values()].filter((q) => queueOf(q) === queue).sort(compare);
    let shown = 0;
    items.forEach((q, index) => {
      const card = state.cards.get(q.id);
      const visible = matches(q);
      card.hidden = !visible;
      if (visible) shown++;
      if (list.children[index] !== card) list.insertBefore(card, list.children[index] || null);
    });
    while (list.children.length > items.length) list.lastElementChild.remove();
    $("tab-count-" + queue).textContent = String(items.length);
    const empty = $("empty-" + queue);
    if (!state.me) empty.textContent = ""; // not joined yet: say nothing rather than "empty"
    else empty.textContent = items.length === 0 ? T["empty_" + queue] : (shown === 0 ? T.no_match : "");
    empty.hidden = !empty.textContent;
    const tab = $("tab-" + queue);
    tab.classList.toggle("has-new", state.unseen.has(queue));
    const mark = tab.querySelector(".tab-new");
    if (state.unseen.has(queue) && !mark) tab.append(el("span", {class: "tab-new"}, T.new_in_tab));
    if (!state.unseen.has(queue) && mark) mark.remove();
  }

  // -- queues: tabs, filter, sort, keys ------------------------------------------------------

  function selectQueue(queue, focusTab) {
    state.queue = queue;
    state.unseen.delete(queue);
    for (const name of QUEUES) {
      const tab = $("tab-" + name);
      const selected = name === queue;
      tab.setAttribute("aria-selected", selected ? "true" : "false");
      tab.tabIndex = selected ? 0 : -1;
      $("queue-" + name).hidden = !selected;
    }
    arrangeList(queue);
    if (focusTab) $("tab-" + queue).focus();
  }

  for (const name of QUEUES) {
    const tab = $("tab-" + name);
    tab.addEventListener("click", () => selectQueue(name));
    tab.addEventListener("keydown", (event) => {
      const at = QUEUES.indexOf(name);
      const moves = {ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: QUEUES.length - 1};
      if (!(event.key in moves)) return;
      event.preventDefault();
      selectQueue(QUEUES[(moves[event.key] + QUEUES.length) % QUEUES.length], true);
    });
  }

  $("queue-filter").addEventListener("input", (event) => {
    state.filter = event.target.value;
    QUEUES.forEach(arrangeList);
  });
  $("queue-sort").addEventListener("change", (event) => {
    state.sort = event.target.value;
    QUEUES.forEach(arrangeList);
  });

  function visibleCards() {
    return [...$("list-" + state.queue).children].filter((card) => !card.hidden);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.key === "/") { event.preventDefault(); $("queue-filter").focus(); return; }
    if (/^[1-4]$/.test(event.key)) { selectQueue(QUEUES[Number(event.key) - 1], true); return; }
    if (event.key === "j" || event.key === "k") {
      const cards = visibleCards();
      if (!cards.length) return;
      const current = target.closest(".q-card");
      let at = cards.indexOf(current);
      at = at === -1 ? 0 : Math.min(cards.length - 1, Math.max(0, at + (event.key === "j" ? 1 : -1)));
      cards[at].focus();
      event.preventDefault();
    }
  });

  // -- question actions ----------------------------------------------------------------------

  function cardError(id, message) {
    const card = state.cards.get(id);
    if (card) card.querySelector(".action-error").textContent = message || "";
  }

  /** The card to focus after this one leaves the current list (the next one, or the previous). */
  function neighbour(card) {
    const cards = visibleCards();
    const at = cards.indexOf(card);
    return at === -1 ? null : (cards[at + 1] || cards[at - 1] || null);
  }

  async function act(id, event, data, busy) {
    const card = state.cards.get(id);
    const next = card ? neighbour(card) : null;
    const wasHere = card && card.parentElement === $("list-" + state.queue);
    cardError(id, "");
    if (busy) busy.disabled = true;
    const ack = await request(event, Object.assign({question_id: id}, data));
    if (busy) busy.disabled = false;
    if (!ack.ok) {
      cardError(id, ack.message);
      return ack;
    }
    const now = state.cards.get(id);
    if (wasHere && now && now.parentElement !== $("list-" + state.queue) && next && next.isConnected) {
      next.focus();
    }
    return ack;
  }

  function closeForm(id, focusAction) {
    state.forms.delete(id);
    const card = state.cards.get(id);
    if (!card) return;
    card.querySelector(".q-form").replaceChildren();
    card.classList.remove("has-form");
    if (focusAction) {
      const again = card.querySelector(`[data-focus-key="${CSS.escape(focusAction)}"]`);
      (again || card).focus();
    }
  }

  function openForm(id, form) {
    state.forms.set(id, form);
    buildForm(id, true);
  }

  function formButtons(children) { return el("div", {class: "form-row"}, children); }

  function textArea(id, label, value, max, onInput) {
    const areaId = "f-" + id + "-" + Math.random().toString(36).slice(2, 8);
    const area = el("textarea", {id: areaId, rows: "4", maxlength: String(max)});
    area.value = value || "";
    area.addEventListener("input", () => onInput(area.value));
    return [el("label", {for: areaId}, label), area];
  }

  /** Draw the open form of a question's card from state.forms (also after a rebuild). */
  function buildForm(id, focus) {
    const form = state.forms.get(id);
    const card = state.cards.get(id);
    const q = state.questions.get(id);
    if (!form || !card || !q) return;
    const slot = card.querySelector(".q-form");
    const node = el("form", {class: "inline-form form-" + form.kind, novalidate: true});
    const cancel = button(T.cancel, {class: "button small", data: {formCancel: "1"}});
    let first = null;
    if (form.kind === "reject") {
      if (heldByOther(q)) node.append(el("p", {class: "form-warning"}, fmt(T.reject_claimed, {name: iso(q.claimed_by_name || "?")})));
      const group = el("fieldset", {}, [el("legend", {}, T.reject_why)]);
      for (const [value, label] of Object.entries(cfg.reasons)) {
        const b = button(label, {class: "button small danger", data: {reason: value}});
        b.addEventListener("click", async () => {
          const ack = await act(id, "reject", {reason: value}, b);
          if (ack.ok) closeForm(id);
        });
        group.append(b);
        first = first || b;
      }
      group.append(cancel);
      node.append(group);
    } else if (form.kind === "merge") {
      const targets = [...state.questions.values()]
        .filter((t) => t.id !== id && t.status !== "rejected" && compareTime(t, q) < 0)
        .sort((a, b) => a.id - b.id);
      if (!targets.length) {
        node.append(el("p", {class: "muted"}, T.merge_none), formButtons([cancel]));
        first = cancel;
      } else {
        const selectId = "merge-" + id;
        const select = el("select", {id: selectId});
        select.append(el("option", {value: ""}, T.merge_choose));
        for (const t of targets) {
          const snippet = t.text.length > 40 ? t.text.slice(0, 40) + "…" : t.text;
          select.append(el("option", {value: String(t.id)}, fmt(T.question_no, {id: t.id}) + " · " + iso(snippet)));
        }
        if (form.into) select.value = String(form.into);
        select.addEventListener("change", () => { form.into = select.value; });
        const submit = el("button", {type: "submit", class: "button small primary"}, T.merge_into);
        node.append(el("label", {for: selectId}, T.merge_into), select, formButtons([submit, cancel]));
        node.addEventListener("submit", async (event) => {
          event.preventDefault();
          if (!select.value) { cardError(id, T.merge_choose); select.focus(); return; }
          const ack = await act(id, "merge", {into_id: Number(select.value)}, submit);
          if (ack.ok) closeForm(id);
        });
        first = select;
      }
    } else if (form.kind === "edit") {
      const [label, area] = textArea(id, T.question_text, form.text, cfg.question_max, (v) => { form.text = v; });
      const save = el("button", {type: "submit", class: "button small" + (q.status === "pending" ? "" : " primary")}, T.save_text);
      const row = [save, cancel];
      if (q.status === "pending") {
        const approve = button(T.approve_edited, {class: "button small primary"});
        approve.addEventListener("click", async () => {
          const ack = await act(id, "approve", {text: area.value}, approve);
          if (ack.ok) closeForm(id);
        });
        row.unshift(approve);
      }
      node.append(label, area, formButtons(row));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        const ack = await act(id, "edit", {text: area.value}, save);
        if (ack.ok) closeForm(id, "edit");
      });
      first = area;
    } else if (form.kind === "assign") {
      const selectId = "assign-" + id;
      const select = el("select", {id: selectId});
      select.append(el("option", {value: ""}, T.no_department));
      for (const d of state.session.departments) select.append(el("option", {value: String(d.id)}, d.name));
      select.value = q.department_id === null ? "" : String(q.department_id);
      const submit = el("button", {type: "submit", class: "button small primary"}, T.assign_save);
      node.append(el("label", {for: selectId}, T.assign_to), select, formButtons([submit, cancel]));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        const ack = await act(id, "assign", {department_id: select.value ? Number(select.value) : null}, submit);
        if (ack.ok) closeForm(id, "assign");
      });
      first = select;
    } else if (form.kind === "answer") {
      const guests = guestSelect(id, form);
      const [label, area] = textArea(id, fmt(T.answer_label, {id}), form.text, cfg.answer_max, (v) => {
        form.text = v;
        keepClaim(id);
      });
      // In a reviewed session the answer goes to the reviewer; it is published on approval.
      const submit = el("button", {type: "submit", class: "button small primary"},
        reviewed() ? T.send_for_review : T.publish_answer);
      if (guests) node.append(...guests);
      node.append(label, area, formButtons([submit, cancel]), similarBox(id));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        const guestId = form.guest ? Number(form.guest) : null;
        if (state.me.guest_required && guestId === null) { cardError(id, T.choose_guest); return; }
        const data = {body: area.value};
        if (guestId !== null) data.guest_id = guestId;
        const ack = reviewed()
          ? await act(id, "submit_review", Object.assign({kind: "answer"}, data), submit)
          : await act(id, "answer", data, submit);
        if (ack.ok) {
          closeForm(id);
          if (reviewed()) announce(T.sent_for_review);
          const c = state.cards.get(id); if (c && !c.hidden) c.focus();
        }
      });
      first = guests ? guests[1] : area;
    } else if (form.kind === "take_over") {
      // The host or the office takes a colleague's claim only after saying yes here; the
      // colleague's console and the question's record then show who took it over from whom.
      const go = button(T.take_over_yes, {class: "button small primary", data: {confirm: "take_over"}});
      go.addEventListener("click", async () => {
        const ack = await act(id, "claim", {take_over: true}, go);
        if (ack.ok) openForm(id, {kind: "answer", text: ""});
      });
      const warning = heldByOther(q)
        ? fmt(T.take_over_confirm, {name: iso(q.claimed_by_name || "?"), time: showTime(q.claim_expires_at)})
        : T.take_over_lapsed;
      node.append(el("p", {class: "form-warning"}, warning), formButtons([go, cancel]));
      first = go;
    } else if (form.kind === "note") {
      const [label, area] = textArea(id, fmt(T.note_label, {id}), form.text, cfg.note_max, (v) => { form.text = v; });
      const save = el("button", {type: "submit", class: "button small primary"}, T.save_note);
      node.append(label, el("p", {class: "muted small"}, T.note_hint), area, formButtons([save, cancel]));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        const ack = await act(id, "note", {body: area.value}, save);
        if (ack.ok) closeForm(id, "note");
      });
      first = area;
    } else if (form.kind === "edit_answer") {
      const answer = (q.answers || []).find((a) => a.id === form.answerId);
      if (!answer) { closeForm(id); return; }
      const [label, area] = textArea(id, T.answer_text, form.text, cfg.answer_max, (v) => { form.text = v; });
      const submit = el("button", {type: "submit", class: "button small primary"}, T.save_answer);
      node.append(label, area, formButtons([submit, cancel]));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        cardError(id, "");
        submit.disabled = true;
        const ack = await request("edit_answer", {answer_id: form.answerId, body: area.value});
        submit.disabled = false;
        if (!ack.ok) { cardError(id, ack.message); return; }
        closeForm(id, "edit_answer:" + form.answerId);
      });
      first = area;
    }
    cancel.addEventListener("click", () => cancelForm(id));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); cancelForm(id); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        node.requestSubmit();
      }
    });
    slot.replaceChildren(node);
    card.classList.add("has-form");
    if (focus && first) first.focus();
  }

  /** The guest the answer is given in the name of (text editors; hosts and office may). */
  function guestSelect(id, form) {
    const guests = (state.session && state.session.guests) || [];
    if (!state.me.can_type_for_guests || !guests.length) return null;
    const selectId = "guest-" + id;
    const select = el("select", {id: selectId, class: "guest-select"});
    select.append(el("option", {value: ""}, state.me.guest_required ? T.choose_guest : T.own_name));
    for (const g of guests) {
      select.append(el("option", {value: String(g.id)}, g.title ? g.name + " · " + g.title : g.name));
    }
    if (form.guest === undefined && state.me.guest_required && guests.length === 1) form.guest = String(guests[0].id);
    select.value = form.guest || "";
    select.addEventListener("change", () => { form.guest = select.value; });
    return [el("label", {for: selectId}, T.in_the_name_of), select];
  }

  function compareTime(a, b) {
    return stamp(a.created_at) - stamp(b.created_at) || a.id - b.id;
  }

  function cancelForm(id) {
    const form = state.forms.get(id);
    const q = state.questions.get(id);
    const back = form ? ({answer: "claim", edit_answer: "edit_answer:" + form.answerId}[form.kind] || form.kind) : null;
    if (form && form.kind === "answer" && q && heldByMe(q)) request("release", {question_id: id});
    closeForm(id, back);
  }

  /** While someone types an answer, renew their claim before it runs out (or take it again). */
  function keepClaim(id) {
    const q = state.questions.get(id);
    if (!q || !["pending", "approved"].includes(q.status) || heldByOther(q) || !sessionOpen()) return;
    const left = heldByMe(q) ? stamp(q.claim_expires_at) - Date.now() : 0;
    const last = state.reclaimAt.get(id) || 0;
    if (left < 120000 && Date.now() - last > 30000) {
      state.reclaimAt.set(id, Date.now());
      request("claim", {question_id: id});
    }
  }

  const cardActionsHandlers = {
    approve: (q, b) => act(q.id, "approve", {}, b),
    restore: (q, b) => act(q.id, "approve", {}, b),
    pin: (q, b) => act(q.id, "pin", {pinned: !q.pinned}, b),
    follow_up: (q, b) => act(q.id, "follow_up", {needed: !q.needs_follow_up}, b),
    release: async (q, b) => {
      const ack = await act(q.id, "release", {}, b);
      if (ack.ok && state.forms.has(q.id) && state.forms.get(q.id).kind === "answer") closeForm(q.id, "claim");
    },
    claim: async (q, b) => {
      const ack = await act(q.id, "claim", {}, b);
      if (ack.ok) openForm(q.id, Object.assign({text: ""}, keepDraft(q.id, "answer"), {kind: "answer"}));
    },
    answer: (q) => openForm(q.id, Object.assign({text: ""}, keepDraft(q.id, "answer"), {kind: "answer"})),
    take_over: (q) => openForm(q.id, {kind: "take_over"}),
    submit_review: (q) => openForm(q.id, Object.assign({text: ""}, keepDraft(q.id, "answer"), {kind: "answer"})),
    add_answer: (q) => openForm(q.id, Object.assign({text: ""}, keepDraft(q.id, "answer"), {kind: "answer"})),
    reject: (q) => openForm(q.id, {kind: "reject"}),
    merge: (q) => openForm(q.id, {kind: "merge"}),
    assign: (q) => openForm(q.id, {kind: "assign"}),
    edit: (q) => openForm(q.id, {kind: "edit", text: q.text}),
    note: (q) => openForm(q.id, {kind: "note", text: q.note ? q.note.body : ""}),
    highlight: (q, b) => act(q.id, "highlight", {}, b),
    unhighlight: (q, b) => act(q.id, "highlight", {question_id: null}, b),
    clear_nickname: (q, b) => act(q.id, "clear_nickname", {}, b),
  };

  function keepDraft(id, kind) {
    const open = state.forms.get(id);
    return open && open.kind === kind ? {text: open.text, guest: open.guest} : {};
  }

  $("console").addEventListener("click", (event) => {
    const trigger = event.target.closest("button[data-action]");
    if (!trigger) return;
    const card = trigger.closest(".q-card");
    if (!card) return;
    const q = state.questions.get(Number(card.dataset.id));
    if (!q) return;
    const action = trigger.dataset.action;
    if (action === "edit_answer") {
      const answerId = Number(trigger.dataset.answerId);
      const answer = (q.answers || []).find((a) => a.id === answerId);
      if (answer) openForm(q.id, {kind: "edit_answer", answerId, text: answer.body});
      return;
    }
    const handler = cardActionsHandlers[action];
    if (handler) handler(q, trigger);
  });

  $("console").addEventListener("change", (event) => {
    const box = event.target.closest("input.q-select");
    if (!box) return;
    const id = Number(box.dataset.select);
    if (box.checked) state.selected.add(id); else state.selected.delete(id);
    renderBulkBar();
  });
  if ($("bulk-bar")) {
    $("bulk-approve").addEventListener("click", (event) => bulk("bulk_approve", {}, event.currentTarget));
    $("bulk-reject").addEventListener("click", (event) =>
      bulk("bulk_reject", {reason: $("bulk-reason").value}, event.currentTarget));
    $("bulk-clear").addEventListener("click", () => {
      state.selected.clear();
      $("bulk-result").replaceChildren();
      renderAllCards();
      renderBulkBar();
    });
  }

  // Claims run out on the server without an event; show them lapsing here too.
  window.setInterval(() => {
    for (const q of state.questions.values()) {
      const card = state.cards.get(q.id);
      if (card && card.classList.contains("is-claimed") !== claimActive(q)) renderCard(q);
    }
  }, 5000);

  // -- host posts -----------------------------------------------------------------------------

  function renderPosts() {
    const list = $("post-list");
    if (!list) return;
    const posts = [...state.posts.values()].sort((a, b) =>
      (b.pinned - a.pinned) || (stamp(b.created_at) - stamp(a.created_at)) || (b.id - a.id));
    const active = document.activeElement;
    const focusKey = active && list.contains(active) ? active.dataset.focusKey : null;
    const keepForm = active && active.closest && active.closest(".post-form");
    if (keepForm && list.contains(keepForm)) return; // do not yank a form from under the typist
    list.replaceChildren();
    if (!posts.length) list.append(el("li", {class: "muted"}, T.no_posts));
    const mod = canModerate();
    for (const p of posts) {
      const item = el("li", {class: "post" + (p.pinned ? " is-pinned" : ""), id: "post-" + p.id}, [
        el("p", {class: "post-meta"}, [
          badge(p.kind === "notice" ? T.notice : T.policy, "badge-" + p.kind),
          p.pinned ? badge(T.pinned, "badge-pinned") : null,
          el("time", {datetime: p.created_at}, showTime(p.created_at)),
          p.updated_at ? " · " + T.answer_edited : null,
        ]),
        el("p", {class: "post-body", dir: "auto"}, p.body),
      ]);
      if (mod) {
        const form = state.postForms.get(p.id);
        if (form) item.append(postForm(p, form));
        else {
          item.append(el("div", {class: "q-actions"}, [
            button(T.edit_post, {data: {postAction: "edit", postId: String(p.id), focusKey: "edit:" + p.id}}),
            button(p.pinned ? T.unpin : T.pin, {data: {postAction: "pin", postId: String(p.id), focusKey: "pin:" + p.id}}),
            button(T.remove, {class: "button small danger", data: {postAction: "remove", postId: String(p.id), focusKey: "remove:" + p.id}}),
            screenButton(p),
          ]));
        }
        item.append(el("p", {class: "action-error", role: "alert", id: "post-error-" + p.id}));
      } else if (canDirect()) {
        item.append(el("div", {class: "q-actions"}, [screenButton(p)]));
        item.append(el("p", {class: "action-error", role: "alert", id: "post-error-" + p.id}));
      }
      list.append(item);
    }
    if (focusKey) {
      const again = list.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
      if (again) again.focus();
    }
  }

  /** The director's "show on projector" for a post (null when the session is not live). */
  function screenButton(p) {
    if (!canDirect() || !state.session || state.session.state !== "live") return null;
    const shown = state.session.screen && state.session.screen.kind === "post" && state.session.screen.id === p.id;
    return button(shown ? T.stop_screen : T.show_on_screen,
      {data: {postAction: shown ? "unscreen" : "screen", postId: String(p.id), focusKey: "screen:" + p.id}});
  }

  function postForm(p, form) {
    const node = el("form", {class: "inline-form post-form", novalidate: true});
    const cancel = button(T.cancel);
    cancel.addEventListener("click", () => closePostForm(p.id, form.kind));
    if (form.kind === "remove") {
      const yes = el("button", {type: "submit", class: "button small danger"}, T.yes_remove);
      node.append(el("p", {}, T.remove_confirm), formButtons([yes, cancel]));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        await updatePost(p.id, {removed: true}, yes);
      });
    } else {
      const [label, area] = textArea("p" + p.id, T.post_text, form.text, cfg.post_max, (v) => { form.text = v; });
      const save = el("button", {type: "submit", class: "button small primary"}, T.save);
      node.append(label, area, formButtons([save, cancel]));
      node.addEventListener("submit", async (event) => {
        event.preventDefault();
        const ok = await updatePost(p.id, {body: area.value}, save);
        if (ok) closePostForm(p.id, "edit");
      });
    }
    node.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); closePostForm(p.id, form.kind); }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
        event.preventDefault();
        node.requestSubmit();
      }
    });
    return node;
  }

  function closePostForm(id, kind) {
    state.postForms.delete(id);
    const active = document.activeElement;
    if (active) active.blur();
    renderPosts();
    const again = document.querySelector(`[data-focus-key="${CSS.escape(kind + ":" + id)}"]`);
    if (again) again.focus();
  }

  async function updatePost(id, data, busy) {
    const error = $("post-error-" + id);
    if (error) error.textContent = "";
    if (busy) busy.disabled = true;
    const ack = await request("update_post", Object.assign({post_id: id}, data));
    if (busy) busy.disabled = false;
    if (!ack.ok) {
      const again = $("post-error-" + id);
      if (again) again.textContent = ack.message;
      return false;
    }
    return true;
  }

  const postList = $("post-list");
  if (postList) {
    postList.addEventListener("click", (event) => {
      const trigger = event.target.closest("button[data-post-action]");
      if (!trigger) return;
      const id = Number(trigger.dataset.postId);
      const p = state.posts.get(id);
      if (!p) return;
      const action = trigger.dataset.postAction;
      if (action === "pin") { updatePost(id, {pinned: !p.pinned}, trigger); return; }
      if (action === "screen" || action === "unscreen") {
        trigger.disabled = true;
        request("screen", action === "screen" ? {kind: "post", id} : {kind: "latest"}).then((ack) => {
          trigger.disabled = false;
          const error = $("post-error-" + id);
          if (error) error.textContent = ack.ok ? "" : ack.message;
        });
        return;
      }
      state.postForms.set(id, action === "edit" ? {kind: "edit", text: p.body} : {kind: "remove"});
      renderPosts();
      const form = $("post-" + id).querySelector(".post-form");
      const first = form && form.querySelector("textarea, button");
      if (first) first.focus();
    });
  }

  const composer = $("post-composer");
  if (composer) {
    const body = $("post-body");
    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $("post-error");
      error.textContent = "";
      error.dataset.kind = "";
      const submit = $("post-submit");
      submit.disabled = true;
      const kind = composer.querySelector("input[name=kind]:checked");
      const fields = {body: body.value, pinned: $("post-pinned").checked};
      const ack = reviewed()
        ? await request("submit_review", Object.assign({kind: "post", post_kind: kind ? kind.value : "policy"}, fields))
        : await request("post", Object.assign({kind: kind ? kind.value : "policy"}, fields));
      submit.disabled = false;
      if (!ack.ok) { error.textContent = ack.message; return; }
      body.value = "";
      $("post-pinned").checked = false;
      error.dataset.kind = "ok";
      error.textContent = reviewed() ? T.sent_for_review : T.posted;
      window.setTimeout(() => { if (error.dataset.kind === "ok") { error.textContent = ""; error.dataset.kind = ""; } }, 3000);
    });
    body.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); composer.requestSubmit(); }
    });
  }

  // -- start and end the session ------------------------------------------------------------------

  function hideConfirm() {
    const box = $("session-confirm");
    if (!box) return;
    box.hidden = true;
    delete box.dataset.action;
  }

  function askConfirm(action) {
    const box = $("session-confirm");
    const text = $("session-confirm-text");
    const yes = $("session-confirm-yes");
    box.dataset.action = action;
    text.textContent = text.dataset[action];
    yes.textContent = yes.dataset[action];
    yes.className = "button " + (action === "end" ? "danger" : "primary");
    box.hidden = false;
    $("session-error").textContent = "";
    (action === "end" ? $("session-confirm-no") : yes).focus();
  }

  const sessionActions = $("session-actions");
  if (sessionActions) {
    for (const id of ["start-button", "end-button"]) {
      const trigger = $(id);
      trigger.addEventListener("click", () => askConfirm(trigger.dataset.sessionAction));
    }
    $("session-confirm-no").addEventListener("click", () => {
      const action = $("session-confirm").dataset.action;
      hideConfirm();
      const back = $(action === "end" ? "end-button" : "start-button");
      if (back && !back.hidden) back.focus();
    });
    $("session-confirm").addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); $("session-confirm-no").click(); }
    });
    $("session-confirm-yes").addEventListener("click", async (event) => {
      const action = $("session-confirm").dataset.action;
      if (!action) return;
      const yes = event.currentTarget;
      yes.disabled = true;
      const ack = await request(action, {});
      yes.disabled = false;
      if (!ack.ok) { $("session-error").textContent = ack.message; return; }
      hideConfirm();
      if (ack.state && state.session) { state.session.state = ack.state; renderSession(); renderAllCards(); renderPosts(); }
      announce(action === "start" ? T.started : T.ended);
      $("state-badge").focus();
    });
  }

  selectQueue("pending");
  setBanner(T.connecting, "info");
}());
