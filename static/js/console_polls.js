/* The console's live polls (templates/console/_polls.html): open, watch the results, close.
 *
 * Uses the console's socket (window.qaConsole): `poll_open` and `poll_close` are staff
 * commands with acknowledgements; `poll` events upsert a poll and `poll_results` summaries
 * bring its counts (throttled by the server). The join's snapshot arrives as "qa:joined".
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const root = $("console");
  const panel = $("console-polls");
  if (!root || !panel || !window.qaConsole) return;
  const T = JSON.parse($("console-polls-config").textContent);
  const socket = window.qaConsole.socket;
  const canModerate = root.dataset.canModerate === "true";
  const polls = new Map();
  const fmt = (s, v) => String(s).replace(/%\((\w+)\)[sd]/g, (m, k) => (k in v ? String(v[k]) : m));

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function send(event, data) {
    return new Promise((resolve) => {
      if (!socket.connected) {
        resolve({ok: false, message: T.no_reply});
        return;
      }
      socket.timeout(10000).emit(event, data, (err, ack) => {
        resolve(err || !ack ? {ok: false, message: T.no_reply} : ack);
      });
    });
  }

  function results(r) {
    const list = el("ol", "poll-results");
    for (const o of r.options) {
      const item = el("li", "poll-result");
      const label = el("span", "poll-label", o.label);
      label.dir = "auto";
      const figure = el("span", "poll-figure");
      figure.append(el("span", "poll-count", o.count), " · ", el("span", "poll-share", o.share));
      const bar = el("meter", "poll-bar");
      bar.min = 0;
      bar.max = r.respondents || 1;
      bar.value = o.count;
      item.append(label, figure, bar);
      list.append(item);
    }
    const total = r.respondents === 1 ? T.answered_one : fmt(T.answered, {n: r.respondents});
    return [list, el("p", "poll-total muted", total)];
  }

  function card(p) {
    const item = el("li", "poll poll-" + p.state);
    item.id = "console-poll-" + p.id;
    const meta = el("p", "poll-meta");
    meta.append(el("span", "badge", p.state === "open" ? T.open : T.closed), " ",
      el("span", "muted", p.results_shown === "live" ? T.shown_live : T.shown_closed));
    if (p.multiple) meta.append(" ", el("span", "muted", fmt(T.choose_up_to, {n: p.max_choices})));
    const question = el("h3", "poll-question", p.question);
    question.dir = "auto";
    item.append(meta, question);
    if (p.results) item.append(...results(p.results));
    if (canModerate && p.state === "open") {
      const close = el("button", "button small danger poll-close", T.close);
      close.type = "button";
      const error = el("p", "action-error");
      error.setAttribute("role", "alert");
      close.addEventListener("click", async () => {
        close.disabled = true;
        const ack = await send("poll_close", {poll_id: p.id});
        close.disabled = false;
        error.textContent = ack.ok ? "" : (ack.message || T.failed);
      });
      item.append(close, error);
    }
    return item;
  }

  function render() {
    const list = $("console-poll-list");
    const ordered = [...polls.values()].sort((a, b) => b.id - a.id);
    list.replaceChildren(...ordered.map(card));
    $("console-polls-empty").hidden = ordered.length > 0;
  }

  root.addEventListener("qa:joined", (event) => {
    polls.clear();
    for (const p of (event.detail && event.detail.polls) || []) polls.set(p.id, p);
    render();
  });
  socket.on("poll", (p) => {
    if (p && typeof p.id === "number") {
      polls.set(p.id, p);
      render();
    }
  });
  socket.on("poll_results", (data) => {
    for (const r of (data && data.results) || []) {
      const p = polls.get(r.poll_id);
      if (p) p.results = r;
    }
    render();
  });

  const composer = $("poll-composer");
  if (composer) {
    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $("poll-error");
      const button = $("poll-open");
      const options = composer.elements.namedItem("options").value.split("\n")
        .map((s) => s.trim()).filter(Boolean);
      button.disabled = true;
      const ack = await send("poll_open", {
        question: composer.elements.namedItem("question").value,
        options,
        multiple: composer.elements.namedItem("multiple").checked,
        results: composer.querySelector("input[name=results]:checked").value,
      });
      button.disabled = false;
      if (!ack.ok) {
        error.textContent = ack.message || T.failed;
        return;
      }
      error.textContent = "";
      composer.reset();
    });
  }
})();
