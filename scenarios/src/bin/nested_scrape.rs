//! Nested concurrency, pattern 1 — web scraping (thread pool → thread pool).
//!
//! The outer pool fetches each site; a site's task learns its subpages only from its own page
//! (dynamic task discovery), fetches them on a pool of their own, and groups their results
//! under the site (result grouping). The web is in memory: `fetch` looks the page up and
//! sleeps 0.1 s for the network, so both site tasks are running when they discover their
//! subpages.
//!
//! Safe (the default) prints each site with its subpages and exits 0. `NESTED=trap` submits
//! the subpages to the sites pool instead: both of its workers run a site task that waits on
//! subpages queued behind them, nobody is free to run those, and main waits on the sites: a
//! hang.
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use scenarios::prelude::*;

/// How many workers of each pool run a task right now: what the walkthrough watches.
static SITES_BUSY: AtomicUsize = AtomicUsize::new(0);
static SUBPAGES_BUSY: AtomicUsize = AtomicUsize::new(0);

const SITES: [&str; 2] = ["alpha", "beta"];

/// The in-memory web: a page's links, separated by spaces.
fn fetch(url: &str) -> &'static str {
    time::sleep(0.1);
    match url {
        "alpha" => "alpha/news alpha/blog",
        "beta" => "beta/docs beta/faq",
        _ => "",
    }
}

fn fetch_subpage(url: String) -> PyResult<String> {
    SUBPAGES_BUSY.fetch_add(1, SeqCst);
    fetch(&url); // @bp subpage-fetch
    SUBPAGES_BUSY.fetch_sub(1, SeqCst);
    Ok(url)
}

/// One site's task: `executor` is the pool its subpages go to.
fn scrape_site(site: &'static str, executor: ThreadPoolExecutor) -> PyResult<String> {
    SITES_BUSY.fetch_add(1, SeqCst);
    let links = fetch(site); // @bp site-fetch
    let mut futures = Vec::new();
    for link in links.split_whitespace() {
        let url = link.to_string();
        futures.push(executor.submit(move || fetch_subpage(url))?); // @bp subpage-submit
    }
    let mut pages = Vec::new();
    for f in futures {
        pages.push(f.result(None)?); // @bp subpage-result
    }
    SITES_BUSY.fetch_sub(1, SeqCst);
    Ok(format!("{site}: {}", pages.join(", ")))
}

fn main() {
    interpreter::run(|| {
        let trap = std::env::var("NESTED").is_ok_and(|mode| mode == "trap");
        let sites = ThreadPoolExecutor::with_prefix(2, "Sites");
        let subpages = ThreadPoolExecutor::with_prefix(2, "Subpages");
        let inner = if trap {
            sites.clone()
        } else {
            subpages.clone()
        };
        let mut futures = Vec::new();
        for site in SITES {
            let executor = inner.clone();
            futures.push(sites.submit(move || scrape_site(site, executor))?); // @bp site-submit
        }
        for f in futures {
            print(f.result(None)?); // @bp site-result
        }
        subpages.shutdown(true, false)?;
        sites.shutdown(true, false)?;
        Ok(())
    })
}
