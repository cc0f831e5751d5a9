#!/usr/bin/env bash
# Whole-process benchmark, one hyperfine run, one generated file in page cache:
# mtastat (default report, without journeys, summary, --parquet, 1 thread,
# and an Exim log of the same size) beside rg -c dsn=, the
# grep | sort | uniq -c pipeline, cat > /dev/null and pflogsumm on a slice.
# The ratios printed are issue 16's targets.
# Prints medians and ratios, then peak anonymous memory (RssAnon) for a 1 GB
# and a 4 GB log, start-up on a 1 MB log, and a gzip -1 log against zcat.
#
#   scripts/bench.sh                 # 2G Postfix log
#   SIZE=512M FORMAT=exim RUNS=5 scripts/bench.sh
#
# Installs hyperfine, ripgrep and pflogsumm with apt-get when they are missing
# and this is root. Generated files go to target/bench/ (kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-2G}
FORMAT=${FORMAT:-postfix}
RUNS=${RUNS:-5}
SLICE=${SLICE:-32M}
MEMORY=${MEMORY:-1}
dir=target/bench
mkdir -p "$dir"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v rg >/dev/null || need+=(ripgrep)
command -v pflogsumm >/dev/null || need+=(pflogsumm)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v hyperfine >/dev/null || { echo "bench.sh: hyperfine is needed" >&2; exit 2; }

cargo build --release --quiet
bin=target/release/mtastat
gen=target/release/mtastat-gen

log="$dir/$FORMAT-$SIZE.log"
# Generated logs run from late November into December without a year: an
# mtime after their last line makes mtastat read them in order (with the
# generation time as mtime, December lines would read as last year's). A
# time this far ahead is no live file (issue 16): the logs are mapped, as a
# settled mail.log is.
dated() { touch -d 2027-01-31T00:00:00Z "$@"; }
[ -f "$log" ] || "$gen" --format "$FORMAT" --size "$SIZE" --out "$log"
dated "$log"
slice="$dir/$FORMAT-$SLICE.slice.log"
[ -f "$slice" ] || head -c "$(numfmt --from=iec "$SLICE")" "$log" | sed '$d' > "$slice"
cat "$log" > /dev/null   # into the page cache

# What rg counts: Postfix dsn= fields; Exim has none, so its delivery arrows.
needle='dsn='
[ "$FORMAT" = exim ] && needle=' => '
if command -v rg >/dev/null; then count="rg -c '$needle' $log"; else count="grep -c '$needle' $log"; fi
cmds=(
  "$bin $log"
  "$bin --no-journeys $log"
  "$bin summary $log"
  "$bin --parquet $dir/summary.parquet $log"
  "RAYON_NUM_THREADS=1 $bin $log"
  "$count"
  "LC_ALL=C grep -oE 'dsn=[0-9]\.[0-9]+\.[0-9]+' $log | sort | uniq -c"
  "cat $log"
)
[ "$FORMAT" = postfix ] && command -v pflogsumm >/dev/null && cmds+=("pflogsumm $slice")
# An Exim mainlog of the same size, in the same run: its GB/s against the
# Postfix log's (issue 16: within 20 %).
if [ "$FORMAT" = postfix ]; then
  exim="$dir/exim-$SIZE.log"
  [ -f "$exim" ] || "$gen" --format exim --size "$SIZE" --out "$exim"
  dated "$exim"
  cat "$exim" > /dev/null
  cmds+=("$bin $exim")
fi

echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "== $log: $(du -h "$log" | cut -f1), $(wc -l < "$log") lines; pflogsumm runs on a $SLICE slice"
hyperfine --style basic --warmup 1 --runs "$RUNS" --ignore-failure --export-json "$dir/hyperfine.json" \
  --output=null "${cmds[@]}" >/dev/null

python3 - "$dir/hyperfine.json" "$log" "$slice" <<'EOF'
import json, os, sys
results = json.load(open(sys.argv[1]))["results"]
size, slice_size = os.path.getsize(sys.argv[2]), os.path.getsize(sys.argv[3])
med = {r["command"]: r["median"] for r in results}
def find(prefix):
    return next((v for k, v in med.items() if k.startswith(prefix)), None)
base = find("target/release/mtastat " + sys.argv[2]) or find("target/release/mtastat ")
print(f"{'command':<72} {'median':>10} {'GB/s':>7} {'vs mtastat':>11}")
for r in results:
    m = r["median"]
    name = r["command"]
    scaled = m * size / slice_size if name.startswith("pflogsumm") else m
    gbs = size / scaled / 1e9
    note = " (slice, scaled to the file)" if name.startswith("pflogsumm") else ""
    print(f"{name[:72]:<72} {scaled:>9.3f}s {gbs:>7.2f} {scaled / base:>10.2f}x{note}")
mt = base
one = find("RAYON_NUM_THREADS=1")
rg = find("rg -c") or find("grep -c")
cat = find("cat ")
pipe = find("LC_ALL=C grep")
nj = find("target/release/mtastat --no-journeys")
print()
# Issue 16's targets, each against a baseline measured in this same run.
print(f"grep|sort|uniq / mtastat      {pipe / mt:6.2f}   (target >= 2; the default report, journeys included)")
print(f"mtastat / rg -c dsn=          {mt / rg:6.2f}   (stretch <= 1.5)")
if nj:
    print(f"--no-journeys / rg -c dsn=    {nj / rg:6.2f}   (target <= 2.5)")
print(f"mtastat / cat                 {mt / cat:6.2f}")
pf = find("pflogsumm")
if pf:
    print(f"pflogsumm (scaled) / mtastat  {pf * size / slice_size / mt:6.1f}   (target >= 60)")
print(f"1 thread / 2 threads          {one / mt:6.2f}   (target >= 1.8)")
ex = next((r for r in results if "/exim-" in r["command"]), None)
if ex:
    ex_gbs = os.path.getsize(ex["command"].split()[-1]) / ex["median"] / 1e9
    pf_gbs = size / mt / 1e9
    print(f"Exim GB/s / Postfix GB/s      {ex_gbs / pf_gbs:6.2f}   (target >= 0.8)")
EOF

peak_anon() { # peak RssAnon (kB) of a command, sampled every 5 ms
  "$@" > /dev/null & local pid=$! peak=0 v
  while kill -0 "$pid" 2>/dev/null; do
    v=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.005
  done
  wait "$pid" || true
  echo "$peak"
}
if [ "$MEMORY" = 1 ]; then
  for s in 1G 4G; do
    f="$dir/$FORMAT-$s.log"
    [ -f "$f" ] || "$gen" --format "$FORMAT" --size "$s" --out "$f"
    dated "$f"
    cat "$f" > /dev/null
    echo "peak RssAnon, $s log: $(( $(peak_anon "$bin" "$f") / 1024 )) MiB (target <= 128 MiB, 1G and 4G within 10 %)"
  done
fi
small="$dir/$FORMAT-1M.log"
[ -f "$small" ] || "$gen" --format "$FORMAT" --size 1M --out "$small"
dated "$small"
hyperfine --style basic --warmup 3 --runs 20 --export-json "$dir/small.json" --output=null "$bin $small" >/dev/null
python3 -c "import json; r=json.load(open('$dir/small.json'))['results'][0]; print(f\"1 MB log: median {r['median']*1000:.1f} ms (target < 50 ms)\")"

# Compressed input: mtastat on a gzip'd log against zcat > /dev/null (the
# decoder alone) and mtastat on the same log uncompressed; same run.
if [ "${GZIP_BENCH:-1}" = 1 ]; then
  GZ_SIZE=${GZ_SIZE:-200M}
  plain="$dir/$FORMAT-$GZ_SIZE.log"
  [ -f "$plain" ] || head -c "$(numfmt --from=iec "$GZ_SIZE")" "$log" | sed '$d' > "$plain"
  [ -f "$plain.gz" ] || gzip -1 -c "$plain" > "$plain.gz"
  dated "$plain" "$plain.gz"
  cat "$plain" "$plain.gz" > /dev/null
  hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$dir/gzip.json" --output=null \
    "$bin $plain.gz" "zcat $plain.gz" "$bin $plain" >/dev/null
  python3 - "$dir/gzip.json" "$plain" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))["results"]
size = os.path.getsize(sys.argv[2])
for x in r:
    print(f"{x['command'][:60]:<60} {x['median']*1000:8.0f} ms  {size / x['median'] / 1e9:5.2f} GB/s (uncompressed bytes)")
print(f"mtastat .gz / zcat > /dev/null   {r[0]['median'] / r[1]['median']:5.2f}   (<= 1.0: decoder-bound)")
PY
fi
