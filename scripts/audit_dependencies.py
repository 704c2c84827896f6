"""pip-audit --strict over every package installed in the project's virtualenv.

The vulnerability database is PyPI's JSON API. When it cannot be reached (an offline CI
machine, a mirror that serves packages but not the API) the audit cannot say anything,
so this prints "not run" instead of letting pip-audit's "could not be audited" pass for a
clean bill: an audit that did not run is never reported as passed. With
`AUDIT_REQUIRED=1` (a CI runner with internet) an unreachable database fails the run.
Real findings always fail it (pip-audit's own exit status).
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs pip-audit with fixed arguments, never a shell
import sys
import urllib.request

NOT_RUN = "pip-audit: not run (vulnerability database unreachable)"
# Any released version of a package we pin: the answer must carry a vulnerabilities list.
PROBE = os.environ.get("PIP_AUDIT_PROBE_URL", "https://pypi.org/pypi/Flask/3.1.3/json")


def database_reachable(url: str = PROBE, timeout: float = 10) -> bool:
    """Whether PyPI's JSON API answers with vulnerability data (not just any page)."""
    if not url.startswith(("https://", "http://")):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # nosec B310 - http(s) only, checked above
            return "vulnerabilities" in json.load(response)
    except (OSError, ValueError):
        return False


def main() -> int:
    if not database_reachable():
        print(NOT_RUN)
        return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
    command = [sys.executable, "-m", "pip_audit", "--strict", "--local", "--skip-editable"]
    result = subprocess.run([*command, "--progress-spinner", "off"], check=False)  # noqa: S603  # nosec B603 - fixed arguments
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
