// Drives a running mvoting node with the official Socket.IO JavaScript client.
//
//   node tests/js/client.mjs '{"url": "http://127.0.0.1:8000", "room": "482913",
//     "password": "pw", "question": "<id>", "choice": 1, "transports": ["websocket"]}'
//
// Optional: "device" (a device token to present on the first connection).
//
// 1. connects, emits `join` and `vote` (with acks) and waits for a `tally` event of the
//    question with total >= 1; disconnects;
// 2. connects again with `auth: {device: <token from the join ack>}`, joins, and votes a
//    second time (which the server must refuse); disconnects;
// 3. connects again sending the token as the `mv_device` cookie and joins; disconnects.
// With more than one transport (the browser default is ["polling", "websocket"]) every
// connection also waits for the engine's upgrade to websocket before going on.
//
// Prints one JSON line with everything observed and exits 0, or prints a message to
// stderr and exits 1 on any error; every step is bounded by STEP_MS, the run by TOTAL_MS.

import { io } from "socket.io-client";

const STEP_MS = 10_000;
const TOTAL_MS = 40_000;

function fail(message) {
  process.stderr.write(`js client: ${message}\n`);
  process.exit(1);
}

function within(promise, what, ms = STEP_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Connects and resolves once connected (and upgraded, if asked); records the transports.
async function connect(url, transports, what, options = {}) {
  const socket = io(url, {
    transports,
    reconnection: false,
    forceNew: true,
    timeout: STEP_MS,
    ...options,
  });
  const info = { socket, opened_with: null, upgraded: false };
  const upgraded = new Promise((resolve) => {
    socket.io.on("open", () => {
      info.opened_with = socket.io.engine.transport.name;
      socket.io.engine.once("upgrade", () => {
        info.upgraded = true;
        resolve();
      });
    });
  });
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
  });
  await within(connected, `${what}: connect`);
  if (transports.length > 1 && transports.includes("websocket")) {
    await within(upgraded, `${what}: upgrade to websocket`);
  }
  return info;
}

async function call(socket, event, data) {
  try {
    return await socket.timeout(STEP_MS).emitWithAck(event, data);
  } catch (err) {
    throw new Error(`no ack for ${event} within ${STEP_MS} ms (${err.message})`);
  }
}

function transportsOf(info) {
  return {
    opened_with: info.opened_with,
    upgraded: info.upgraded,
    ended_on: info.socket.io.engine.transport.name,
  };
}

async function run(args) {
  const { url, room, password, question, choice } = args;
  const transports = args.transports ?? ["websocket"];
  const out = { transports, connections: [] };

  // 1. First visit: join, vote, see the tally.
  const tallies = [];
  let sawTally;
  const tallySeen = new Promise((resolve) => {
    sawTally = resolve;
  });
  const first = await connect(
    url,
    transports,
    "first connection",
    args.device ? { auth: { device: args.device } } : {},
  );
  first.socket.on("tally", (t) => {
    tallies.push(t);
    if (t && t.question === question && t.total >= 1) sawTally(t);
  });
  out.join = await call(first.socket, "join", { room, password });
  if (!out.join || out.join.ok !== true) {
    throw new Error(`join refused: ${JSON.stringify(out.join)}`);
  }
  out.vote = await call(first.socket, "vote", { question, choices: [choice] });
  out.tally = await within(tallySeen, `a tally of ${question} with total >= 1`);
  out.tallies = tallies;
  out.connections.push(transportsOf(first));
  first.socket.disconnect();

  // 2. Back with the device token in `auth`: the same attendee.
  const token = out.join.device;
  const second = await connect(url, transports, "auth.device connection", {
    auth: { device: token },
  });
  out.rejoin = await call(second.socket, "join", { room, password });
  out.revote = await call(second.socket, "vote", { question, choices: [choice] });
  out.connections.push(transportsOf(second));
  second.socket.disconnect();

  // 3. Back with the device token as the cookie a browser would send.
  const third = await connect(url, transports, "mv_device cookie connection", {
    extraHeaders: { Cookie: `mv_device=${token}` },
  });
  out.cookie_rejoin = await call(third.socket, "join", { room, password });
  out.connections.push(transportsOf(third));
  third.socket.disconnect();

  return out;
}

let args;
try {
  args = JSON.parse(process.argv[2] ?? "");
} catch (err) {
  fail(`expected one JSON argument: ${err.message}`);
}
const overall = setTimeout(() => fail(`gave up after ${TOTAL_MS} ms`), TOTAL_MS);
run(args).then(
  (out) => {
    clearTimeout(overall);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    // No process.exit() at once: over long-polling the engine sends its close packet in a
    // POST after disconnect(), and exiting now would drop it. The timer, unref'd, only
    // bounds the wait for a long-poll GET the server may still be holding.
    setTimeout(() => process.exit(0), 2_000).unref();
  },
  (err) => fail(err && err.stack ? err.stack : String(err)),
);
