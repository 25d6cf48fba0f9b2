"""MeLU (Lee et al., KDD 2019) on crossrec's split: our own PyTorch code.

  python3 bench/melu/melu.py train --tasks ARTIFACTS/tasks --seed 1 --out DIR
  python3 bench/melu/melu.py serve DIR/model.pt      (bench/melu/protocol.py on stdin/stdout)

The model, as in the paper: items are embedded from content features only
(here genre indices, creator indices, the genre multi-hot, the numeric
features, and a domain embedding: 5 x 32), passed through two fully
connected ReLU layers and a linear output that predicts the normalised
value. The paper concatenates a user embedding built from demographics;
this project has none, so there is no user input: the user enters only
through the local update. The local update adapts the decision layers only
(fc1, fc2, out) by a few SGD steps on the support's squared error; the
global update is Adam on the query's squared error through the local update
(MAML, second order unless --first-order). One model shared by the five
domains (per-domain vocabularies, a domain embedding); each domain exports
the epoch with its lowest meta-validation MAE, then the local step size and
step count at test time are chosen per domain on validation MAE. Test users
are never read.
"""
import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import pyarrow.ipc as ipc
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

# Value kinds (the evaluation's relevance rule; lib/eval relevance.go).
PLAYCOUNT_DOMAINS = {"music"}


def read_arrow(path):
    with ipc.open_file(path) as r:
        return r.read_all()


class Items:
    """items.arrow as global arrays: item (d, i) is row off[d] + i."""

    def __init__(self, path):
        t = read_arrow(path)
        dom_raw = dom = np.asarray(t.column("domain_index").to_numpy(), dtype=np.int64)
        idx = np.asarray(t.column("index").to_numpy(), dtype=np.int64)
        order = np.lexsort((idx, dom))
        dom, idx = dom[order], idx[order]
        names = t.column("domain").to_pylist()
        self.n_domains = int(dom.max()) + 1
        self.sizes = [int((dom == d).sum()) for d in range(self.n_domains)]
        self.names = [""] * self.n_domains
        for r in order[np.r_[0, np.flatnonzero(np.diff(dom)) + 1]]:
            self.names[int(dom_raw[r])] = names[int(r)]
        self.off = np.r_[0, np.cumsum(self.sizes)[:-1]].astype(np.int64)
        for d in range(self.n_domains):
            if not np.array_equal(idx[dom == d], np.arange(self.sizes[d])):
                raise ValueError("%s: domain %d item indices are not 0..n-1" % (path, d))

        def fixed(name, dtype):
            col = t.column(name).combine_chunks()
            width = col.type.list_size
            return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=dtype).reshape(-1, width)[order]

        genre, creator = fixed("genre_idx", np.int64), fixed("creator_idx", np.int64)
        mh, num = fixed("genre_multihot", np.float32), fixed("numeric", np.float32)
        # Per-domain vocabularies laid end to end; 0 stays the padding row.
        def globalise(x):
            out = np.zeros_like(x)
            base = 1
            for d in range(self.n_domains):
                rows = dom == d
                out[rows] = np.where(x[rows] > 0, x[rows] + base - 1, 0)
                base += int(x[rows].max()) if rows.any() else 0
            return out, base
        self.genre, self.n_genre = globalise(genre)
        self.creator, self.n_creator = globalise(creator)
        # The multi-hot covers each domain's own top genres: a block per domain.
        w = mh.shape[1]
        self.mh = np.zeros((len(dom), w * self.n_domains), dtype=np.float32)
        for d in range(self.n_domains):
            rows = dom == d
            self.mh[rows, d * w:(d + 1) * w] = mh[rows]
        self.num = num
        self.dom = dom
        self.t_genre = torch.from_numpy(self.genre)
        self.t_creator = torch.from_numpy(self.creator)
        self.t_mh = torch.from_numpy(self.mh)
        self.t_num = torch.from_numpy(self.num)
        self.t_dom = torch.from_numpy(self.dom)


class MeLU(nn.Module):
    def __init__(self, items, emb=32, hidden=64):
        super().__init__()
        self.genre = nn.Embedding(items.n_genre, emb, padding_idx=0)
        self.creator = nn.Embedding(items.n_creator, emb, padding_idx=0)
        self.mh = nn.Linear(items.mh.shape[1], emb, bias=False)
        self.num = nn.Linear(items.num.shape[1], emb)
        self.domain = nn.Embedding(items.n_domains, emb)
        self.fc1 = nn.Linear(5 * emb, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def decision(self):
        """The parameters the local update adapts: fc1, fc2, out."""
        return [self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias, self.out.weight, self.out.bias]

    def embed(self, items, gid):
        """Item embeddings [.., 5*emb] of global item rows gid."""
        def bag(table, idx):
            m = (idx > 0).float().unsqueeze(-1)
            return (table(idx) * m).sum(-2) / m.sum(-2).clamp(min=1)
        return torch.cat([bag(self.genre, items.t_genre[gid]), bag(self.creator, items.t_creator[gid]),
                          self.mh(items.t_mh[gid]), self.num(items.t_num[gid]), self.domain(items.t_dom[gid])], -1)


def decide(x, w):
    """The decision layers with per-task weights w (each with a leading task
    axis) on x [B, L, in] -> [B, L]."""
    h = F.relu(torch.einsum("bli,boi->blo", x, w[0]) + w[1].unsqueeze(1))
    h = F.relu(torch.einsum("bli,boi->blo", h, w[2]) + w[3].unsqueeze(1))
    return (torch.einsum("bli,boi->blo", h, w[4]) + w[5].unsqueeze(1)).squeeze(-1)


def local_update(model, xs, ys, mask, lr, steps, create_graph):
    """MeLU's local update: `steps` SGD steps of each task's mean squared
    error on its support (xs [B, S, in], ys, mask [B, S]) on the decision
    layers only; a task with an empty support keeps the global weights."""
    B = xs.shape[0]
    w = [p.unsqueeze(0).repeat(B, *([1] * p.dim())) for p in model.decision()]
    if lr == 0 or steps == 0 or xs.shape[1] == 0:
        return w
    n = mask.sum(1).clamp(min=1)
    for _ in range(steps):
        pred = decide(xs, w)
        loss = (((pred - ys) ** 2 * mask).sum(1) / n).sum()
        g = torch.autograd.grad(loss, w, create_graph=create_graph)
        w = [x - lr * gx for x, gx in zip(w, g)]
    return w


def load_tasks(path):
    t = read_arrow(path)
    cols = {c: t.column(c).to_pylist() for c in ["domain_index", "support_items", "support_norm", "support_value",
                                                  "query_items", "query_norm", "query_value"]}
    out = []
    for i in range(t.num_rows):
        out.append(dict(d=cols["domain_index"][i],
                        s_items=np.asarray(cols["support_items"][i], np.int64), s_norm=np.asarray(cols["support_norm"][i], np.float32),
                        s_raw=np.asarray(cols["support_value"][i], np.float32),
                        q_items=np.asarray(cols["query_items"][i], np.int64), q_norm=np.asarray(cols["query_norm"][i], np.float32),
                        q_raw=np.asarray(cols["query_value"][i], np.float32)))
    return out


def pad(rows, items, width):
    """Global rows [B, width], values [B, width] and mask from (domain, local items, values) triples."""
    B = len(rows)
    gid = np.zeros((B, width), np.int64)
    val = np.zeros((B, width), np.float32)
    m = np.zeros((B, width), np.float32)
    for b, (d, it, v) in enumerate(rows):
        n = len(it)
        gid[b, :n] = items.off[d] + it
        val[b, :n] = v
        m[b, :n] = 1
    return torch.from_numpy(gid), torch.from_numpy(val), torch.from_numpy(m)


def train_batch(model, items, batch, rng, args):
    sup, qry = [], []
    for t in batch:
        pool_i = np.r_[t["s_items"], t["q_items"]]
        pool_v = np.r_[t["s_norm"], t["q_norm"]]
        perm = rng.permutation(len(pool_i))
        k = int(rng.choice(args.support_ks))
        k = min(k, len(pool_i) - 1)
        s, q = perm[:k], perm[k:k + args.query_max]
        sup.append((t["d"], pool_i[s], pool_v[s]))
        qry.append((t["d"], pool_i[q], pool_v[q]))
    sg, sv, sm = pad(sup, items, max(len(x[1]) for x in sup))
    qg, qv, qm = pad(qry, items, max(len(x[1]) for x in qry))
    xs, xq = model.embed(items, sg), model.embed(items, qg)
    # Second order: the query loss is differentiated through the local
    # steps. First order (--first-order): the local gradients are constants,
    # so the global weights get the query gradient at the adapted weights.
    w = local_update(model, xs, sv, sm, args.local_lr, args.local_steps, create_graph=not args.first_order)
    pred = decide(xq, w)
    loss = (((pred - qv) ** 2 * qm).sum(1) / qm.sum(1).clamp(min=1)).mean()
    loss.backward()
    return float(loss.detach())


@torch.no_grad()
def embed_domain(model, items, d):
    gid = torch.arange(items.off[d], items.off[d] + items.sizes[d])
    return model.embed(items, gid)


def predict_user(model, cache, s_items, s_norm, cands, lr, steps):
    """Adapted predictions for candidates (local indices) of one user."""
    xs = cache[torch.as_tensor(s_items, dtype=torch.long)].unsqueeze(0)
    ys = torch.as_tensor(s_norm, dtype=torch.float32).unsqueeze(0)
    with torch.enable_grad():
        w = local_update(model, xs, ys, torch.ones_like(ys), lr, steps, create_graph=False)
    w = [x.detach() for x in w]
    with torch.no_grad():
        return decide(cache[torch.as_tensor(cands, dtype=torch.long)].unsqueeze(0), w)[0]


def relevant(d_name, q_raw, rating_min=4.0, share=0.2):
    if d_name not in PLAYCOUNT_DOMAINS:
        return q_raw >= rating_min
    m = max(1, int(math.ceil(share * len(q_raw) - 1e-9)))
    cut = np.sort(q_raw)[len(q_raw) - m]
    return q_raw >= cut


def ndcg10(scores, cand, q_items, rel):
    top = cand[np.argsort(-scores, kind="stable")[:10]]
    relset = set(q_items[rel].tolist())
    nrel = len(relset)
    if nrel == 0:
        return float("nan")
    dcg = sum(1 / math.log2(i + 2) for i, it in enumerate(top) if it in relset)
    return dcg / sum(1 / math.log2(i + 2) for i in range(min(10, nrel)))


def validate(model, items, valid, d, lr, steps, k, with_ndcg=False):
    """Validation MAE (normalised scale) and optionally NDCG@10 of domain d at
    support size k: the stored support prefix, the query as stored, the
    whole catalogue minus the support pool ranked (lib/eval validCases)."""
    cache = embed_domain(model, items, d)
    ae, n, nd = 0.0, 0, []
    all_items = np.arange(items.sizes[d])
    for t in valid:
        if t["d"] != d:
            continue
        kk = min(k, len(t["s_items"]))
        if with_ndcg:
            keep = np.ones(items.sizes[d], bool)
            keep[t["s_items"]] = False
            cand = all_items[keep]
            p = predict_user(model, cache, t["s_items"][:kk], t["s_norm"][:kk], cand, lr, steps).numpy()
            pos = np.searchsorted(cand, t["q_items"])
            pq = p[pos]
            v = ndcg10(p, cand, t["q_items"], relevant(items.names[d], t["q_raw"]))
            if not math.isnan(v):
                nd.append(v)
        else:
            pq = predict_user(model, cache, t["s_items"][:kk], t["s_norm"][:kk], t["q_items"], lr, steps).numpy()
        ae += float(np.abs(pq - t["q_norm"]).sum())
        n += len(pq)
    return ae / max(n, 1), (float(np.mean(nd)) if nd else float("nan"))


def cmd_train(args):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    items = Items(os.path.join(args.tasks, "items.arrow"))
    train = load_tasks(os.path.join(args.tasks, "train.arrow"))
    valid = load_tasks(os.path.join(args.tasks, "valid.arrow"))
    model = MeLU(items, emb=args.emb, hidden=args.hidden)
    # The output bias starts at the training mean of the normalised values.
    with torch.no_grad():
        model.out.bias.fill_(float(np.mean(np.concatenate([t["q_norm"] for t in train]))))
    opt = torch.optim.Adam(model.parameters(), lr=args.global_lr)
    doms = sorted({t["d"] for t in valid})
    best = {d: (float("inf"), None, -1) for d in doms}
    curve = []
    start = time.time()

    def check(epoch):
        model.eval()
        row = {"epoch": epoch, "seconds": round(time.time() - start, 1)}
        for d in doms:
            mae, _ = validate(model, items, valid, d, args.local_lr, args.local_steps, args.k)
            row[items.names[d]] = round(mae, 5)
            if mae < best[d][0]:
                best[d] = (mae, copy.deepcopy(model.state_dict()), epoch)
        curve.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        model.train()

    check(0)
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(train))
        tot, nb = 0.0, 0
        for i in range(0, len(order), args.batch):
            batch = [train[j] for j in order[i:i + args.batch]]
            opt.zero_grad()
            tot += train_batch(model, items, batch, rng, args)
            nb += 1
            opt.step()
        print("epoch %d train mse %.5f" % (epoch, tot / nb), file=sys.stderr, flush=True)
        check(epoch)
    # Per domain: the best epoch's weights, then the test-time local step
    # size and step count with the lowest validation MAE (ties keep the
    # earlier grid point, the training setting first).
    grid = [(args.local_lr, args.local_steps)] + [(args.local_lr * m, s) for m in args.lr_mult for s in args.steps_grid]
    grid = list(dict.fromkeys(grid))
    out = {"config": vars(args), "items": os.path.abspath(os.path.join(args.tasks, "items.arrow")),
           "sizes": items.sizes, "names": items.names, "curve": curve, "domains": {}}
    for d in doms:
        mae0, state, epoch = best[d]
        model.load_state_dict(state)
        model.eval()
        scores = []
        for lr, steps in grid:
            mae, _ = validate(model, items, valid, d, lr, steps, args.k)
            scores.append((mae, lr, steps))
        mae, lr, steps = min(scores, key=lambda x: x[0])
        _, nd = validate(model, items, valid, d, lr, steps, args.k, with_ndcg=True)
        no_adapt, _ = validate(model, items, valid, d, 0.0, 0, args.k)
        rec = {"epoch": epoch, "local_lr": lr, "local_steps": steps, "valid_mae_norm": mae, "valid_ndcg@10": nd,
               "valid_mae_norm_no_local_update": no_adapt, "grid": [[s[1], s[2], s[0]] for s in scores]}
        print(items.names[d], json.dumps(rec), file=sys.stderr, flush=True)
        out["domains"][d] = dict(rec, state=state)
    out["train_seconds"] = round(time.time() - start, 1)
    os.makedirs(args.out, exist_ok=True)
    torch.save(out, os.path.join(args.out, "model.pt"))
    summary = {k: v for k, v in out.items() if k != "domains"}
    summary["domains"] = {items.names[d]: {k: v for k, v in r.items() if k != "state"} for d, r in out["domains"].items()}
    with open(os.path.join(args.out, "train.json"), "w") as f:
        json.dump(summary, f, indent=1)


def cmd_serve(args):
    torch.set_num_threads(args.threads)
    blob = torch.load(args.model, weights_only=False)
    items = Items(args.items or blob["items"])
    if items.sizes != blob["sizes"]:
        raise SystemExit("items %s: catalogue sizes %s, the model was trained on %s" % (args.items or blob["items"], items.sizes, blob["sizes"]))
    cfg = blob["config"]
    per = {}
    for d, r in blob["domains"].items():
        m = MeLU(items, emb=cfg["emb"], hidden=cfg["hidden"])
        m.load_state_dict(r["state"])
        m.eval()
        per[int(d)] = (m, embed_domain(m, items, int(d)), r["local_lr"], r["local_steps"])
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    protocol.write_frame(out, protocol.encode_hello(items.sizes, "melu"))
    while True:
        p = protocol.read_frame(inp)
        if p is None:
            return
        try:
            dom, s_items, s_norm, cands = protocol.decode_request(p)
            if dom not in per:
                raise protocol.ProtocolError("domain %d has no trained MeLU" % dom)
            n = items.sizes[dom]
            for x in s_items + cands:
                if not 0 <= x < n:
                    raise protocol.ProtocolError("item %d outside domain %d's catalogue of %d" % (x, dom, n))
            m, cache, lr, steps = per[dom]
            scores = predict_user(m, cache, s_items, s_norm, cands, lr, steps).tolist() if cands else []
            protocol.write_frame(out, protocol.encode_scores(scores))
        except protocol.ProtocolError as e:
            protocol.write_frame(out, protocol.encode_error(str(e)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--tasks", required=True, help="artifacts/tasks (items.arrow, train.arrow, valid.arrow)")
    t.add_argument("--out", required=True)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--emb", type=int, default=32)
    t.add_argument("--hidden", type=int, default=64)
    t.add_argument("--global-lr", type=float, default=1e-3)
    t.add_argument("--local-lr", type=float, default=0.05)
    t.add_argument("--local-steps", type=int, default=1)
    t.add_argument("--first-order", action="store_true")
    t.add_argument("--support-ks", type=int, nargs="+", default=[1, 3, 5, 10])
    t.add_argument("--query-max", type=int, default=64)
    t.add_argument("--k", type=int, default=10, help="validation support size (split.support_k)")
    t.add_argument("--lr-mult", type=float, nargs="+", default=[0.0, 0.3, 1.0, 3.0, 10.0])
    t.add_argument("--steps-grid", type=int, nargs="+", default=[1, 3])
    t.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("serve")
    s.add_argument("model")
    s.add_argument("--items", default="", help="items.arrow (default: the path the model was trained with)")
    s.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    {"train": cmd_train, "serve": cmd_serve}[args.cmd](args)


if __name__ == "__main__":
    main()
