#!/usr/bin/env python3
"""Renders the data-stage benchmark's measurements (bench/pipeline/run.sh) as
markdown, on stdout and into --out, and sets the exit status: 1 when a Go
stage failed or went over the memory limit on the synthetic input, or when
the pandas peer's output differed from the Go artifacts."""

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import pyarrow.parquet as pq

# The rows each stage is credited with: the interaction rows it reads (ingest:
# writes), align the catalogue items it maps.
ROWS_OF = {
    "ingest": "ingest/interactions.parquet",
    "clean": "ingest/interactions.parquet",
    "normalize": "clean/interactions.parquet",
    "features": "normalize/interactions.parquet",
    "align": "features/items.parquet",
    "split": "normalize/interactions.parquet",
    "tasks": "split/interactions.parquet",
    "eda": "clean/interactions.parquet",
}
PEER_PHASES = ["read", "clean", "write_clean", "normalize", "write_normalize"]
MIB = 1024


def rows(root, stage):
    p = os.path.join(root, "artifacts", ROWS_OF[stage])
    return pq.ParquetFile(p).metadata.num_rows if os.path.exists(p) else None


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def fmt_n(n):
    return f"{n:,}" if n is not None else "-"


def fmt_rate(n, s):
    return f"{n / s:,.0f}" if n and s else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--limit-kb", type=int, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--repeat", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tmp = a.tmp
    with open(os.path.join(tmp, "measure.tsv")) as f:
        m = list(csv.DictReader(f, delimiter="\t"))
    for r in m:
        r["wall"], r["cpu"] = float(r["wall_s"]), float(r["user_s"]) + float(r["sys_s"])
        r["rss"], r["status"] = int(r["maxrss_kb"]), int(r["status"])
    failures = []
    L = []  # markdown lines
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))

    # ---- run facts
    cpu = "?"
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import pandas
    import pyarrow

    load = open(os.path.join(tmp, "load.txt")).read().strip().splitlines()
    commit = sh("git", "-C", repo, "rev-parse", "--short", "HEAD")
    dirty = sh("git", "-C", repo, "status", "--porcelain")
    L += ["# Data-stage benchmark", "",
          f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `bench/pipeline/run.sh` "
          f"(BENCH_ROWS={a.rows}, BENCH_REPEAT={a.repeat}) at commit {commit}"
          f"{' with uncommitted changes' if dirty not in ('', '?') else ''}.", "",
          f"- machine: {cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}",
          f"- {sh('go', 'version')}; Python {platform.python_version()}, pandas {pandas.__version__}, "
          f"pyarrow {pyarrow.__version__}",
          f"- load average before / after: {load[0].split('load average:')[-1].strip()} / "
          f"{load[-1].split('load average:')[-1].strip()} (on a shared machine wall times move with the load; "
          "CPU seconds, user + sys, much less)",
          "- wall and peak RSS from GNU time (`%e`, `%M`: ru_maxrss of the process); each Go stage is its "
          "built binary, `<stage> -C <root> -params <root>/params.yaml`; the pandas peer is "
          "`python3 bench/pipeline/pandas_peer.py run`, one process doing read + clean + normalize + write",
          ""]

    def stage_rows(part_prefix, root, names):
        out = []
        for s in names:
            rs = [r for r in m if r["part"].startswith(part_prefix) and r["stage"] == s]
            if not rs:
                continue
            ok = all(r["status"] == 0 for r in rs)
            wall = statistics.median(r["wall"] for r in rs)
            cpu_s = statistics.median(r["cpu"] for r in rs)
            rss = max(r["rss"] for r in rs)
            n = rows(root, s) if s in ROWS_OF else None
            out.append(dict(stage=s, n=n, wall=wall, cpu=cpu_s, rss=rss, ok=ok))
        return out

    def peer(jsons):
        ts = [json.load(open(p)) for p in jsons if os.path.exists(p)]
        if not ts:
            return None
        return {k: statistics.median(t[k] for t in ts) for k in ts[0]}

    def verdict(name):
        p = os.path.join(tmp, f"verify-{name}.txt")
        if not os.path.exists(p):
            return None, ""
        text = open(p).read()
        return "the peer's output equals the Go artifacts" in text, text

    def comparison(go, pr, peer_runs, label):
        """Go vs pandas lines for one input."""
        by = {g["stage"]: g for g in go}
        if pr is None or not all(s in by for s in ("ingest", "clean", "normalize")):
            return ["(no comparison: a run is missing)", ""]
        go_cn = by["clean"]["wall"] + by["normalize"]["wall"]
        go_cn_cpu = by["clean"]["cpu"] + by["normalize"]["cpu"]
        pd_cn = sum(pr[k] for k in ("clean", "write_clean", "normalize", "write_normalize"))
        pd_cn_cpu = sum(pr[k + "_cpu"] for k in ("clean", "write_clean", "normalize", "write_normalize"))
        go_e2e = go_cn + by["ingest"]["wall"]
        go_e2e_cpu = go_cn_cpu + by["ingest"]["cpu"]
        pd_e2e = statistics.median(r["wall"] for r in peer_runs)
        pd_e2e_cpu = statistics.median(r["cpu"] for r in peer_runs)
        go_rss = max(by[s]["rss"] for s in ("ingest", "clean", "normalize"))
        pd_rss = max(r["rss"] for r in peer_runs)
        return [
            f"| {label} | Go | pandas | Go / pandas |", "|---|---:|---:|---:|",
            f"| clean + normalize, wall s | {go_cn:.2f} | {pd_cn:.2f} | **{go_cn / pd_cn:.2f}** |",
            f"| clean + normalize, CPU s | {go_cn_cpu:.2f} | {pd_cn_cpu:.2f} | {go_cn_cpu / pd_cn_cpu:.2f} |",
            f"| ingest + clean + normalize vs read + clean + normalize + write, wall s | {go_e2e:.2f} | {pd_e2e:.2f} "
            f"| **{go_e2e / pd_e2e:.2f}** |",
            f"| the same, CPU s | {go_e2e_cpu:.2f} | {pd_e2e_cpu:.2f} | {go_e2e_cpu / pd_e2e_cpu:.2f} |",
            f"| peak RSS, MiB (Go: largest of the three stages) | {go_rss / MIB:.0f} | {pd_rss / MIB:.0f} "
            f"| {go_rss / pd_rss:.2f} |", "",
            "Go's clean + normalize is the two stage processes, each reading its input artifacts from Parquet; "
            "pandas' is its clean, normalize and both Parquet writes inside one process (its input already in "
            "memory). The end-to-end pandas figure is the whole process: interpreter start and imports, reading "
            "the raw files, cleaning, normalising and writing the same six tables.", ""]

    def peer_line(pr, runs):
        if pr is None:
            st = runs[0]["status"] if runs else "?"
            return f"| pandas peer | - | - | - | failed (exit {st}) |"
        ph = ", ".join(f"{k} {pr[k]:.2f}" for k in PEER_PHASES)
        return (f"| pandas peer (process) | {statistics.median(r['wall'] for r in runs):.2f} "
                f"| {statistics.median(r['cpu'] for r in runs):.2f} | {max(r['rss'] for r in runs) / MIB:.0f} "
                f"| phases, wall s: {ph} |")

    # ---- real data
    real = os.path.join(tmp, "real")
    go = stage_rows("real", real, list(ROWS_OF))
    for g in go:
        if not g["ok"]:
            failures.append(f"real data: stage {g['stage']} failed")
    n_real = rows(real, "ingest")
    L += ["## Real data (`../shared/datasets`, every domain of params.yaml)", "",
          f"Median of {a.repeat} run{'s' if a.repeat > 1 else ''} (peak RSS: the largest). Rows: the interaction rows a stage reads "
          "(ingest: writes); align: catalogue items.", "",
          "| stage | rows | wall s | CPU s | rows/s (wall) | rows/CPU s | peak RSS MiB |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for g in go:
        L.append(f"| {g['stage']} | {fmt_n(g['n'])} | {g['wall']:.2f} | {g['cpu']:.2f} | {fmt_rate(g['n'], g['wall'])} "
                 f"| {fmt_rate(g['n'], g['cpu'])} | {g['rss'] / MIB:.0f} |")
    runs = [r for r in m if r["part"].startswith("real") and r["stage"] == "pandas"]
    pr = peer([os.path.join(tmp, f"peer-real-{i}.json") for i in range(1, a.repeat + 1)])
    L += ["", "| pandas | wall s | CPU s | peak RSS MiB | |", "|---|---:|---:|---:|---|", peer_line(pr, runs), ""]
    L += comparison(go, pr, runs, "real data")
    ok, text = verdict("real")
    if ok is None or not ok:
        failures.append("real data: the pandas peer's output differs from the Go artifacts (or was not verified)")
    L += ["Verification (pandas peer vs Go artifacts, every row):", "", "```", text.strip() or "(not run)", "```", ""]

    # ---- synthetic
    synth = os.path.join(tmp, "synth")
    gs = [r for r in m if r["part"] == "synth" and r["stage"] == "synth"]
    go = stage_rows("synth", synth, ["ingest", "clean", "normalize"])
    L += [f"## Synthetic MovieLens input ({a.rows:,} ratings, `bench/pipeline/synth -seed 1`)", "",
          f"Generated in {gs[0]['wall']:.1f} s." if gs else "", "",
          f"| stage | rows | wall s | CPU s | rows/s (wall) | rows/CPU s | peak RSS MiB | under {a.limit_kb // MIB} MiB |",
          "|---|---:|---:|---:|---:|---:|---:|---|"]
    for g in go:
        under = g["rss"] <= a.limit_kb and g["ok"]
        if not under:
            failures.append(f"synthetic: stage {g['stage']} " + ("failed" if not g["ok"] else
                            f"peaked at {g['rss'] / MIB:.0f} MiB, over {a.limit_kb // MIB} MiB"))
        L.append(f"| {g['stage']} | {fmt_n(g['n'])} | {g['wall']:.1f} | {g['cpu']:.1f} | {fmt_rate(g['n'], g['wall'])} "
                 f"| {fmt_rate(g['n'], g['cpu'])} | {g['rss'] / MIB:.0f} | {'yes' if under else '**NO**'} |")
    if len(go) < 3:
        failures.append("synthetic: not every stage ran")
    runs = [r for r in m if r["part"] == "synth" and r["stage"] == "pandas"]
    if runs:
        pr = peer([os.path.join(tmp, "peer-synth.json")])
        L += ["", "| pandas | wall s | CPU s | peak RSS MiB | |", "|---|---:|---:|---:|---|", peer_line(pr, runs), ""]
        L += comparison(go, pr, runs, "synthetic")
        ok, text = verdict("synth")
        if pr is not None and not ok:
            failures.append("synthetic: the pandas peer's output differs from the Go artifacts")
        L += ["Verification (pandas peer vs Go artifacts: whole-column sums, and rows in 10,000-row windows):", "",
              "```", text.strip() or "(not run)", "```", ""]
    L += ["## Reproduce", "", "```", "bench/pipeline/run.sh", "```", ""]
    if failures:
        L += ["## FAILED", ""] + [f"- {f}" for f in failures] + [""]
    md = "\n".join(L)
    print(md)
    with open(a.out, "w") as f:
        f.write(md)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
