"""Test helpers that ship with wikitop: a realistic dump generator and a fake Wikimedia server."""
