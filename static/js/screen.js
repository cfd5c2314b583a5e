// The projector view: what the director chose (the latest answer by default), the most upvoted
// questions and the counters, kept live over /qa with the same join/replay logic as the
// citizen's page (qa_stream.js).

import {
  QaStream, bdi, el, format, readConfig, reloadButton, timeFormatter, userText,
} from "./qa_stream.js";
import { PollsView, resultsNode } from "./polls.js";
import { renderDepartmentsLine, renderTitle } from "./session_facts.js";
import { setStream } from "./media.js";

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
  if (reply.guest) {
    answerMeta.append(bdi(reply.guest.name));
    if (reply.guest.title) answerMeta.append(" ", bdi(reply.guest.title));
    answerMeta.append(" · ");
  }
  if (reply.department) answerMeta.append(bdi(reply.department), " ");
  const time = el("time", "", when(reply.created_at));
  time.dateTime = reply.created_at || "";
  answerMeta.append(time);
  const answer = el("div", "featured-answer");
  answer.append(answerMeta, userText("p", "a-body", reply.body));
  body.replaceChildren(userText("p", "featured-question", question.text), meta, answer);
}

// What the director put on the projector (docs/realtime.md, the `screen` event): one panel
// per kind. A renderer draws its item and says whether it could; a choice this page cannot show
// (its item gone, a kind it does not know) shows the latest answer. Modules that add a kind on
// the server (qa_live/live/screen.py) add a panel to screen.html and a renderer here.
const RENDERERS = {
  question(id) {
    const question = stream.questions.get(id);
    if (!question || question.status !== "approved") return false;
    const meta = el("p", "featured-meta");
    meta.append(bdi(question.nickname || t.citizen));
    if (question.department) meta.append(" · ", bdi(question.department));
    $("highlight-body").replaceChildren(userText("p", "highlight-question", question.text), meta);
    return true;
  },
  post(id) {
    const post = stream.posts.get(id);
    if (!post) return false;
    $("chosen-post-title").textContent = post.kind === "notice" ? t.notice : t.policy;
    $("post-body").replaceChildren(userText("p", "screen-post-text", post.body));
    return true;
  },
  qr() {
    return true;  // the page's own QR code, drawn by the server
  },
  photo(id) {
    const photo = stream.photos.get(id);
    if (!photo || !photo.full) return false;
    const img = document.createElement("img");
    img.src = photo.full;
    img.alt = photo.caption || "";
    if (photo.width) img.width = photo.width;
    if (photo.height) img.height = photo.height;
    const body = $("screen-photo-body");
    if (body.dataset.key !== `${photo.full}|${photo.caption}`) {
      body.replaceChildren(img, userText("figcaption", "", photo.caption || ""));
      body.dataset.key = `${photo.full}|${photo.caption}`;
    }
    return true;
  },
  // A poll's results as citizens may see them: a poll whose results wait for its closing
  // shows its question until it closes (its `results` stay null until then).
  poll(id) {
    const poll = stream.polls.get(id);
    if (!poll) return false;
    const parts = [userText("p", "highlight-question", poll.question)];
    if (poll.results) parts.push(resultsNode(poll.results, [], config.poll_t));
    else parts.push(el("p", "muted poll-later", config.poll_t.later));
    $("screen-poll-body").replaceChildren(...parts);
    return true;
  },
};

function renderChoice(live) {
  const choice = (live && stream.session.screen) || { kind: "latest", id: null };
  const render = RENDERERS[choice.kind];
  const shown = render && render(choice.id) ? choice.kind : "latest";
  $("screen-main").dataset.shown = shown;
  for (const panel of document.querySelectorAll("[data-screen-kind]")) {
    panel.hidden = panel.dataset.screenKind !== shown;
  }
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

/** The host's latest post (a pinned one first), as citizens see it on their page. */
function renderPost(posts) {
  const post = posts.sort((a, b) => Number(b.pinned) - Number(a.pinned) || b.id - a.id)[0];
  $("screen-post").hidden = !post;
  if (!post) return;
  const time = el("time", "", when(post.created_at));
  time.dateTime = post.created_at || "";
  $("screen-post-meta").replaceChildren(`${post.kind === "policy" ? t.policy : t.notice} · `, time);
  $("screen-post-body").textContent = post.body;
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
  const playing = ["announced", "live"].includes(stream.session.state);
  setStream(playing ? stream.session.stream_url : null, "hls", config.hls_src);
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
  renderChoice(state === "live");
  const top = questions.filter((q) => q !== latest).sort((a, b) =>
    b.upvotes - a.upvotes || ((b.published_at || "") > (a.published_at || "") ? 1 : -1));
  renderTop(top.slice(0, config.top));
  renderPost([...stream.posts.values()]);
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
