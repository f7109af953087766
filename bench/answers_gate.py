"""bench/answers.py with a chat model configured: the OpenAI-protocol stand-in of the tests
(tests/openai_server.py) on loopback, so the calibrated gate's figures (what it keeps from the model,
the requests it saves) can be measured without a real model. What the gate stops does not depend on
the model's replies; the answer figures of this run are the stand-in's and mean nothing.

    python -m bench.answers_gate --natural-store STORE --multihop-store STORE
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import answers  # noqa: E402
from tests.openai_server import fake_openai  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    with fake_openai() as server:
        os.environ["OPENAI_API_KEY"] = "sk-local"
        os.environ["OPENAI_BASE_URL"] = server.base_url
        return answers.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
