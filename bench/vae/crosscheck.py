#!/usr/bin/env python3
"""Cross-check the Go Mult-VAE (lib/vae) against Cornac's VAE.

    python3 bench/vae/crosscheck.py EXPORT_DIR OUT_DIR [--domains a,b]

EXPORT_DIR is a bench/peers export (per domain train.csv, cases.jsonl) to
which `go run ./bench/vae -export EXPORT_DIR` has added vae_go.json: the Go
network's per-user NDCG@10 on the export's held-out users, one run per
training seed, and the settings it trained with. For each domain and seed
the script trains two references on the same training rows and scores the
same users on the same candidates, computing NDCG@10 with the peers
cross-check's ranker (Cornac's NDCG metric):

- "cornac-paper": Cornac's VAE module (cornac.models.vaecf.vaecf.VAE: the
  encoder items -> hidden -> latent, the decoder latent -> hidden -> items,
  Cornac's multinomial loss and KL term) trained by the procedure of the
  paper that lib/vae follows: the input normalised to unit length, input
  dropout, the KL weight annealed linearly to its cap, Adam, shuffled
  batches. A new user is encoded from their support (unit length), the
  latent mean decoded.
- "cornac-fit": cornac.models.VAECF.fit as shipped, with the same widths,
  epochs, batch, step size and the KL weight fixed at the cap: Cornac's own
  procedure has no input normalisation, no dropout and no annealing, so it
  differs by definition; reported beside, not judged.

Stochastic training makes per-user values differ between any two runs, so
the verdict compares means over seeds: `agree` when the Go and cornac-paper
means differ by less than twice the larger of the two seed spreads (sample
std over seeds) or by less than --tol, `differ` otherwise. Writes
OUT_DIR/crosscheck.md and OUT_DIR/crosscheck.json.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from crosscheck import Ranker, binary_matrix, cornac_dataset, load_train  # noqa: E402

import cornac  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from cornac.models import VAECF  # noqa: E402
from cornac.models.vaecf.vaecf import VAE  # noqa: E402

K = 10


def support_vector(case, n):
    x = np.zeros(n, dtype=np.float32)
    x[np.asarray(sorted(set(case["support"])), dtype=np.int64)] = 1
    return x


def train_paper(X, s, seed, init):
    """Cornac's VAE module trained as the paper (and lib/vae) trains it."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n_users, n = X.shape
    vae = VAE(s["latent"], [n, s["hidden"]], "tanh", "mult")
    if init == "paper":
        # The paper's code (and lib/vae): Xavier-uniform weights, biases
        # from a normal of std 0.001; "torch" keeps PyTorch's default.
        for m in vae.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.xavier_uniform_(m.weight)
                torch.nn.init.normal_(m.bias, std=0.001)
    opt = torch.optim.Adam(vae.parameters(), lr=s["lr"])
    per_epoch = (n_users + s["batch"] - 1) // s["batch"]
    anneal = s["anneal_epochs"] * per_epoch
    step = 0
    vae.train()
    for _ in range(s["epochs"]):
        order = rng.permutation(n_users)
        for at in range(0, n_users, s["batch"]):
            x = torch.tensor(X[order[at:at + s["batch"]]].toarray(), dtype=torch.float32)
            inp = F.dropout(F.normalize(x, dim=1), p=s["dropout"], training=True)
            mu, logvar = vae.encode(inp)
            x_ = vae.decode(vae.reparameterize(mu, logvar))
            beta = s["beta_cap"] if anneal == 0 else min(s["beta_cap"], s["beta_cap"] * (step + 1) / anneal)
            loss = vae.loss(x, x_, mu, logvar, beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
    vae.eval()
    return vae


def logits(vae, x):
    with torch.no_grad():
        mu, _ = vae.encode(torch.tensor(x[None, :]))
        return vae.decoder(mu)[0].numpy().astype(np.float64)


def score_paper(vae, case, n):
    x = support_vector(case, n)
    norm = np.linalg.norm(x)
    return logits(vae, x / norm if norm > 0 else x)


def train_fit(users, items, n, s, seed):
    ds, ours, _ = cornac_dataset(users, items)
    m = VAECF(k=s["latent"], autoencoder_structure=[s["hidden"]], act_fn="tanh", likelihood="mult",
              n_epochs=s["epochs"], batch_size=s["batch"], learning_rate=s["lr"], beta=s["beta_cap"], seed=seed)
    m.fit(ds)
    return m, ours


def score_fit(model, ours, case, n):
    # Cornac encodes its own users' raw binary rows; a new user's support
    # goes in the same way, in Cornac's item order. Items no training user
    # has (no Cornac column) cannot be recommended.
    x = support_vector(case, n)[ours]
    out = np.full(n, -np.inf)
    out[ours] = logits(model.vae, x.astype(np.float32))
    return out


def mean_ndcg(ranker, cases, score):
    vals = [ranker.ndcg(c, score(c)) for c in cases]
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)), len(vals)


def spread(xs):
    return float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("out")
    ap.add_argument("--domains", default="")
    ap.add_argument("--tol", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", choices=["paper", "torch"], default="paper",
                    help="cornac-paper's initialisation: the paper's (Xavier, as lib/vae) or PyTorch's default")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    domains = [d for d in a.domains.split(",") if d] or sorted(
        d for d in os.listdir(a.export) if os.path.exists(os.path.join(a.export, d, "vae_go.json")))
    rows = []
    for dom in domains:
        ddir = os.path.join(a.export, dom)
        with open(os.path.join(ddir, "vae_go.json")) as f:
            go = json.load(f)
        s = go["settings"]
        users, items = load_train(os.path.join(ddir, "train.csv"))
        with open(os.path.join(ddir, "go.json")) as f:
            n = int(json.load(f)["items"])
        cases = [json.loads(line) for line in open(os.path.join(ddir, "cases.jsonl")) if line.strip()]
        X = binary_matrix(users, items, n)
        ranker = Ranker(n, K)
        row = {"domain": dom, "settings": s, "users": len(cases), "go": [], "cornac_paper": [], "cornac_fit": [],
               "go_seconds": [], "paper_seconds": [], "fit_seconds": []}
        for run in go["runs"]:
            seed = int(run["seed"])
            vals = [v for v in run["ndcg@10"] if v is not None]
            row["go"].append(float(np.mean(vals)))
            row["go_seconds"].append(run["train_seconds"])
            t0 = time.perf_counter()
            vae = train_paper(X, s, seed, a.init)
            row["paper_seconds"].append(time.perf_counter() - t0)
            row["cornac_paper"].append(mean_ndcg(ranker, cases, lambda c: score_paper(vae, c, n))[0])
            t0 = time.perf_counter()
            model, ours = train_fit(users, items, n, s, seed)
            row["fit_seconds"].append(time.perf_counter() - t0)
            row["cornac_fit"].append(mean_ndcg(ranker, cases, lambda c: score_fit(model, ours, c, n))[0])
            print("%s seed %d: Go %.4f  cornac-paper %.4f  cornac-fit %.4f" % (
                dom, seed, row["go"][-1], row["cornac_paper"][-1], row["cornac_fit"][-1]), file=sys.stderr)
        g, p = np.mean(row["go"]), np.mean(row["cornac_paper"])
        band = max(a.tol, 2 * max(spread(row["go"]), spread(row["cornac_paper"])))
        row["verdict"] = "agree" if abs(g - p) < band else "differ"
        row["band"] = band
        rows.append(row)
    os.makedirs(a.out, exist_ok=True)
    meta = {"cornac": cornac.__version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "k": K, "tol": a.tol, "init": a.init}
    with open(os.path.join(a.out, "crosscheck.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    L = ["# Mult-VAE cross-check: Go (lib/vae) against Cornac %s's VAE (torch %s)" % (meta["cornac"], meta["torch"]), "",
         "NDCG@%d on the export's held-out users (seed-1 draw, K = support size of the export), mean and sample std "
         "over training seeds; `agree` when Go and cornac-paper differ by less than twice the larger seed std "
         "(or %.3f). cornac-fit is Cornac's own training procedure (no input normalisation, dropout or annealing), "
         "reported, not judged. cornac-paper's initialisation: %s. Train seconds are medians over seeds on this "
         "machine's 2 cores (not a benchmark: the runs shared the machine)." % (K, a.tol, a.init), "",
         "| domain | users | seeds | Go | cornac-paper | cornac-fit | abs diff (Go, paper) | band | verdict | Go s | paper s | fit s |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        L.append("| %s | %d | %d | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f | %.4f | %.4f | %s | %.1f | %.1f | %.1f |" % (
            r["domain"], r["users"], len(r["go"]), np.mean(r["go"]), spread(r["go"]), np.mean(r["cornac_paper"]),
            spread(r["cornac_paper"]), np.mean(r["cornac_fit"]), spread(r["cornac_fit"]),
            abs(np.mean(r["go"]) - np.mean(r["cornac_paper"])), r["band"], r["verdict"],
            np.median(r["go_seconds"]), np.median(r["paper_seconds"]), np.median(r["fit_seconds"])))
    if rows:
        L += ["", "Settings: %s." % json.dumps(rows[0]["settings"], sort_keys=True)]
    with open(os.path.join(a.out, "crosscheck.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
