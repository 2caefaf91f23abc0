"""The name of the file through which clients find a running instance.

Its own module so that the client commands can find the API without loading
the server, and with it the engine.
"""

from __future__ import annotations

API_FILE = "api.json"
