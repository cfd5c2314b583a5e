// Photos, materials and the stream player on the citizen's page and the projector: the same
// markup as templates/media/_media.html, built from the payloads the /qa events carry
// (`photo`, `photo.removed`, `materials`, and `session` for the stream and the recording).
// User text (captions, titles, notes) goes in as text only.

import { bdi, el, userText } from "./qa_stream.js";

// The weight budget (templates/media/_media.html): phones are told 240 px, so a density-2
// phone takes the 480-wide size; a tap opens the full size.
export const PHOTO_SIZES = "(max-width: 640px) 240px, 600px";

/** A <picture> with WebP and JPEG sizes; the browser takes the smallest that fits. */
export function buildPicture(p, alt, sizes = PHOTO_SIZES) {
  const picture = el("picture");
  if (p.srcset_webp) {
    const source = el("source");
    source.type = "image/webp";
    source.srcset = p.srcset_webp;
    source.sizes = sizes;
    picture.append(source);
  }
  const img = el("img");
  img.loading = "lazy";
  img.decoding = "async";
  if (p.srcset_jpeg) {
    img.srcset = p.srcset_jpeg;
    img.sizes = sizes;
  }
  img.src = p.src;  // after srcset and sizes, so a browser fetches only what they choose
  img.width = p.width;
  img.height = p.height;
  img.alt = alt || "";
  picture.append(img);
  return picture;
}

/** One photo of the stream, as <li class="photo">. */
export function buildPhoto(p, when, t) {
  const item = el("li", "photo");
  item.id = `photo-${p.id}`;
  item.dataset.id = String(p.id);
  const figure = el("figure");
  if (p.src) {
    const link = el("a", "photo-full");
    link.href = p.full || p.src;
    link.append(buildPicture(p, p.caption || t.photo));
    figure.append(link);
  }
  const caption = el("figcaption");
  const time = el("time", "", when(p.created_at));
  if (p.created_at) time.dateTime = p.created_at;
  caption.append(userText("span", "photo-caption", p.caption), " ", time);
  figure.append(caption);
  item.append(figure);
  return item;
}

function buildMaterial(m, t) {
  const item = el("li", `material kind-${m.kind}`);
  item.id = `material-${m.id}`;
  if (m.photo) {
    const box = el("div", "material-photo");
    box.append(buildPicture(m.photo, m.title, "96px"));
    item.append(box);
  }
  const text = el("div", "material-text");
  const title = el("p", "material-title");
  title.append(userText("strong", "", m.title));
  if (m.subtitle) title.append(" · ", bdi(m.subtitle));
  text.append(title);
  for (const para of String(m.body || "").split("\n")) {
    if (para.trim()) text.append(userText("p", "", para));
  }
  if (m.document) {
    const line = el("p", "material-doc");
    const link = el("a", "", t.download_pdf);
    link.href = m.document.url;
    link.setAttribute("download", "");
    line.append(link, " ", el("span", "muted", t.pdf_size
      .replace("%(pages)d", String(m.document.pages || 0))
      .replace("%(kb)d", String(Math.max(1, Math.floor(m.document.bytes / 1024))))));
    text.append(line);
  }
  item.append(text);
  return item;
}

/** Redraw the materials section from a `materials` list (grouped in the kinds' order). */
export function renderMaterials(materials, t) {
  const section = document.getElementById("materials");
  const body = document.getElementById("materials-body");
  if (!section || !body) return;
  const key = JSON.stringify(materials);
  if (body.dataset.drawn === key) return;
  body.dataset.drawn = key;
  const groups = [];
  for (const kind of ["highlight", "guest", "background", "policy"]) {
    const items = materials.filter((m) => m.kind === kind);
    if (!items.length) continue;
    const group = el("div", "material-group");
    group.dataset.kind = kind;
    const list = el("ol", "material-list");
    for (const m of items) list.append(buildMaterial(m, t));
    group.append(el("h3", "", t.kinds[kind] || kind), list);
    groups.push(group);
  }
  body.replaceChildren(...groups);
  section.hidden = groups.length === 0;
}

// The player -------------------------------------------------------------------------------

let hls = null;
let loading = null;
let started = false;

function loadHls(src) {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => resolve(window.Hls);
      script.onerror = reject;
      document.head.append(script);
    });
  }
  return loading;
}

function attach(video, url, kind, hlsSrc) {
  if (kind !== "hls" || video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;  // a file, or HLS played by the browser itself (Safari, iOS)
    video.play().catch(() => {});
    return;
  }
  loadHls(hlsSrc).then((Hls) => {
    if (!Hls || !Hls.isSupported() || video.dataset.playing !== url) return;
    // No worker: the CSP allows no blob: scripts.
    hls = new Hls({ enableWorker: false });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
  }).catch(() => { /* the link under the player still opens the stream */ });
}

/**
 * Show `url` in the page's player (#stream-player). Nothing is fetched until the viewer
 * presses play (#stream-start): then Safari plays HLS itself, and elsewhere hls.js (loaded
 * only now) feeds the <video> through Media Source Extensions. An empty url hides the player.
 */
export function setStream(url, kind, hlsSrc) {
  const section = document.getElementById("player");
  const video = document.getElementById("stream-player");
  const button = document.getElementById("stream-start");
  if (!section || !video) return;
  if (button && !button.dataset.bound) {
    button.dataset.bound = "1";
    button.addEventListener("click", () => {
      started = true;
      button.hidden = true;
      attach(video, video.dataset.playing, video.dataset.kind || "hls", hlsSrc);
    });
  }
  if (video.dataset.playing === (url || "")) return;
  video.dataset.playing = url || "";
  video.dataset.src = url || "";
  video.dataset.kind = kind;
  if (hls) {
    hls.destroy();
    hls = null;
  }
  const link = document.getElementById("stream-link");
  if (link && url) link.href = url;
  section.hidden = !url;
  if (!url) {
    video.removeAttribute("src");
    return;
  }
  if (started) attach(video, url, kind, hlsSrc);
}
