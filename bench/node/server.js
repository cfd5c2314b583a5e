// Reference server for `make bench`: a bare socket.io 4 relay, the same protocol as
// bench/relay_common.py. Namespace /qa: `join` {slug} -> room "s:<slug>", ack {ok: true};
// POST /publish {room, event, data} (or socket event `publish`) broadcasts to the room.
// Intake: `ask` {client_id, text} acks {ok: true, question} and forwards `question` to the room
// "staff:<slug>" of /moderation, which a staff socket enters with `join` {slug}.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const host = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 5102);

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/publish") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      qa.to(body.room).emit(body.event, body.data);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"ok":true}');
    });
    return;
  }
  if (req.url.startsWith("/socket.io/")) return; // handled by socket.io
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end("relay\n");
});

const io = new Server(server, { cors: { origin: "*" }, pingInterval: 25000, pingTimeout: 20000 });
const qa = io.of("/qa");
qa.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    if (!data || typeof data.slug !== "string") return ack && ack({ ok: false, error: "invalid" });
    socket.join("s:" + data.slug);
    socket.data.slug = data.slug;
    if (ack) ack({ ok: true, mode: "relay" });
  });
  socket.on("ask", (data, ack) => {
    const slug = socket.data.slug;
    if (!slug || !data || typeof data.text !== "string") return ack && ack({ ok: false, error: "invalid" });
    const question = { client_id: data.client_id, text: data.text };
    staff.to("staff:" + slug).emit("question", question);
    if (ack) ack({ ok: true, question, duplicate: false });
  });
  socket.on("publish", (data, ack) => {
    qa.to(data.room).emit(data.event, data.data);
    if (ack) ack({ ok: true });
  });
});

const staff = io.of("/moderation");
staff.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    if (!data || typeof data.slug !== "string") return ack && ack({ ok: false, error: "invalid" });
    socket.join("staff:" + data.slug);
    if (ack) ack({ ok: true });
  });
});

server.listen(port, host, 2048, () => console.log(`node-socketio relay on ${host}:${port}`));
