// The recording's player on the transcript (a page without the realtime channel): the same
// player as the live page's (media.js), nothing fetched until the viewer presses play.
import { setStream } from "./media.js";

const section = document.getElementById("player");
const video = document.getElementById("stream-player");
if (section && video && video.dataset.src) {
  setStream(video.dataset.src, video.dataset.kind || "video", section.dataset.hls);
}
