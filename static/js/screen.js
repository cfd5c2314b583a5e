// The projector view: the latest answer, the most upvoted questions and the counters, kept
// live over /qa with the same join/replay logic as the citizen's page (qa_stream.js).

import {
  QaStream, bdi, el, format, readConfig, reloadButton, timeFormatter, userText,
} from "./qa_stream.js";
import { PollsView } from "./polls.js";
import { renderDepartmentsLine, renderTitle } from "./session_facts.js";

const config = readConfig("screen-config");
const t = config.t;
const when = timeFormatter(config.timezone);
const startFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
  timeZone: config.timezone, dateStyle: "short", timeStyle: "short",
});
// The start time the server wrote in the page; redrawn only once it changes.
let shownStart = config.snapshot && config.snapshot.session.scheduled_start;
const $ = (id) => document.getElementById(id);

function latestAnswered(questions) {
  let best = null;
  for (const q of questions) {
    if (!q.answers || !q.answers.length) continue;
    const key = q.answered_at || "";
    if (!best || key > (best.answered_at || "") || (key === (best.answered_at || "") && q.id > best.id)) {
      best = q;
    }
  }
  return best;
}

function renderFeatured(question) {
  const body = $("featured-body");
  if (!question) {
    body.replaceChildren(el("p", "screen-empty", t.no_answer_yet));
    return;
  }
  const reply = question.answers[question.answers.length - 1];
  const meta = el("p", "featured-meta");
  meta.append(bdi(question.nickname || t.citizen));
  if (question.department) meta.append(" · ", bdi(question.department));
  const answerMeta = el("p", "a-meta");
  if (reply.kind === "follow_up") answerMeta.append(`${t.follow_up_answer} · `);
  if (reply.department) answerMeta.append(bdi(reply.department), " ");
  const time = el("time", "", when(reply.created_at));
  time.dateTime = reply.created_at || "";
  answerMeta.append(time);
  const answer = el("div", "featured-answer");
  answer.append(answerMeta, userText("p", "a-body", reply.body));
  body.replaceChildren(userText("p", "featured-question", question.text), meta, answer);
}

/** The question the host marked as being answered now, shown instead of the latest answer. */
function renderHighlight(question) {
  const panel = $("highlight-panel");
  panel.hidden = !question;
  $("featured-panel").hidden = Boolean(question);
  if (!question) {
    $("highlight-body").replaceChildren();
    return;
  }
  const meta = el("p", "featured-meta", question.nickname || t.citizen);
  if (question.department) meta.append(` · ${question.department}`);
  $("highlight-body").replaceChildren(el("p", "highlight-question", question.text), meta);
}

function renderTop(questions) {
  const items = questions.map((q) => {
    const item = el("li");
    const votes = el("span", "top-votes", q.upvotes);
    if (q.status === "answered") votes.append(el("span", "top-answered", t.answered));
    item.append(userText("span", "top-text", q.text), votes);
    return item;
  });
  $("top-list").replaceChildren(...items);
  $("top-empty").hidden = items.length > 0;
}

function render() {
  const state = stream.session.state;
  const screen = $("screen");
  screen.dataset.state = state;
  const badge = $("state-badge");
  badge.textContent = config.states[state] || state;
  badge.className = `state-badge state-${state}`;
  const waiting = state === "announced" || state === "cancelled";
  $("screen-waiting").hidden = !waiting;
  renderTitle(stream.session);
  renderDepartmentsLine(stream.session);
  polls.render();
  const note = $("waiting-note");
  if (state === "cancelled") {
    note.textContent = t.cancelled;
  } else if (state === "announced" && stream.session.scheduled_start !== shownStart) {
    shownStart = stream.session.scheduled_start;
    note.textContent = format(t.starts_at, { time: startFormat.format(new Date(shownStart)) });
  }
  $("screen-main").hidden = waiting;
  $("ended-note").hidden = !(state === "ended" || state === "archived");

  for (const name of ["online", "participant_visits", "questions", "answered"]) {
    const value = stream.counts[name];
    if (value !== undefined) $(`count-${name}`).textContent = String(value);
  }

  const questions = [...stream.questions.values()];
  const latest = latestAnswered(questions);
  renderFeatured(latest);
  const highlighted = state === "live" ? stream.questions.get(stream.session.highlighted_question_id) : null;
  renderHighlight(highlighted && highlighted.status === "approved" ? highlighted : null);
  const top = questions.filter((q) => q !== latest).sort((a, b) =>
    b.upvotes - a.upvotes || ((b.published_at || "") > (a.published_at || "") ? 1 : -1));
  renderTop(top.slice(0, config.top));
}

function showConnection(status, message) {
  const banner = $("conn-banner");
  if (status === "connected") {
    banner.hidden = true;
    return;
  }
  banner.replaceChildren(status === "reconnecting" ? t.reconnecting : (message || t.reload));
  if (status === "reload") banner.append(" ", reloadButton(t.reload_button));
  banner.hidden = false;
}

const stream = new QaStream(config, { onChange: render, onStatus: showConnection });
// The latest poll, with its results once citizens may see them (the host's choice).
const polls = new PollsView(stream, {
  list: $("poll-list"), section: $("polls"), t: config.poll_t, latestOnly: true,
});
window.qaStream = stream;  // a handle for the browser console and the browser tests
stream.connect();
