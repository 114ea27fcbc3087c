"""The shared kernel: errors, the result schema, image files, credentials, prices, system facts. Imports nothing else of the project."""
