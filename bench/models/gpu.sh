#!/usr/bin/env bash
# One-shot GPU run of the model benchmark (bench/models), for a machine with
# an NVIDIA GPU, python3 with torch and JAX's CUDA plugin, and no Go
# toolchain: GoMLX runs on XLA CUDA through the PJRT plugin JAX ships (see
# shared/docs/gomlx.md, "GPU through an installed JAX") and the PyTorch peer
# runs on cuda. With --cpu, the pure-Go backend is then timed against the
# peer on the CPU, on the same machine.
#
# Build the binary first, on any x86-64 Linux machine with Go:
#   go build -o bench/models/bench-models.bin ./bench/models
# then, from the repository root on the GPU machine:
#   bench/models/gpu.sh [--cpu] [BINARY]
#
# Writes models-gpu.json (and models-cpu.json) and gpu.log to $OUT
# (bench/out when unset). Sizes: ROUNDS/ADAPTS for the GPU run (20/200),
# CPU_ROUNDS/CPU_ADAPTS for the CPU run (10/50); each run is cut off after
# GPU_TIMEOUT/CPU_TIMEOUT seconds (180/60) so the script cannot hang.
set -u -o pipefail

cpu=0
bin=bench/models/bench-models.bin
for arg in "$@"; do
	case $arg in
	--cpu) cpu=1 ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	-*) echo "gpu.sh: unknown option $arg" >&2; exit 2 ;;
	*) bin=$arg ;;
	esac
done

cd "$(dirname "$0")/../.." || exit 2 # the peer script is found relative to the repository root
OUT=${OUT:-bench/out}
mkdir -p "$OUT" || exit 2
exec > >(tee "$OUT/gpu.log") 2>&1 # everything below is also logged
start=$SECONDS

die() {
	echo "gpu.sh: $*" >&2
	exit 1
}

echo "== gpu.sh $(date -u +%FT%TZ) on $(uname -n) ($(uname -m), $(nproc) CPUs)"
[ -f "$bin" ] || die "no benchmark binary at $bin: build it with 'go build -o bench/models/bench-models.bin ./bench/models' and carry it"
[ -x "$bin" ] || chmod +x "$bin" 2>/dev/null || die "$bin is not executable"
command -v python3 >/dev/null || die "python3 not found: it finds the JAX plugin and runs the PyTorch peer"

# No GPU, no point: stop here rather than let GoMLX fall back to pure Go.
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no NVIDIA GPU here; for a CPU run use GOMLX_BACKEND=go $bin"
timeout 15 nvidia-smi -L || die "nvidia-smi -L failed: no usable NVIDIA GPU here"
timeout 15 nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader

# JAX's CUDA PJRT plugin: PJRT_CUDA_PLUGIN if given, else the package's own
# folder (find_spec does not import JAX), else a glob over site-packages.
plugin=${PJRT_CUDA_PLUGIN:-$(timeout 30 python3 - <<'EOF'
import glob, importlib.util, os, site, sys
try:
    spec = importlib.util.find_spec("jax_plugins.xla_cuda13")
    if spec and spec.origin:
        p = os.path.join(os.path.dirname(spec.origin), "xla_cuda_plugin.so")
        if os.path.exists(p):
            print(p)
            sys.exit()
except Exception:
    pass
for d in site.getsitepackages() + [site.getusersitepackages()]:
    for p in sorted(glob.glob(os.path.join(d, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so")), reverse=True):
        print(p)
        sys.exit()
EOF
)}
[ -n "$plugin" ] && [ -f "$plugin" ] || die "JAX's CUDA PJRT plugin (jax_plugins/xla_cuda13/xla_cuda_plugin.so) not found; set PJRT_CUDA_PLUGIN=/path/to/it"
plugin=$(readlink -f "$plugin")
sp=$(dirname "$(dirname "$(dirname "$plugin")")") # .../site-packages
echo "plugin $plugin"

# GoMLX looks plugins up by name as pjrt_c_api_<name>_plugin.so.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
ln -s "$plugin" "$tmp/pjrt_c_api_cuda_plugin.so"

# The PyTorch peer keeps the machine's own library path: the one below is
# for the XLA plugin, and torch finds its own CUDA libraries.
printf '#!/bin/sh\nexport LD_LIBRARY_PATH=%q\nexec %q "$@"\n' "${LD_LIBRARY_PATH-}" "$(command -v python3)" >"$tmp/python3"
chmod +x "$tmp/python3"

# Loaded through a link, the plugin may not find the NVIDIA libraries beside
# it by its RPATH ($ORIGIN is then the link's folder): list them. go-xla would otherwise set XLA_FLAGS to a path
# of its developers' machine; GOPJRT_CUDA_CHECKS=0 stops that, and the
# plugin must never be downloaded (there is no network).
for d in "$sp"/nvidia/*/lib; do
	[ -d "$d" ] && LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
cudadir=$sp/nvidia/cu13
[ -d "$cudadir" ] || cudadir=$(ls -d "$sp"/nvidia/cu* 2>/dev/null | tail -1)
[ -n "$cudadir" ] && XLA_FLAGS="${XLA_FLAGS:+$XLA_FLAGS }--xla_gpu_cuda_data_dir=$cudadir"
export LD_LIBRARY_PATH XLA_FLAGS="${XLA_FLAGS-}" PJRT_PLUGIN_LIBRARY_PATH=$tmp
export GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
echo "XLA_FLAGS=$XLA_FLAGS"
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH-}"

# -strict: if XLA CUDA cannot be built, the bench stops at once with exit
# status 3 instead of timing the pure-Go fallback for minutes.
gpu_run() {
	GOMLX_BACKEND=$1 timeout "${GPU_TIMEOUT:-180}" "$bin" -strict -device cuda -python "$tmp/python3" \
		-rounds "${ROUNDS:-20}" -adapts "${ADAPTS:-200}" -out "$OUT/models-gpu.json"
}
echo "== GoMLX on xla:cuda, PyTorch peer on cuda"
gpu_run xla:cuda
rc=$?
if [ $rc -eq 3 ]; then
	# Loaded by its real path the plugin finds its libraries by RPATH.
	echo "== xla:cuda did not load; again with the plugin's own path"
	gpu_run "xla:$plugin"
	rc=$?
fi
[ $rc -eq 124 ] && echo "gpu.sh: the GPU run passed GPU_TIMEOUT=${GPU_TIMEOUT:-180}s and was stopped" >&2
[ $rc -ne 0 ] && echo "gpu.sh: the GPU run failed (exit $rc)" >&2

if [ $cpu -eq 1 ]; then
	echo "== GoMLX on the pure-Go backend, PyTorch peer on the CPU ($(nproc) cores)"
	GOMLX_BACKEND=go timeout "${CPU_TIMEOUT:-60}" "$bin" -strict -device cpu -python "$tmp/python3" \
		-rounds "${CPU_ROUNDS:-10}" -adapts "${CPU_ADAPTS:-50}" -out "$OUT/models-cpu.json" ||
		echo "gpu.sh: the CPU run failed (exit $?)" >&2
fi

echo "== done in $((SECONDS - start)) s; results in $OUT:" $(cd "$OUT" && ls)
exit $rc
