//! What a stop looks like through the debugger, turned into an [`Observation`]: every thread's
//! frames as the learner sees them, the stop's thread, reason and marker, the watch values and
//! debug-console answers, the program's output and its end. What is adapter-specific (which
//! frames are shown, where watches are read, how a value or reason is spelled) is asked of the
//! dialect.

use super::explain::Listed;
use super::player::{first_line, Landing, Player, StepError};
use crate::adapters::{Dialect, WaitField, WatchFrame};
use crate::checks::{
    normalize_frame_name, Observation, ObservedEnd, ObservedFrame, ObservedStop, ObservedThread,
};
use crate::dap::protocol::Frame;
use crate::walkthrough::{Action, MarkerIndex, MarkerRef, Step};
use std::path::Path;

impl Player<'_> {
    pub(super) async fn observe(
        &mut self,
        step: &Step,
        landing: &Landing,
    ) -> Result<Observation, StepError> {
        let dialect = self.launcher.dialect();
        let mut obs = Observation::default();
        {
            // Output is compared cumulatively: adapters relay it on their own schedule, so
            // a line may arrive just after the stop that followed it.
            let session = self.session()?;
            obs.stdout = session.stdout.clone();
            obs.stderr = if dialect.stderr_merged() {
                session.stdout.clone()
            } else {
                session.stderr.clone()
            };
        }
        // With threads held by the debugger, "nothing can move" is the debugger's doing, not
        // the program's deadlock.
        let holding = !step.hold.is_empty();
        obs.end = match landing {
            Landing::Exited(Some(c)) => Some(ObservedEnd::Exit(*c)),
            Landing::Exited(None) => Some(ObservedEnd::Terminated),
            Landing::Hung { .. } if !holding => Some(ObservedEnd::Hang),
            _ => None,
        };
        if obs.end.as_ref().is_some_and(|e| *e != ObservedEnd::Hang) {
            obs.stop_note = Some(match &obs.end {
                Some(ObservedEnd::Exit(c)) => format!("the program exited with code {c}"),
                _ => "the session ended".into(),
            });
            return Ok(obs);
        }
        obs.stop_note = match landing {
            Landing::Hung { .. } if holding => {
                Some("the threads let run are blocked and the others held".into())
            }
            Landing::Hung { .. } => Some("every thread blocked: a hang".into()),
            Landing::StillRunning(after) => Some(crate::checks::still_running_note(*after)),
            _ => None,
        };

        let pid = self.session()?.debuggee_pid();
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| StepError::Walkthrough("no session".into()))?;
        let threads = session.threads().await?;
        let mut top_user_frame: Option<(i64, Option<String>, i64)> = None;
        let stopped_id = match landing {
            Landing::Stopped(s) => s.thread_id,
            Landing::Stayed => self.last_stop.as_ref().and_then(|s| s.thread_id),
            _ => None,
        };
        // The frame a stop is named after: the first frame with a source whose line
        // carries a marker (a stdlib breakpoint's frame on the Python track), else the top
        // user frame.
        let mut marked_frame: Option<(i64, String, i64)> = None;
        // The step's `thread`, selected as in the editor's call stack: watches and the console
        // read in its frame (the top one, or its innermost user frame, as the dialect reads
        // a stopped thread's).
        let mut selected_frame: Option<Option<i64>> = None;
        // Where a stack costs the adapter much (debugpy walks a thread it has not suspended
        // only after its own 0.5 s timeout), only the stacks this step checks or looks from
        // are asked; the others are fetched if the step departs, for the report.
        let every_stack = !dialect.costly_stacks()
            || self.opts.every_stack
            || matches!(landing, Landing::Hung { .. } | Landing::StillRunning(_))
            || step.expect.wants_explanation();
        self.unfetched.clear();
        let wanted: Vec<bool> = threads
            .iter()
            .map(|t| {
                let name = portable_thread_name(&t.name, t.id, pid);
                every_stack
                    || Some(t.id) == stopped_id
                    || step.thread.as_deref() == Some(name.as_str())
                    || step.expect.stacks.contains_key(&name)
            })
            .collect();
        // Asked all at once where stacks are cheap: the adapter answers them in turn, without
        // a round trip between. debugpy takes 0.65 s over each unsuspended thread's, one
        // after the other: asked one at a time, each within its own request timeout.
        let levels = self.opts.stack_levels;
        let asked = threads.iter().zip(&wanted).filter(|(_, w)| **w);
        let mut stacks = if dialect.costly_stacks() {
            let mut out = Vec::new();
            for (t, _) in asked {
                out.push(session.stack(t.id, levels).await);
            }
            out
        } else {
            futures_util::future::join_all(asked.map(|(t, _)| session.stack(t.id, levels))).await
        }
        .into_iter();
        for (t, wanted) in threads.iter().zip(wanted) {
            let name = portable_thread_name(&t.name, t.id, pid);
            if !wanted {
                self.unfetched.push((obs.threads.len(), t.id));
                obs.threads.push(ObservedThread {
                    name,
                    frames: Vec::new(),
                });
                continue;
            }
            let frames = match stacks.next().unwrap_or_else(|| Ok(Vec::new())) {
                Ok(f) => f,
                // A thread debugpy cannot walk (it is starting or ending) shows no frames.
                Err(_) if dialect.tolerates_unwalkable_threads() => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            if step.thread.as_deref() == Some(name.as_str()) {
                selected_frame = Some(
                    match dialect.watch_frame() {
                        WatchFrame::Top => frames.first(),
                        _ => frames
                            .iter()
                            .find(|f| dialect.shown_frame(f))
                            .or(frames.first()),
                    }
                    .map(|f| f.id),
                );
            }
            if Some(t.id) == stopped_id {
                let shown = frames.iter().find(|f| dialect.shown_frame(f));
                if dialect.watch_frame() == WatchFrame::Top {
                    // As in the editor, watches read in the selected frame: the top one.
                    top_user_frame = frames
                        .first()
                        .map(|f| (f.id, f.path().map(str::to_string), f.line));
                } else if let Some(f) = shown {
                    top_user_frame = Some((f.id, f.path().map(str::to_string), f.line));
                }
                marked_frame = marked(&self.prep.markers, &frames, shown)
                    .and_then(|f| Some((f.id, f.path()?.to_string(), f.line)));
            }
            obs.threads.push(ObservedThread {
                name,
                frames: observed_frames(dialect, &frames),
            });
        }
        if let (Landing::Stopped(_) | Landing::Stayed, Some(id)) = (landing, stopped_id) {
            let reason = match landing {
                Landing::Stopped(s) => s.reason.clone(),
                _ => self
                    .last_stop
                    .as_ref()
                    .map(|s| s.reason.clone())
                    .unwrap_or_default(),
            };
            let (at, location) = match &marked_frame {
                Some((_, path, line)) => place(&self.prep.markers, path, *line),
                _ => (Vec::new(), None),
            };
            obs.stop = Some(ObservedStop {
                thread: portable_thread_name(
                    &threads
                        .iter()
                        .find(|t| t.id == id)
                        .map(|t| t.name.clone())
                        .unwrap_or_default(),
                    id,
                    pid,
                ),
                reason: dialect.stop_reason(&reason),
                at,
                location,
                description: match landing {
                    Landing::Stopped(s) => s.description.clone(),
                    _ => self.last_stop.as_ref().and_then(|s| s.description.clone()),
                },
            });
        }

        // Watches and the console are evaluated in the stopped thread's innermost user frame,
        // as a learner's watch pane is. After a hang or a pause there is no such thread:
        // main's innermost user frame stands in (globals read the same from any frame).
        let mut frame = top_user_frame.as_ref().map(|(id, _, _)| *id);
        match (&step.thread, selected_frame) {
            (Some(_), Some(selected)) => frame = selected,
            // A thread a step only looks from must exist; one it acted on may have ended
            // since (the action already refused a thread that was not there).
            (Some(name), None) if step.action == Action::Stay => {
                let names: Vec<String> = threads
                    .iter()
                    .map(|t| portable_thread_name(&t.name, t.id, pid))
                    .collect();
                return Err(StepError::Walkthrough(format!(
                    "{}:{}: thread = {name:?}: no such thread to read watches and evaluate in; threads now: {}",
                    self.prep.walkthrough.path.display(),
                    step.line,
                    names.join(", ")
                )));
            }
            _ => {}
        }
        if frame.is_none() {
            if let Some(main) = threads
                .iter()
                .find(|t| portable_thread_name(&t.name, t.id, pid) == "MainThread")
            {
                let frames = session.stack(main.id, self.opts.stack_levels).await?;
                frame = frames
                    .iter()
                    .find(|f| f.is_user_frame())
                    .or(frames.first())
                    .map(|f| f.id);
            }
        }
        // Once the adapter says this frame evaluates nothing now, the rest is not asked:
        // every watch and console line there gets the same answer.
        let mut refused: Option<String> = None;
        for w in &self.prep.walkthrough.watch {
            let mut value = None;
            let mut last_err = refused.clone().unwrap_or_default();
            for expr in dialect.watch_expressions(&w.expr) {
                if refused.is_some() {
                    break;
                }
                match session.evaluate(&expr, frame).await {
                    Ok(v) => {
                        value = Some(dialect.render_value(&v.result));
                        break;
                    }
                    // A dead adapter is not a value the walkthrough got wrong: it ends the
                    // walkthrough as could-not-check (exit 2).
                    Err(e) if e.adapter_gone() => return Err(e.into()),
                    Err(e) => {
                        last_err = e.to_string();
                        if dialect.frame_cannot_evaluate(&last_err) {
                            refused = Some(last_err.clone());
                        }
                    }
                }
            }
            // At a hang on an adapter that cannot evaluate in blocked threads, say so, and
            // what stands in for the watch.
            let why = if matches!(landing, Landing::Hung { .. })
                && !holding
                && dialect.wait_record_expr(WaitField::Count).is_none()
            {
                crate::checks::unavailable_at_hang(first_line(&last_err))
            } else {
                crate::checks::unavailable(first_line(&last_err))
            };
            obs.watch.push((w.name.clone(), value.unwrap_or(why)));
        }
        for expr in &step.evaluate {
            if let Some(why) = &refused {
                obs.evaluate.push(format!("error: {why}"));
                continue;
            }
            let text = match session
                .console(&dialect.console_expression(expr), frame)
                .await
            {
                Ok(body) => dialect.console_value(body["result"].as_str().unwrap_or_default()),
                Err(e) if e.adapter_gone() => return Err(e.into()),
                Err(e) => format!("error: {e}"),
            };
            obs.evaluate.push(text);
        }
        // Who waits on whom: at every hang, and wherever the step asks.
        let hung = matches!(landing, Landing::Hung { .. }) && !holding;
        if hung || step.expect.wants_explanation() {
            let listed: Vec<Listed> = threads
                .iter()
                .map(|t| Listed {
                    id: t.id,
                    name: portable_thread_name(&t.name, t.id, pid),
                })
                .collect();
            let observed = obs.threads.clone();
            obs.explanation = Some(self.explain(&listed, &observed, frame).await?);
        }
        Ok(obs)
    }
}

impl Player<'_> {
    /// After a departure: the stacks `observe` did not ask for, so that the report shows
    /// where every thread was. Best effort: a stack the adapter refuses stays empty.
    pub(super) async fn fetch_skipped_stacks(&mut self, obs: &mut Observation) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let dialect = self.launcher.dialect();
        for (i, id) in std::mem::take(&mut self.unfetched) {
            if let (Ok(frames), Some(t)) = (
                session.stack(id, self.opts.stack_levels).await,
                obs.threads.get_mut(i),
            ) {
                t.frames = observed_frames(dialect, &frames);
            }
        }
    }
}

/// The name a walkthrough uses for a thread. The main thread is `MainThread` whatever the
/// adapter calls it (LLDB shows the program's name, cut to 15 characters); other threads keep
/// the name the learner sees in the editor's call stack.
/// The frame a stop is named after: the first frame with a source, when its line carries a
/// marker (a stdlib breakpoint's frame on the Python track), else the `shown` one (the top
/// user frame) if it has a source.
pub(crate) fn marked<'a>(
    markers: &MarkerIndex,
    frames: &'a [Frame],
    shown: Option<&'a Frame>,
) -> Option<&'a Frame> {
    frames
        .iter()
        .find(|f| f.path().is_some())
        .filter(|f| {
            f.path()
                .is_some_and(|p| !markers.at(Path::new(p), f.line as usize).is_empty())
        })
        .or_else(|| shown.filter(|f| f.path().is_some()))
}

/// A stop's place: the markers on `path:line` and `FILE:LINE` as the checks show it.
pub(crate) fn place(
    markers: &MarkerIndex,
    path: &str,
    line: i64,
) -> (Vec<MarkerRef>, Option<String>) {
    let at = markers
        .at(Path::new(path), line as usize)
        .into_iter()
        .cloned()
        .collect();
    let file = Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (at, Some(format!("{file}:{line}")))
}

/// A thread's frames as the checks compare them: normalized names, which ones the editor
/// shows, `FILE:LINE`.
pub(crate) fn observed_frames(dialect: &dyn Dialect, frames: &[Frame]) -> Vec<ObservedFrame> {
    frames
        .iter()
        .map(|f| ObservedFrame {
            name: normalize_frame_name(&f.name),
            user: dialect.shown_frame(f),
            location: f.file_name().map(|n| format!("{n}:{}", f.line)),
        })
        .collect()
}

pub fn portable_thread_name(name: &str, id: i64, debuggee_pid: Option<u32>) -> String {
    if debuggee_pid.is_some_and(|p| i64::from(p) == id) || name == "MainThread" {
        "MainThread".into()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_main_thread_is_main_thread_everywhere() {
        assert_eq!(
            portable_thread_name("sometimes_deadl", 4711, Some(4711)),
            "MainThread"
        );
        assert_eq!(portable_thread_name("MainThread", 1, None), "MainThread");
        assert_eq!(
            portable_thread_name("TPExecutor-0_0", 4712, Some(4711)),
            "TPExecutor-0_0"
        );
    }
}
