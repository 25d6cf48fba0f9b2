#!/usr/bin/env bash
# Installs the GoNB Jupyter kernel and executes the notebooks headless.
#
#   notebooks/run.sh                    install, then execute every notebooks/*.ipynb
#   notebooks/run.sh --install-only     install the kernel and its tools, execute nothing
#   notebooks/run.sh --out DIR [NB...]  executed copies go to DIR (default notebooks/out)
#   notebooks/run.sh --with-gopls ...   also install gopls (completion in jupyter lab)
#
# Tools: gonb and goimports at the versions pinned by go.mod's `tool`
# directives, built with `go install tool` into $(go env GOPATH)/bin (or
# $GOBIN). gopls is optional (headless runs do not use it) and not a `tool`
# directive: gopls v0.23.0 needs golang.org/x/tools v0.48 at most, while the
# module's golang.org/x/text v0.44.0 requires x/tools v0.52.0, so it is
# installed on its own with --with-gopls. Jupyter (nbconvert) comes from
# requirements.txt. The kernelspec (`jupyter kernelspec list` shows gonb)
# puts that folder and the Go toolchain on the kernel's PATH, so `jupyter
# lab` finds them too.
#
# The notebooks read the pipeline's artifacts at the repository root: run
# `dvc repro` (or `go run ./dag/cmd/dag run`) first. Exits non-zero when a
# cell of any notebook fails (compile error, panic, os.Exit); the other
# notebooks still run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

install_only=false
with_gopls=false
out="$root/notebooks/out"
notebooks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --install-only) install_only=true ;;
    --with-gopls) with_gopls=true ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *.ipynb) notebooks+=("$1") ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v jupyter >/dev/null || ! python3 -c 'import nbconvert, nbclient' 2>/dev/null; then
  echo "run.sh: jupyter/nbconvert not found: run python3 -m pip install -r requirements.txt" >&2
  exit 2
fi

# Tools, at go.mod's versions.
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
GOBIN="$gobin" go install tool
if $with_gopls; then
  (cd "${TMPDIR:-/tmp}" && GOFLAGS= GOBIN="$gobin" go install golang.org/x/tools/gopls@v0.23.0)
fi
export PATH="$gobin:$(go env GOROOT)/bin:$PATH"

# Kernelspec. gonb records its own path; the PATH entry lets the kernel find
# go and goimports however jupyter is started.
gonb --install --raw_error --force_deps >/dev/null 2>&1 || gonb --install --raw_error --force_deps
spec=$(jupyter kernelspec list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kernelspecs"]["gonb"]["resource_dir"])') || {
  echo "run.sh: gonb missing from jupyter kernelspec list after install" >&2; exit 1; }
python3 - "$spec/kernel.json" "$gobin:$(go env GOROOT)/bin" <<'PY'
import json, sys
path, extra = sys.argv[1], sys.argv[2]
with open(path) as f:
    spec = json.load(f)
spec.setdefault("env", {})["PATH"] = extra + ":${PATH}"
with open(path, "w") as f:
    json.dump(spec, f, indent=1)
PY
echo "gonb kernel: $spec ($(gonb -V 2>&1 | head -1))"
$install_only && exit 0

if [ ${#notebooks[@]} -eq 0 ]; then
  notebooks=(notebooks/*.ipynb)
fi
mkdir -p "$out"
failed=()
for nb in "${notebooks[@]}"; do
  start=$(date +%s)
  log="$out/$(basename "$nb" .ipynb).log"
  # The kernel logs every step (klog I/W lines); they go to the log file.
  if jupyter nbconvert --to notebook --execute \
      --ExecutePreprocessor.kernel_name=gonb \
      --ExecutePreprocessor.timeout=1800 \
      --output-dir "$out" "$nb" >"$log" 2>&1; then
    echo "ok     $nb in $(( $(date +%s) - start ))s -> $out/$(basename "$nb")"
  else
    echo "FAILED $nb after $(( $(date +%s) - start ))s (full log: $log):" >&2
    grep -v -E '^[IW][0-9]{4} ' "$log" | grep -v -E '^(goroutine |github.com/janpfeifer|main\.|runtime\.|\s+/)' | tail -n 60 >&2
    failed+=("$nb")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: failing notebooks: ${failed[*]}" >&2
  exit 1
fi
