"""peak_rss.py CMD... - run CMD (stdout discarded) and print its peak resident
set size in bytes, from getrusage(RUSAGE_CHILDREN).ru_maxrss (KiB on Linux).
Exits with CMD's status when CMD fails."""
import resource
import subprocess
import sys

rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
if rc != 0:
    sys.exit(rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
