// The /qa stream shared by the citizen's page (live.js) and the projector view (screen.js).
//
// It holds what the page shows (questions, posts, own questions, counters, session info) keyed
// by id, applies the server's numbered envelopes strictly in seq order, and after a reconnect
// re-joins with the last seq it applied so the server replays exactly what was missed (or
// sends a snapshot). Every envelope is an upsert or a removal by id, so nothing is duplicated.
// The server's heartbeat (`seq`) says which seq the session is at: a page that missed an
// event (a broker outage, a worker restart) notices it within seconds and replays it, even
// when nothing else is published.
// The protocol is described in docs/realtime.md.

/** Read the JSON block the server put in the page. */
export function readConfig(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

/** Fill %(name)s / %(name)d placeholders of a translated string. */
export function format(template, values = {}) {
  return String(template).replace(/%\((\w+)\)[sd]/g, (match, key) =>
    Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match);
}

/** Make an element with classes and (plain) text: never HTML from data. */
export function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

/**
 * An element holding user text (a name, a title, a question, an answer). dir="auto" gives it
 * its own direction and isolates it (Unicode bidi), so a right-to-left name or a U+202E in it
 * cannot reorder the text around it.
 */
export function userText(tag, className, text) {
  const node = el(tag, className, text);
  node.dir = "auto";
  return node;
}

/** A bare piece of user text among other text, isolated the same way (<bdi>). */
export function bdi(text) {
  return el("bdi", "", text);
}

/** A button that reloads the page (offered when only a reload can help). */
export function reloadButton(label) {
  const button = el("button", "button small reload", label);
  button.type = "button";
  button.addEventListener("click", () => window.location.reload());
  return button;
}

/** Format ISO times in the site's zone: "09:30", or with the date. */
export function timeFormatter(timeZone) {
  const lang = document.documentElement.lang || "zh-CN";
  const time = new Intl.DateTimeFormat(lang, {
    timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const date = new Intl.DateTimeFormat("en-CA", {
    timeZone, year: "numeric", month: "2-digit", day: "2-digit",
  });
  return (iso, withDate = false) => {
    if (!iso) return "";
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    return withDate ? `${date.format(moment)} ${time.format(moment)}` : time.format(moment);
  };
}

/** Newest published first, or most upvoted first (newest breaks ties); pinned on top. */
export function sortQuestions(questions, order, pinnedFirst = true) {
  const when = (q) => q.published_at || q.created_at || "";
  const list = [...questions].sort((a, b) =>
    (when(b) > when(a) ? 1 : when(b) < when(a) ? -1 : b.id - a.id));
  if (order === "votes") list.sort((a, b) => b.upvotes - a.upvotes);
  if (pinnedFirst) list.sort((a, b) => Number(b.pinned) - Number(a.pinned));
  return list;
}

const GAP_WAIT_MS = 2000;  // how long a hole in the seq numbers may last before a re-join
const REFUSED_RETRY_MS = 30000;  // after "too many connections", try again in 30–60 s
const UNAVAILABLE_RETRY_MS = 3000;  // a join the server could not serve just now goes again

export class QaStream {
  /**
   * @param config the page's config: slug, namespace, socket_path, ack_timeout_ms, snapshot
   * @param handlers onChange(), onStatus(status, message), onJoined(), onWithdrawn(id),
   *   onMine(question, before): one of the visitor's questions changed, in any session
   *   (before: what this page knew of it, or undefined);
   *   status is "connected", "reconnecting", "wait" (refused for a while: it tries again),
   *   "reload" (refused: only a reload helps) or "error" (a join was refused)
   */
  constructor(config, handlers = {}) {
    this.config = config;
    this.handlers = handlers;
    this.questions = new Map();
    this.posts = new Map();
    this.photos = new Map();
    this.materials = [];
    this.polls = new Map();  // live polls by id; `results` null until citizens may see them
    this.mine = new Map();
    this.counts = {};
    this.session = {};
    this.lastSeq = 0;
    this.latest = 0;        // the highest seq the server said the session has reached
    this.joined = false;
    this.everJoined = false;
    this.failures = 0;      // connection attempts that failed before the first join
    this.joining = false;
    this.buffer = [];       // envelopes that arrive while a join is on its way
    this.ahead = new Map(); // seq -> envelope received before the ones in front of it
    this.gapTimer = null;
    this.retryTimer = null;
    this.socket = null;
    this.renderQueued = false;
    this.loadSnapshot(config.snapshot);
  }

  /** Open the socket; joining happens on every (re)connect. */
  connect() {
    if (typeof window.io !== "function") {
      this.status("reload");
      return;
    }
    const socket = window.io(this.config.namespace, {
      path: this.config.socket_path,
      // The socket speaks the page's language, also when it came from ?lang= (no cookie).
      query: this.config.lang ? { lang: this.config.lang } : {},
      // Straight to a WebSocket: on a slow line the long-polling start and its upgrade cost
      // several round trips before the join. Where WebSockets are blocked, long polling.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    this.socket = socket;
    socket.io.on("error", () => {
      if (!this.everJoined) this.failures += 1;
    });
    socket.on("connect", () => this.join());
    socket.on("disconnect", (reason) => {
      this.joined = false;
      this.joining = false;
      this.status("reconnecting");
      // The server closed us on purpose (e.g. a restart): socket.io will not retry by itself.
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", (error) => {
      // A transport failure: socket.io tries again by itself (socket.active stays true).
      // A refusal by the server (docs/realtime.md, "Refused connections") it does not retry:
      // err.data holds {error, message}. Too many connections from one network: wait and try
      // again; anything else (no visitor cookie): only a reload helps, so ask for one.
      if (socket.active) {
        this.status("reconnecting");
        return;
      }
      const data = (error && error.data) || {};
      if (data.error === "too_many_connections" || data.error === "unavailable") {
        // Too many from one network: wait half a minute; the server briefly unavailable (a
        // database or Redis outage): a few seconds.
        const pause = data.error === "unavailable" ? UNAVAILABLE_RETRY_MS : REFUSED_RETRY_MS;
        this.status("wait", data.message);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          if (!socket.connected) socket.connect();
        }, pause + Math.random() * pause);
        return;
      }
      this.status("reload", typeof data.message === "string" ? data.message : "");
    });
    socket.on("event", (envelope) => this.receive(envelope));
    socket.on("seq", (data) => {
      if (data && data.session_id === this.session.id && typeof data.seq === "number") {
        this.latest = Math.max(this.latest, data.seq);
        this.watchGap();
      }
    });
    socket.on("counts", (counts) => {
      if (counts && counts.session_id === this.session.id) {
        this.counts = counts;
        this.changed();
      }
    });
    socket.on("votes", (data) => {
      if (data && data.session_id === this.session.id) {
        this.applyUpvotes(data.upvotes);
        this.changed();
      }
    });
    socket.on("mine.withdrawn", (data) => {
      if (data && this.mine.delete(data.id)) this.changed();
      if (data && this.handlers.onWithdrawn) this.handlers.onWithdrawn(data.id);
    });
    socket.on("poll_results", (data) => {
      if (data && data.session_id === this.session.id) {
        this.applyPollResults(data.results);
        this.changed();
      }
    });
    socket.on("mine", (question) => {
      if (question && this.handlers.onMine) this.handlers.onMine(question, this.mine.get(question.id));
      // The visitor's room hears about their questions in every session: take updates of
      // questions this page knows, and ask the joined session for the list otherwise.
      if (question && this.mine.has(question.id)) {
        this.upsertMine(question);
        this.changed();
      } else if (this.ready) {
        this.refreshMine();
      }
    });
  }

  /** Whether the connection has failed again and again without ever joining (a proxy, a
   *  firewall): the page then falls back to its plain forms. */
  get unreachable() {
    return !this.everJoined && this.failures >= 2;
  }

  /** Whether events can be sent right now. */
  get ready() {
    return Boolean(this.socket && this.socket.connected && this.joined);
  }

  /** Send an event with an acknowledgement; the callback gets (errorOrNull, ack). */
  emit(name, data, callback) {
    if (!this.socket || !this.socket.connected) {
      callback(new Error("not connected"), null);
      return;
    }
    this.socket.timeout(this.config.ack_timeout_ms || 10000).emit(name, data, callback);
  }

  join() {
    this.joining = true;
    this.buffer = [];
    const data = { slug: this.config.slug, last_seq: this.lastSeq };
    if (this.config.screen) data.screen = true;  // the room's projector is not a participant
    this.emit("join", data, (error, ack) => {
      this.joining = false;
      if (error) {
        if (this.socket.connected) this.join();  // the answer got lost: ask again
        return;
      }
      if (!ack || !ack.ok) {
        if (ack && ack.error === "unavailable") {
          // The server could not serve it just now (its database): say so, and try again.
          this.status("unavailable", ack.message);
          setTimeout(() => {
            if (this.socket.connected && !this.joining) this.join();
          }, UNAVAILABLE_RETRY_MS);
          return;
        }
        this.status("error", ack && ack.message);
        return;
      }
      if (ack.mode === "snapshot") {
        this.loadSnapshot(ack.snapshot);
      } else {
        for (const envelope of ack.events) this.apply(envelope);
        this.lastSeq = Math.max(this.lastSeq, ack.seq);
        if (ack.counts) this.counts = ack.counts;
        if (ack.upvotes) this.applyUpvotes(ack.upvotes);
        if (ack.poll_results) this.applyPollResults(ack.poll_results);
        if (ack.mine) this.setMine(ack.mine);
      }
      const buffered = this.buffer;
      this.buffer = [];
      this.joined = true;
      this.drainAhead();  // what was held before the replay is applied now, or covered by it
      this.everJoined = true;
      for (const envelope of buffered) this.receive(envelope);
      this.status("connected");
      this.changed();
      this.watchGap();  // still behind what the heartbeat said: look again in a moment
      if (this.handlers.onJoined) this.handlers.onJoined();
    });
  }

  /** Whether the page lacks events: one held back by a hole, or a seq the server announced. */
  get behind() {
    return this.ahead.size > 0 || this.latest > this.lastSeq;
  }

  /** While behind, wait a moment for what is missing, then ask the server to replay it. */
  watchGap() {
    if (this.gapTimer || !this.behind) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (!this.behind) return;
      if (this.ready && !this.joining) this.join();
      else this.watchGap();  // a (re)connect is on its way; it replays from lastSeq anyway
    }, GAP_WAIT_MS);
  }

  /** Take an envelope pushed by the server: apply it in order, hold it if one is missing. */
  receive(envelope) {
    if (!envelope || typeof envelope.seq !== "number") return;
    if (this.joining) {
      this.buffer.push(envelope);
      return;
    }
    if (envelope.seq <= this.lastSeq) return;  // seen already (replay overlap, second tab)
    this.ahead.set(envelope.seq, envelope);
    const applied = this.drainAhead();
    this.watchGap();  // a hole in the numbers: wait a moment for it, then replay it
    if (applied) this.changed();
  }

  /** Apply the held envelopes that now follow on; drop those already covered. */
  drainAhead() {
    let applied = false;
    while (this.ahead.has(this.lastSeq + 1)) {
      const next = this.ahead.get(this.lastSeq + 1);
      this.ahead.delete(next.seq);
      this.apply(next);
      applied = true;
    }
    for (const seq of this.ahead.keys()) if (seq <= this.lastSeq) this.ahead.delete(seq);
    return applied;
  }

  /** Apply one envelope (an upsert or removal by id) and remember its seq. */
  apply(envelope) {
    if (envelope.seq <= this.lastSeq) return;
    const data = envelope.data || {};
    switch (envelope.type) {
      case "question": this.questions.set(data.id, data); break;
      case "question.removed": this.questions.delete(data.id); break;
      case "post": this.posts.set(data.id, data); break;
      case "post.removed": this.posts.delete(data.id); break;
      case "photo": this.photos.set(data.id, data); break;
      case "photo.removed": this.photos.delete(data.id); break;
      case "materials": this.materials = data.materials || []; break;
      case "session": this.setSession(data); break;
      case "screen": this.session = { ...this.session, screen: data }; break;
      case "poll": {
        // Open polls' counts travel as poll_results summaries: keep the ones held until then.
        const held = this.polls.get(data.id);
        this.polls.set(data.id, data.results || !held ? data : { ...data, results: held.results });
        break;
      }
      default: break;  // a type this page does not know: skip it, keep the numbering
    }
    this.lastSeq = envelope.seq;
  }

  loadSnapshot(snapshot) {
    if (!snapshot) return;
    this.questions = new Map(snapshot.questions.map((q) => [q.id, q]));
    this.posts = new Map(snapshot.posts.map((p) => [p.id, p]));
    this.photos = new Map((snapshot.photos || []).map((p) => [p.id, p]));
    this.materials = snapshot.materials || [];
    this.polls = new Map((snapshot.polls || []).map((p) => [p.id, p]));
    this.session = snapshot.session;
    this.counts = snapshot.counts || {};
    const before = this.lastSeq;
    this.lastSeq = snapshot.seq || 0;
    // A snapshot behind what the page had applied: the server's log went back (the database
    // was restored from a backup). What the page heard of later numbers no longer holds.
    if (this.lastSeq < before) this.latest = this.lastSeq;
    this.ahead.clear();
    if (snapshot.mine) this.setMine(snapshot.mine);
  }

  /**
   * New session facts (a `session` event). A department renamed in them is renamed on the
   * questions and answers this page holds too: they carry the department's name.
   */
  setSession(info) {
    const renamed = new Map();
    const now = new Map((info.departments || []).map((d) => [d.id, d.name]));
    for (const d of this.session.departments || []) {
      if (now.has(d.id) && now.get(d.id) !== d.name) renamed.set(d.name, now.get(d.id));
    }
    if (renamed.size) {
      const relabel = (item) => {
        if (renamed.has(item.department)) item.department = renamed.get(item.department);
      };
      for (const q of [...this.questions.values(), ...this.mine.values()]) {
        relabel(q);
        for (const a of q.answers || []) relabel(a);
      }
    }
    this.session = info;
  }

  applyUpvotes(upvotes) {
    for (const [id, count] of Object.entries(upvotes || {})) {
      const question = this.questions.get(Number(id));
      if (question) question.upvotes = count;
    }
  }

  /** Counts of open polls shown live (a `poll_results` summary, or a replay's). */
  applyPollResults(results) {
    for (const result of results || []) {
      const poll = this.polls.get(result.poll_id);
      if (poll && poll.state === "open") poll.results = result;
    }
  }

  refreshMine() {
    this.emit("mine", {}, (error, ack) => {
      if (!error && ack && ack.ok) {
        this.setMine(ack.questions);
        this.changed();
      }
    });
  }

  setMine(list) {
    this.mine = new Map(list.map((q) => [q.id, q]));
  }

  upsertMine(question) {
    this.mine.set(question.id, question);
  }

  status(status, message) {
    if (this.handlers.onStatus) this.handlers.onStatus(status, message);
  }

  /** Redraw once after a burst of changes. */
  changed() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      if (this.handlers.onChange) this.handlers.onChange();
    });
  }
}
