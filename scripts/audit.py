"""Dependency audit: pip-audit over the project's environment, summarised in a few lines.

It reports and never fails the run by default (`--strict` fails on a known vulnerability):
an advisory published tomorrow must not turn an unchanged tree red, and a machine that
cannot reach the vulnerability service must say so rather than pass silently.
"""

from __future__ import annotations

import json
import subprocess
import sys


def main(argv: list[str]) -> int:
    """Run pip-audit and print what it found, what it could not check, and why."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--progress-spinner",
            "off",
            "--skip-editable",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        print(f"dependency audit: pip-audit gave no report ({result.stderr.strip()[-300:]})")
        return 0
    packages = report.get("dependencies", [])
    vulnerable = [p for p in packages if p.get("vulns")]
    unaudited = [p for p in packages if p.get("skip_reason")]
    for package in vulnerable:
        ids = ", ".join(
            v["id"]
            + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
            for v in package["vulns"]
        )
        print(f"dependency audit: {package['name']} {package['version']}: {ids}")
    print(
        f"dependency audit: {len(packages)} packages, {len(vulnerable)} with known "
        f"vulnerabilities, {len(unaudited)} could not be audited"
    )
    if unaudited:
        print(f"  e.g. {unaudited[0]['skip_reason']}")
    return 1 if vulnerable and "--strict" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
