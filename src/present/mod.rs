//! `dapwalk present`: a walkthrough played one key press at a time, for presenting the talk.
//!
//! The presenter reads a step's narrative and what is about to be done, presses Enter, and the
//! audience sees what the debugger reports: the stopped thread and why, every thread's user
//! frames (stopped, paused with it, blocked, held), the watch values with what changed, new
//! output, and whether the step went as the walkthrough says. Steps are played by the same
//! [`Player`] as `dapwalk run`, so what is presented is what CI checks.
//!
//! A live presentation adds what a batch run does not have: human pauses. A stopped program
//! does not stop the clock, so a `sleep` that spans a long pause is over when the program
//! resumes. Where a step's outcome depends on timing, the screen says so; where the walkthrough
//! forces the outcome (`hold`), it says how.
//!
//! The terminal is in raw mode for the whole session, so keys act at once and Ctrl-C is a key;
//! a guard restores it on every way out (the end, `q`, Ctrl-C, SIGTERM, a panic). Everything is
//! drawn as plain lines that scroll, wrapped to the terminal (80 columns is enough), coloured
//! only on a terminal without `NO_COLOR`.

use crate::adapters::Adapter;
use crate::checks::{Observation, ObservedEnd, ObservedThread};
use crate::engine::{Player, RunOptions, StepResult};
use crate::output::palette::Palette;
use crate::project::Project;
use crate::walkthrough::{Action, Prepared, Step, Walkthrough};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How to present.
#[derive(Debug, Clone, Default)]
pub struct PresentOptions {
    /// Advance by itself after this long at each step; the keys still work.
    pub auto: Option<Duration>,
    /// Write the session as Markdown here (the `dapwalk show` rendering with what the
    /// debugger showed at each step played).
    pub record: Option<PathBuf>,
    pub step_timeout: Duration,
}

/// How a presentation ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// Played (or quit) as the walkthrough says.
    AsWritten,
    /// A step departed from the walkthrough.
    Departed,
    /// A step could not be played.
    CouldNotPlay,
    /// Ctrl-C, SIGTERM or SIGHUP: which one, for the exit code.
    Interrupted(crate::session::Interrupted),
}

/// The number of the signal that asked the presenter to stop (0: none yet). The stop channel
/// says only that one came; the exit code needs which.
static SIGNALLED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

fn signalled() -> crate::session::Interrupted {
    crate::session::Interrupted::from_number(SIGNALLED.load(std::sync::atomic::Ordering::SeqCst))
        .unwrap_or(crate::session::Interrupted::Int)
}

/// Presents `prep` on `adapter`. An `Err` is something that prevented presenting at all (or
/// keeping its record), said in one line.
pub fn present(
    project: &Project,
    prep: &Prepared,
    adapter: &Adapter,
    options: &PresentOptions,
) -> Result<Presented, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let opts = RunOptions {
        step_timeout: options.step_timeout.max(Duration::from_secs(1)),
        // The audience sees every thread's stack.
        every_stack: true,
        ..RunOptions::default()
    };
    let auto = options.auto;

    // Signals first, so that a Ctrl-C from the very start is ours to handle (tear down,
    // restore the terminal) rather than the default death.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = std::sync::Arc::new(stop_tx);
    rt.block_on(watch_signals(stop_tx.clone()))
        .map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;

    let interactive = std::io::stdin().is_terminal();
    let raw = if interactive {
        Some(
            RawMode::enable()
                .map_err(|e| format!("cannot set the terminal up for single keys: {e}"))?,
        )
    } else {
        None
    };
    let keys = Keys::start(interactive, stop_tx.clone());
    let mut screen = Screen::new(raw.is_some());
    let outcome = {
        let mut show = Presenter {
            prep,
            adapter,
            screen: &mut screen,
            keys,
            stop: stop_rx,
            auto,
            root: project.root.clone(),
        };
        show.run(&rt, &opts)
    };
    drop(raw);

    let Session {
        results,
        end,
        leftovers,
    } = outcome;
    let w = &prep.walkthrough;
    if !results.is_empty() {
        let said = match &end {
            End::Finished => "presented to the end".to_string(),
            End::Quit(i) => format!("presented, stopped before step {}", i + 1),
            End::Interrupted => "presented, interrupted".to_string(),
            End::Error(i, m) => format!("step {} could not be played: {m}", i + 1),
        };
        let last = crate::store::lastrun::from_steps(adapter.name(), said, &results);
        if let Err(e) = crate::store::lastrun::write(&project.root, w, &last) {
            eprintln!("dapwalk: cannot keep this run for `dapwalk show`: {e}");
        }
        if let Some(path) = &options.record {
            let text = crate::output::markdown::render(w, Some(&last), &project.root);
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    } else if let Some(path) = &options.record {
        let text = crate::output::markdown::render(w, None, &project.root);
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if !leftovers.is_empty() {
        return Err(format!("processes survived teardown: {leftovers:?}"));
    }
    Ok(match end {
        End::Interrupted => Presented::Interrupted(signalled()),
        End::Error(..) => Presented::CouldNotPlay,
        _ if results.iter().any(|r| !r.verdict.passed()) => Presented::Departed,
        _ => Presented::AsWritten,
    })
}

/// Turns SIGINT, SIGTERM and SIGHUP into a request to stop, so the session is torn down and
/// the terminal restored instead of the process dying where it stands.
async fn watch_signals(
    stop: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut signals = Vec::new();
    for (kind, number) in [
        (SignalKind::interrupt(), 2),
        (SignalKind::terminate(), 15),
        (SignalKind::hangup(), 1),
    ] {
        signals.push((signal(kind)?, number));
    }
    for (mut s, number) in signals {
        let stop = stop.clone();
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                let _ = SIGNALLED.compare_exchange(
                    0,
                    number,
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                );
                let _ = stop.send(true);
            }
        });
    }
    Ok(())
}

/// Keeps the terminal in raw mode while alive; dropping it (also while unwinding from a
/// panic) gives the terminal back as it was.
struct RawMode;

impl RawMode {
    fn enable() -> std::io::Result<RawMode> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// What the presenter asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Next,
    Repeat,
    Quit,
}

/// Keys from a thread of their own: single keys on a terminal, lines otherwise (a pipe, a
/// script). Ctrl-C in raw mode is a key, not a signal, and becomes the same stop request.
struct Keys {
    rx: mpsc::Receiver<Key>,
    /// Single keys from a person, as opposed to lines from a script.
    raw: bool,
}

impl Keys {
    fn start(raw: bool, stop: std::sync::Arc<tokio::sync::watch::Sender<bool>>) -> Keys {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            if raw {
                read_single_keys(&tx, &stop);
            } else {
                read_lines(&tx);
            }
        });
        Keys { rx, raw }
    }

    /// Forgets keys a person pressed while a step ran: a double Enter must not skip a step.
    /// A script's lines are all meant, and kept.
    fn drain(&self) {
        while self.raw && self.rx.try_recv().is_ok() {}
    }
}

fn read_single_keys(tx: &mpsc::Sender<Key>, stop: &tokio::sync::watch::Sender<bool>) {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    while let Ok(ev) = event::read() {
        let Event::Key(k) = ev else { continue };
        if k.kind == KeyEventKind::Release {
            continue;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let key = match k.code {
            KeyCode::Char('c') if ctrl => {
                let _ = SIGNALLED.compare_exchange(
                    0,
                    2,
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                );
                let _ = stop.send(true);
                continue;
            }
            KeyCode::Char('d') if ctrl => Key::Quit,
            KeyCode::Enter | KeyCode::Right | KeyCode::Char(' ' | 'n') => Key::Next,
            KeyCode::Char('r') => Key::Repeat,
            KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
            _ => continue,
        };
        if tx.send(key).is_err() {
            return;
        }
    }
}

fn read_lines(tx: &mpsc::Sender<Key>) {
    let stdin = std::io::stdin();
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let key = match line.trim() {
            "" | "n" => Key::Next,
            "r" => Key::Repeat,
            "q" => Key::Quit,
            _ => continue,
        };
        if tx.send(key).is_err() {
            return;
        }
    }
}

/// Where the session's text goes: stdout, with line ends a raw terminal understands.
struct Screen {
    out: std::io::Stdout,
    raw: bool,
    paint: Palette,
    width: usize,
}

impl Screen {
    fn new(raw: bool) -> Screen {
        let tty = std::io::stdout().is_terminal();
        let color = tty && Palette::for_stdout().color;
        let columns = if tty {
            crossterm::terminal::size().map_or(80, |(c, _)| usize::from(c))
        } else {
            80
        };
        Screen {
            out: std::io::stdout(),
            raw,
            paint: Palette { color },
            width: columns.clamp(40, 100),
        }
    }

    fn print(&mut self, text: &str) {
        let text = if self.raw {
            text.replace('\n', "\r\n")
        } else {
            text.to_string()
        };
        let mut out = self.out.lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// How a presented session ended.
enum End {
    Finished,
    /// `q` before step N.
    Quit(usize),
    Interrupted,
    Error(usize, String),
}

struct Session {
    results: Vec<StepResult>,
    end: End,
    leftovers: Vec<u32>,
}

struct Presenter<'a> {
    prep: &'a Prepared,
    adapter: &'a Adapter,
    screen: &'a mut Screen,
    keys: Keys,
    stop: tokio::sync::watch::Receiver<bool>,
    auto: Option<Duration>,
    root: PathBuf,
}

/// What waiting for a key came to.
enum Wait {
    Key(Key),
    Interrupted,
}

impl Presenter<'_> {
    fn run(&mut self, rt: &tokio::runtime::Runtime, opts: &RunOptions) -> Session {
        let w = &self.prep.walkthrough;
        let paint = self.screen.paint;
        let width = self.screen.width;
        let header = render_header(w, self.adapter.name(), &self.root, paint, width);
        self.screen.print(&header);
        let timing = Timing::of(w);
        let mut player = Player::new(self.prep, self.adapter, opts);
        let mut results: Vec<StepResult> = Vec::new();
        let mut last_screen: Option<String> = None;
        let mut stopped_since: Option<Instant> = None;
        let mut end = End::Finished;
        'steps: for (i, step) in w.steps.iter().enumerate() {
            let intro = render_step_intro(w, i, &timing, paint, width);
            self.screen.print(&intro);
            let prompt = paint.dim("[Enter] do it · [r] show again · [q] quit\n");
            self.screen.print(&prompt);
            let dependent = timing.depends(step);
            let mut warned = false;
            self.keys.drain();
            loop {
                // Say it while the presenter is still talking, not only once they press Enter.
                let warn_at = match (dependent, &timing.sleep, stopped_since, warned) {
                    (true, Some((secs, _)), Some(t), false) => Some(t + *secs),
                    _ => None,
                };
                let auto_at = self.auto.map(|a| Instant::now() + a);
                let wait = self.wait(warn_at, auto_at);
                let paused = stopped_since.map(|t| t.elapsed());
                match wait {
                    None => {
                        if let (Some(p), false) = (paused, warned) {
                            if let Some(text) =
                                pause_warning(&timing, step, p, results.last(), paint, width)
                            {
                                self.screen.print(&text);
                                warned = true;
                            }
                        }
                        if auto_at.is_some_and(|t| Instant::now() >= t) {
                            break;
                        }
                    }
                    Some(Wait::Interrupted) => {
                        end = End::Interrupted;
                        break 'steps;
                    }
                    Some(Wait::Key(Key::Quit)) => {
                        end = End::Quit(i);
                        break 'steps;
                    }
                    Some(Wait::Key(Key::Repeat)) => {
                        let again = last_screen.clone().unwrap_or_else(|| intro.clone());
                        self.screen.print(&again);
                        self.screen.print(&prompt);
                    }
                    Some(Wait::Key(Key::Next)) => {
                        if let (Some(p), false) = (paused, warned) {
                            if let Some(text) =
                                pause_warning(&timing, step, p, results.last(), paint, width)
                            {
                                self.screen.print(&text);
                            }
                        }
                        break;
                    }
                }
            }
            self.screen
                .print(&paint.dim(&format!("… {}\n", doing(step))));
            let mut stop = self.stop.clone();
            let played = rt.block_on(async {
                tokio::select! {
                    r = player.step(i) => Some(r),
                    _ = stop.wait_for(|s| *s) => None,
                }
            });
            match played {
                None => {
                    end = End::Interrupted;
                    break;
                }
                Some(Err(message)) => {
                    let text =
                        format!("\n{} {}\n", paint.red("Could not play this step:"), message);
                    self.screen.print(&text);
                    end = End::Error(i, message);
                    break;
                }
                Some(Ok(result)) => {
                    let previous = results.last().map(|r| &r.observation);
                    let text = render_observation(step, &result, previous, paint, width);
                    self.screen.print(&text);
                    last_screen = Some(text);
                    stopped_since = Some(Instant::now());
                    results.push(result);
                }
            }
        }
        if matches!(end, End::Finished) {
            // The program stays stopped where the walkthrough left it, for questions.
            let text = format!(
                "\n{}\n{}",
                paint.bold("End of the walkthrough. The program stays as it is until you leave."),
                paint.dim("[Enter] or [q] stop the debugger and leave · [r] show again\n")
            );
            self.screen.print(&text);
            self.keys.drain();
            loop {
                let auto_at = self.auto.map(|a| Instant::now() + a);
                match self.wait(None, auto_at) {
                    Some(Wait::Key(Key::Repeat)) => {
                        if let Some(s) = &last_screen {
                            self.screen.print(s);
                        }
                    }
                    Some(Wait::Interrupted) => {
                        end = End::Interrupted;
                        break;
                    }
                    _ => break,
                }
            }
        }
        self.screen
            .print(&paint.dim("Stopping the debugger and the program…\n"));
        // A teardown that hangs must not keep the presenter waiting: dropping the player
        // drops its session, which kills what it started.
        let leftovers = rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(10), player.finish()).await
            })
            .unwrap_or_default();
        Session {
            results,
            end,
            leftovers,
        }
    }

    /// Waits for a key until `a` or `b` (the earlier), whichever comes first; `None` when a
    /// deadline passed.
    fn wait(&mut self, a: Option<Instant>, b: Option<Instant>) -> Option<Wait> {
        let deadline = match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        loop {
            if *self.stop.borrow() {
                return Some(Wait::Interrupted);
            }
            let tick = Duration::from_millis(100);
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    left.min(tick)
                }
                None => tick,
            };
            match self.keys.rx.recv_timeout(slice) {
                Ok(k) => return Some(Wait::Key(k)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // No more keys (input closed): auto mode goes on, a manual session ends.
                    if self.auto.is_none() {
                        return Some(Wait::Key(Key::Quit));
                    }
                    std::thread::sleep(slice);
                }
            }
        }
    }
}

/// What a step does, as a short present-tense phrase for the line shown while it runs.
fn doing(step: &Step) -> String {
    let on = step
        .thread
        .as_ref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    match step.action {
        Action::Start => "starting the program under the debugger".into(),
        Action::Continue => format!("continuing{on}"),
        Action::Next => format!("stepping over{on}"),
        Action::StepIn => format!("stepping in{on}"),
        Action::StepOut => format!("stepping out{on}"),
        Action::Pause => "pausing".into(),
        Action::Stay => "looking again".into(),
    }
}

/// What decides a walkthrough's timing: the sleep (or timed wait) its program makes, if any,
/// and whether its program races.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// How long, and a description for the screen.
    pub sleep: Option<(Duration, String)>,
    /// The program's outcome is a race (the talk's "sometimes deadlock" family).
    pub racy: bool,
}

/// The scenarios whose outcome is a race between main's exit and the worker's inner submit
/// (DESIGN.md's table of programs).
const RACY: &[&str] = &[
    "no_deadlock",
    "sometimes_deadlock",
    "discourage_deadlock",
    "unswallow_runtimeerror",
    "context_manager",
];

impl Timing {
    /// Reads a walkthrough's timing from its environment (`*_SLEEP=<seconds>`, as
    /// `ALWAYS_DEADLOCK_SLEEP`) and from what its scenario is known to do.
    pub fn of(w: &Walkthrough) -> Timing {
        let from_env = w.env.iter().find_map(|(k, v)| {
            let secs: f64 = v.trim().parse().ok()?;
            (k.ends_with("_SLEEP") && secs.is_finite() && secs >= 0.0).then(|| {
                (
                    Duration::from_secs_f64(secs),
                    format!("the program's `time.sleep` ({k}={v})"),
                )
            })
        });
        let known = match w.scenario.as_str() {
            // Under a debugger always_deadlock sleeps an hour, so no pause outlasts it.
            "always_deadlock" => Some((
                Duration::from_secs(3600),
                "main's `time.sleep` (an hour under a debugger)".to_string(),
            )),
            "pep3148_mutual" => Some((
                Duration::from_secs(5),
                "each worker's `time.sleep(5)`".to_string(),
            )),
            "solution4_timeout" => Some((
                Duration::from_secs(1),
                "main's `f.result(timeout=1)`".to_string(),
            )),
            _ => None,
        };
        Timing {
            sleep: from_env.or(known),
            racy: RACY.contains(&w.scenario.as_str()),
        }
    }

    /// Whether `step`'s outcome depends on how long the program was stopped before it: it
    /// lets the program run, nothing holds the other side of the race, and there is a clock
    /// or a race to disturb.
    pub fn depends(&self, step: &Step) -> bool {
        let runs = matches!(
            step.action,
            Action::Continue | Action::Next | Action::StepIn | Action::StepOut
        );
        runs && step.hold.is_empty() && (self.sleep.is_some() || self.racy)
    }
}

/// The talk's warning, on screen when a pause has outlasted the program's sleep before a step
/// whose outcome depends on it.
pub fn pause_warning(
    timing: &Timing,
    step: &Step,
    paused: Duration,
    last: Option<&StepResult>,
    paint: Palette,
    width: usize,
) -> Option<String> {
    if !timing.depends(step) {
        return None;
    }
    let (sleep, what) = timing.sleep.as_ref()?;
    if paused <= *sleep {
        return None;
    }
    // Which thread is inside the sleep right now, when the last stop shows one.
    let sleeper = last.and_then(|r| {
        r.observation
            .threads
            .iter()
            .find(|t| t.frames.iter().any(|f| is_sleep_frame(&f.name)))
            .map(|t| t.name.clone())
    });
    let mut text = format!(
        "You have paused {:.1} s, longer than {what} ({} s). A stop does not stop the clock: \
         a sleep that spans this pause is already over when the program resumes",
        paused.as_secs_f64(),
        trim_secs(*sleep)
    );
    match sleeper {
        Some(t) => text.push_str(&format!(", and {t} is in one: it will wake at once. ")),
        None => text.push_str(". "),
    }
    text.push_str(
        "The talk: \"pausing too long before stepping makes time.sleep() not have its intended \
         effect\".",
    );
    Some(format!(
        "\n{}\n",
        paint.yellow(&wrap_indented(&format!("⏱ {text}"), width, "  "))
    ))
}

fn trim_secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn is_sleep_frame(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "sleep" || n.contains("nanosleep") || n.ends_with("::sleep")
}

/// The session's opening: title, program, environment, introduction, watch list, keys.
pub fn render_header(
    w: &Walkthrough,
    adapter: &str,
    root: &std::path::Path,
    paint: Palette,
    width: usize,
) -> String {
    let mut s = String::new();
    s.push_str(&paint.dim(&"━".repeat(width)));
    s.push('\n');
    s.push_str(&paint.bold(&wrap(&w.title, width)));
    s.push('\n');
    let program = Project::program_source_rel(w.language, &w.scenario);
    s.push_str(&paint.dim(&wrap(
        &format!(
            "{program} on {adapter} · {} steps · {}",
            w.steps.len(),
            crate::project::display_path(&w.path, root)
        ),
        width,
    )));
    s.push('\n');
    if !w.env.is_empty() {
        let env: Vec<String> = w.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!("Environment: {}\n", env.join(" ")));
    }
    if !w.intro.trim().is_empty() {
        s.push('\n');
        s.push_str(&inline_code(&reflow(&w.intro, width), paint));
    }
    if !w.watch.is_empty() {
        let names: Vec<&str> = w.watch.iter().map(|x| x.name.as_str()).collect();
        s.push_str(&format!("\nWatching: {}\n", names.join(", ")));
    }
    s.push_str(&paint.dim("Keys: Enter next step · r show again · q quit\n"));
    s
}

/// A step's opening: number, title, narrative, what is about to be done, and how timing
/// bears on it.
pub fn render_step_intro(
    w: &Walkthrough,
    index: usize,
    timing: &Timing,
    paint: Palette,
    width: usize,
) -> String {
    let step = &w.steps[index];
    let mut s = String::new();
    let label = format!("── Step {} of {} ", index + 1, w.steps.len());
    let rule = "─".repeat(width.saturating_sub(label.chars().count()));
    s.push_str(&format!("\n{}\n", paint.cyan(&format!("{label}{rule}"))));
    s.push_str(&paint.bold(&wrap(&step.title, width)));
    s.push_str("\n\n");
    if !step.say.trim().is_empty() {
        s.push_str(&inline_code(&reflow(&step.say, width), paint));
        s.push('\n');
    }
    let what = crate::output::markdown::describe_action(step);
    s.push_str(&inline_code(
        &wrap_indented(&format!("Next: {what}"), width, "      "),
        paint,
    ));
    s.push('\n');
    if let Some(note) = timing_note(timing, step) {
        s.push_str(&inline_code(&wrap_indented(&note, width, "  "), paint));
        s.push('\n');
    }
    s
}

/// Where the walkthrough forces the outcome, how; where timing decides it, that it does.
pub fn timing_note(timing: &Timing, step: &Step) -> Option<String> {
    if !step.hold.is_empty() && step.action == Action::Continue {
        return Some(format!(
            "⚑ Forced: the debugger keeps {} suspended (LLDB's SBThread::Suspend) while the \
             rest runs, so this outcome does not depend on timing.",
            step.hold.join(" and ")
        ));
    }
    if !timing.depends(step) {
        return None;
    }
    Some(match &timing.sleep {
        Some((d, what)) => format!(
            "⏱ Timing: this step's outcome rests on {what}, {} s. Pause longer than that \
             before pressing Enter and the sleep no longer has its intended effect.",
            trim_secs(*d)
        ),
        None => "⏱ Timing: nothing forces this race; which side wins can depend on the \
                 debugger's stops and on how long you pause."
            .to_string(),
    })
}

/// What the debugger reports after a step: the stop, every thread, the watches (changes
/// marked), new output, and the verdict.
pub fn render_observation(
    step: &Step,
    result: &StepResult,
    previous: Option<&Observation>,
    paint: Palette,
    width: usize,
) -> String {
    let obs = &result.observation;
    let mut s = String::from("\n");
    // The stop, in a sentence.
    let headline = match (&obs.end, &obs.stop) {
        (Some(ObservedEnd::Hang), _) => {
            "Every thread is blocked: a deadlock. dapwalk paused the program to show where."
                .to_string()
        }
        (Some(ObservedEnd::Exit(c)), _) => format!("The program exited with code {c}."),
        (Some(ObservedEnd::Terminated), _) => "The debug session ended.".to_string(),
        (None, Some(st)) => {
            // A line may carry several markers: name the one this step is about.
            let wanted: Vec<&crate::walkthrough::MarkerRef> = step
                .expect
                .stopped
                .iter()
                .filter_map(|e| e.value.at.as_ref())
                .chain(step.breakpoints.iter().map(|b| &b.value))
                .collect();
            let at = st
                .at
                .iter()
                .find(|m| wanted.contains(m))
                .or(st.at.first())
                .map(|m| m.to_string())
                .or(st.location.clone());
            let place = match (&at, &st.location) {
                (Some(a), Some(l)) if *a != *l => format!(" at {a} ({l})"),
                (Some(a), _) => format!(" at {a}"),
                _ => String::new(),
            };
            format!(
                "Stopped: {} — {}{place}",
                st.thread,
                reason_text(&st.reason)
            )
        }
        (None, None) => obs
            .stop_note
            .clone()
            .unwrap_or_else(|| "No thread stopped.".to_string()),
    };
    s.push_str(&paint.bold(&wrap(&headline, width)));
    s.push('\n');
    if let (Some(note), Some(_)) = (&obs.stop_note, &obs.stop) {
        s.push_str(&paint.dim(&wrap(note, width)));
        s.push('\n');
    }

    if !obs.threads.is_empty() {
        s.push_str(&format!("\n{}\n", paint.bold("Threads")));
        // The stopped thread first: it is the one the audience looks for.
        let mut threads: Vec<&ObservedThread> = obs.threads.iter().collect();
        let stopped = obs.stop.as_ref().map(|st| st.thread.as_str());
        threads.sort_by_key(|t| Some(t.name.as_str()) != stopped);
        for t in threads {
            let state = thread_state(t, step, obs);
            let marker = if Some(t.name.as_str()) == stopped {
                paint.green("▶")
            } else {
                " ".to_string()
            };
            // Wrapped as plain text, then the name painted: escape codes have no width.
            let line = wrap_indented(
                &format!("{} — {state}", t.name),
                width.saturating_sub(4),
                "      ",
            )
            .replacen(&t.name, &paint.bold(&t.name), 1);
            s.push_str(&format!("  {marker} {line}\n"));
            let user: Vec<_> = t.user_frames().collect();
            const SHOWN: usize = 6;
            for f in user.iter().take(SHOWN) {
                let loc = f
                    .location
                    .as_ref()
                    .map(|l| format!("  {l}"))
                    .unwrap_or_default();
                let room = width.saturating_sub(6 + loc.chars().count());
                s.push_str(&format!(
                    "      {}{}\n",
                    truncate(&f.name, room),
                    paint.dim(&loc)
                ));
            }
            if user.len() > SHOWN {
                s.push_str(&paint.dim(&format!("      … {} more\n", user.len() - SHOWN)));
            }
            if user.is_empty() {
                s.push_str(&paint.dim("      (no frames of the program)\n"));
            }
        }
    }

    if !obs.watch.is_empty() {
        s.push_str(&format!("\n{}\n", paint.bold("Watch")));
        let pad = obs
            .watch
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        for (name, value) in &obs.watch {
            let value = &truncate(value, width.saturating_sub(pad + 16));
            let before = previous.and_then(|p| p.watch.iter().find(|(n, _)| n == name));
            let line = match before {
                Some((_, old)) if old != value => format!(
                    "  {name:<pad$}  {}  {}",
                    paint.changed(value),
                    paint.yellow(&format!("(was {})", truncate(old, 24)))
                ),
                _ => format!("  {name:<pad$}  {value}"),
            };
            s.push_str(&line);
            s.push('\n');
        }
    }

    let new_out = new_output(previous.map(|p| p.stdout.as_str()), &obs.stdout);
    if !new_out.trim().is_empty() {
        s.push_str(&format!("\n{}\n", paint.bold("Program output (new)")));
        for l in new_out.lines() {
            s.push_str(&format!("  │ {}\n", truncate(l, width.saturating_sub(4))));
        }
    }
    if !obs.evaluate.is_empty() {
        s.push_str(&format!("\n{}\n", paint.bold("Debug console")));
        for (expr, got) in step.evaluate.iter().zip(&obs.evaluate) {
            s.push_str(&wrap_indented(
                &format!("  > {expr}  →  {got}"),
                width,
                "      ",
            ));
            s.push('\n');
        }
    }

    s.push('\n');
    if result.verdict.passed() {
        s.push_str(&paint.green("✓ As the walkthrough says."));
        s.push('\n');
    } else {
        s.push_str(&paint.red("✗ Not what the walkthrough says:"));
        s.push('\n');
        for l in result.verdict.diff("walkthrough").lines() {
            let l = truncate(l, width.saturating_sub(2));
            let l = if l.starts_with('+') && !l.starts_with("+++") {
                paint.red(&l)
            } else if l.starts_with('-') && !l.starts_with("---") {
                paint.green(&l)
            } else {
                l
            };
            s.push_str(&format!("  {l}\n"));
        }
    }
    s
}

fn reason_text(reason: &str) -> String {
    match reason {
        "breakpoint" => "on a breakpoint".into(),
        "step" => "after the step".into(),
        "pause" => "paused".into(),
        "exception" => "on an exception".into(),
        other => other.to_string(),
    }
}

/// A thread's state for the audience: stopped on the breakpoint, held, blocked or paused.
pub fn thread_state(t: &ObservedThread, step: &Step, obs: &Observation) -> String {
    let stopped = obs.stop.as_ref().filter(|s| s.thread == t.name);
    if let Some(st) = stopped {
        return format!("stopped {}", reason_text(&st.reason));
    }
    if step.hold.contains(&t.name) {
        return "held by the debugger".into();
    }
    // Below the first frame of the program: what the thread is inside of (a futex wait, a
    // sleep) when the debugger stopped it.
    let system: Vec<String> = t
        .frames
        .iter()
        .take_while(|f| !f.user)
        .map(|f| f.name.to_ascii_lowercase())
        .collect();
    let user: Vec<&crate::checks::ObservedFrame> = t.user_frames().collect();
    // The GIL model and the lock wrappers sit on top of every wait; the audience wants the
    // call that waits (`Thread::join`, `Condition::wait`, `sleep`).
    let meaningful = user.iter().find(|f| !is_plumbing(f));
    let in_ = meaningful
        .map(|f| format!(" in {}", f.name))
        .unwrap_or_default();
    let sleeping = system.iter().any(|n| n.contains("nanosleep"))
        || meaningful.is_some_and(|f| is_sleep_frame(&f.name));
    let for_gil = user.first().is_some_and(|f| {
        f.location
            .as_deref()
            .is_some_and(|l| l.starts_with("gil.rs"))
    }) && meaningful.is_some_and(|f| !is_sleep_frame(&f.name));
    let blocked = system.iter().any(|n| {
        n.contains("futex")
            || n.contains("cond_wait")
            || n.contains("park")
            || n.contains("lll_lock")
    });
    if obs.end == Some(ObservedEnd::Hang) {
        return format!("blocked{in_}");
    }
    if sleeping {
        "paused with it, asleep in sleep".into()
    } else if blocked && for_gil && user.first().is_some_and(|f| f.name == "acquire") {
        format!("paused with it, waiting for the GIL{in_}")
    } else if blocked {
        format!("paused with it, blocked{in_}")
    } else {
        format!("paused with it{in_}")
    }
}

/// Frames of the GIL model and of the lock wrappers around every wait.
fn is_plumbing(f: &crate::checks::ObservedFrame) -> bool {
    f.location
        .as_deref()
        .is_some_and(|l| l.starts_with("gil.rs"))
        || f.name.starts_with("Lock::acquire")
        || f.name == "with2"
}

/// What `now` adds to `before` (output is cumulative).
fn new_output<'s>(before: Option<&str>, now: &'s str) -> &'s str {
    match before {
        Some(b) if now.starts_with(b) => &now[b.len()..],
        _ => now,
    }
}

fn truncate(s: &str, max: usize) -> String {
    let max = max.max(10);
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Text in backquotes stands out on a colour terminal; elsewhere the backquotes stay.
fn inline_code(text: &str, paint: Palette) -> String {
    if !paint.color {
        return text.to_string();
    }
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&paint.cyan(part));
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Reflows TOML narrative (hard-wrapped near 95 columns) to `width`: paragraphs are joined and
/// re-wrapped; list items start their own lines.
pub fn reflow(text: &str, width: usize) -> String {
    let mut out = String::new();
    for para in text.trim().split("\n\n") {
        let mut items: Vec<String> = Vec::new();
        for line in para.lines() {
            let l = line.trim();
            let starts_item = l.starts_with("- ")
                || l.starts_with("* ")
                || l.split_once(". ")
                    .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty());
            match items.last_mut() {
                Some(cur) if !starts_item => {
                    cur.push(' ');
                    cur.push_str(l);
                }
                _ => items.push(l.to_string()),
            }
        }
        for item in items {
            let indent = if item.starts_with("- ") || item.starts_with("* ") {
                "  "
            } else {
                ""
            };
            out.push_str(&wrap_indented(&item, width, indent));
            out.push('\n');
        }
        out.push('\n');
    }
    let mut out = out.trim_end().to_string();
    out.push('\n');
    out
}

fn wrap(text: &str, width: usize) -> String {
    wrap_indented(text, width, "")
}

/// Word-wraps one paragraph to `width` columns, continuation lines indented. Words longer
/// than a line stay whole (a path or an expression must not be cut); widths are display
/// columns (`textwrap` counts `⏱` as the two columns a terminal gives it).
pub fn wrap_indented(text: &str, width: usize, indent: &str) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let options = textwrap::Options::new(width.max(1))
        .subsequent_indent(indent)
        .break_words(false);
    textwrap::fill(&words, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{ObservedFrame, ObservedStop, Verdict};
    use std::path::Path;

    const WALK: &str = r#"
title = "t"
scenario = "always_deadlock"
language = "rust"
env = { ALWAYS_DEADLOCK_SLEEP = "1" }

[[watch]]
name = "_shutdown"
expr = "global_shutdown"

[[step]]
title = "one"
break = ["main-sleep"]

[[step]]
title = "two"
do = "continue"

[[step]]
title = "three"
do = "continue"
thread = "MainThread"
hold = ["TPExecutor-0_0"]
expect.end = "hang"
"#;

    fn walk() -> Walkthrough {
        crate::walkthrough::parse_str(Path::new("w.toml"), WALK).expect("parses")
    }

    fn frame(name: &str, user: bool) -> ObservedFrame {
        ObservedFrame {
            name: name.into(),
            user,
            location: user.then(|| "x.rs:1".into()),
        }
    }

    fn result(obs: Observation, verdict: Verdict) -> StepResult {
        StepResult {
            index: 1,
            title: "two".into(),
            line: 1,
            observation: obs,
            verdict,
            elapsed: Duration::ZERO,
            hang_declared_after: None,
            program_time: Duration::ZERO,
        }
    }

    const PLAIN: Palette = Palette { color: false };

    #[test]
    fn a_sleep_walkthrough_warns_only_after_a_pause_longer_than_its_sleep() {
        let w = walk();
        let t = Timing::of(&w);
        assert_eq!(t.sleep.as_ref().map(|s| s.0), Some(Duration::from_secs(1)));
        assert!(!t.depends(&w.steps[0]), "launching does not race the clock");
        assert!(t.depends(&w.steps[1]));
        assert!(!t.depends(&w.steps[2]), "a held thread forces the outcome");
        let short = pause_warning(&t, &w.steps[1], Duration::from_millis(500), None, PLAIN, 80);
        assert_eq!(short, None);
        let long = pause_warning(&t, &w.steps[1], Duration::from_secs(3), None, PLAIN, 80)
            .expect("a warning");
        assert!(long.contains("paused 3.0 s"), "{long}");
        assert!(long.contains("intended"), "{long}");
        assert!(pause_warning(&t, &w.steps[2], Duration::from_secs(3), None, PLAIN, 80).is_none());
    }

    #[test]
    fn the_warning_names_the_thread_inside_the_sleep() {
        let w = walk();
        let t = Timing::of(&w);
        let obs = Observation {
            threads: vec![ObservedThread {
                name: "MainThread".into(),
                frames: vec![frame("clock_nanosleep", false), frame("sleep", true)],
            }],
            ..Observation::default()
        };
        let r = result(
            obs,
            Verdict {
                expected: vec![],
                observed: vec![],
            },
        );
        let text = pause_warning(
            &t,
            &w.steps[1],
            Duration::from_secs(2),
            Some(&r),
            PLAIN,
            200,
        )
        .expect("a warning");
        assert!(text.contains("MainThread is in one"), "{text}");
    }

    #[test]
    fn forced_steps_say_how_and_racy_ones_say_so() {
        let w = walk();
        let t = Timing::of(&w);
        let forced = timing_note(&t, &w.steps[2]).expect("a note");
        assert!(
            forced.contains("Forced") && forced.contains("TPExecutor-0_0"),
            "{forced}"
        );
        let racy = Timing {
            sleep: None,
            racy: true,
        };
        let note = timing_note(&racy, &w.steps[1]).expect("a note");
        assert!(note.contains("race"), "{note}");
        let calm = Timing {
            sleep: None,
            racy: false,
        };
        assert_eq!(timing_note(&calm, &w.steps[1]), None);
    }

    #[test]
    fn an_observation_shows_the_stopped_thread_changes_and_new_output() {
        let w = walk();
        let before = Observation {
            watch: vec![("_shutdown".into(), "false".into())],
            stdout: "first\n".into(),
            ..Observation::default()
        };
        let obs = Observation {
            stop: Some(ObservedStop {
                thread: "TPExecutor-0_0".into(),
                reason: "breakpoint".into(),
                at: vec![],
                location: Some("thread.rs:88".into()),
                description: None,
            }),
            threads: vec![
                ObservedThread {
                    name: "MainThread".into(),
                    frames: vec![
                        frame("__futex_abstimed_wait_common", false),
                        frame("Thread::join", true),
                    ],
                },
                ObservedThread {
                    name: "TPExecutor-0_0".into(),
                    frames: vec![frame("ThreadPoolExecutor::submit", true)],
                },
            ],
            watch: vec![("_shutdown".into(), "true".into())],
            stdout: "first\nsecond\n".into(),
            ..Observation::default()
        };
        let verdict = Verdict {
            expected: vec!["watch _shutdown = false".into()],
            observed: vec!["watch _shutdown = true".into()],
        };
        let text = render_observation(&w.steps[1], &result(obs, verdict), Some(&before), PLAIN, 80);
        assert!(
            text.contains("Stopped: TPExecutor-0_0 — on a breakpoint at thread.rs:88"),
            "{text}"
        );
        let tp = text
            .find("▶ TPExecutor-0_0 — stopped on a breakpoint")
            .expect("stopped first");
        let main = text
            .find("MainThread — paused with it, blocked in Thread::join")
            .expect("blocked");
        assert!(tp < main, "{text}");
        assert!(text.contains("*true  (was false)"), "{text}");
        assert!(
            text.contains("│ second") && !text.contains("│ first"),
            "{text}"
        );
        assert!(
            text.contains("-watch _shutdown = false") && text.contains("+watch _shutdown = true"),
            "{text}"
        );
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "too wide for 80 columns: {l:?}");
        }
    }

    #[test]
    fn narrative_is_reflowed_to_the_terminal() {
        let text = "One two three four five six\nseven eight.\n\n- a list item\n- another one that is long";
        let out = reflow(text, 20);
        for l in out.lines() {
            assert!(l.chars().count() <= 20, "{l:?}");
        }
        assert!(
            out.starts_with("One two three four\nfive six seven\neight.\n\n- a list item\n"),
            "{out:?}"
        );
        assert!(out.contains("- another one that\n  is long"), "{out:?}");
    }
}
