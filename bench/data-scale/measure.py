"""Runs one command and reports what the operating system measured: wall time and the peak
resident set size of the child (getrusage(RUSAGE_CHILDREN).ru_maxrss, in KiB on Linux: the
kernel's own high-water mark, not a sample). The child's stdout goes to `--stdout <file>`
(default: discarded), its stderr passes through. Prints one JSON line.

    /usr/bin/python3 bench/data-scale/measure.py [--stdout out.json] -- <command> [args…]
"""
import json
import resource
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    stdout_path = None
    if args[:1] == ['--stdout']:
        stdout_path = args[1]
        args = args[2:]
    if args[:1] == ['--']:
        args = args[1:]
    out = open(stdout_path, 'wb') if stdout_path else subprocess.DEVNULL
    started = time.perf_counter()
    code = subprocess.call(args, stdout=out)
    wall_ms = (time.perf_counter() - started) * 1000
    if stdout_path:
        out.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({'exitCode': code, 'wallMs': round(wall_ms, 1), 'peakRssMiB': round(peak / 1024, 1)}))


main()
