//! self_join: the nested-executor trap. A task of a one-worker pool opens its own pool in a
//! `with` block whose task submits back to the outer pool; leaving the `with` block joins the
//! inner worker, which waits on a future only the outer worker could run: that worker joins
//! itself, through the `with` block. Deadlocks every run, no output.
//!
//! The talk's "web scraping" nesting: scrape a site on the outer pool, its pages on an inner
//! pool, each page's fetch back on the outer pool. Main waits on the site's future inside the
//! outer `with` block, so the outer pool is not shut down and the fetch is accepted and queued.
//! With two outer workers the fetch would run and the program print 17 and exit.
use scenarios::prelude::*;

fn fetch(url: &str) -> PyResult<i64> {
    Ok(url.len() as i64)
}

fn scrape_page(outer: &ThreadPoolExecutor, url: String) -> PyResult<i64> {
    let f = outer.submit(move || fetch(&url))?; // @bp page-submit
    f.result(None) // @bp page-result
}

// The `with` lines keep their markers: rustfmt would move a comment after `{` into the block.
#[rustfmt::skip]
fn scrape_site(outer: &ThreadPoolExecutor, site: &str) -> PyResult<i64> {
    let page = ThreadPoolExecutor::with(1, |pages| { // @bp pages-with
        let (o, url) = (outer.clone(), format!("{site}/about"));
        pages.submit(move || scrape_page(&o, url))
    })?;
    // Leaving the block called pages.shutdown(wait=True): it joined the pages' worker.
    page.result(None)
}

#[rustfmt::skip]
fn main() {
    interpreter::run(|| {
        ThreadPoolExecutor::with(1, |outer| {
            let o = outer.clone();
            let site = outer.submit(move || scrape_site(&o, "example.org"))?; // @bp site-submit
            print(site.result(None)?); // @bp main-result
            Ok(())
        })
    })
}
