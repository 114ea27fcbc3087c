"""Reports: evaluation tables (CSV/JSON), plots, the HTML page and image overlays."""
