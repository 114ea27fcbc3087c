"""The shared kernel: errors, the result schema, image files, credentials. Imports nothing else of the project."""
