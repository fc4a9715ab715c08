#!/usr/bin/env bash
# icount.sh: instructions per benchmark iteration, counted by valgrind's
# callgrind — a measure the machine's load does not change (the same binary
# and inputs give the same count), for comparing two builds on a busy VM.
#
#   go test -c -o new.test .   (and old.test from the other revision)
#   bench/icount.sh new.test 'Serve/size=1KiB/vary=false/kind=hit$'
#
# It runs the benchmark for N1 and N2 iterations and prints
# (I(N2) - I(N1)) / (N2 - N1), which cancels start-up and set-up. Go's
# asynchronous preemption signals are turned off: callgrind does not
# survive them.
set -euo pipefail
bin=$1
re=$2
n1=${N1:-2000}
n2=${N2:-12000}
count() {
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${1}x" -test.count 1 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(count "$n1")
b=$(count "$n2")
echo "$re $(( (b - a) / (n2 - n1) )) instructions/op"
