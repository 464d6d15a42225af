"""The hub of the sandbox journeys: a real hub with a real proxy and Docker engine.

``engine``, ``synthetic_root`` and the log dump on failure come from the shared plugin
tests.integration.fixtures (registered in tests/conftest.py).
"""

from __future__ import annotations

import pytest

from tests.conftest import unique_prefix
from tests.integration.hubproc import running_hub


@pytest.fixture(scope="session")
def hub(engine, synthetic_root, tmp_path_factory):
    yield from running_hub(
        engine, tmp_path_factory.mktemp("hub"), unique_prefix("hub"), synthetic_root
    )
