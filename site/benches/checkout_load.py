#!/usr/bin/env python3
"""Checkout under load: SHOPPERS guests at once, each placing orders one
after another for SECONDS through the whole flow a browser takes (product
page, add to cart, address, delivery, review, place the order by bank
transfer), with cookies and CSRF tokens as a browser keeps them.

    checkout_load.py BASE_URL [--shoppers 16] [--seconds 20] [--products 10000]

Prints one TSV row: orders, orders/s, p50 and p99 of a whole order (ms),
p99 of one request (ms), refusals (sold out) and errors. Standard library
only; the driver shares the machine with the servers, so its own CPU is
part of what is measured.
"""
import argparse
import html
import http.cookiejar
import random
import re
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = re.compile(r"<form([^>]*)>(.*?)</form>", re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
METHOD = re.compile(r'name="shipping_method" value="(\d+)"')
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "address": "12 St James's Square",
    "postal_code": "SW1Y 4JH",
    "city": "London",
    "country": "United Kingdom",
}


class Refused(Exception):
    """The shop said no (sold out): counted, not an error."""


class Shopper:
    def __init__(self, base, timings):
        self.base = base
        self.timings = timings
        jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def fetch(self, path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        try:
            with self.http.open(self.base + path, data=data, timeout=30) as r:
                body = r.read().decode("utf-8", "replace")
                url = r.geturl()
        except urllib.error.HTTPError as e:
            body, url = e.read().decode("utf-8", "replace"), path
            if e.code in (400, 409, 422):
                raise Refused(f"{e.code} on {path}")
            raise
        finally:
            self.timings.append((time.perf_counter() - started) * 1000)
        return url, body

    @staticmethod
    def token(body):
        m = CSRF.search(body)
        if not m:
            raise RuntimeError("no CSRF token on the page")
        return m.group(1)

    @staticmethod
    def hidden(body, action):
        """The hidden fields of the form posting to `action` (its CSRF token,
        the checkout's idempotency key), as a browser would send them."""
        for form in FORM.finditer(body):
            if f'action="{action}"' in form.group(1):
                return {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(form.group(2))}
        raise RuntimeError(f"no form posting to {action}")

    def order(self, product, email):
        _, page = self.fetch(f"/products/{product}/")
        url, page = self.fetch(f"/cart/add/{product}/", {"csrf_token": self.token(page), "quantity": "1"})
        if "/cart/" not in url:
            raise Refused("not added")
        _, page = self.fetch("/orders/checkout/")
        url, page = self.fetch("/orders/checkout/", {"csrf_token": self.token(page), "email": email, **ADDRESS})
        if not url.endswith("/checkout/shipping/"):
            raise Refused("the address step stayed")
        method = METHOD.search(page)
        if not method:
            raise RuntimeError("no delivery option offered")
        url, page = self.fetch(
            "/orders/checkout/shipping/", {"csrf_token": self.token(page), "shipping_method": method.group(1)}
        )
        url, page = self.fetch(
            "/orders/checkout/review/",
            {**self.hidden(page, "/orders/checkout/review/"), "payment_method": "bank_transfer"},
        )
        if "/orders/checkout/" in url:
            raise Refused("not placed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--shoppers", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--products", type=int, default=10000)
    args = ap.parse_args()
    base = args.base.rstrip("/")
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    totals = {"orders": [], "requests": [], "refused": 0, "errors": 0}

    def run(n):
        rng = random.Random(n)
        i = 0
        while time.monotonic() < deadline:
            timings = []
            shopper = Shopper(base, timings)
            started = time.perf_counter()
            outcome = "ok"
            try:
                shopper.order(rng.randint(1, args.products), f"load{n}-{i}@example.com")
            except Refused:
                outcome = "refused"
            except Exception as e:  # noqa: BLE001 - any failure is an error to count
                outcome = "error"
                print(f"shopper {n}: {e}", file=sys.stderr)
            took = (time.perf_counter() - started) * 1000
            with lock:
                totals["requests"].extend(timings)
                if outcome == "ok":
                    totals["orders"].append(took)
                elif outcome == "refused":
                    totals["refused"] += 1
                else:
                    totals["errors"] += 1
            i += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(args.shoppers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    def pct(values, p):
        if not values:
            return float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]

    orders = totals["orders"]
    print(
        "\t".join(
            str(x)
            for x in (
                len(orders),
                f"{len(orders) / elapsed:.1f}",
                f"{pct(orders, 50):.1f}",
                f"{pct(orders, 99):.1f}",
                f"{pct(totals['requests'], 99):.1f}",
                totals["refused"],
                totals["errors"],
            )
        )
    )


if __name__ == "__main__":
    main()
