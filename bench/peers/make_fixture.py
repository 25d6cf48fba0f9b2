#!/usr/bin/env python3
"""Synthetic export in the format of `go run ./bench/peers -export DIR`, for
developing and testing bench/peers/crosscheck.py without the Go side.

    python3 bench/peers/make_fixture.py /tmp/peers-fixture [--bug none]

It writes manifest.json and, per domain, train.csv, cases.jsonl and go.json.
The per-user NDCG in go.json comes from a small dense pure-numpy reference of
the Go definitions (EASE restricted to min_count items; ItemKNN binary cosine
with shrinkage and k neighbours per candidate; score desc then item index asc;
binary-gain NDCG@k), written independently of crosscheck.py (dense matrices,
Python sorts) so the two are two implementations of one definition.

--bug replaces the right values with a wrong variant, to check that the
cross-check then says "differ" (and names the variant where it can):
  ease-clip    EASE with negative B entries clipped to 0 (Cornac's posB=True)
  knn-no-topk  ItemKNN summing every neighbour, not only the k nearest
  knn-no-shrink ItemKNN ignoring the shrink term
  shift        every per-user value scaled by 0.95 (no variant explains it)
"""
import argparse
import json
import math
import os
import time

import numpy as np

DOMAINS = {  # name: (train users, items, test users)
    "movies": (300, 400, 60),
    "books": (250, 300, 50),
    "music": (300, 500, 60),
}
RUNS = [
    ("ease", {"lambda": 20.0, "min_count": 3}),
    ("itemknn", {"k": 20, "shrink": 10.0}),
    ("itemknn", {"k": 20, "shrink": 0.0}),
]
BUGS = ["none", "ease-clip", "knn-no-topk", "knn-no-shrink", "shift"]


def sample_users(rng, n_users, pop, item_f, lo, hi, cold):
    """Each user picks lo..hi distinct items with probability growing with
    popularity and affinity to the user's latent factor; cold items (never in
    training) are left out unless cold is False."""
    rows = []
    n = len(pop)
    for _ in range(n_users):
        uf = rng.normal(size=item_f.shape[1])
        logit = 1.5 * item_f @ uf + pop
        if cold:
            logit = logit.copy()
            logit[cold] = -np.inf
        p = np.exp(logit - logit[np.isfinite(logit)].max())
        p /= p.sum()
        m = int(rng.integers(lo, hi + 1))
        items = rng.choice(n, size=m, replace=False, p=p)
        aff = item_f[items] @ uf
        rows.append((items, aff))
    return rows


def make_domain(rng, name, n_train, n, n_test):
    pop = rng.normal(scale=1.0, size=n)
    pop[rng.permutation(n)[: n // 4]] -= 2.5  # a rare tail, so min_count bites
    item_f = rng.normal(size=(n, 4)) / 2.0
    n_cold = max(3, n // 40)
    cold = list(range(n - n_cold, n))  # no training user at all
    train = []
    for u, (items, aff) in enumerate(sample_users(rng, n_train, pop, item_f, 5, 40, cold)):
        for i, a in zip(items, aff):
            value = float(np.clip(0.6 + 0.3 * a + rng.normal(scale=0.15), 0.0, 1.0))
            train.append((u, int(i), round(value, 4)))
    cases = []
    for t, (items, aff) in enumerate(sample_users(rng, n_test, pop, item_f, 12, 35, None)):
        items = [int(i) for i in items]
        n_sup = int(rng.integers(3, 9))
        support, query = items[:n_sup], items[n_sup:]
        # relevant when the (noisy) affinity is high; some users get none
        thresh = 0.3 if t % 7 else 99.0
        q_aff = aff[n_sup:] + rng.normal(scale=0.3, size=len(query))
        relevant = [bool(a > thresh) for a in q_aff]
        others = [i for i in range(n) if i not in set(items)]
        extra = [int(i) for i in rng.choice(others, size=3, replace=False)]
        cases.append({
            "user": "%s:%d" % (name, n_train + t),
            "support": support,
            "exclude": sorted(support + extra),
            "query": query,
            "relevant": relevant,
        })
    return train, cases


# ---- the dense reference of the Go definitions ---------------------------------

def binary_matrix(train, n):
    n_users = max(u for u, _, _ in train) + 1
    X = np.zeros((n_users, n))
    for u, i, _ in train:
        X[u, i] = 1.0
    return X


def ease_scorer(X, lam, min_count, clip=False):
    counts = X.sum(axis=0)
    keep = np.flatnonzero(counts >= min_count)
    Xr = X[:, keep]
    G = Xr.T @ Xr + lam * np.eye(len(keep))
    P = np.linalg.inv(G)
    B = np.empty_like(P)
    for j in range(len(keep)):
        B[:, j] = -P[:, j] / P[j, j]
        B[j, j] = 0.0
    if clip:
        B[B < 0] = 0.0
    where = {int(item): r for r, item in enumerate(keep)}

    def score(support):
        rows = [where[i] for i in support if i in where]
        s = B[rows].sum(axis=0) if rows else np.zeros(len(keep))
        out = {}
        for r, item in enumerate(keep):
            out[int(item)] = (0, float(s[r]))  # tier 0: ranked above tier 1
        return out, 1  # items not in out: tier 1, score 0

    return score


def knn_scorer(X, k, shrink, topk=True):
    n = X.shape[1]
    C = X.T @ X
    counts = np.diag(C).copy()
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j and C[i, j] > 0:
                sim[i, j] = C[i, j] / (math.sqrt(counts[i] * counts[j]) + shrink)
    W = np.zeros((n, n))  # W[i, j]: weight of neighbour i for candidate j
    for j in range(n):
        nb = sorted((i for i in range(n) if sim[i, j] > 0), key=lambda i: (-sim[i, j], i))
        if topk:
            nb = nb[:k]
        for i in nb:
            W[i, j] = sim[i, j]

    def score(support):
        s = W[list(support)].sum(axis=0) if support else np.zeros(n)
        return {j: (0, float(s[j])) for j in range(n)}, 0

    return score


def ndcg_at(case, scored, default_tier, n, k):
    rel = [q for q, r in zip(case["query"], case["relevant"]) if r]
    if not rel:
        return None
    excl = set(case["exclude"])
    keyed = []
    for j in range(n):
        if j in excl:
            continue
        tier, s = scored.get(j, (default_tier, 0.0))
        keyed.append((tier, -s, j))
    keyed.sort()
    top = [j for _, _, j in keyed[:k]]
    rel = set(rel)
    dcg = sum(1.0 / math.log2(r + 2) for r, j in enumerate(top) if j in rel)
    idcg = sum(1.0 / math.log2(r + 2) for r in range(min(k, len(rel))))
    return dcg / idcg


def go_runs(train, cases, n, k, bug):
    X = binary_matrix(train, n)
    runs = []
    for peer, params in RUNS:
        t0 = time.perf_counter()
        if peer == "ease":
            scorer = ease_scorer(X, params["lambda"], params["min_count"], clip=(bug == "ease-clip"))
        else:
            shrink = 0.0 if bug == "knn-no-shrink" else params["shrink"]
            scorer = knn_scorer(X, params["k"], shrink, topk=(bug != "knn-no-topk"))
        fit_s = time.perf_counter() - t0
        vals = []
        for c in cases:
            scored, tier = scorer(c["support"])
            v = ndcg_at(c, scored, tier, n, k)
            if v is not None and bug == "shift":
                v *= 0.95
            vals.append(v)
        scored_vals = [v for v in vals if v is not None]
        runs.append({
            "peer": peer,
            "params": params,
            "fit_seconds": round(fit_s, 4),
            "ndcg@%d" % k: vals,
            "mean_ndcg@%d" % k: float(np.mean(scored_vals)),
        })
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--bug", choices=BUGS, default="none")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--domains", default=",".join(DOMAINS))
    args = ap.parse_args()
    k = 10
    domains = args.domains.split(",")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"seed": args.seed, "k": k, "domains": domains}, f)
    for d_i, name in enumerate(domains):
        rng = np.random.default_rng(args.seed * 1000 + d_i)
        n_train, n, n_test = DOMAINS[name]
        train, cases = make_domain(rng, name, n_train, n, n_test)
        ddir = os.path.join(args.out, name)
        os.makedirs(ddir, exist_ok=True)
        with open(os.path.join(ddir, "train.csv"), "w") as f:
            f.write("user,item,value\n")
            for u, i, v in train:
                f.write("%d,%d,%s\n" % (u, i, v))
        with open(os.path.join(ddir, "cases.jsonl"), "w") as f:
            for c in cases:
                f.write(json.dumps(c) + "\n")
        runs = go_runs(train, cases, n, k, args.bug)
        with open(os.path.join(ddir, "go.json"), "w") as f:
            json.dump({"items": n, "runs": runs}, f, indent=1)
        print("%s: %d train rows, %d cases, %s" % (
            name, len(train), len(cases),
            ", ".join("%s %.4f" % (r["peer"], r["mean_ndcg@%d" % k]) for r in runs)))


if __name__ == "__main__":
    main()
