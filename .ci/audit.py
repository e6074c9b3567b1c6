"""Audit the locked runtime dependencies with pip-audit; fail on a known vulnerability, naming its fix.

    python .ci/audit.py requirements/service.lock

pip-audit reads the lock as written (hashed pins: nothing is resolved or installed) and asks PyPI's
own vulnerability data (`-s pypi`, the JSON API of pypi.org). A finding fails the run and prints
the package, its version, the advisory and the versions that fix it. A pin that PyPI could not
answer for is not a pass: the run says, in its last line, how many pins were audited and which
were not, and why (some networks' proxies serve pypi.org's package pages but not the per-release
JSON that pip-audit reads); `--require-all` turns that into a failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("lock")
    parser.add_argument("--require-all", action="store_true", help="fail when a pin could not be audited")
    args = parser.parse_args()
    command = [
        *(sys.executable, "-m", "pip_audit", "--requirement", args.lock, "--disable-pip"),
        *("--vulnerability-service", "pypi", "--format", "json", "--progress-spinner", "off"),
    ]
    run = subprocess.run(command, capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit failed (exit {run.returncode}): {run.stderr.strip()[-2000:]}", file=sys.stderr)
        return 1
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    skipped = [dep for dep in dependencies if dep.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(
                f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in {fixed})", file=sys.stderr
            )
    audited = len(dependencies) - len(skipped)
    summary = f"pip-audit of {args.lock}: {audited} of {len(dependencies)} pins audited"
    if vulnerable:
        print(
            f"{summary}, {len(vulnerable)} with known vulnerabilities: upgrade them in the lock",
            file=sys.stderr,
        )
        return 1
    if skipped:
        reasons = sorted({dep["skip_reason"].split(":")[0] for dep in skipped})
        names = ", ".join(dep["name"] for dep in skipped[:10]) + (" ..." if len(skipped) > 10 else "")
        print(f"{summary}, no known vulnerability among them; NOT AUDITED: {names} ({'; '.join(reasons)})")
        return 1 if args.require_all else 0
    print(f"{summary}, no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
