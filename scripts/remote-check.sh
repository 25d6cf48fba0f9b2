#!/usr/bin/env bash
# The team remote end to end, on loopback, over the artifacts of a finished
# `dvc repro` in this workspace (CI runs it from .ci/run; anyone can):
#
#  1. start the S3 server (scripts/remote.sh) on a free port, in a folder of
#     its own, with throwaway credentials;
#  2. `dvc push` this workspace's outputs to the team remote of .dvc/config;
#  3. a teammate: a fresh `git clone` of this workspace as it is (params.yaml
#     and dvc.lock included, as a temporary branch) + `dvc pull`; then
#     `dvc status` is clean, `dvc repro` runs nothing, every output of
#     dvc.lock is byte-identical to this workspace's, and every Parquet/Arrow
#     artifact passes artifact.Verify and its lineage chain (scripts/lineage);
#  4. experiments in that clone: a 2-point grid queued (`dvc exp run --queue`
#     + `dvc queue start`) and one `--temp` run, `dvc exp show` lists them;
#  5. two clones push at the same time into one empty prefix: every object
#     either needs is there afterwards and hashes to its name;
#  6. one object of the remote is overwritten through the S3 API with wrong
#     bytes of the same length: a pull into a third clone fails, twice, with
#     a message naming it, and checks out no bad bytes; deleting the object
#     and pushing it again repairs it;
#  7. the server is stopped by its PID.
#
# Its folder ($TMPDIR/crossrec-remote.*) is removed at the end, as are the
# temporary branch and the endpoint it set in .dvc/config.local (restored).
# The clones sit beside a link to data.root's folder, so ../shared/datasets
# resolves from them as from here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export AWS_EC2_METADATA_DISABLED=true
export DVC_NO_ANALYTICS=1

t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }
say() { echo "-- remote check: $*"; }
fail() { echo "remote check FAILED: $*" >&2; exit 1; }

dvc status | grep -q "Data and pipelines are up to date" || fail "run dvc repro first: dvc status is not clean here"

work=$(mktemp -d "${TMPDIR:-/tmp}/crossrec-remote.XXXXXX")
ref=crossrec-remote-check-$$
local_cfg=$repo/.dvc/config.local
[ -f "$local_cfg" ] && cp "$local_cfg" "$work/config.local.saved"
cleanup() {
  rc=$?
  cd "$repo"
  scripts/remote.sh stop "$work/server" >/dev/null 2>&1 || true
  for c in "$work"/clone*; do
    [ -d "$c/.dvc" ] && (cd "$c" && dvc queue stop --kill >/dev/null 2>&1 || true)
  done
  if [ -f "$work/config.local.saved" ]; then cp "$work/config.local.saved" "$local_cfg"; else rm -f "$local_cfg"; fi
  git update-ref -d "refs/heads/$ref" 2>/dev/null || true
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# A free S3 port whose companions (+1..+4, each +10000) are free too.
port=$(python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    p = random.randrange(20000, 50000)
    if all(free(q) for k in range(5) for q in (p + k, p + k + 10000)):
        print(p); break
PY
)
[ -n "$port" ] || fail "no free port"
endpoint=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=check$RANDOM$RANDOM
AWS_SECRET_ACCESS_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
export AWS_SECRET_ACCESS_KEY

# Every clone is $work/cloneN; data.root, if relative, must resolve from there
# as it does from here.
python3 - "$repo" "$work" <<'PY'
import os, sys, yaml
repo, work = sys.argv[1:]
root = yaml.safe_load(open(os.path.join(repo, "params.yaml")))["data"]["root"]
if not os.path.isabs(root):
    link = os.path.normpath(os.path.join(work, "clone", root))
    if not link.startswith(work + os.sep) or link.startswith(os.path.join(work, "clone") + os.sep):
        sys.exit("remote check: data.root %s does not resolve beside a clone; use an absolute path" % root)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.realpath(os.path.join(repo, root)), link)
PY

say "1. server"
s=$(date +%s.%N)
scripts/remote.sh start "$work/server" "$port"
pid=$(cat "$work/server/weed.pid")
say "started in $(elapsed "$s") s"
[ "$(dvc config remote.team.verify)" = true ] || fail ".dvc/config: remote team lacks verify = true"
dvc remote modify --local team endpointurl "$endpoint"

say "2. dvc push"
s=$(date +%s.%N)
push_out=$(dvc push 2>&1) || { echo "$push_out"; fail "dvc push"; }
push_s=$(elapsed "$s")
echo "$push_out" | tail -2
pushed=$(echo "$push_out" | grep -oE '^[0-9]+ files? pushed' | grep -oE '^[0-9]+' || echo 0)
cache_mib=$(du -sm .dvc/cache | cut -f1)
say "pushed $pushed objects in $push_s s (local cache $cache_mib MiB)"

# The workspace as it is (the CI-size params.yaml and dvc.lock included), as
# a branch a teammate clones; the index and HEAD are left alone.
export GIT_AUTHOR_NAME=remote-check GIT_AUTHOR_EMAIL=remote-check@localhost
export GIT_COMMITTER_NAME=remote-check GIT_COMMITTER_EMAIL=remote-check@localhost
tree=$(GIT_INDEX_FILE=$work/index bash -c 'git read-tree HEAD && git add -A && git write-tree')
git update-ref "refs/heads/$ref" "$(git commit-tree "$tree" -p HEAD -m "remote check: the workspace as pushed")"

clone() { # clone NAME: a teammate's fresh clone, pointed at the server
  git clone -q --branch "$ref" "$repo" "$work/$1"
  (cd "$work/$1" && dvc remote modify --local team endpointurl "$endpoint")
}

# The outputs dvc.lock records, and which of them DVC caches (the others are
# committed to git: metrics and plots).
outs=$(python3 - <<'PY'
import yaml
for stage in yaml.safe_load(open("dvc.lock"))["stages"].values():
    for o in stage.get("outs", []):
        print(o["path"])
PY
)
n_outs=$(echo "$outs" | wc -l)

say "3. a teammate's fresh clone + dvc pull"
s=$(date +%s.%N)
clone clone1
cd "$work/clone1"
pull_out=$(dvc pull 2>&1) || { echo "$pull_out"; fail "dvc pull"; }
pull_s=$(elapsed "$s")
echo "$pull_out" | tail -2
status=$(dvc status)
echo "$status"
echo "$status" | grep -q "Data and pipelines are up to date" || fail "dvc status not clean after pull"
s=$(date +%s.%N)
repro=$(dvc repro 2>&1)
repro_s=$(elapsed "$s")
if echo "$repro" | grep -q "Running stage"; then echo "$repro"; fail "dvc repro ran a stage after pull"; fi
stages=$(echo "$repro" | grep -c "didn't change, skipping" || true)
files=0
for o in $outs; do
  [ -e "$o" ] || fail "$o missing after pull"
  diff -r -q "$repo/$o" "$o" >/dev/null || fail "$o differs from the pushed workspace"
  files=$((files + $(find "$o" -type f | wc -l)))
done
pulled_mib=$(du -sm artifacts | cut -f1)
say "clone + pull $pull_s s ($pulled_mib MiB of artifacts); $n_outs outputs of dvc.lock ($files files) byte-identical; dvc status clean; dvc repro skipped $stages stages in $repro_s s"
go run ./scripts/lineage | tail -1

say "4. experiments: a queued grid of two points and a --temp run"
scripts/exp-workspace.sh
s=$(date +%s.%N)
dvc exp run --queue -S eda.top_share=0.1 -n grid-top-0.1
dvc exp run --queue -S eda.top_share=0.3 -n grid-top-0.3
dvc queue start
for ((i = 0; ; i++)); do
  q=$(dvc queue status 2>&1)
  echo "$q" | grep -qE "Queued|Running" || break
  [ $i -lt 600 ] || { echo "$q"; fail "the queue did not finish in 20 minutes"; }
  sleep 2
done
echo "$q"
if echo "$q" | grep -q Failed; then dvc queue logs grid-top-0.1 || true; fail "a queued experiment failed"; fi
queue_s=$(elapsed "$s")
s=$(date +%s.%N)
dvc exp run --temp -S eda.top_share=0.5 -n temp-top-0.5 >/dev/null
temp_s=$(elapsed "$s")
dvc exp show --no-pager --csv --drop '.*' --keep 'Experiment|rev|eda.top_share' | tr -d '\r' | tee "$work/exps.csv"
for n in grid-top-0.1 grid-top-0.3 temp-top-0.5; do
  grep -qE "^$n,[0-9a-f]+,${n##*-}\$" "$work/exps.csv" || fail "dvc exp show does not list $n with its eda.top_share"
done
dvc queue stop >/dev/null 2>&1 || true
say "queued grid of 2 ran in $queue_s s, the --temp run in $temp_s s; dvc exp show lists all three"

say "5. two clones push into one empty prefix at the same time"
clone clone2
cd "$work/clone2"
dvc pull -q
dvc exp run -S eda.top_share=0.4 >/dev/null # an output clone1 does not have
for c in clone1 clone2; do
  (cd "$work/$c" && dvc remote add --local race "s3://crossrec/race" &&
    dvc remote modify --local race endpointurl "$endpoint")
done
(cd "$work/clone1" && dvc push -r race >"$work/race1.log" 2>&1) &
p1=$!
(cd "$work/clone2" && dvc push -r race >"$work/race2.log" 2>&1) &
p2=$!
wait $p1 || { cat "$work/race1.log"; fail "clone1's concurrent push"; }
wait $p2 || { cat "$work/race2.log"; fail "clone2's concurrent push"; }
for c in clone1 clone2; do
  st=$(cd "$work/$c" && dvc status -c -r race 2>&1)
  echo "$st" | grep -q "Cache and remote 'race' are in sync" || { echo "$st"; fail "$c: objects missing from the remote after the concurrent pushes"; }
done
python3 - "$endpoint" <<'PY'
# Every object under race/ hashes to its name (md5 of its bytes).
import hashlib, sys, botocore.session
s3 = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
n = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crossrec", Prefix="race/"):
    for o in page.get("Contents", []):
        body = s3.get_object(Bucket="crossrec", Key=o["Key"])["Body"].read()
        name = "".join(o["Key"].split("/")[-2:]).removesuffix(".dir")
        if hashlib.md5(body).hexdigest() != name:
            sys.exit("remote check FAILED: %s does not hash to its name" % o["Key"])
        n += 1
print("-- remote check: both clones in sync with the prefix; its %d objects each hash to their name" % n)
PY

say "6. a corrupted object is refused"
cd "$repo"
victim=artifacts/clean/interactions.parquet
md5=$(python3 - "$victim" <<'PY'
import sys, yaml
for stage in yaml.safe_load(open("dvc.lock"))["stages"].values():
    for o in stage.get("outs", []):
        if o["path"] == sys.argv[1]:
            print(o["md5"])
PY
)
[ -n "$md5" ] || fail "$victim is not an output of dvc.lock"
python3 - "$endpoint" "cache/files/md5/${md5:0:2}/${md5:2}" <<'PY'
# Same length, wrong bytes: every byte of the middle 4 KiB flipped.
import sys, botocore.session
s3 = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
body = bytearray(s3.get_object(Bucket="crossrec", Key=sys.argv[2])["Body"].read())
mid = len(body) // 2
for i in range(mid, min(mid + 4096, len(body))):
    body[i] ^= 0xFF
s3.put_object(Bucket="crossrec", Key=sys.argv[2], Body=bytes(body))
print("-- remote check: overwrote s3://crossrec/%s (%d bytes) through the S3 API" % (sys.argv[2], len(body)))
PY
clone clone3
cd "$work/clone3"
# The second try with -v: DVC names the reason only at debug level.
for try in 1 2; do
  flag=; [ $try = 2 ] && flag=-v
  if out=$(dvc pull $flag 2>&1); then echo "$out"; fail "dvc pull accepted a corrupted object (try $try)"; fi
  echo "$out" | grep -v DEBUG | tail -4
  echo "$out" | grep -q "Checkout failed for following targets" || { echo "$out"; fail "the pull's failure is not DVC's checkout failure"; }
  echo "$out" | grep -q "^$victim$" || { echo "$out"; fail "the pull's failure does not name $victim"; }
  if [ $try = 2 ]; then
    echo "$out" | grep "corrupted cache file" || { echo "$out" | tail -40; fail "dvc pull -v does not say the object is corrupted"; }
  fi
  if [ -e "$victim" ] && ! cmp -s "$victim" "$repo/$victim"; then fail "bad bytes checked out at $victim"; fi
  [ ! -e ".dvc/cache/files/md5/${md5:0:2}/${md5:2}" ] || fail "the bad object entered clone3's cache"
done
good=0
for o in $outs; do
  [ "$o" = "$victim" ] && continue
  if [ -e "$o" ] && diff -r -q "$repo/$o" "$o" >/dev/null; then good=$((good + 1)); fi
done
say "pull refused twice (exit 1), $victim not checked out, $good other outputs checked out intact"
# The repair docs/remote.md gives: delete the bad object, push it again from a
# workspace that has the good file, pull.
python3 - "$endpoint" "cache/files/md5/${md5:0:2}/${md5:2}" <<'PY'
import sys, botocore.session
s3 = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.delete_object(Bucket="crossrec", Key=sys.argv[2])
PY
(cd "$repo" && dvc push -q)
dvc pull -q || fail "the pull after the repair"
cmp -s "$victim" "$repo/$victim" || fail "$victim differs after the repair"
dvc status | grep -q "Data and pipelines are up to date" || fail "dvc status not clean after the repair"
say "repaired (object deleted, pushed again): the pull then succeeds and dvc status is clean"

say "7. stop the server by its PID"
cd "$repo"
scripts/remote.sh stop "$work/server"
! kill -0 "$pid" 2>/dev/null || fail "server PID $pid still alive"
say "passed in $(elapsed "$t0") s: push $push_s s ($pushed objects), clone + pull $pull_s s ($pulled_mib MiB), $n_outs outputs of dvc.lock, no-op repro $repro_s s"
