import os
import sys

import pytest

# Real processes, process groups and /proc: Linux only.
if not sys.platform.startswith("linux"):
    pytest.skip("process adapter tests need Linux /proc", allow_module_level=True)

# Lets the tests import the small helpers next to them (procscan).
sys.path.insert(0, os.path.dirname(__file__))
