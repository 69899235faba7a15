"""The capabilities that widen the need-to-know rule and end every import are connected at
start-up, explicitly: importing them connects nothing, the rule and the import flow refuse to
run unconnected, and both the web app and the CLI connect them when they start."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(*parts: str) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: this test process was connected by the test configuration.
    return subprocess.run(
        [sys.executable, "-c", "\n".join(textwrap.dedent(part) for part in parts)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_the_capabilities_connects_nothing_and_the_rule_refuses() -> None:
    done = _run(
        """
        import fullpicture.sharing.service, fullpicture.workflow.service, fullpicture.imports.flows
        import fullpicture.harm.service
        from fullpicture.access import repository
        assert repository._involvement_sources == []
        try:
            repository.shared_event_sources()
        except repository.CapabilitiesNotConnected as refused:
            print("refused:", refused)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "refused: the capabilities are not connected" in done.stdout
    assert "connect_capabilities()" in done.stdout


CONNECTED = """
    from fullpicture.access import repository
    from fullpicture.imports import flows
    from fullpicture.sharing import repository as sharing
    from fullpicture.workflow import repository as workflow, seen_elsewhere
    from fullpicture.harm import repository as harm
    assert repository.shared_event_sources() == (sharing.shared_entries_for,)
    assert workflow.involved_through_cases in repository._involvement_sources
    assert harm.involved_through_alerts in repository._involvement_sources
    assert sharing.decisions_giving_access in repository._read_grounds_sources
    assert flows._after_ingest_steps == [seen_elsewhere.seen_elsewhere_after_ingest]
    print("connected")
    """


def test_the_web_app_connects_them_when_it_is_created() -> None:
    done = _run("from fullpicture.web.app import create_app\ncreate_app()", CONNECTED)
    assert done.returncode == 0, done.stderr
    assert "connected" in done.stdout


def test_the_cli_connects_them_before_any_command() -> None:
    done = _run(
        """
        from typer.testing import CliRunner
        from fullpicture.cli.main import app
        result = CliRunner().invoke(app, ["dashboard", "--format", "xml"])
        assert result.exit_code == 2, result.output
        """,
        CONNECTED,
    )
    assert done.returncode == 0, done.stderr
    assert "connected" in done.stdout
