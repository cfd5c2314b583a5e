// A session's public facts on the citizen's page and the projector: the theme, the departments
// online, who is on duty, the guests. The server renders them; a `session` event (the office
// changed the session, or renamed a department: docs/realtime.md) brings new ones, and these
// functions redraw them. Names are user text: inserted as text, each in a <bdi> so a name
// written right-to-left (or with a U+202E in it) cannot reorder what follows it.

import { bdi, el, userText } from "./qa_stream.js";

/**
 * The theme in the page's heading and in the window's title ("theme · site"). Markup cannot
 * isolate text in a title: U+2068 FIRST STRONG ISOLATE … U+2069 POP DIRECTIONAL ISOLATE do,
 * as the server's `isolate` filter does for <title>.
 */
export function renderTitle(session) {
  const heading = document.getElementById("session-title");
  if (!heading || typeof session.title !== "string") return;
  if (heading.textContent !== session.title) heading.textContent = session.title;
  const cut = document.title.lastIndexOf(" · ");
  const site = cut >= 0 ? document.title.slice(cut) : "";
  const wanted = `\u2068${session.title}\u2069${site}`;
  if (document.title !== wanted) document.title = wanted;
}

function people(items, build) {
  const list = el("ul", "people");
  for (const item of items) list.append(build(item));
  return list;
}

/**
 * The citizen page's facts list (<dl id="session-facts">): departments, on duty, guests.
 * `t` holds the labels: departments, on_duty, guests, duty_host, duty_on_duty.
 */
export function renderFactsList(session, t) {
  const list = document.getElementById("session-facts");
  if (!list) return;
  const key = JSON.stringify([session.departments, session.on_duty, session.guests]);
  if (list.dataset.drawn === key) return;
  list.dataset.drawn = key;
  const rows = [];
  const departments = el("dd");
  for (const d of session.departments || []) departments.append(userText("span", "tag", d.name));
  rows.push(el("dt", "", t.departments), departments);
  if (session.on_duty && session.on_duty.length) {
    const duty = el("dd");
    duty.append(people(session.on_duty, (p) => {
      const item = el("li");
      item.append(bdi(p.name), " ", el("span", "muted",
        `· ${p.duty === "host" ? t.duty_host : t.duty_on_duty}`));
      return item;
    }));
    rows.push(el("dt", "", t.on_duty), duty);
  }
  if (session.guests && session.guests.length) {
    const guests = el("dd");
    guests.append(people(session.guests, (g) => {
      const item = el("li");
      item.append(userText("strong", "", g.name));
      if (g.title) item.append(" · ", bdi(g.title));
      return item;
    }));
    rows.push(el("dt", "", t.guests), guests);
  }
  list.replaceChildren(...rows);
}

/** The projector's line of departments ("A · B · C", id="session-departments"). */
export function renderDepartmentsLine(session) {
  const line = document.getElementById("session-departments");
  if (!line) return;
  const key = JSON.stringify(session.departments || []);
  if (line.dataset.drawn === key) return;
  line.dataset.drawn = key;
  const parts = [];
  for (const d of session.departments || []) {
    if (parts.length) parts.push(" · ");
    parts.push(bdi(d.name));
  }
  line.replaceChildren(...parts);
}
