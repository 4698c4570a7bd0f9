"""Nested concurrency, pattern 1 — web scraping (thread pool -> thread pool).

The outer pool fetches each site; a site's task learns its subpages only from its own page
(dynamic task discovery), fetches them on a pool of their own, and groups their results under
the site (result grouping). The web is in memory: `fetch` looks the page up and sleeps 0.1 s
for the network, so both site tasks are running when they discover their subpages.

Safe (the default) prints each site with its subpages and exits 0. `NESTED=trap` submits the
subpages to the sites pool instead: both of its workers run a site task that waits on subpages
queued behind them, nobody is free to run those, and main waits on the sites: a hang.
"""
from concurrent.futures import ThreadPoolExecutor
import os
import threading
import time

# How many workers of each pool run a task right now: what the walkthrough watches.
busy = {"sites": 0, "subpages": 0}
busy_lock = threading.Lock()


def count(pool, delta):
    with busy_lock:
        busy[pool] += delta


SITES = ["alpha", "beta"]
WEB = {"alpha": "alpha/news alpha/blog", "beta": "beta/docs beta/faq"}


def fetch(url):
    """The in-memory web: a page's links, separated by spaces."""
    time.sleep(0.1)
    return WEB.get(url, "")


def fetch_subpage(url):
    count("subpages", 1)
    fetch(url)  # @bp subpage-fetch
    count("subpages", -1)
    return url


def scrape_site(site, executor):
    """One site's task: `executor` is the pool its subpages go to."""
    count("sites", 1)
    links = fetch(site)  # @bp site-fetch
    futures = []
    for link in links.split():
        futures.append(executor.submit(fetch_subpage, link))  # @bp subpage-submit
    pages = []
    for f in futures:
        pages.append(f.result())  # @bp subpage-result
    count("sites", -1)
    return f"{site}: {', '.join(pages)}"


trap = os.environ.get("NESTED") == "trap"
sites = ThreadPoolExecutor(max_workers=2, thread_name_prefix="Sites")
subpages = ThreadPoolExecutor(max_workers=2, thread_name_prefix="Subpages")
inner = sites if trap else subpages
futures = []
for site in SITES:
    futures.append(sites.submit(scrape_site, site, inner))  # @bp site-submit
for f in futures:
    print(f.result())  # @bp site-result
subpages.shutdown(wait=True)
sites.shutdown(wait=True)
