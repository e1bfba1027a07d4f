"""Start `baton serve` on a free port, seed a little data, and run schemathesis over every documented operation:
no response may be a 5xx and every response must match its documented schema."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.servers import baton_server  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, baton_server(Path(tmp)) as server:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            os.environ.get("BATON_SCHEMATHESIS_EXAMPLES", "40"),
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "2",
            "--seed",
            "1",
            # An SSE stream of a task that exists never ends: bound every request.
            "--request-timeout",
            "20",
        ]
        result = subprocess.run(command, check=False)  # noqa: S603
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
