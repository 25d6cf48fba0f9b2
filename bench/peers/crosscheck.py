#!/usr/bin/env python3
"""Cross-check the Go EASE and ItemKNN peers against Cornac.

    python3 bench/peers/crosscheck.py EXPORT_DIR OUT_DIR [--tol 0.002]

EXPORT_DIR is what `go run ./bench/peers -export DIR` writes (manifest.json;
per domain train.csv, cases.jsonl, go.json). For every `ease` / `itemknn` run
in go.json the script fits the reference on the same training rows, scores the
same held-out users on the same candidates, computes NDCG@k with Cornac's
metric, compares per user with Go's values and writes OUT_DIR/crosscheck.md
and OUT_DIR/crosscheck.json. See bench/peers/README.md for what differs
between Cornac and the Go definitions and how each is handled here.
"""
import argparse
import json
import os
import platform
import time

import numpy as np
import scipy
import scipy.sparse as sp

import cornac
from cornac.data import Dataset
from cornac.metrics import NDCG
from cornac.models import EASE, ItemKNN

IDENTICAL = 1e-9        # per-user values this close count as identical
KNN_BLOCK = 1024        # candidate columns per block of the sparse co-occurrence
MIN_IDENTICAL = 0.95    # below this share of identical users, "agree" is flagged


# ---- loading --------------------------------------------------------------------

def load_train(path):
    with open(path) as f:
        header = f.readline().strip().replace(" ", "")
    if header != "user,item,value":
        raise SystemExit("%s: header %r, want 'user,item,value'" % (path, header))
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    if a.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    users, items = a[:, 0].astype(np.int64), a[:, 1].astype(np.int64)
    if not (np.array_equal(users, a[:, 0]) and np.array_equal(items, a[:, 1])):
        raise SystemExit("%s: user and item must be integers" % path)
    return users, items


def load_domain(export, domain):
    ddir = os.path.join(export, domain)
    users, items = load_train(os.path.join(ddir, "train.csv"))
    cases = []
    with open(os.path.join(ddir, "cases.jsonl")) as f:
        for line in f:
            if line.strip():
                cases.append(json.loads(line))
    with open(os.path.join(ddir, "go.json")) as f:
        go = json.load(f)
    n = int(go["items"])
    problems = []
    if len(items) and (items.min() < 0 or items.max() >= n):
        raise SystemExit("%s: train item index outside [0, %d)" % (domain, n))
    pairs = users * n + items
    n_dup = len(pairs) - len(np.unique(pairs))
    if n_dup:
        problems.append("train.csv has %d duplicated (user, item) rows; they count once" % n_dup)
        _, first = np.unique(pairs, return_index=True)
        users, items = users[np.sort(first)], items[np.sort(first)]
    for c in cases:
        if len(c["query"]) != len(c["relevant"]):
            raise SystemExit("%s: case %s: query and relevant differ in length" % (domain, c["user"]))
        if set(c["query"]) & set(c["exclude"]):
            problems.append("case %s has query items in exclude (they stay out of the candidates)" % c["user"])
        if not set(c["support"]) <= set(c["exclude"]):
            problems.append("case %s: support not inside exclude (support added to exclude)" % c["user"])
    return users, items, cases, go, n, problems


def binary_matrix(users, items, n):
    n_users = int(users.max()) + 1 if len(users) else 0
    return sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(n_users, n))


def cornac_dataset(users, items):
    """A cornac Dataset of (user, item, 1.0) triplets, and the map from
    Cornac's internal item index to ours."""
    triplets = list(zip(users.tolist(), items.tolist(), [1.0] * len(users)))
    t0 = time.perf_counter()
    ds = Dataset.build(triplets, fmt="UIR", seed=None)
    build_s = time.perf_counter() - t0
    ours = np.empty(ds.num_items, dtype=np.int64)
    for raw, idx in ds.iid_map.items():
        ours[idx] = raw
    return ds, ours, build_s


# ---- ranking and NDCG -------------------------------------------------------------

class Ranker:
    """Top-k candidates of one domain: candidates are [0, n) minus exclude
    (support always in exclude); order: tier asc (EASE: restricted items 0,
    the others 1), score desc, item index asc. NDCG@k by cornac.metrics.NDCG
    (gain 2^rel - 1 = rel for binary, discount log2(rank + 1), ideal DCG
    over min(k, R) relevant items)."""

    def __init__(self, n, k):
        self.n, self.k = n, k
        self.metric = NDCG(k=k)
        self.index = np.arange(n)

    def ndcg(self, case, scores, tier=None):
        rel = np.array([q for q, r in zip(case["query"], case["relevant"]) if r], dtype=np.int64)
        if len(rel) == 0:
            return None
        mask = np.ones(self.n, dtype=bool)
        mask[np.asarray(sorted(set(case["exclude"]) | set(case["support"])), dtype=np.int64)] = False
        cand = self.index[mask]
        s = scores[mask]
        if tier is None:
            order = np.lexsort((cand, -s))
        else:
            order = np.lexsort((cand, -s, tier[mask]))
        top = cand[order[: self.k]]
        return float(self.metric.compute(gt_pos=rel, pd_rank=top))


def support_rows(case, n):
    return np.asarray(sorted(set(case["support"])), dtype=np.int64)


# ---- EASE ---------------------------------------------------------------------------

def ease_reference(users, items, n, lam, min_count):
    """Cornac's EASE on the training rows of the items with >= min_count
    users; returns B in our item indices (restricted items only) and facts."""
    counts = np.bincount(items, minlength=n)
    restricted = counts >= min_count
    keep = restricted[items]
    ds, ours, build_s = cornac_dataset(users[keep], items[keep])
    model = EASE(name="EASE", lamb=float(lam), posB=False, verbose=False)
    t0 = time.perf_counter()
    model.fit(ds)
    fit_s = time.perf_counter() - t0
    B = np.asarray(model.B)
    # Items of the restricted set without any training user (min_count <= 0)
    # are absent from Cornac's dataset: their G row is lambda alone, so their
    # B row and column are zero; they get score 0 below.
    pos = np.full(n, -1, dtype=np.int64)
    pos[ours] = np.arange(len(ours))
    facts = {
        "model": "cornac.models.EASE(lamb=%g, posB=False)" % lam,
        "restricted_items": int(restricted.sum()),
        "B_shape": list(B.shape),
        "B_negative_share": float((B < 0).mean()) if B.size else 0.0,
        "dataset_build_s": round(build_s, 4),
    }
    return {"B": B, "pos": pos, "ours": ours, "restricted": restricted}, fit_s, facts


def ease_scores(ref, case, n, clip=False, transpose=False):
    B = ref["B"]
    if clip:
        B = np.where(B < 0, 0.0, B)
    if transpose:
        B = B.T
    p = ref["pos"][support_rows(case, n)]
    p = p[p >= 0]
    scores = np.zeros(n)
    if len(p):
        scores[ref["ours"]] = B[p].sum(axis=0)
    return scores


def ease_variants(ref, n):
    """Wrong-on-purpose variants, tried only when Go and the reference differ,
    to name the likely reason."""
    tier = (~ref["restricted"]).astype(np.int8)
    flat = np.zeros(n, dtype=np.int8)
    return {
        "negative B entries clipped to 0 (Cornac's default posB=True)":
            lambda c: (ease_scores(ref, c, n, clip=True), tier),
        "items outside the min_count set scored 0 among the others, not ranked last":
            lambda c: (ease_scores(ref, c, n), flat),
        "B transposed (score_j = sum_i B_ji)":
            lambda c: (ease_scores(ref, c, n, transpose=True), tier),
    }


# ---- ItemKNN --------------------------------------------------------------------------

def knn_neighbours(X, k, shrink, topk=True, per="candidate"):
    """W[i, j] = sim_ij when i is one of candidate j's k most similar items
    (sim_ij = c_ij / (sqrt(n_i n_j) + shrink), i != j, sim > 0, ties to the
    smaller i), else 0. Built from the sparse co-occurrence XᵀX a block of
    columns at a time, so nothing n x n is dense. per="item" keeps instead
    the k nearest of each support item i (row-wise), a variant for diagnosis.
    Also returns the co-occurrence pattern (with the diagonal) per block."""
    n = X.shape[1]
    counts = np.asarray(X.sum(axis=0)).ravel()
    XT = X.T.tocsr()
    Xc = X.tocsc()
    rows, cols, vals = [], [], []
    pattern = []
    for start in range(0, n, KNN_BLOCK):
        stop = min(n, start + KNN_BLOCK)
        C = (XT @ Xc[:, start:stop]).tocoo()
        r, c, v = C.row.astype(np.int64), C.col.astype(np.int64) + start, C.data
        nz = v != 0
        r, c, v = r[nz], c[nz], v[nz]
        pattern.append(np.sort(r * n + c))
        off = r != c
        r, c, v = r[off], c[off], v[off]
        sim = v / (np.sqrt(counts[r] * counts[c]) + shrink)
        pos = sim > 0
        rows.append(r[pos]); cols.append(c[pos]); vals.append(sim[pos])
    r, c, s = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    if topk:
        group, other = (c, r) if per == "candidate" else (r, c)
        order = np.lexsort((other, -s, group))
        r, c, s, g = r[order], c[order], s[order], group[order]
        starts = np.searchsorted(g, g, side="left")
        keep = (np.arange(len(g)) - starts) < k
        r, c, s = r[keep], c[keep], s[keep]
    W = sp.csr_matrix((s, (r, c)), shape=(n, n))
    return W, np.concatenate(pattern) if pattern else np.zeros(0, np.int64)


def cornac_itemknn(users, items, n, k, max_gb, cooc_nnz):
    """Cornac's ItemKNN fit (cosine, mean_centered=False): its similarity
    matrix in our indices, or None with the reason when too big."""
    n_c = len(np.unique(items))
    # compute_similarity fills a dense n_c x n_c float64, then csr_matrix(dense)
    est_gb = (8.0 * n_c * n_c + 28.0 * cooc_nnz) / 1e9
    facts = {"model": "cornac.models.ItemKNN(k=%d, similarity='cosine', mean_centered=False)" % k,
             "items_in_train": int(n_c), "estimated_peak_gb": round(est_gb, 2)}
    if est_gb > max_gb:
        facts["skipped"] = ("Cornac's ItemKNN builds a dense %d x %d float64 similarity "
                            "(~%.1f GB peak with the sparse copy) > --max-cornac-gb %.1f"
                            % (n_c, n_c, est_gb, max_gb))
        return None, None, facts
    ds, ours, build_s = cornac_dataset(users, items)
    model = ItemKNN(name="ItemKNN", k=int(k), similarity="cosine", mean_centered=False,
                    verbose=False)
    t0 = time.perf_counter()
    model.fit(ds)
    fit_s = time.perf_counter() - t0
    S = model.sim_mat.tocoo()
    Q = sp.csr_matrix((S.data, (ours[S.row], ours[S.col])), shape=(n, n))
    facts["dataset_build_s"] = round(build_s, 4)
    facts["sim_nnz"] = int(Q.nnz)
    facts["sim_values_min_max"] = [float(Q.data.min()), float(Q.data.max())] if Q.nnz else None
    return Q, fit_s, facts


def knn_scores(W, case, n):
    rows = support_rows(case, n)
    if len(rows) == 0:
        return np.zeros(n)
    return np.asarray(W[rows].sum(axis=0)).ravel()


def cornac_native_scores(Q, case, n, k):
    """What Cornac's ItemKNN.score would give this user were it a training
    user: for candidate j, the weighted mean sum(w * r) / (sum|w| + 1e-8) over
    the k most similar items j's row has among the user's rated items; with
    r = 1 and every co-rated cosine = 1 that is m / (m + 1e-8), m = min(k, #
    support items co-occurring with j): monotone in m, so m ranks the same."""
    rows = support_rows(case, n)
    if len(rows) == 0:
        return np.zeros(n)
    m = np.asarray((Q[rows] != 0).sum(axis=0)).ravel()
    return np.minimum(m, k).astype(np.float64)


def knn_variants(X, k, shrink, n):
    out = {}
    def lazy(**kw):
        W = {}
        def f(c):
            if "W" not in W:
                W["W"] = knn_neighbours(X, **kw)[0]
            return knn_scores(W["W"], c, n), None
        return f
    if shrink != 0:
        out["shrink ignored (plain cosine)"] = lazy(k=k, shrink=0.0)
    out["every neighbour summed (no top-k)"] = lazy(k=k, shrink=shrink, topk=False)
    out["top-k kept per support item, not per candidate"] = lazy(k=k, shrink=shrink, per="item")
    return out


# ---- comparison --------------------------------------------------------------------------

def mean_of(vals):
    v = [x for x in vals if x is not None]
    return float(np.mean(v)) if v else None


def compare(go_vals, ref_vals):
    both = [(g, r) for g, r in zip(go_vals, ref_vals) if g is not None and r is not None]
    null_mismatch = sum((g is None) != (r is None) for g, r in zip(go_vals, ref_vals))
    d = np.array([abs(g - r) for g, r in both]) if both else np.zeros(0)
    go_mean, ref_mean = mean_of(go_vals), mean_of(ref_vals)
    return {
        "go_mean": go_mean,
        "ref_mean": ref_mean,
        "abs_diff": abs(go_mean - ref_mean) if go_mean is not None and ref_mean is not None else None,
        "max_abs_user_diff": float(d.max()) if len(d) else None,
        "identical_share": float((d <= IDENTICAL).mean()) if len(d) else None,
        "users_compared": len(both),
        "null_mismatch": int(null_mismatch),
    }


def diagnose(go_vals, variants, cases, ranker, tol):
    """The variant whose per-user NDCG is closest to Go's, when it agrees."""
    best = None
    for name, fn in variants.items():
        vals = []
        for c in cases:
            s, tier = fn(c)
            vals.append(ranker.ndcg(c, s, tier))
        cmp = compare(go_vals, vals)
        key = (-(cmp["identical_share"] or 0.0), cmp["abs_diff"] if cmp["abs_diff"] is not None else 1.0)
        if best is None or key < best[0]:
            best = (key, name, cmp)
    if best and best[2]["abs_diff"] is not None and best[2]["abs_diff"] < tol:
        return "Go's values match the variant '%s' (mean %.4f, %.0f%% of users identical)" % (
            best[1], best[2]["ref_mean"], 100 * best[2]["identical_share"])
    return None


def fmt_params(p):
    return ", ".join("%s=%s" % (k, v) for k, v in p.items())


def run_domain(export, domain, k, tol, max_gb, log):
    users, items, cases, go, n, problems = load_domain(export, domain)
    X = binary_matrix(users, items, n)
    ranker = Ranker(n, k)
    key = "ndcg@%d" % k
    out = []
    ease_cache, knn_cornac = {}, None
    for run in go["runs"]:
        peer, params = run.get("peer"), run.get("params", {})
        if peer not in ("ease", "itemknn"):
            log("  %s: peer %r not checked" % (domain, peer))
            continue
        go_vals = run.get(key)
        if go_vals is None or len(go_vals) != len(cases):
            raise SystemExit("%s %s: go.json has %s values for %d cases"
                             % (domain, peer, None if go_vals is None else len(go_vals), len(cases)))
        row = {"domain": domain, "peer": peer, "params": params, "cases": len(cases),
               "go_fit_s": run.get("fit_seconds"), "go_reported_mean": run.get("mean_" + key),
               "notes": list(problems)}
        t_all = time.perf_counter()
        if peer == "ease":
            lam, mc = float(params["lambda"]), int(params.get("min_count", 0))
            if (lam, mc) not in ease_cache:
                ease_cache[(lam, mc)] = ease_reference(users, items, n, lam, mc)
            ref, fit_s, facts = ease_cache[(lam, mc)]
            tier = (~ref["restricted"]).astype(np.int8)
            ref_vals = [ranker.ndcg(c, ease_scores(ref, c, n), tier) for c in cases]
            row.update(reference="Cornac EASE B", cornac_fit_s=fit_s, cornac=facts)
            variants = lambda: ease_variants(ref, n)
        else:
            kk, shrink = int(params["k"]), float(params.get("shrink", 0.0))
            t0 = time.perf_counter()
            W, pattern = knn_neighbours(X, kk, shrink)
            row["scipy_fit_s"] = time.perf_counter() - t0
            if knn_cornac is None:
                knn_cornac = cornac_itemknn(users, items, n, kk, max_gb, len(pattern))
            Q, fit_s, facts = knn_cornac
            facts = dict(facts)
            if Q is not None:
                Qc = Q.tocoo()
                qpat = np.sort(Qc.row.astype(np.int64) * n + Qc.col)
                facts["cooccurrence_pattern_equal"] = bool(np.array_equal(qpat, pattern))
                if not facts["cooccurrence_pattern_equal"]:
                    row["notes"].append("Cornac's similarity pattern differs from the co-occurrence "
                                        "counted here: the training rows were read differently")
                native = [ranker.ndcg(c, cornac_native_scores(Q, c, n, kk)) for c in cases]
                facts["native_mean_" + key] = mean_of(native)
                ref_name = "scipy cosine+shrink (Cornac's pattern %s)" % (
                    "equal" if facts["cooccurrence_pattern_equal"] else "DIFFERENT")
            else:
                ref_name = "scipy cosine+shrink (Cornac skipped)"
                row["notes"].append(facts["skipped"])
            ref_vals = [ranker.ndcg(c, knn_scores(W, c, n)) for c in cases]
            row.update(reference=ref_name, cornac_fit_s=fit_s, cornac=facts)
            variants = lambda: knn_variants(X, kk, shrink, n)
        row.update(compare(go_vals, ref_vals))
        if row["go_reported_mean"] is not None and row["go_mean"] is not None and \
                abs(row["go_reported_mean"] - row["go_mean"]) > IDENTICAL:
            row["notes"].append("go.json mean_%s %.6f is not the mean of its per-user values %.6f"
                                % (key, row["go_reported_mean"], row["go_mean"]))
        if row["null_mismatch"]:
            row["notes"].append("%d users are skipped (null) on one side only" % row["null_mismatch"])
        share = row["identical_share"] or 0.0
        n_off = round((1 - share) * row["users_compared"])
        if row["abs_diff"] is not None and row["abs_diff"] < tol:
            row["verdict"] = "agree"
            if share < MIN_IDENTICAL:
                # Per-user values are deterministic: this many differing users is a
                # difference of definition whose effect happens to average out.
                row["per_user_flag"] = True
                reason = diagnose(go_vals, variants(), cases, ranker, tol)
                row["reason"] = ("means agree but %d of %d users differ (max %.3f)%s" % (
                    n_off, row["users_compared"], row["max_abs_user_diff"],
                    "; " + reason if reason else ""))
            elif share < 1.0:
                row["notes"].append("%d of %d users differ (max %.2g): ties broken differently "
                                    "after float rounding of the scores, most likely"
                                    % (n_off, row["users_compared"], row["max_abs_user_diff"]))
        else:
            row["verdict"] = "differ"
            reason = diagnose(go_vals, variants(), cases, ranker, tol)
            if reason is None:
                reason = ("no tested variant explains it; %.0f%% of users identical, max per-user "
                          "difference %.3f" % (100 * share, row["max_abs_user_diff"] or 0))
            row["reason"] = reason
        row["ref_" + key] = ref_vals
        row["check_s"] = time.perf_counter() - t_all
        log("  %s %s (%s): go %.4f ref %.4f -> %s" % (
            domain, peer, fmt_params(params), row["go_mean"] or float("nan"),
            row["ref_mean"] or float("nan"), row["verdict"]))
        out.append(row)
    return out


# ---- report ---------------------------------------------------------------------------------

def fnum(x, d=4):
    return "-" if x is None else ("%.*f" % (d, x))


def write_report(out_dir, meta, rows, k):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "crosscheck.json"), "w") as f:
        json.dump({**meta, "rows": rows}, f, indent=1)
    L = ["# Go peers vs Cornac %s" % meta["cornac_version"], "",
         "Export `%s` (seed %s). NDCG@%d per held-out user, Cornac's `NDCG` metric; "
         "verdict `agree` when the means differ by less than %g. Fit seconds: Go's own "
         "`fit_seconds`; Cornac's `fit()` wall time on this machine (%d CPUs; one fit per "
         "domain shared by runs with the same Cornac model)." % (
             meta["export_dir"], meta["manifest"].get("seed"), k, meta["tolerance"], meta["cpu_count"]),
         "",
         "| domain | peer | params | Go NDCG@%d | ref NDCG@%d | abs diff | identical users | "
         "Go fit s | Cornac fit s | verdict | reference |" % (k, k),
         "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["domain"], r["peer"], fmt_params(r["params"]), fnum(r["go_mean"]), fnum(r["ref_mean"]),
            fnum(r["abs_diff"]), "-" if r["identical_share"] is None else "%.1f%%" % (100 * r["identical_share"]),
            fnum(r["go_fit_s"], 2), fnum(r["cornac_fit_s"], 2),
            r["verdict"] + (" (per-user differ)" if r.get("per_user_flag") else ""), r["reference"]))
    L.append("")
    L.append("ItemKNN's reference similarity is computed here with scipy (Cornac's cosine is taken "
             "over co-rated users only, which is 1.0 for every co-occurring pair of a binary matrix); "
             "Cornac's fitted matrix checks the co-occurrence pattern. `Cornac native` is what "
             "Cornac's own ItemKNN scoring would rank (see README).")
    L.append("")
    for r in rows:
        extra = []
        if r["peer"] == "itemknn":
            c = r["cornac"]
            if "native_mean_ndcg@%d" % k in c:
                extra.append("Cornac native NDCG@%d %.4f" % (k, c["native_mean_ndcg@%d" % k]))
            extra.append("scipy fit %.2f s" % r["scipy_fit_s"])
        if r.get("reason"):
            extra.append("**%s:** %s" % ("flag" if r["verdict"] == "agree" else "differ", r["reason"]))
        extra += r["notes"]
        if extra:
            L.append("- %s %s (%s): %s" % (r["domain"], r["peer"], fmt_params(r["params"]), "; ".join(extra)))
    with open(os.path.join(out_dir, "crosscheck.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--tol", type=float, default=0.002,
                    help="largest |mean NDCG difference| called 'agree' (default 0.002)")
    ap.add_argument("--max-cornac-gb", type=float, default=6.0,
                    help="skip Cornac's dense ItemKNN fit above this estimated peak (default 6)")
    ap.add_argument("--domains", help="comma-separated subset of the manifest's domains")
    args = ap.parse_args()
    with open(os.path.join(args.export_dir, "manifest.json")) as f:
        manifest = json.load(f)
    k = int(manifest.get("k", 10))
    domains = args.domains.split(",") if args.domains else manifest["domains"]
    log = lambda s: print(s, flush=True)
    rows = []
    for d in domains:
        log("%s" % d)
        rows += run_domain(args.export_dir, d, k, args.tol, args.max_cornac_gb, log)
    meta = {"cornac_version": cornac.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "export_dir": args.export_dir, "manifest": manifest, "tolerance": args.tol, "k": k}
    write_report(args.out_dir, meta, rows, k)
    bad = [r for r in rows if r["verdict"] != "agree"]
    flagged = [r for r in rows if r.get("per_user_flag")]
    log("%d runs, %d agree (%d of them with per-user differences), %d differ -> %s" % (
        len(rows), len(rows) - len(bad), len(flagged), len(bad), os.path.join(args.out_dir, "crosscheck.md")))


if __name__ == "__main__":
    main()
