"""bench serve: the Light-OCR web API on a local engine."""
