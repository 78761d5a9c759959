// Live updates: reads GET /api/events (Server-Sent Events over fetch, so the
// token travels in the Authorization header) and calls `onChange` when a
// directive changes. Reconnects after a failure, resuming after the last
// event seen; `connected()` tells the page whether to keep polling often.
import { token } from "./dom.js";

let lastId = null;
let connected = false;
let retryMs = 1000;

/** Whether the stream is open now. */
export function liveConnected() {
  return connected;
}

function parseBlock(block) {
  const fields = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const at = line.indexOf(":");
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trimStart();
  }
  return fields;
}

async function follow(onChange, onState) {
  const headers = { accept: "text/event-stream" };
  if (token() !== "") headers.authorization = `Bearer ${token()}`;
  if (lastId !== null) headers["last-event-id"] = lastId;
  const response = await fetch("/api/events", { headers });
  if (!response.ok || response.body === null) throw new Error(`events: ${response.status}`);
  connected = true;
  onState("open");
  retryMs = 1000;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let at;
    while ((at = buffer.indexOf("\n\n")) >= 0) {
      const fields = parseBlock(buffer.slice(0, at));
      buffer = buffer.slice(at + 2);
      if (fields.id) lastId = fields.id;
      if (fields.data) onChange(JSON.parse(fields.data));
    }
  }
}

/** Follows the feed for as long as the page is open; `onState` hears "open" and "closed". */
export async function startLive(onChange, onState = () => {}) {
  while (true) {
    try {
      await follow(onChange, onState);
    } catch {
      // The poll keeps the page current meanwhile.
    }
    connected = false;
    onState("closed");
    await new Promise((resolve) => setTimeout(resolve, retryMs));
    retryMs = Math.min(retryMs * 2, 30_000);
  }
}
