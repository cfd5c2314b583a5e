// A citizen's private question page: say so, on the page and (if allowed) by a notification,
// when the question is answered while the page is open.
//
// The /qa socket puts every page of a visitor in their private room, where each change to their
// questions arrives (`mine`, docs/realtime.md); no join is needed. Opened on another device
// (without the asker's visitor cookie) the connection is refused and the page stays as it is.

const banner = document.getElementById("answered-banner");

if (banner && typeof window.io === "function") {
  const questionId = Number(banner.dataset.question);
  const socket = window.io("/qa", {
    path: "/socket.io",
    query: { lang: banner.dataset.lang || "" },
    transports: ["websocket", "polling"],
    tryAllTransports: true,
  });
  socket.on("connect_error", (error) => {
    const data = error && error.data;
    if (data && data.error) socket.disconnect();  // refused (not the asker's device): stop
  });
  socket.on("mine", (question) => {
    if (!question || question.id !== questionId || question.status !== "answered") return;
    if (!banner.hidden) return;
    banner.hidden = false;
    if ("Notification" in window && window.Notification.permission === "granted") {
      try {
        new window.Notification(banner.dataset.title, { body: banner.dataset.body,
          tag: `qa-answer-${questionId}` });
      } catch (_error) {
        // Some phones only notify from a service worker: the banner remains.
      }
    }
    socket.disconnect();
  });
}
