"""JupyterHub configuration of the Health Data Science Sandbox.

Thin on purpose: the settings file (env HDSS_SETTINGS, else the embedded defaults) is
loaded, validated and checked, then applied by the tested functions in hdss_hub.configure.
Site-specific Python goes in hub.extra_config_dir (*.py), loaded last.
"""

import os
import sys
from pathlib import Path

from hdss_hub.configure import HubStartError, configure, extra_config_files
from hdss_hub.settings import SETTINGS_ENV

c = get_config()  # noqa: F821 (provided by JupyterHub)

try:
    settings = configure(c, os.environ.get(SETTINGS_ENV), Path(__file__).resolve().parent)
except HubStartError as e:
    sys.exit(f"hdss: the hub cannot start: {e}")

for extra in extra_config_files(settings):
    load_subconfig(str(extra))  # noqa: F821 (provided by JupyterHub)
