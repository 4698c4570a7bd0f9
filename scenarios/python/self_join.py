"""self_join: the nested-executor trap. A task of a one-worker pool opens its own pool in a
`with` block whose task submits back to the outer pool; leaving the `with` block joins the inner
worker, which waits on a future only the outer worker could run: that worker joins itself,
through the `with` block. Deadlocks every run, no output.

The talk's "web scraping" nesting: scrape a site on the outer pool, its pages on an inner pool,
each page's fetch back on the outer pool. Main waits on the site's future inside the outer
`with` block, so the outer pool is not shut down and the fetch is accepted and queued. With two
outer workers the fetch would run and the program print 17 and exit.
"""
from concurrent.futures import ThreadPoolExecutor


def fetch(url):
    return len(url)


def scrape_page(url):
    f = outer.submit(fetch, url)  # @bp page-submit
    return f.result()  # @bp page-result


def scrape_site(site):
    with ThreadPoolExecutor(max_workers=1) as pages:  # @bp pages-with
        page = pages.submit(scrape_page, f"{site}/about")
    # Leaving the block called pages.shutdown(wait=True): it joined the pages' worker.
    return page.result()


with ThreadPoolExecutor(max_workers=1) as outer:
    site = outer.submit(scrape_site, "example.org")  # @bp site-submit
    print(site.result())  # @bp main-result
