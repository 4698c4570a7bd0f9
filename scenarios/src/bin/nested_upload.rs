//! Nested concurrency, pattern 3 — compute + upload (process pool → thread pool).
//!
//! The outer process pool runs the heavy computation; each job learns how many result files it
//! makes only by computing them (dynamic task discovery), writes them, and uploads them on a
//! thread pool of its own inside its worker process (uploads wait on I/O: threads, resource
//! matching), counting them per job (result grouping). Files go to a temporary folder that
//! main makes and removes: `outbox/` stands for the job's disk, `uploaded/` for the server.
//! The process pool's workers are real child processes (`scenarios::process`).
//!
//! Prints each job's upload count and the server's total, exits 0; no child process outlives
//! it. There is no trap variant: a job runs in another process, where the outer pool does not
//! exist — the executor cannot cross the process boundary (Python: `TypeError: cannot pickle`,
//! `scenarios/python/nested_upload.py` with `NESTED=trap`; the port: a process-pool task takes
//! integers only).
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use scenarios::prelude::*;
use scenarios::process;

/// How many upload workers (in this process) run a task right now.
static UPLOADS_BUSY: AtomicUsize = AtomicUsize::new(0);

const JOBS: [i64; 2] = [2, 3];

/// The temporary folder of the run whose main process is `pid`.
fn folder(pid: i64) -> PathBuf {
    std::env::temp_dir().join(format!("nested_upload-{pid}"))
}

fn io_error(_: std::io::Error) -> Exception {
    Exception::new(ExcKind::RuntimeError, "file I/O failed")
}

fn upload(path: PathBuf, server: PathBuf) -> PyResult<i64> {
    UPLOADS_BUSY.fetch_add(1, SeqCst);
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let copied = std::fs::copy(&path, server.join(name)).map_err(io_error); // @bp upload
    UPLOADS_BUSY.fetch_sub(1, SeqCst);
    copied.map(|_| 1)
}

/// A job in a worker process: `args` = [files to make, main's pid].
fn compute_and_upload(args: &[i64]) -> PyResult<i64> {
    let &[files, pid] = args else {
        return Err(Exception::new(ExcKind::ValueError, "expected 2 arguments"));
    };
    let root = folder(pid);
    let mut paths = Vec::new();
    for i in 0..files {
        let value = pow(files, i)?;
        let path = root.join("outbox").join(format!("job{files}-{i}.txt"));
        std::fs::write(&path, format!("{value}\n")).map_err(io_error)?; // @bp compute
        paths.push(path);
    }
    let uploads = ThreadPoolExecutor::with_prefix(2, "Uploads");
    let mut futures = Vec::new();
    for path in paths {
        let server = root.join("uploaded");
        futures.push(uploads.submit(move || upload(path, server))?); // @bp upload-submit
    }
    let mut uploaded = 0;
    for f in futures {
        uploaded += f.result(None)?; // @bp upload-result
    }
    uploads.shutdown(true, false)?;
    Ok(uploaded)
}

fn main() {
    process::register("compute_and_upload", compute_and_upload);
    interpreter::run(|| {
        if std::env::var("NESTED").is_ok_and(|mode| mode == "trap") {
            return Err(RuntimeError(
                "no trap variant: the executor cannot cross the process boundary",
            ));
        }
        let pid = i64::from(std::process::id());
        let root = folder(pid);
        for sub in ["outbox", "uploaded"] {
            std::fs::create_dir_all(root.join(sub)).map_err(io_error)?;
        }
        let jobs = ProcessPoolExecutor::new(2);
        let mut futures = Vec::new();
        for files in JOBS {
            futures.push(jobs.submit("compute_and_upload", &[files, pid])?); // @bp job-submit
        }
        for (files, f) in JOBS.iter().zip(futures) {
            let uploaded = f.result(None)?; // @bp job-result
            print(format!("job {files}: {uploaded} of {files} files uploaded"));
        }
        jobs.shutdown(true)?;
        let on_server = std::fs::read_dir(root.join("uploaded"))
            .map_err(io_error)?
            .count();
        print(format!("server holds {on_server} files"));
        std::fs::remove_dir_all(&root).map_err(io_error)?;
        Ok(())
    })
}
