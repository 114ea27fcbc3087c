"""The command line's plumbing, shared by every command of ``bench.py``: exit codes and the
mapping of typed errors to them (``cli.errors``), and the help pages shown under each
command's options (``cli.help``, text in ``cli/pages/``)."""
