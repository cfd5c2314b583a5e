// The console's "Photo live" card: posts a photo with fetch (the form works without it too)
// and keeps the list current from the /moderation socket console.js opened (window.qaConsole):
// `photo` and `photo.removed` for every console of the session.
(function () {
  "use strict";
  const card = document.getElementById("console-photos");
  if (!card) return;
  const list = document.getElementById("console-photo-list");
  const form = document.getElementById("photo-composer");

  function item(photo) {
    const li = document.createElement("li");
    li.id = `console-photo-${photo.id}`;
    const img = document.createElement("img");
    img.src = photo.src;
    img.alt = "";
    img.width = 96;
    img.loading = "lazy";
    const caption = document.createElement("span");
    caption.dir = "auto";
    caption.textContent = photo.caption || "";
    li.append(img, " ", caption);
    return li;
  }

  function upsert(photo) {
    if (!photo || typeof photo.id !== "number") return;
    const old = document.getElementById(`console-photo-${photo.id}`);
    if (old) old.replaceWith(item(photo));
    else list.prepend(item(photo));
  }

  function reload() {
    // After a reconnect: the list as it is now (events missed meanwhile included).
    fetch(card.dataset.staffApi, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data || !Array.isArray(data.photos)) return;
        list.replaceChildren(...data.photos.slice().reverse().map(item));
      })
      .catch(() => {});
  }

  function attach(tries) {
    const handle = window.qaConsole;
    if (!handle || !handle.socket) {
      if (tries > 0) window.setTimeout(() => attach(tries - 1), 200);
      return;
    }
    handle.socket.on("photo", upsert);
    handle.socket.on("photo.removed", (data) => {
      const node = data && document.getElementById(`console-photo-${data.id}`);
      if (node) node.remove();
    });
    let first = true;
    handle.socket.on("connect", () => {
      if (!first) reload();
      first = false;
    });
  }
  attach(50);

  if (!form) return;
  const error = document.getElementById("photo-error");
  const submit = document.getElementById("photo-submit");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((response) => response.json().catch(() => ({ ok: false, message: response.statusText })))
      .then((data) => {
        if (data.ok) {
          upsert(data.photo);
          // In a reviewed session the photo waits for a reviewer: say so (the queue lists it).
          if (!data.photo && data.message) error.textContent = data.message;
          form.reset();
        } else {
          error.textContent = data.message || "";
        }
      })
      .catch(() => { error.textContent = form.dataset.failed || ""; })
      .finally(() => { submit.disabled = false; });
  });
}());
