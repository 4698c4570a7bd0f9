//! Playing many walkthroughs, `jobs` at a time, each on the launcher of its track, with
//! progress told to a callback (the output layer draws it).

use super::player::play_releasing;
use super::results::{RunEvent, RunOptions, WalkthroughResult};
use crate::session::Launcher;
use crate::walkthrough::Prepared;
use std::sync::Arc;

/// What the scheduler tells a progress display.
#[derive(Debug, Clone)]
pub enum Progress {
    Started {
        name: String,
    },
    Step {
        name: String,
        n: usize,
        total: usize,
    },
    Finished {
        name: String,
    },
}

/// Plays every walkthrough on the launcher whose dialect debugs its language, `jobs` at a
/// time; results come back in the order given. Walkthroughs with no launcher are skipped.
pub async fn play_all(
    prepared: Vec<Prepared>,
    launchers: Vec<Arc<dyn Launcher>>,
    opts: RunOptions,
    jobs: usize,
    progress: Arc<dyn Fn(Progress) + Send + Sync>,
) -> Vec<(Prepared, WalkthroughResult)> {
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let opts = Arc::new(opts);
    let mut set = tokio::task::JoinSet::new();
    for (i, prep) in prepared.into_iter().enumerate() {
        let Some(launcher) = launchers
            .iter()
            .find(|l| l.dialect().language() == prep.walkthrough.language)
            .cloned()
        else {
            continue;
        };
        let sem = sem.clone();
        let opts = opts.clone();
        let progress = progress.clone();
        set.spawn(async move {
            let permit = sem.acquire_owned().await;
            let name = prep
                .walkthrough
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let total = prep.walkthrough.steps.len();
            progress(Progress::Started { name: name.clone() });
            let mut emit = |ev: RunEvent| {
                if let RunEvent::StepStarted { index, .. } = ev {
                    progress(Progress::Step {
                        name: name.clone(),
                        n: index + 1,
                        total,
                    });
                }
            };
            // The next walkthrough may start once this one's processes have been killed,
            // while teardown still waits to see them gone.
            let release = Box::new(move || drop(permit));
            let r = play_releasing(&prep, launcher.as_ref(), &opts, &mut emit, release).await;
            progress(Progress::Finished { name });
            (i, prep, r)
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(x) = joined {
            out.push(x);
        }
    }
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, p, r)| (p, r)).collect()
}
