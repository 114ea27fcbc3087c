"""cli/: typed errors become the documented exit codes, and every help page loads as Click expects."""
from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from adapters.core.errors import AuthError, ConfigError, InputError, QuotaExhausted, TransientError
from bench import app
from cli.errors import EXIT_AUTH, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_QUOTA, cli_errors, exit_code
from cli.help import epilog

runner = CliRunner()


def test_each_typed_error_has_its_exit_code():
    assert exit_code(InputError("x")) == EXIT_INPUT == 2
    assert exit_code(ConfigError("x")) == EXIT_INPUT  # a subclass keeps its parent's code
    assert exit_code(AuthError("x")) == EXIT_AUTH == 3
    assert exit_code(QuotaExhausted("x")) == EXIT_QUOTA == 4
    assert exit_code(TransientError("x")) is None and exit_code(ValueError("x")) is None


@pytest.mark.parametrize("error, code", [(InputError("bad file"), 2), (AuthError("bad key"), 3),
                                         (QuotaExhausted("no quota"), 4), (KeyboardInterrupt(), EXIT_INTERRUPTED)])
def test_cli_errors_prints_one_line_and_exits(error: BaseException, code: int, capsys: pytest.CaptureFixture[str]):
    @cli_errors
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as exited:
        command()
    assert exited.value.exit_code == code
    assert capsys.readouterr().err.strip() in (f"error: {error}", "interrupted")


@pytest.mark.parametrize("page", ["bench", "eval", "synth", "report", "show", "gt", "gt_aihub"])
def test_help_pages_start_with_examples_and_keep_click_markers(page: str):
    text = epilog(page)
    assert text.startswith("Examples:\n") and "\\b" not in text
    assert "\n\b\n" in text


@pytest.mark.parametrize("command", [[], ["eval"], ["synth"], ["report"], ["show"], ["gt"], ["gt", "aihub"]])
def test_every_command_help_shows_examples(command: list[str]):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Examples:" in result.stdout
    assert f"bench {' '.join(command)}".strip() in result.stdout


def test_version_names_the_tool_python_and_the_local_engines_found():
    from typer.testing import CliRunner

    import bench

    done = CliRunner().invoke(bench.app, ["--version"])
    assert done.exit_code == 0
    lines = done.output.splitlines()
    assert lines[0].startswith("korean-ocr-bench ") and lines[1].startswith("python 3.")
    assert len(lines) >= 3  # each local engine found, or "no local engine found"


def test_progress_bars_follow_one_rule_shown_only_on_a_terminal(monkeypatch):
    import io

    from adapters.core.progress import progress_bar

    monkeypatch.setattr("sys.stderr", io.StringIO())  # not a terminal: no bar, even when asked for
    assert progress_bar(range(100), enabled=True).disable
    assert progress_bar(range(100), enabled=None).disable
    assert progress_bar(range(100), enabled=False).disable


def test_progress_bars_are_left_out_for_small_jobs_and_when_turned_off(monkeypatch):
    from adapters.core.progress import progress_bar

    class Terminal:
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr("sys.stderr", Terminal())
    assert not progress_bar(range(100), enabled=True, min_items=50).disable
    assert progress_bar(range(10), enabled=True, min_items=50).disable
    assert progress_bar(range(100), enabled=False).disable
