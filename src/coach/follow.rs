//! Following the learner's session: what the editor asks and the adapter tells, as the proxy
//! taps them. At each stop the coach looks for itself (threads, stacks, the walkthrough's
//! watches in the dialect's spellings) with requests of its own, matches the stop to a step
//! and says in the Debug Console how it went and what comes next. While the program runs it
//! samples the debuggee from `/proc` and says when every thread is blocked.

use super::narrate::{self, Landing};
use super::proxy::{Link, Tap};
use super::record::Recorder;
use crate::adapters::{Dialect, HangRule, WatchFrame};
use crate::checks::{Observation, ObservedEnd, ObservedStop, ObservedThread};
use crate::dap::protocol::{self, EvalContext, Frame};
use crate::engine::explain::{caller_of_wait, infer_from_stacks};
use crate::engine::{observe, portable_thread_name};
use crate::os::hang::HangDetector;
use crate::walkthrough::{Action, Prepared};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long each of the coach's own requests may take; also how long the learner's resume
/// may wait for the coach's look at a stop (the proxy's bound).
pub(super) const ASK: Duration = Duration::from_secs(10);
/// After a `stopped` event, how long more of the same stop may arrive (lldb-dap sends one per
/// thread), as a session waits.
const STOP_TAIL: Duration = Duration::from_millis(50);
/// How often a running program is sampled, and how many equal stuck samples make a hang:
/// the engine's defaults.
const HANG_POLL: Duration = Duration::from_millis(20);
const HANG_SAMPLES: usize = 2;
const STACK_LEVELS: i64 = 64;

/// One connection's follower.
pub struct Follower<'a> {
    prep: &'a Prepared,
    dialect: &'static dyn Dialect,
    link: Link,
    /// The step expected next (0-based).
    cursor: usize,
    running: bool,
    /// Said "it hangs" and waits for the learner's pause (LLDB adapters).
    hung: bool,
    detector: HangDetector,
    /// py-spy, to tell the program's threads from debugpy's at a hang (see `os::pyspy`).
    pub pyspy: Option<std::path::PathBuf>,
    pid: Option<u32>,
    stdout: String,
    stderr: String,
    /// The portable names of the threads the coach saw last, by id.
    names: Vec<(i64, String)>,
    /// Locations of off-script stops already remarked on.
    remarked: BTreeSet<String>,
    /// A wrong turn said for the step at the cursor.
    wrong: bool,
    backlog: VecDeque<Tap>,
    /// Whether the coach has asked `threads` once already.
    primed: bool,
    /// The editor asked to end the session.
    ending: bool,
    /// The debuggee pids learnt, for the proxy's teardown.
    pids: mpsc::UnboundedSender<u32>,
    pub recorder: Option<Recorder>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ThreadsBody {
    threads: Vec<RawThread>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawThread {
    id: i64,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StackBody {
    stack_frames: Vec<Frame>,
}

impl<'a> Follower<'a> {
    pub fn new(
        prep: &'a Prepared,
        dialect: &'static dyn Dialect,
        link: Link,
        pids: mpsc::UnboundedSender<u32>,
        recorder: Option<Recorder>,
    ) -> Follower<'a> {
        Follower {
            prep,
            dialect,
            link,
            cursor: 0,
            running: false,
            hung: false,
            detector: HangDetector::new(dialect.hang_rule().looks(HANG_SAMPLES)),
            pyspy: None,
            pid: None,
            stdout: String::new(),
            stderr: String::new(),
            names: Vec::new(),
            remarked: BTreeSet::new(),
            wrong: false,
            backlog: VecDeque::new(),
            primed: false,
            ending: false,
            pids,
            recorder,
        }
    }

    /// Follows until the taps end (the connection closed).
    pub async fn run(&mut self, taps: &mut mpsc::UnboundedReceiver<Tap>) {
        loop {
            let tap = match self.backlog.pop_front() {
                Some(t) => Some(t),
                None if self.running && !self.hung && self.pid.is_some() => {
                    match tokio::time::timeout(HANG_POLL, taps.recv()).await {
                        Ok(t) => t,
                        Err(_) => {
                            self.sample().await;
                            continue;
                        }
                    }
                }
                None => taps.recv().await,
            };
            let Some(tap) = tap else { return };
            match tap {
                Tap::Request(r) => self.on_request(&r),
                Tap::Event(e) => self.on_event(&e).await,
                Tap::Stop { event, look } => self.on_stop(&event, look, taps).await,
                Tap::Response(_) => {}
            }
        }
    }

    fn on_request(&mut self, r: &Value) {
        let command = r["command"].as_str().unwrap_or_default();
        let args = &r["arguments"];
        if let Some(rec) = self.recorder.as_mut() {
            rec.request(command, args);
        }
        if command == "disconnect" || command == "terminate" {
            // What follows (the exit of a killed debuggee) is the learner's ending, not a step.
            self.ending = true;
        }
        let Some(action) = narrate::action_of(command) else {
            return;
        };
        let thread = args["threadId"]
            .as_i64()
            .and_then(|id| self.names.iter().find(|(i, _)| *i == id))
            .map(|(_, n)| n.clone());
        // The pause the coach asked for at a hang belongs to the action that hung.
        let asked_pause = self.hung && action == Action::Pause;
        if let (Some(rec), false) = (self.recorder.as_mut(), asked_pause) {
            rec.action(action, thread.clone());
        }
        if action != Action::Pause {
            self.running = true;
            self.hung = false;
            self.detector = HangDetector::new(self.dialect.hang_rule().looks(HANG_SAMPLES));
        }
        if self.hung && action == Action::Pause {
            return;
        }
        if let Some(said) = narrate::wrong_turn(self.prep, self.cursor, action, thread.as_deref()) {
            self.wrong = true;
            self.link.say(&said);
        }
    }

    async fn on_event(&mut self, e: &Value) {
        let body = &e["body"];
        match e["event"].as_str().unwrap_or_default() {
            "initialized" => self.introduce(),
            "process" => {
                if let Some(pid) = body["systemProcessId"].as_u64() {
                    self.note_pid(pid as u32);
                }
            }
            "output" => {
                let text = body["output"].as_str().unwrap_or_default();
                match body["category"].as_str().unwrap_or("console") {
                    "stdout" => self.stdout.push_str(text),
                    "stderr" => self.stderr.push_str(text),
                    "console" if self.pid.is_none() => {
                        if let Some(pid) = self.dialect.pid_from_console(text) {
                            self.note_pid(pid);
                        }
                    }
                    _ => {}
                }
            }
            "continued" => self.running = true,
            "exited" => {
                self.running = false;
                let code = body["exitCode"].as_i64().unwrap_or(0);
                let obs = Observation {
                    stdout: self.stdout.clone(),
                    stderr: self.stderr_seen(),
                    end: Some(ObservedEnd::Exit(code)),
                    stop_note: Some(format!("the program exited with code {code}")),
                    ..Observation::default()
                };
                self.judge(Landing::Exited, obs, None).await;
            }
            _ => {}
        }
    }

    /// A stop: the coach looks at it, says how it went, and lets the learner's resume (held
    /// by the proxy since the `stopped` event) go on.
    async fn on_stop(&mut self, e: &Value, look: u64, taps: &mut mpsc::UnboundedReceiver<Tap>) {
        self.running = false;
        let mut stop = e["body"].clone();
        // The rest of the same stop: one event per thread on lldb-dap.
        let tail = tokio::time::sleep(STOP_TAIL);
        tokio::pin!(tail);
        loop {
            tokio::select! {
                _ = &mut tail => break,
                t = taps.recv() => match t {
                    Some(Tap::Stop { event: more, .. }) => {
                        // The first event names the stop's thread, unless it named none.
                        if stop["threadId"].is_null() {
                            stop = more["body"].clone();
                        }
                    }
                    Some(other) => self.backlog.push_back(other),
                    None => break,
                }
            }
        }
        let landing = if self.hung {
            Landing::Hung
        } else {
            Landing::Stopped
        };
        self.hung = false;
        // A later event of a stop already looked at, or a look whose bound ran out while
        // the coach was busy: the program has moved on.
        if self.link.in_time(look) {
            if let Some(obs) = self.inspect(&stop, landing).await {
                self.judge(landing, obs, Some(look)).await;
            }
        }
        self.link.release(look);
    }

    fn note_pid(&mut self, pid: u32) {
        self.pid = Some(pid);
        let _ = self.pids.send(pid);
    }

    fn stderr_seen(&self) -> String {
        if self.dialect.stderr_merged() {
            self.stdout.clone()
        } else {
            self.stderr.clone()
        }
    }

    /// The walkthrough's title and introduction, and the first step.
    fn introduce(&mut self) {
        let w = &self.prep.walkthrough;
        let mut text = format!("── dapwalk coach: {} ──\n{}\n", w.title, w.intro.trim());
        if let Some(first) = w.steps.first() {
            text.push_str(&format!(
                "{}\n{}\nTo do: {}\n",
                narrate::heading(self.prep, 0),
                first.say.trim(),
                narrate::todo(self.prep, self.dialect, first).join("; then ")
            ));
        }
        self.link.say(&text);
    }

    /// One sample of the running program; says so once every thread is blocked for good.
    async fn sample(&mut self) {
        let Some(pid) = self.pid else { return };
        let rule = self.dialect.hang_rule();
        let mut detector = std::mem::replace(&mut self.detector, HangDetector::new(1));
        let pyspy = self.pyspy.clone();
        let hung =
            crate::engine::look(rule, &mut detector, Some(pid), pyspy.as_deref(), || async {
                self.threads()
                    .await
                    .map(|t| t.into_iter().map(|t| t.name).collect())
                    .unwrap_or_default()
            })
            .await;
        self.detector = detector;
        if !hung {
            return;
        }
        self.running = false;
        match rule {
            // debugpy answers `threads` and `stackTrace` while its threads are blocked, and
            // sends no stop for a pause then: look now.
            HangRule::AdapterListedThreads => {
                self.link
                    .say("The program hangs: every thread is blocked, and nothing can wake them.");
                if let Some(obs) = self.inspect(&Value::Null, Landing::Hung).await {
                    self.judge(Landing::Hung, obs, None).await;
                }
            }
            HangRule::EveryThread => {
                self.hung = true;
                self.link.say(
                    "The program hangs: every thread is blocked, and nothing can wake them.\n  Pause (F6) to see where each thread waits.",
                );
            }
        }
    }

    async fn threads(&self) -> Option<Vec<RawThread>> {
        let body = self
            .link
            .ask(protocol::threads().command, None, ASK)
            .await
            .ok()?;
        serde_json::from_value::<ThreadsBody>(body)
            .ok()
            .map(|b| b.threads)
    }

    async fn ask(&self, r: protocol::Request) -> Option<Value> {
        self.link.ask(r.command, r.arguments, ASK).await.ok()
    }

    /// Looks at the stop with requests of the coach's own.
    async fn inspect(&mut self, stop: &Value, landing: Landing) -> Option<Observation> {
        let dialect = self.dialect;
        if !self.primed {
            // lldb-dap answers the first `threads` with the list it cached at launch; one
            // throw-away request makes later ones current (as the session does).
            self.primed = true;
            let _ = self.threads().await;
        }
        let threads = self.threads().await?;
        let pid = self.pid;
        let stopped_id = stop["threadId"].as_i64();
        let mut obs = Observation {
            stdout: self.stdout.clone(),
            stderr: self.stderr_seen(),
            ..Observation::default()
        };
        if landing == Landing::Hung {
            obs.end = Some(ObservedEnd::Hang);
            obs.stop_note = Some("every thread blocked: a hang".into());
        }
        self.names = threads
            .iter()
            .map(|t| {
                (
                    t.id,
                    portable_thread_name(&dialect.thread_name(&t.name), t.id, pid),
                )
            })
            .collect();
        let mut watch_frame = None;
        let mut marked: Option<(String, i64)> = None;
        for t in &threads {
            let frames: Vec<Frame> = match self.ask(protocol::stack_trace(t.id, STACK_LEVELS)).await
            {
                Some(b) => serde_json::from_value::<StackBody>(b)
                    .map(|b| b.stack_frames)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let frames: Vec<Frame> = frames
                .into_iter()
                .map(|mut f| {
                    f.name = dialect.frame_name(&f.name);
                    f
                })
                .collect();
            let name = portable_thread_name(&dialect.thread_name(&t.name), t.id, pid);
            if Some(t.id) == stopped_id || (stopped_id.is_none() && name == "MainThread") {
                let shown = frames.iter().find(|f| dialect.shown_frame(f));
                watch_frame = match dialect.watch_frame() {
                    WatchFrame::Top => frames.first().map(|f| f.id),
                    _ => shown.or(frames.first()).map(|f| f.id),
                };
                marked = observe::marked(&self.prep.markers, &frames, shown)
                    .and_then(|f| Some((f.path()?.to_string(), f.line)));
            }
            obs.threads.push(ObservedThread {
                name,
                frames: observe::observed_frames(dialect, &frames),
            });
        }
        if let (Landing::Stopped, Some(id)) = (landing, stopped_id) {
            let (at, location) = match &marked {
                Some((path, line)) => observe::place(&self.prep.markers, path, *line),
                None => (Vec::new(), None),
            };
            obs.stop = Some(ObservedStop {
                thread: self
                    .names
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default(),
                reason: dialect.stop_reason(stop["reason"].as_str().unwrap_or_default()),
                at,
                location,
                description: stop["description"]
                    .as_str()
                    .or(stop["text"].as_str())
                    .map(str::to_string),
            });
        }
        for w in &self.prep.walkthrough.watch {
            let mut value = None;
            let mut last_err = String::new();
            for expr in dialect.watch_expressions(&w.expr) {
                match self
                    .link
                    .ask(
                        "evaluate",
                        protocol::evaluate(&expr, watch_frame, EvalContext::Watch).arguments,
                        ASK,
                    )
                    .await
                {
                    Ok(b) => {
                        value =
                            Some(dialect.render_value(b["result"].as_str().unwrap_or_default()));
                        break;
                    }
                    Err(e) => last_err = e.to_string(),
                }
            }
            obs.watch.push((
                w.name.clone(),
                value.unwrap_or_else(|| format!("(not available here: {last_err})")),
            ));
        }
        if landing == Landing::Hung {
            // Who waits on whom, from the stacks (cheap, no evaluation in blocked threads).
            let names: Vec<String> = self.names.iter().map(|(_, n)| n.clone()).collect();
            let mut e = crate::checks::explain(
                &names,
                infer_from_stacks(&obs.threads, &|file| {
                    // The program's own lines name its locks, threads and futures.
                    let source = &self.prep.source;
                    (source.file_name()?.to_str()? == file)
                        .then(|| std::fs::read_to_string(source).ok())
                        .flatten()
                }),
                "inferred from the call stacks by the coach",
            );
            for w in &mut e.waits {
                w.wait.called_from = obs
                    .threads
                    .iter()
                    .find(|t| t.name == w.wait.thread)
                    .and_then(caller_of_wait);
            }
            obs.explanation = Some(e);
        }
        Some(obs)
    }

    /// Matches a landing to a step, checks it and says how it went. At a stop (`look`) only
    /// while the program is still there: past the proxy's bound the console said the stop
    /// went unchecked, and it is neither judged nor recorded.
    async fn judge(&mut self, landing: Landing, mut obs: Observation, look: Option<u64>) {
        if self.ending {
            return;
        }
        let Some(i) = narrate::matching_step(self.prep, self.cursor, landing, &obs) else {
            let here = narrate::where_text(&obs);
            // Past the last step the learner is on their own: nothing to compare with.
            let done = self.cursor >= self.prep.walkthrough.steps.len();
            let remark = (!done && !self.remarked.contains(&here)).then(|| {
                let nearest = self
                    .cursor
                    .min(self.prep.walkthrough.steps.len().saturating_sub(1));
                let step = &self.prep.walkthrough.steps[nearest];
                format!(
                    "This stop ({here}) is not one the walkthrough makes. It is at {}.\n  To get there: {}",
                    narrate::heading(self.prep, nearest),
                    narrate::todo(self.prep, self.dialect, step).join("; then ")
                )
            });
            if self.tell(look, remark.as_deref()) {
                if remark.is_some() {
                    self.remarked.insert(here);
                }
                self.record(landing, &obs);
            }
            return;
        };
        let step = &self.prep.walkthrough.steps[i];
        for expr in &step.evaluate {
            let frame = self.frame_of_stop(&obs).await;
            let text = match self
                .ask(protocol::evaluate(
                    &self.dialect.console_expression(expr),
                    frame,
                    EvalContext::Repl,
                ))
                .await
            {
                Some(b) => self
                    .dialect
                    .console_value(b["result"].as_str().unwrap_or_default()),
                None => "error: no answer".into(),
            };
            obs.evaluate.push(text);
        }
        let mut expect = step.expect.clone();
        let mut note = String::new();
        if expect.wants_explanation()
            && self
                .dialect
                .wait_record_expr(crate::adapters::WaitField::Count)
                .is_some()
        {
            // On the LLDB adapters `dapwalk run` reads who waits on whom from the program's
            // wait records; the coach infers it from the stacks only, so it does not judge it.
            expect.waits = None;
            expect.cycle = None;
            note = "(who waits on whom is read from the program's wait records by `dapwalk run`; the coach does not check it here)\n".into();
        }
        let mut checked = self.prep.clone();
        checked.walkthrough.steps[i].expect = expect;
        let (passed, mut text) = narrate::verdict_text(&checked, i, &obs, i - self.cursor);
        text.push_str(&note);
        if self.wrong && !passed {
            text.push_str("  (after the wrong turn above: replay the step as the walkthrough says to see it pass)\n");
        }
        text.push_str(&narrate::next_text(self.prep, self.dialect, i));
        if !self.tell(look, Some(&text)) {
            return;
        }
        self.record(landing, &obs);
        self.cursor = i + 1;
        self.wrong = false;
    }

    /// Says `text`, if any, unless the stop's look ran out; whether it had not.
    fn tell(&self, look: Option<u64>, text: Option<&str>) -> bool {
        match (look, text) {
            (Some(look), Some(text)) => self.link.say_in_time(look, text),
            (Some(look), None) => self.link.in_time(look),
            (None, Some(text)) => {
                self.link.say(text);
                true
            }
            (None, None) => true,
        }
    }

    fn record(&mut self, landing: Landing, obs: &Observation) {
        if let Some(rec) = self.recorder.as_mut() {
            rec.landing(landing, obs);
        }
    }

    async fn frame_of_stop(&self, obs: &Observation) -> Option<i64> {
        let stop = obs.stop.as_ref()?;
        let id = self.names.iter().find(|(_, n)| *n == stop.thread)?.0;
        let b = self.ask(protocol::stack_trace(id, STACK_LEVELS)).await?;
        let frames = serde_json::from_value::<StackBody>(b).ok()?.stack_frames;
        frames
            .iter()
            .find(|f| self.dialect.shown_frame(f))
            .or(frames.first())
            .map(|f| f.id)
    }
}
