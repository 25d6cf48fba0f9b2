#!/usr/bin/env python3
"""Cross-check the Go LightGCN (lib/gnn) against PyTorch Geometric's LightGCN.

    python3 bench/gnn/crosscheck.py EXPORT_DIR OUT_DIR [--domains a,b]

EXPORT_DIR is a bench/peers export to which `go run ./bench/gnn -export
EXPORT_DIR` has added gnn_go.json: the Go model's per-user NDCG@10 on the
export's held-out users, one run per training seed, and the settings it
trained with. For each domain and seed the script trains
torch_geometric.nn.LightGCN on the same training rows (the bipartite graph
of the meta-train users, one node per user and per item) with the same
settings: width, layers, BPR with one uniform negative per edge from the
items the user has not picked, the L2 weight on the batch's layer-0 rows,
Adam, batch size, epochs. PyG's LGConv normalises by 1/sqrt(deg deg) and
combines layers with weights 1/(L+1), LightGCN's definition.

A new user is folded in exactly as lib/gnn does it (the Python code here is
a second implementation of that rule, over PyG's layer embeddings): layer
k+1 of the user is the sum over their support items of layer k of the item,
weighted 1/sqrt(|support| (deg_i + 1)), the user's embedding the mean over
layers 0..L with layer 0 zero; items are scored by the dot product with
their layer combination. NDCG@10 is computed with the peers cross-check's
ranker (Cornac's NDCG metric). Verdict as in bench/vae: `agree` when the
means over seeds differ by less than twice the larger seed std (or --tol).
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from crosscheck import Ranker, load_train  # noqa: E402

import torch  # noqa: E402
import torch_geometric  # noqa: E402
from torch_geometric.nn import LightGCN  # noqa: E402

K = 10


def train(users, items, n_items, s, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.stack([users, items], 1), axis=0)
    n_users = int(users.max()) + 1
    u = torch.tensor(pairs[:, 0], dtype=torch.long)
    i = torch.tensor(pairs[:, 1] + n_users, dtype=torch.long)
    edge_index = torch.stack([torch.cat([u, i]), torch.cat([i, u])])
    model = LightGCN(n_users + n_items, s["dim"], s["layers"])
    # lib/gnn starts layer-0 rows from a normal of std 0.1 (the authors'
    # code); PyG's default is Xavier. The same start is used here.
    torch.nn.init.normal_(model.embedding.weight, std=0.1)
    if not s["user_embeddings"]:
        raise SystemExit("user_embeddings false is not reproduced here")
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
    positive = set(map(tuple, pairs.tolist()))
    for _ in range(s["epochs"]):
        order = rng.permutation(len(pairs))
        for at in range(0, len(pairs), s["batch"]):
            b = order[at:at + s["batch"]]
            bu, bi = pairs[b, 0], pairs[b, 1]
            bj = rng.integers(0, n_items, len(b))
            for t in range(len(b)):  # uniform negatives the user has not picked
                tries = 0
                while (bu[t], bj[t]) in positive and tries < 20:
                    bj[t] = rng.integers(0, n_items)
                    tries += 1
            emb = model.get_embedding(edge_index)
            tu = torch.tensor(bu)
            ti = torch.tensor(bi + n_users)
            tj = torch.tensor(bj + n_users)
            x = (emb[tu] * (emb[ti] - emb[tj])).sum(1)
            loss = torch.nn.functional.softplus(-x).mean()
            e0 = model.embedding.weight
            reg = (e0[tu].pow(2).sum() + e0[ti].pow(2).sum() + e0[tj].pow(2).sum()) * s["l2"] / (2 * len(b))
            opt.zero_grad()
            (loss + reg).backward()
            opt.step()
    with torch.no_grad():
        x = model.embedding.weight.detach()
        layers = [x]
        for conv in model.convs:
            x = conv(x, edge_index)
            layers.append(x)
        final = sum(layers) / (s["layers"] + 1)
        deg = torch.zeros(n_users + n_items).index_add_(0, edge_index[0], torch.ones(edge_index.shape[1]))
    return ([l[n_users:].numpy().astype(np.float64) for l in layers[:-1]], final[n_users:].numpy().astype(np.float64),
            deg[n_users:].numpy())


def fold_in(case, layers, final, deg, n_layers):
    sup = np.asarray(sorted(set(case["support"])), dtype=np.int64)
    w = 1 / np.sqrt(len(sup) * (deg[sup] + 1)) / (n_layers + 1)
    u = sum((w[:, None] * l[sup]).sum(0) for l in layers)
    return final @ u


def spread(xs):
    return float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("out")
    ap.add_argument("--domains", default="")
    ap.add_argument("--tol", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    domains = [d for d in a.domains.split(",") if d] or sorted(
        d for d in os.listdir(a.export) if os.path.exists(os.path.join(a.export, d, "gnn_go.json")))
    rows = []
    for dom in domains:
        ddir = os.path.join(a.export, dom)
        with open(os.path.join(ddir, "gnn_go.json")) as f:
            go = json.load(f)
        s = go["settings"]
        users, items = load_train(os.path.join(ddir, "train.csv"))
        with open(os.path.join(ddir, "go.json")) as f:
            n = int(json.load(f)["items"])
        cases = [json.loads(line) for line in open(os.path.join(ddir, "cases.jsonl")) if line.strip()]
        ranker = Ranker(n, K)
        row = {"domain": dom, "settings": s, "users": len(cases), "go": [], "pyg": [], "go_seconds": [], "pyg_seconds": []}
        for run in go["runs"]:
            seed = int(run["seed"])
            row["go"].append(float(np.mean([v for v in run["ndcg@10"] if v is not None])))
            row["go_seconds"].append(run["train_seconds"])
            t0 = time.perf_counter()
            layers, final, deg = train(users, items, n, s, seed)
            row["pyg_seconds"].append(time.perf_counter() - t0)
            vals = [ranker.ndcg(c, fold_in(c, layers, final, deg, s["layers"])) for c in cases]
            row["pyg"].append(float(np.mean([v for v in vals if v is not None])))
            print("%s seed %d: Go %.4f  PyG %.4f" % (dom, seed, row["go"][-1], row["pyg"][-1]), file=sys.stderr)
        band = max(a.tol, 2 * max(spread(row["go"]), spread(row["pyg"])))
        row["band"] = band
        row["verdict"] = "agree" if abs(np.mean(row["go"]) - np.mean(row["pyg"])) < band else "differ"
        rows.append(row)
    os.makedirs(a.out, exist_ok=True)
    meta = {"torch_geometric": torch_geometric.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "k": K, "tol": a.tol}
    with open(os.path.join(a.out, "crosscheck.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    L = ["# LightGCN cross-check: Go (lib/gnn) against PyTorch Geometric %s (torch %s)" % (meta["torch_geometric"], meta["torch"]), "",
         "NDCG@%d on the export's held-out users (seed-1 draw, K = support size of the export), mean and sample std "
         "over training seeds, the last epoch of each (no selection on either side); `agree` when the means differ by "
         "less than twice the larger seed std (or %.3f). Train seconds are medians over seeds on this machine's 2 cores "
         "(not a benchmark: the runs shared the machine)." % (K, a.tol), "",
         "| domain | users | seeds | Go | PyG | abs diff | band | verdict | Go s | PyG s |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append("| %s | %d | %d | %.4f ± %.4f | %.4f ± %.4f | %.4f | %.4f | %s | %.1f | %.1f |" % (
            r["domain"], r["users"], len(r["go"]), np.mean(r["go"]), spread(r["go"]), np.mean(r["pyg"]), spread(r["pyg"]),
            abs(np.mean(r["go"]) - np.mean(r["pyg"])), r["band"], r["verdict"], np.median(r["go_seconds"]),
            np.median(r["pyg_seconds"])))
    if rows:
        L += ["", "Settings: %s." % json.dumps(rows[0]["settings"], sort_keys=True)]
    with open(os.path.join(a.out, "crosscheck.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
