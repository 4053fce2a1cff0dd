"""The page's speed as a user meets it, in headless Chromium against a server started here: the latency
of one Step (the request, the server's work, drawing the answer and the next frame), p50 and p95, and
Play's updates per second, with every installed backend running on the course's problem (week 3's network, or
the hidden layers of --hidden: 20,7,5 for week 4's). With --shots, also the docs' screenshots
(docs/images/playground/).

    python -m compare.playground.measure [--hidden 20,7,5] [--steps 200] [--play-seconds 10] [--shots DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

from compare.playground import browser


def percentiles(values):
    q = statistics.quantiles(values, n=100)
    return q[49], q[94]


def measure(page, url, steps, play_seconds):
    page.goto(url)
    browser.wait_iteration(page, 0)
    step = page.get_by_role("button", name="Step", exact=True)
    for i in range(1, steps + 1):
        step.click()
        page.wait_for_function(f"window.playground.timings.length >= {i}")
    timings = page.evaluate("window.playground.timings")
    total = [t["total"] for t in timings]
    request = [t["request"] for t in timings]
    server = [t["server"] for t in timings]
    cpu = [t["cpu"] for t in timings]
    rates = {}
    for per_update in ("1", "10"):
        page.get_by_label("Iterations per update").select_option(per_update)
        before = page.evaluate("window.playground.timings.length")
        start = time.monotonic()
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_timeout(play_seconds * 1000)
        page.get_by_role("button", name="Pause", exact=True).click()
        rates[per_update] = (page.evaluate("window.playground.timings.length") - before) / (time.monotonic() - start)
    names = page.evaluate("Object.keys(window.playground.state.backends)")
    return percentiles(total), percentiles(request), percentiles(server), percentiles(cpu), rates, names


def shoot(chromium, url, folder):
    """The screenshots of the docs, each of one state of the page."""
    os.makedirs(folder, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1440, "height": 900})

    def open_(query=""):
        page.goto(url + query)
        browser.wait_iteration(page, 0)
        page.add_style_tag(content="header { position: static; }")  # not over the sections it shoots

    def steps(n):  # n iterations, 100 a request
        for _ in range(n // 100):
            page.evaluate("window.playground.step(100)")

    def full(name):
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=f"{folder}/{name}", full_page=True)

    open_()
    steps(1500)
    page.get_by_role("button", name="Step ×10", exact=True).click()
    browser.wait_iteration(page, 1510)
    full("trained.png")
    open_()
    for _ in range(8):
        page.get_by_role("button", name="Next equation").click()
    page.locator("#graph .node", has_text="W2·A1").click()
    full("walk-B4.png")
    open_("?lr=1e300")
    page.get_by_role("button", name="Step", exact=True).click()
    page.locator("#banner").wait_for(state="visible")
    page.screenshot(path=f"{folder}/diverged.png")
    open_("?lr=50")
    page.get_by_role("button", name="Step ×10", exact=True).click()
    page.locator("#banner").wait_for(state="visible")
    page.screenshot(path=f"{folder}/blew-up.png")
    open_("?dataset=xor&init=zero&activation=sigmoid")
    steps(200)
    page.locator("#view").screenshot(path=f"{folder}/zero-init.png")
    open_("?dataset=moons&hidden=8&test=30&noise=0.3")
    steps(2000)
    page.locator("#view").screenshot(path=f"{folder}/moons-test-split.png")
    open_("?hidden=20,7,5")  # deep mode: week 4's network, its rows per layer, the walk at F1[2]
    steps(1000)
    browser.wait_iteration(page, 1000)
    for _ in range(3):
        page.get_by_role("button", name="Next equation").click()
    page.locator("#graph .node", has_text="W2·A1").click()
    full("deep-walk-F1-2.png")
    open_("?hidden=6,3&init=zero&activation=sigmoid&test=30&lr=0.5")
    steps(200)
    browser.wait_iteration(page, 200)
    page.evaluate("window.scrollTo(0, 0)")  # the boxes below in the page's coordinates
    view, note = page.locator("#view").bounding_box(), page.locator("#units-note").bounding_box()
    page.screenshot(path=f"{folder}/deep-zero-init.png", full_page=True,  # #view, down to the units' note
                    clip={"x": view["x"], "y": view["y"], "width": view["width"],
                          "height": note["y"] + note["height"] + 12 - view["y"]})
    page.close()
    return sorted(os.listdir(folder))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m compare.playground.measure", description=__doc__.split("\n")[0])
    p.add_argument("--hidden", default="4", help="hidden layers, as the page's set-up (default: 4, week 3's)")
    p.add_argument("--steps", type=int, default=200, help="Steps to time (default: 200)")
    p.add_argument("--play-seconds", type=float, default=10, help="seconds of Play per speed (default: 10)")
    p.add_argument("--shots", default=None, metavar="DIR", help="also write the docs' screenshots into DIR")
    args = p.parse_args(argv)
    if browser.chromium_path() is None:
        print(f"needs Chromium: {browser.INSTALL}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen([sys.executable, "-m", "compare", "playground", "--port", "0", "--no-browser"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[-1]
        with sync_playwright() as pw:
            chromium = browser.launch(pw)
            page = chromium.new_page(viewport={"width": 1440, "height": 900})
            found = measure(page, f"{url}?hidden={args.hidden}", args.steps, args.play_seconds)
            (p50, p95), (r50, r95), (s50, s95), (c50, c95), rates, names = found
            dims = page.evaluate("window.playground.setup.layer_dims")
            print(f"backends running: {', '.join(names)}; the course's problem (planar, m=400, layer_dims {dims}, "
                  f"tanh, float64, learning rate {page.evaluate('window.playground.setup.settings.lr')}); "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            print(f"Step, click to drawn: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {args.steps} Steps; of which "
                  f"the request: p50 {r50:.1f}, p95 {r95:.1f} ms; the server's work: p50 {s50:.1f}, p95 {s95:.1f} ms, "
                  f"of which CPU time p50 {c50:.1f}, p95 {c95:.1f} ms")
            print(f"Play: {rates['1']:.1f} updates/s at 1 iteration per update, {rates['10']:.1f} at 10")
            if args.shots:
                print("screenshots:", ", ".join(shoot(chromium, url, args.shots)))
            chromium.close()
    finally:
        server.terminate()
        server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
