#!/usr/bin/env node
// Stands in for VS Code in dapwalk's coach tests: Microsoft's DebugClient
// (@vscode/debugadapter-testsupport, VS Code's own DAP test client) plays a session by hand
// from a plan, against the coach's port (`--port N`) or an adapter it starts itself
// (`--adapter PROGRAM [ARG]`, for the same session without the coach).
//
//   node play.js PLAN.json OUT.json (--port N | --adapter PROGRAM [--adapter-arg A])
//
// PLAN: { "adapterID": "lldb-dap", "launch": {...}, "breakpoints": {FILE: [LINES]},
//         "actions": [ ... ] }, each action one of
//   {"wait": "stopped"}                      the next stopped event (or any event named)
//   {"console": "REGEX"}                     a console output event matching REGEX (not
//                                            waited for without the coach, --adapter)
//   {"set": {FILE: [LINES]}}                 setBreakpoints for each file
//   {"do": "continue|next|stepIn|pause", "thread": "NAME"}   on the named thread
//                                            (MainThread: the first thread listed);
//                                            "nowait": true goes on without its response
//   {"look": true | N}                       threads, then stackTrace of each thread (N times)
//   {"end": "disconnect" | "close" | "hold"} disconnect; just close; or wait to be killed
// OUT: every message the client received, in order ({"received": [...]}), each request's
// round trip in ms ("rtts": [{command, ms}]) and each stop's stopped event → first stackTrace
// response in ms ("stops").
'use strict';
const fs = require('fs');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const [planFile, outFile, ...rest] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];

const received = [];
// Timings for scripts/bench-coach: each request's round trip, and each stop's time from the
// stopped event to the first stackTrace response after it (what the learner waits for).
const started = process.hrtime.bigint();
const now = () => Number(process.hrtime.bigint() - started) / 1e6;
const rtts = [];
const stops = [];
let stoppedAt = null;
const save = () => fs.writeFileSync(outFile, JSON.stringify({ received, rtts, stops }, null, 1));
const TIMEOUT = 60000;

function withTimeout(p, what) {
  let h;
  const t = new Promise((_, rej) => { h = setTimeout(() => rej(new Error(`${what}: nothing after ${TIMEOUT} ms`)), TIMEOUT); });
  return Promise.race([p, t]).finally(() => clearTimeout(h));
}

// Every event, queued: a waiter takes the first not yet consumed that matches.
const queue = [];
const waiters = [];
function push(ev) {
  queue.push(ev);
  for (let i = 0; i < waiters.length; i++) {
    const w = waiters[i];
    const j = queue.findIndex(w.test);
    if (j >= 0) { waiters.splice(i, 1); i--; w.resolve(queue.splice(j, 1)[0]); }
  }
}
function next(test, what) {
  const j = queue.findIndex(test);
  if (j >= 0) return Promise.resolve(queue.splice(j, 1)[0]);
  return withTimeout(new Promise(resolve => waiters.push({ test, resolve })), what);
}

async function main() {
  const dc = opt.adapter
    ? new DebugClient(opt.adapter, opt['adapter-arg'] || '', plan.adapterID)
    : new DebugClient('unused', '', plan.adapterID);
  // DebugClient's dispatch: record each message, then let it route it.
  const dispatch = dc.dispatch.bind(dc);
  dc.dispatch = function (body) {
    let m;
    try { m = JSON.parse(body); } catch (e) { m = { unparsed: body }; }
    received.push(m);
    if (m.type === 'event' && m.event === 'stopped') stoppedAt = now();
    if (m.type === 'response' && m.command === 'stackTrace' && stoppedAt !== null) {
      stops.push(now() - stoppedAt);
      stoppedAt = null;
    }
    if (m.type === 'event') push(m);
    return dispatch(body);
  };
  const send = dc.send.bind(dc);
  dc.send = (command, args, ...rest) => {
    const t = now();
    const done = () => rtts.push({ command, ms: now() - t });
    return send(command, args, ...rest).then(r => { done(); return r; }, e => { done(); throw e; });
  };
  // Reverse requests are answered the way VS Code would for the launch configurations here.
  dc.on('runInTerminal', () => {});
  await (opt.adapter ? dc.start() : dc.start(parseInt(opt.port, 10)));
  // While the program runs lldb-dap answers `threads` with an error: the last list stands in.
  let lastThreads = [];
  const threadId = async name => {
    const t = await dc.threadsRequest().then(r => (lastThreads = r.body.threads), () => lastThreads);
    const found = name === 'MainThread' ? t[0] : t.find(x => x.name === name || x.name.startsWith(name));
    if (!found) throw new Error(`no thread ${name} in ${JSON.stringify(t)}`);
    return found.id;
  };
  await dc.initializeRequest({ adapterID: plan.adapterID, linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsRunInTerminalRequest: false });
  const initialized = next(e => e.event === 'initialized', 'initialized');
  const launched = dc.launchRequest(plan.launch);
  await initialized;
  for (const [file, lines] of Object.entries(plan.breakpoints || {})) {
    await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: lines.map(line => ({ line })) });
  }
  await dc.configurationDoneRequest();
  await withTimeout(launched, 'launch');
  for (const a of plan.actions) {
    if (a.wait) await next(e => e.event === a.wait, a.wait);
    else if (a.console && opt.adapter) {
      // Without the coach there is nothing to read.
    } else if (a.console) {
      const re = new RegExp(a.console);
      await next(e => e.event === 'output' && e.body.category === 'console' && re.test(e.body.output), `console ${a.console}`);
    } else if (a.set) {
      for (const [file, lines] of Object.entries(a.set)) {
        await dc.setBreakpointsRequest({ source: { path: file }, breakpoints: lines.map(line => ({ line })) });
      }
    } else if (a.do) {
      const id = await threadId(a.thread || 'MainThread');
      const sent = dc.send(a.do, { threadId: id });
      if (a.nowait) sent.catch(() => {});
      else await sent;
    } else if (a.look) {
      for (let n = 0; n < (a.look === true ? 1 : a.look); n++) {
        const t = (await dc.threadsRequest()).body.threads;
        for (const th of t) await dc.stackTraceRequest({ threadId: th.id, levels: 20 });
      }
    } else if (a.end === 'disconnect') {
      await dc.disconnectRequest({ terminateDebuggee: true });
      save();
      dc.stopAdapter();
      return;
    } else if (a.end === 'close') {
      save();
      dc.stopAdapter();
      return;
    } else if (a.end === 'hold') {
      save();
      fs.writeFileSync(outFile + '.ready', '');
      await new Promise(() => {});
    }
    save();
  }
}

main().then(() => { save(); process.exit(0); }, e => {
  save();
  console.error(`play.js: ${e.stack || e}`);
  process.exit(1);
});
