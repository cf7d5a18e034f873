// The reference peer of `make bench`: the live protocol's core (join, vote, tally) served
// the way a team would write it with the Node.js Socket.IO server, so that mvoting is
// measured against a real alternative doing the same work on the same Valkey.
//
// One room (number 100200, password "bench") whose questions are "q" + digits, all open,
// each with OPTIONS options: a fresh question per burst lets one warm process serve several
// measured bursts. A ballot is deduplicated, counted and appended to a stream by one Lua
// script (atomic, as mvoting's cast script is); tallies are coalesced per question and sent
// to the room at most ten times a second, each with a version that only grows.
//
//   node server.js [PORT] [REDIS_URL] [OPTIONS]     defaults: 8090 redis://127.0.0.1:6379 4
"use strict";

const { Server } = require("socket.io");
const Redis = require("ioredis");

const [port, redisUrl, options] = [
  Number(process.argv[2] ?? 8090),
  process.argv[3] ?? "redis://127.0.0.1:6379",
  Number(process.argv[4] ?? 4),
];
const ROOM = { number: "100200", password: "bench" };
const TALLY_INTERVAL_MS = 100;
const QUESTION = /^q[0-9]{1,9}$/;
// Keys of this process only, with the question as hash tag (one slot per question).
const prefix = `bq:${process.pid.toString(36)}${Date.now().toString(36)}`;
const keysOf = (q) => ({
  voters: `${prefix}:{${q}}:voters`,
  tally: `${prefix}:{${q}}:tally`,
  stream: `${prefix}:{${q}}:ballots`,
});

const redis = new Redis(redisUrl);
// KEYS: voters set, tally hash, ballot stream; ARGV: voter, choice. Returns 1 if counted.
redis.defineCommand("castBallot", {
  numberOfKeys: 3,
  lua: [
    "if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end",
    "redis.call('HINCRBY', KEYS[2], ARGV[2], 1)",
    "redis.call('XADD', KEYS[3], '*', 'voter', ARGV[1], 'choice', ARGV[2])",
    "return 1",
  ].join("\n"),
});

const refusal = (code, message) => ({ ok: false, error: { code, message } });

const io = new Server(port, { cors: { origin: "*" } });
const pending = new Set(); // questions with ballots not yet announced
const versions = new Map(); // question -> last version sent

io.on("connection", (socket) => {
  socket.on("join", (request, ack) => {
    if (typeof ack !== "function") return;
    if (request?.room !== ROOM.number || request?.password !== ROOM.password) {
      ack(refusal("bad_credentials", "The room number or password is wrong."));
      return;
    }
    socket.join(ROOM.number);
    ack({ ok: true, room: { number: ROOM.number }, questions: [] });
  });

  socket.on("vote", async (ballot, ack) => {
    if (typeof ack !== "function") return;
    const question = ballot?.question;
    const choice = Array.isArray(ballot?.choices) ? ballot.choices[0] : undefined;
    const valid =
      socket.rooms.has(ROOM.number) &&
      typeof question === "string" &&
      QUESTION.test(question) &&
      Number.isInteger(choice) &&
      choice >= 0 &&
      choice < options;
    if (!valid) {
      ack(refusal("invalid", "That is not a ballot for this room."));
      return;
    }
    const k = keysOf(question);
    const counted = await redis.castBallot(k.voters, k.tally, k.stream, socket.id, String(choice));
    if (counted !== 1) {
      ack(refusal("already_voted", "You have already voted on this question."));
      return;
    }
    pending.add(question);
    ack({ ok: true });
  });
});

async function announce() {
  const questions = [...pending];
  pending.clear();
  for (const question of questions) {
    const stored = await redis.hgetall(keysOf(question).tally);
    const counts = Array.from({ length: options }, (_, i) => Number(stored[i] ?? 0));
    const version = (versions.get(question) ?? 0) + 1;
    versions.set(question, version);
    const total = counts.reduce((sum, n) => sum + n, 0);
    io.to(ROOM.number).emit("tally", { question, version, total, counts });
  }
}

setInterval(announce, TALLY_INTERVAL_MS);
console.log(`peer listening on ${port}`);
