"""The PyTorch peer of bench/models: the same NCF-sized model, meta-batch,
inner loop and Adam outer step as the GoMLX benchmark, timed the same way
(median of timed steps after warm-up), on the same machine in the same run.

Model (mirrors lib/models): item tower = item embedding + mean genre and
creator embeddings + dense projection; item bias; user state (u, b_u) from
u0 plus a support encoder; NCF head = GMF (x.Q * (u * out_g)) + MLP
(relu(x.h1_x + u.h1_u + b1) -> relu(.h2 + b2) . out_w) + out_b + biases.
The inner loop adapts u, b_u and the output layer (out_g, out_w, out_b),
per task, vectorised over tasks with a leading task axis; second order via
create_graph=True. Prints JSON on stdout: the torch version, the device
and the list of results.

--device cuda runs the same step and adaptation on the GPU. Every random
tensor is still drawn on the CPU, in the same order, and then moved, so both
devices see the same parameters and data (and --device cpu is unchanged).
On cuda each time is taken after torch.cuda.synchronize(), since kernels run
asynchronously and the clock would otherwise stop before the work is done.
"""
import argparse
import json
import sys
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--tasks", type=int, default=32)
p.add_argument("--k", type=int, default=10)
p.add_argument("--q", type=int, default=10)
p.add_argument("--inner", type=int, default=5)
p.add_argument("--items", type=int, default=10000)
p.add_argument("--rounds", type=int, default=20)
p.add_argument("--adapts", type=int, default=200)
p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
a = p.parse_args()
dev = torch.device(a.device)
if dev.type == "cuda" and not torch.cuda.is_available():
    sys.exit(f"maml_torch.py: --device cuda, but torch {torch.__version__} sees no CUDA device")
torch.manual_seed(1)
torch.set_num_threads(torch.get_num_threads())  # all cores, as GoMLX uses

D, DU, H1, H2 = 32, 32, 64, 32
G, C, F = 3, 2, 7
NG, NC = 7, 5
LR_INNER = 0.1


def param(*shape, std=0.05):
    return torch.nn.Parameter((torch.randn(*shape) * std).to(dev))


P = dict(
    item_emb=param(a.items, D), item_bias=param(a.items), genre_emb=param(NG, D), creator_emb=param(NC, D),
    dense_w=param(F, D), dense_bias_w=param(F), domain_bias=param(1), user_vec=param(DU), user_bias=param(1),
    enc_mean=param(D, DU), enc_resid=param(D, DU), enc_shrink=param(1), gmf_q=param(D, DU), h1_x=param(D, H1),
    h1_u=param(DU, H1), h1_b=param(H1), h2_w=param(H1, H2), h2_b=param(H2), out_g=param(DU), out_w=param(H2),
    out_b=param(1))
opt = torch.optim.Adam(P.values(), lr=1e-3)


def block(t, n):
    b = dict(item=torch.randint(0, a.items, (t, n)), genre=torch.randint(0, NG, (t, n, G)),
             genre_w=torch.rand(t, n, G), creator=torch.randint(0, NC, (t, n, C)), creator_w=torch.rand(t, n, C),
             dense=torch.rand(t, n, F), r=torch.rand(t, n), m=torch.ones(t, n))
    return {k: v.to(dev) for k, v in b.items()}


def item_tower(b):
    x = (P["item_emb"][b["item"]] + (P["genre_emb"][b["genre"]] * b["genre_w"][..., None]).sum(2)
         + (P["creator_emb"][b["creator"]] * b["creator_w"][..., None]).sum(2) + b["dense"] @ P["dense_w"])
    return x, P["item_bias"][b["item"]] + b["dense"] @ P["dense_bias_w"]


def masked_mean(x, m):
    cnt = m.sum(1).clamp(min=1)
    if x.dim() == 3:
        return (x * m[..., None]).sum(1) / cnt[:, None]
    return (x * m).sum(1) / cnt


def user_init(x, b, r, m, mu):
    t = r.shape[0]
    resid = (r - (b + mu[:, None])) * m
    u = P["user_vec"].expand(t, DU) + masked_mean(x, m) @ P["enc_mean"] + masked_mean(x * resid[..., None], m) @ P["enc_resid"]
    bu = P["user_bias"].expand(t, 1) + masked_mean(resid, m)[:, None] * P["enc_shrink"]
    return u, bu


def head(f, x, b, mu, h1x=None, q=None):
    u, bu, og, ow, ob = f
    h1x = x @ P["h1_x"] if h1x is None else h1x
    q = x @ P["gmf_q"] if q is None else q
    h1 = torch.relu(h1x + (u @ P["h1_u"])[:, None, :] + P["h1_b"])
    h2 = torch.relu(h1 @ P["h2_w"] + P["h2_b"])
    out = (h2 * ow[:, None, :]).sum(-1) + (q * (u * og)[:, None, :]).sum(-1) + ob
    return out + b + bu + mu[:, None]


def loss_of(pred, r, m):
    d = (pred - r) * m
    return masked_mean(d * d, m)


def adapt(x, b, r, m, mu, steps, second_order):
    t = r.shape[0]
    u, bu = user_init(x, b, r, m, mu)
    start = [u, bu, P["out_g"].expand(t, DU), P["out_w"].expand(t, H2), P["out_b"].expand(t, 1)]
    f = start
    for _ in range(steps):
        g = torch.autograd.grad(loss_of(head(f, x, b, mu), r, m).sum(), f, create_graph=second_order)
        f = [fi - LR_INNER * gi for fi, gi in zip(f, g)]
    return start, f


def step(method, sup, qry, first_order):
    opt.zero_grad()
    mu = P["domain_bias"].expand(a.tasks)
    sx, sb = item_tower(sup)
    qx, qb = item_tower(qry)
    if method == "maml":
        _, f = adapt(sx, sb, sup["r"], sup["m"], mu, a.inner, not first_order)
        obj = loss_of(head(f, qx, qb, mu), qry["r"], qry["m"]).mean()
    else:  # reptile: pseudo-gradient start - fast, as <start, stop(start - fast)>
        start, f = adapt(sx, sb, sup["r"], sup["m"], mu, a.inner, False)
        obj = sum((s * (s - fi).detach()).sum() for s, fi in zip(start, f)) / a.tasks
        obj = obj + loss_of(head([fi.detach() for fi in f], qx, qb, mu), qry["r"], qry["m"]).mean()
    obj.backward()
    torch.nn.utils.clip_grad_norm_(P.values(), 10.0)
    opt.step()


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n, warm):
    ts = []
    for i in range(n + warm):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        if i >= warm:
            ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    return ts[(len(ts) - 1) * 50 // 100], ts[(len(ts) - 1) * 99 // 100]


out = []
sup, qry = block(a.tasks, a.k), block(a.tasks, a.q)
rsup = block(a.tasks, a.k + a.q)
for name, method, fo, s in [("pytorch maml second order", "maml", False, sup), ("pytorch maml first order", "maml", True, sup),
                            ("pytorch reptile", "reptile", True, rsup)]:
    p50, p99 = timed(lambda: step(method, s, qry, fo), a.rounds, 3)
    out.append(dict(name=name, median_ms=p50, p99_ms=p99, tasks_per_s=a.tasks / (p50 / 1000)))

# Adaptation: item side precomputed for the whole catalogue, as the GoMLX
# serving path does; then the inner loop on K support ratings and the head
# over every item.
with torch.no_grad():
    allb = block(1, a.items)
    allb["item"] = torch.arange(a.items)[None, :].to(dev)
    X, B = item_tower(allb)
    H1X, Q = X @ P["h1_x"], X @ P["gmf_q"]


# A request's ratings arrive from the host and its scores go back to it, as
# with GoMLX's Score (which returns a Go slice): on cuda both copies are
# timed; on the CPU .to and .cpu() are no-ops.
def serve():
    ids = torch.randint(0, a.items, (1, a.k)).to(dev)
    sx, sb = X[:, ids[0]], B[:, ids[0]]
    r, m = torch.rand(1, a.k).to(dev), torch.ones(1, a.k).to(dev)
    mu = P["domain_bias"].detach().expand(1)
    _, f = adapt(sx, sb, r, m, mu, a.inner, False)
    with torch.no_grad():
        return head([fi.detach() for fi in f], X, B, mu, H1X, Q).cpu()


p50, p99 = timed(serve, a.adapts, 5)
out.append(dict(name=f"pytorch adapt K={a.k} + score {a.items} items", median_ms=p50, p99_ms=p99))
name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
print(json.dumps(dict(torch=torch.__version__, device=a.device, device_name=name, results=out)))
