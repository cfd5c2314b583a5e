// Live polls on the citizen's page and the projector, drawn from the /qa stream (qa_stream.js).
//
// A poll's card has two parts kept apart: the answer form, rebuilt only when the poll or the
// visitor's answer changes (so a choice being made is never wiped), and the results, redrawn
// with each `poll_results` summary. Answers go over the socket (`poll_answer`, with its ack);
// without the script the page's form posts instead. Texts come from config.poll_t.

import { el, format, userText } from "./qa_stream.js";

export function resultsNode(results, mine, t) {
  const box = el("div", "poll-results-box");
  const list = el("ol", "poll-results");
  for (const option of results.options) {
    const item = el("li", mine.includes(option.id) ? "poll-result is-mine" : "poll-result");
    const figure = el("span", "poll-figure");
    figure.append(el("span", "poll-count", option.count), " · ", el("span", "poll-share", option.share));
    const bar = el("meter", "poll-bar");
    bar.min = 0;
    bar.max = results.respondents || 1;
    bar.value = option.count;
    item.append(userText("span", "poll-label", option.label), figure, bar);
    list.append(item);
  }
  const total = results.respondents === 1 ? t.answered_one : format(t.answered, { n: results.respondents });
  box.append(list, el("p", "poll-total muted", total));
  return box;
}

export class PollsView {
  /**
   * @param stream the page's QaStream
   * @param options {list, section, t, mine: {poll_id: [option ids]}, answerable, latestOnly,
   *   slug}; answerable: draw answer forms (the citizen's page, not the projector)
   */
  constructor(stream, options) {
    this.stream = stream;
    this.list = options.list;
    this.section = options.section;
    this.t = options.t;
    this.answerable = Boolean(options.answerable);
    this.latestOnly = Boolean(options.latestOnly);
    this.mine = new Map(Object.entries(options.mine || {}).map(([k, v]) => [Number(k), v]));
    this.cards = new Map();
    this.list.replaceChildren();  // drawn from here on, from the same snapshot
    if (this.answerable) this.list.addEventListener("submit", (event) => this.submit(event));
  }

  render() {
    let polls = [...this.stream.polls.values()].sort((a, b) => b.id - a.id);
    if (this.latestOnly) polls = polls.slice(0, 1);
    this.section.hidden = polls.length === 0;
    const live = this.stream.session.state === "live";
    const seen = new Set();
    let previous = null;
    for (const poll of polls) {
      seen.add(poll.id);
      const card = this.card(poll, live);
      const wanted = previous ? previous.nextSibling : this.list.firstChild;
      if (wanted !== card) this.list.insertBefore(card, wanted);
      previous = card;
    }
    for (const [id, entry] of this.cards) {
      if (!seen.has(id)) {
        entry.node.remove();
        this.cards.delete(id);
      }
    }
  }

  card(poll, live) {
    const t = this.t;
    const mine = this.mine.get(poll.id) || [];
    let entry = this.cards.get(poll.id);
    const headKey = `${poll.state}|${poll.question}|${poll.max_choices}`;
    if (!entry || entry.headKey !== headKey) {
      const node = el("li", `poll poll-${poll.state}`);
      node.id = `poll-${poll.id}`;
      node.dataset.id = String(poll.id);
      const meta = el("p", "poll-meta");
      meta.append(el("span", "badge badge-poll", t.poll));
      if (poll.state === "closed") meta.append(" ", el("span", "badge", t.closed));
      if (poll.multiple) meta.append(" ", el("span", "muted", format(t.choose_up_to, { n: poll.max_choices })));
      const form = el("div", "poll-form-slot");
      const results = el("div", "poll-results-slot");
      node.append(meta, userText("h3", "poll-question", poll.question), form, results);
      if (entry) entry.node.replaceWith(node);
      entry = { node, headKey, form, results, formKey: null, resultsKey: null };
      this.cards.set(poll.id, entry);
    }
    const formKey = `${live}|${mine.join(",")}`;
    if (entry.formKey !== formKey) {
      entry.form.replaceChildren();
      if (this.answerable && live && poll.state === "open") entry.form.append(this.form(poll, mine));
      entry.formKey = formKey;
    }
    const resultsKey = JSON.stringify(poll.results) + mine.join(",");
    if (entry.resultsKey !== resultsKey) {
      entry.results.replaceChildren();
      if (poll.results) {
        entry.results.append(resultsNode(poll.results, mine, t));
      } else if (poll.state === "open") {
        if (!this.answerable) {  // the projector: the room reads the options
          const list = el("ol", "poll-choices-list");
          for (const option of poll.options) list.append(userText("li", "", option.label));
          entry.results.append(list);
        }
        entry.results.append(el("p", "muted poll-later", t.later));
      }
      entry.resultsKey = resultsKey;
    }
    return entry.node;
  }

  form(poll, mine) {
    const t = this.t;
    const form = el("form", "poll-form");
    form.method = "post";
    form.dataset.poll = String(poll.id);
    const box = el("fieldset", "poll-options");
    for (const option of poll.options) {
      const label = el("label", "poll-option");
      const input = el("input");
      input.type = poll.multiple ? "checkbox" : "radio";
      input.name = "option";
      input.value = String(option.id);
      input.checked = mine.includes(option.id);
      label.append(input, " ", userText("span", "", option.label));
      box.append(label);
    }
    const error = el("p", "error poll-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    const button = el("button", "button primary poll-submit", mine.length ? t.change : t.send);
    button.type = "submit";
    const status = el("p", "poll-status", t.counted);
    status.setAttribute("role", "status");
    status.hidden = mine.length === 0;
    form.append(box, error, button, status);
    return form;
  }

  submit(event) {
    const form = event.target.closest("form.poll-form");
    if (!form) return;
    event.preventDefault();
    const t = this.t;
    const id = Number(form.dataset.poll);
    const poll = this.stream.polls.get(id);
    const error = form.querySelector(".poll-error");
    const button = form.querySelector(".poll-submit");
    const show = (message) => {
      error.textContent = message;
      error.hidden = !message;
    };
    const chosen = [...form.querySelectorAll("input[name=option]:checked")].map((i) => Number(i.value));
    if (!chosen.length) return show(t.none);
    if (poll && chosen.length > poll.max_choices) return show(format(t.too_many, { n: poll.max_choices }));
    if (!this.stream.ready) return show(t.offline);
    show("");
    button.disabled = true;
    this.stream.emit("poll_answer", { poll_id: id, option_ids: chosen }, (err, ack) => {
      button.disabled = false;
      if (err || !ack) return show(t.failed);
      if (!ack.ok) return show(ack.message || t.failed);
      this.mine.set(id, ack.option_ids);
      this.render();
    });
  }
}
