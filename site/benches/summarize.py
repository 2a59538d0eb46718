#!/usr/bin/env python3
"""Medians per server and page from results.tsv, and the shop's ratios to
the bare actix ceiling and to Django (both measured in the same run)."""
import csv
import statistics as st
import sys
from collections import defaultdict

rows = list(csv.DictReader(open(sys.argv[1] if len(sys.argv) > 1 else "results/results.tsv"), delimiter="\t"))
agg = defaultdict(lambda: defaultdict(list))
for r in rows:
    server = r["label"].rsplit("-run", 1)[0]
    for k in ("req_s", "p50_ms", "p99_ms", "peak_pss_mib", "peak_rss_mib", "non2xx"):
        try:
            agg[(server, r["page"])][k].append(float(r[k]))
        except ValueError:
            pass

def med(server, page, k):
    v = agg[(server, page)][k]
    return st.median(v) if v else float("nan")

runs = max((len(v["req_s"]) for v in agg.values()), default=0)
print(f"Medians of {runs} runs (wrk -t2 -c32 -d15s, 2 cores, server and wrk on one machine).")
print("'shop' runs as it ships (catalogue cache 5 s); 'cache off' with SHOP_CATALOGUE_CACHE_SECONDS=0.")
print("The references have no search: the search row compares with their list page.\n")
print("| page | Django req/s | actix ceiling req/s | shop req/s | shop / ceiling | shop p99 ms "
      "| cache off req/s | cache off / ceiling | cache off p99 ms | shop / Django | shop PSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for page in ("list", "detail", "category", "search"):
    ref = "list" if page == "search" else page
    d, a = (med(x, ref, "req_s") for x in ("django", "actix"))
    s, u = (med(x, page, "req_s") for x in ("shop", "uncached"))
    print(f"| {page} | {d:,.0f} | {a:,.0f} | {s:,.0f} | {s / a:.2f}x | {med('shop', page, 'p99_ms'):.1f} "
          f"| {u:,.0f} | {u / a:.2f}x | {med('uncached', page, 'p99_ms'):.1f} | {s / d:.1f}x "
          f"| {med('shop', page, 'peak_pss_mib'):.1f} |")
print()
print("| page | Django p99 ms | ceiling p99 ms | Django PSS MiB | ceiling PSS MiB | shop non-2xx | cache off non-2xx |")
print("|---|---:|---:|---:|---:|---:|---:|")
for page in ("list", "detail", "category"):
    print(f"| {page} | {med('django', page, 'p99_ms'):.1f} | {med('actix', page, 'p99_ms'):.1f} | "
          f"{med('django', page, 'peak_pss_mib'):.1f} | {med('actix', page, 'peak_pss_mib'):.1f} | "
          f"{med('shop', page, 'non2xx'):.0f} | {med('uncached', page, 'non2xx'):.0f} |")
