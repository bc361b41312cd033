#!/bin/sh
# bench/run.sh: `make bench`.  Times one epoch of the book's Fashion-MNIST
# run with lunet (default: the batch split across 2 threads with a 1-thread
# GEMM each; LUNET_SPLIT=0: one thread; LUNET_SPLIT=blas: BLAS threads), the NumPy
# reference, the GEMM floor (the step's 8 products only: OpenBLAS alone with 1
# and 2 threads, and lunet's own ln_gemm; the BLAS=none products also as on
# CPUs without AVX-512 or AVX2, against OpenBLAS's Haswell kernels), counts
# allocations of extra epochs, peak RSS of examples/fashion_mnist.lua, and
# load times (IDX, and a PNG folder vs the book's os.listdir + cv2.imread), and the
# networks of bench/networks.lua against the FMA peak (bench/fma_peak.c).
# Env: LUNET_CPATH (package.cpath entry for lunet/core.so), LUA, EPOCHS,
# ROUNDS (interleaved rounds of lunet default / NumPy / 2-thread floor, 3).
set -e
LUA=${LUA:-lua5.4}
PY=/usr/bin/python3
EPOCHS=${EPOCHS:-3}
export LUNET_CPATH=${LUNET_CPATH:-./?.so}
SODIR=$(dirname "$LUNET_CPATH")
TMP=${TMPDIR:-/tmp}/lunet-bench
mkdir -p "$TMP"
val() { sed -n "s/^$1 //p" "$2" | head -1; }
best() { sed -n "s/^$1 //p" "$2" | sort -n | head -1; }

BLAS=$($LUA -e "package.path='./lua/?.lua;./lua/?/init.lua;'..package.path
  package.cpath=os.getenv('LUNET_CPATH')..';'..package.cpath
  print(require('lunet').config().blas)")
echo "== lunet bench ($BLAS, $(nproc) cores, $EPOCHS epochs each, best epoch reported)"

# GEMM floor through src/kernels/gemm.c with the same BLAS
if [ "$BLAS" = "OpenBLAS" ]; then
  BF="-DLUNET_USE_CBLAS $(pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu)"
  BL="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"
else BF=""; BL=""; fi
cc -O2 -fno-math-errno -std=c99 -D_POSIX_C_SOURCE=200809L $BF -o "$TMP/gemm_floor" bench/gemm_floor.c src/kernels/gemm.c src/kernels/cpu.c $BL
# and the portable products (BLAS=none), timed as on CPUs without AVX-512
# (LUNET_CPU=avx2: its AVX2 tiles) and without AVX2 (generic C)
cc -O2 -fno-math-errno -std=c99 -D_POSIX_C_SOURCE=200809L -o "$TMP/gemm_floor_none" bench/gemm_floor.c \
  src/kernels/gemm.c src/kernels/cpu.c
cc -O2 -shared -fPIC -o "$TMP/alloc_count.so" bench/alloc_count.c

# the BLAS alone (1 and 2 threads), and lunet's ln_gemm (its AVX-512 tiles, 1 thread)
"$TMP/gemm_floor" 1 "$EPOCHS" blas > "$TMP/g1"
"$TMP/gemm_floor" 1 "$EPOCHS" > "$TMP/gl"
"$TMP/gemm_floor_none" 1 "$EPOCHS" > "$TMP/gpn"
LUNET_CPU=avx2 "$TMP/gemm_floor_none" 1 "$EPOCHS" > "$TMP/gp2"
# OpenBLAS's own kernels for such a CPU (its DYNAMIC_ARCH build takes the core type from the environment)
OPENBLAS_CORETYPE=Haswell "$TMP/gemm_floor" 1 "$EPOCHS" blas > "$TMP/gh"
LUNET_CPU=generic "$TMP/gemm_floor_none" 1 "$EPOCHS" > "$TMP/gp0"
LUNET_SPLIT=0 $LUA bench/lunet_epoch.lua "$EPOCHS" > "$TMP/l_one"
LUNET_SPLIT=blas $LUA bench/lunet_epoch.lua "$EPOCHS" > "$TMP/l_b2"
# the three numbers the targets compare, in ROUNDS interleaved rounds (this
# machine's speed drifts by 10% over minutes; each keeps its best epoch)
: > "$TMP/g2"; : > "$TMP/l_def"; : > "$TMP/np"
for r in $(seq "${ROUNDS:-3}"); do
  "$TMP/gemm_floor" 2 "$EPOCHS" blas >> "$TMP/g2"
  $LUA bench/lunet_epoch.lua "$EPOCHS" >> "$TMP/l_def"
  $PY bench/numpy_reference.py "$EPOCHS" >> "$TMP/np"
done

# allocations: 1 vs 3 epochs of the same script
LD_PRELOAD="$TMP/alloc_count.so" $LUA bench/lunet_epoch.lua 1 2> "$TMP/a1" > /dev/null
LD_PRELOAD="$TMP/alloc_count.so" $LUA bench/lunet_epoch.lua 3 2> "$TMP/a3" > /dev/null

# peak RSS of the example (1 epoch; the peak is reached before training ends)
( cd "$SODIR" && LUA_PATH="$OLDPWD/lua/?.lua;$OLDPWD/lua/?/init.lua;;" /usr/bin/time -f "rss_kb %M" \
  $LUA "$OLDPWD/examples/fashion_mnist.lua" --epochs 1 --verbose 0 --out "$TMP/fm.safetensors" ) \
  > "$TMP/ex.out" 2> "$TMP/rss"

# PNG folder (written once) with lunet vs the book's loader
$LUA bench/load_png.lua "$TMP/fashion_png" > "$TMP/png"
if $PY -c "import cv2" 2>/dev/null; then $PY bench/load_png_cv2.py "$TMP/fashion_png" > "$TMP/cv2"
else echo "load_png_cv2 nan (apt-get install python3-opencv)" > "$TMP/cv2"; fi

# peak RSS of X = (X - 127.5) / 127.5 after a shuffle (the collector's pace)
/usr/bin/time -f "rss_kb %M" $LUA bench/memory_natural.lua 2> "$TMP/rss_nat" > /dev/null

# CSV: 100,000 rows x 10 columns through lunet.data.csv (libcsv)
$LUA bench/load_csv.lua "$TMP" > "$TMP/csv"

LDEF=$(best epoch_best "$TMP/l_def"); LB1=$(val epoch_best "$TMP/l_one"); LB2=$(val epoch_best "$TMP/l_b2")
NP=$(best epoch_best "$TMP/np"); G1=$(val gemm_floor "$TMP/g1"); G2=$(best gemm_floor "$TMP/g2")
GL=$(val gemm_floor "$TMP/gl"); GP2=$(val gemm_floor "$TMP/gp2"); GP0=$(val gemm_floor "$TMP/gp0")
GH=$(val gemm_floor "$TMP/gh"); GPN=$(val gemm_floor "$TMP/gpn")
A1=$(val allocs "$TMP/a1"); A3=$(val allocs "$TMP/a3")
awk -v ls="$LDEF" -v lb1="$LB1" -v lb2="$LB2" -v np="$NP" -v g1="$G1" -v g2="$G2" -v gl="$GL" -v gp2="$GP2" -v gp0="$GP0" -v gh="$GH" -v gpn="$GPN" \
    -v gf1="$(val gemm_gflops "$TMP/g1")" -v a1="$A1" -v a3="$A3" -v rss="$(val rss_kb "$TMP/rss")" \
    -v li="$(cat "$TMP/l_def" "$TMP/l_one" "$TMP/l_b2" | sed -n 's/^load_idx //p' | sort -n | head -1)" -v lp="$(val load_png "$TMP/png")" -v lc="$(val load_png_cv2 "$TMP/cv2")" -v lcsv="$(val load_csv "$TMP/csv")" -v rssnat="$(val rss_kb "$TMP/rss_nat")" \
    -v acc="$(val final_acc "$TMP/l_def")" -v npacc="$(val final_acc "$TMP/np")" -v blas="$BLAS" \
    -v thr="$(val threads "$TMP/l_def")" 'BEGIN {
  g = g1 < g2 ? g1 : g2
  flop = 60000 * 2 * (2 * (784*128 + 128*128 + 128*10) + 128*128 + 128*10)
  printf "%-46s %10s\n", "measure", "value"
  printf "%-46s %10.3f\n", "lunet s/epoch, default (batch on 2 threads)", ls
  printf "%-46s %10.3f\n", "lunet s/epoch, LUNET_SPLIT=0 (1 thread)", lb1
  printf "%-46s %10.3f\n", "lunet s/epoch, LUNET_SPLIT=blas (BLAS threads)", lb2
  printf "%-46s %10.3f\n", "NumPy reference s/epoch", np
  printf "%-46s %10.3f\n", "GEMM floor s/epoch, " blas " 1 thread", g1
  printf "%-46s %10.3f\n", "GEMM floor s/epoch, " blas " 2 threads", g2
  printf "%-46s %10.3f\n", "GEMM floor s/epoch, lunet kernels 1 thread", gl
  printf "%-46s %10.3f\n", "BLAS=none products, 1 thread, this CPU", gpn
  printf "%-46s %10.3f\n", "BLAS=none products, 1 thread, LUNET_CPU=avx2", gp2
  printf "%-46s %10.3f\n", "BLAS=none products, 1 thread, LUNET_CPU=generic", gp0
  printf "%-46s %10.3f\n", "GEMM floor, " blas " 1 thread, Haswell kernels", gh
  printf "%-46s %10.2f   (target <= 3)\n", "BLAS=none / " blas " 1 thread, this CPU", gpn / g1
  printf "%-46s %10.2f   (target <= 3)\n", "the same as on AVX2 CPUs (avx2 / Haswell)", gp2 / gh
  printf "%-46s %10.2f\n", "BLAS=none avx2 / " blas " 1 thread (AVX-512)", gp2 / g1
  printf "%-46s %10.3f   (target <= 0.25)\n", "lunet default / NumPy", ls / np
  printf "%-46s %10.3f   (aim <= 1.0)\n", "lunet default / best " blas " floor", ls / g
  printf "%-46s %10.3f\n", "lunet default / (lunet kernels floor / 2)", ls / (gl / 2)
  printf "%-46s %10.0f\n", "lunet samples/s", 60000 / ls
  printf "%-46s %10.1f\n", "lunet GFLOP/s (8 products)", flop / ls * 1e-9
  printf "%-46s %10.1f\n", "GEMM floor GFLOP/s, " blas " 1 thread", gf1
  printf "%-46s %10s\n", "train accuracy after epochs, lunet / NumPy", acc " / " npacc
  printf "%-46s %10.1f   (469 steps; target 0)\n", "allocations per extra epoch", (a3 - a1) / 2
  printf "%-46s %10.0f   (target <= 300)\n", "peak RSS examples/fashion_mnist.lua, MB", rss / 1024
  printf "%-46s %10.3f   (target <= 0.5)\n", "load lunet.data.fashion_mnist() IDX.gz, s (best)", li
  printf "%-46s %10.3f\n", "load 70,000 PNGs, lunet, s (best of 3)", lp
  printf "%-46s %10.3f\n", "load 70,000 PNGs, book (listdir+cv2.imread), s", lc
  if (lc + 0 > 0) printf "%-46s %10.3f   (target <= 1)\n", "PNG load lunet / book (both best of 3)", lp / lc
  printf "%-46s %10.3f   (target <= 0.2)\n", "lunet.data.csv 100,000 x 10, s (best of 3)", lcsv
  printf "%-46s %10.0f   (target <= 620)\n", "peak RSS X = (X - 127.5) / 127.5 after shuffle, MB", rssnat / 1024
  printf "%-46s %10s\n", "BLAS", blas
  printf "%-46s %10s\n", "lunet threads (lunet.config().threads)", thr
}'

# every kind of network users build (issue 14): GFLOP/s against the book's
# network and against the FMA peak measured now on all cores
if grep -q avx512f /proc/cpuinfo; then FMAF="-mavx512f"; else FMAF="-mavx2 -mfma"; fi
cc -O3 $FMAF -pthread -o "$TMP/fma_peak" bench/fma_peak.c
PEAK=$("$TMP/fma_peak" "$(nproc)" 1 | sed -n 's/^fma_peak_gflops //p')
echo
echo "== networks ($(nproc) cores, FMA peak measured: $PEAK GFLOP/s; target: every built-in >= 0.8 of the book's"
echo "   GFLOP/s, the Lua layer within 1.5x the time of its built-in twin)"
$LUA bench/networks.lua "${NET_EPOCHS:-2}" "$PEAK" | grep -v '^net[0-9]'
# the convolutional network (issue 16): PyTorch's epoch first, then lunet's
echo
echo "== CNN of examples/fashion_cnn.lua (FMA peak $PEAK GFLOP/s; target: Conv2D(32 -> 64) >= 0.40 of it,"
echo "   an epoch <= 0.5x PyTorch's with torch.set_num_threads(2))"
if $PY -c "import torch" 2>/dev/null; then
  TORCH=$($PY bench/torch_cnn.py 60000 2 | tee "$TMP/torch" | sed -n 's/.*: \([0-9.]*\) s per epoch.*/\1/p')
  sed 's/^/  /' "$TMP/torch"
else TORCH=""; echo "  (python3-torch missing: apt-get install python3-torch)"; fi
$LUA bench/cnn.lua "$PEAK" "$TORCH" | sed 's/^/  /'
# one job:step(1) of model:trainer on the book's network (target: under 1 ms)
echo
$LUA bench/trainer_step.lua | sed 's/^/  /'
# allocations per training step after a batch size's first: 1 against 3
# epochs of 50 steps each (6,400 rows), for every built-in network
echo
printf "%-10s %s\n" "network" "allocations per extra epoch of 50 steps (target 0)"
for i in $(seq 1 9); do
  LD_PRELOAD="$TMP/alloc_count.so" $LUA bench/networks.lua 1 "" "$i" 6400 2> "$TMP/na1" > /dev/null
  LD_PRELOAD="$TMP/alloc_count.so" $LUA bench/networks.lua 3 "" "$i" 6400 2> "$TMP/na3" > /dev/null
  printf "%-10s %s\n" "$i" "$(( ($(val allocs "$TMP/na3") - $(val allocs "$TMP/na1")) / 2 ))"
done
