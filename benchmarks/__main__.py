"""Every benchmark, one after another, each printing its table (paste them into README.md).

.venv/bin/python -m benchmarks            # all
.venv/bin/python -m benchmarks load reach # some
"""

from __future__ import annotations

import subprocess
import sys

ALL = {
    "decode": [],
    "reach": [],
    "browser_decode": [],
    "latency": [],
    "printing": [],
    "load": [],
    "exchange": [],
    "load-postgres": ["--postgres"],
    "handoff": [],
    "sso": [],
    "sso_saml": [],
    "roster_import": [],
}


def main() -> None:
    chosen = sys.argv[1:] or list(ALL)
    unknown = [name for name in chosen if name not in ALL]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(ALL)}")
    for name in chosen:
        module = name.split("-")[0]
        print(f"\n## {name}\n", flush=True)
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *ALL[name]], check=False)  # noqa: S603
        if done.returncode:
            sys.exit(f"benchmark {name} failed ({done.returncode})")


if __name__ == "__main__":
    main()
