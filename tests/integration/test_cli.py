"""The embedded shape used through its CLI, as a person would: `taskstream up` in one
process, and each command a separate process against it.

Every command runs with the same data directory as the server, so `user create` writes
the SQLite database the server reads, and with its own XDG_CONFIG_HOME, so the saved
tokens never touch the developer's own.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

TASKSTREAM = Path(sys.executable).parent / "taskstream"
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
START_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Server:
    """A running `taskstream up`, and the environment its CLI commands need."""

    url: str
    env: dict[str, str] = field(repr=False)  # the whole environment; keep it out of reports
    cwd: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 -- our own executable, arguments are literals
            [str(TASKSTREAM), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=60,
            check=False,
        )

    def describe(self, result: subprocess.CompletedProcess[str]) -> str:
        return (
            f"$ taskstream {' '.join(result.args[1:])}\n"
            f"exit code {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n"
            f"--- server log ---\n{self.log()}"
        )

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its output."""
        result = self.run(*args)
        assert result.returncode == 0, self.describe(result)
        return result.stdout

    def fails(self, *args: str) -> str:
        """Run a command that must fail as a person expects: exit 1, a message, no traceback."""
        result = self.run(*args)
        output = result.stdout + result.stderr
        assert result.returncode == 1, self.describe(result)
        assert "Traceback" not in output, self.describe(result)
        return " ".join(output.split())  # one line, whatever the console wrapped


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("cli")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKSTREAM_")}
    env |= {
        "TASKSTREAM_DATA_DIR": str(home / "data"),
        "TASKSTREAM_API_URL": url,
        "XDG_CONFIG_HOME": str(home / "config"),
        "COLUMNS": "200",
    }
    # cwd is the temporary directory, so no `.env` of the checkout leaks into the settings.
    server = Server(url=url, env=env, cwd=home, log_path=home / "server.log")
    with server.log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 -- our own executable, arguments are literals
            [str(TASKSTREAM), "up", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
        try:
            _wait_until_ready(process, server)
            yield server
            assert process.poll() is None, f"the server stopped on its own:\n{server.log()}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"taskstream up exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"taskstream up was not ready in {START_TIMEOUT_SECONDS} s:\n{server.log()}")


@pytest.fixture(scope="module")
def account(server: Server) -> Server:
    """Ada's account, created in the database the running server uses."""
    out = server.ok("user", "create", EMAIL, "--password", PASSWORD, "--timezone", "Europe/Paris")
    assert f"Created {EMAIL}" in out
    return server


@pytest.fixture(scope="module")
def logged_in(account: Server) -> Server:
    out = account.ok("login", EMAIL, "--password", PASSWORD)
    assert f"Logged in as {EMAIL}." in out
    return account


def _row(table: str, title: str) -> str:
    rows = [line for line in table.splitlines() if title in line]
    assert len(rows) == 1, table
    return rows[0]


def test_a_person_adds_lists_finds_and_completes_tasks(logged_in: Server) -> None:
    cli = logged_in

    milk_options = ["--due", "2030-12-01 17:30", "--priority", "high", "--tag", "home"]
    out = cli.ok("tasks", "add", "Buy milk", *milk_options, "--tag", "errands")
    added = re.search(r"Added Buy milk \((\w{8})\)\.", out)
    assert added is not None, out
    milk_id = added.group(1)
    assert "Added File taxes" in cli.ok("tasks", "add", "File taxes", "--due", "2030-04-30")

    listed = cli.ok("tasks", "list")
    assert listed.index("File taxes") < listed.index("Buy milk"), listed  # by due date
    milk = _row(listed, "Buy milk")
    assert milk_id in milk
    assert "high" in milk
    assert "2030-12-01 17:30" in milk
    assert "home" in milk
    assert "errands" in milk
    assert "2030-04-30" in _row(listed, "File taxes")

    found = cli.ok("tasks", "list", "--search", "milk")
    assert "Buy milk" in found
    assert "File taxes" not in found

    assert "Done: Buy milk." in cli.ok("tasks", "done", milk_id)

    still_open = cli.ok("tasks", "list")
    assert "Buy milk" not in still_open
    assert "File taxes" in still_open
    done = cli.ok("tasks", "list", "--status", "done")
    assert "done" in _row(done, "Buy milk")
    assert "File taxes" not in done


def test_a_wrong_password_is_refused_with_a_message(account: Server) -> None:
    message = account.fails("login", EMAIL, "--password", "not the password")

    assert "The e-mail address or the password is wrong." in message


def test_a_due_date_that_is_not_one_is_refused_and_adds_nothing(logged_in: Server) -> None:
    message = logged_in.fails("tasks", "add", "Call mum", "--due", "whenever it suits")

    assert "'whenever it suits' is not a due date like 2026-12-01" in message
    assert "Call mum" not in logged_in.ok("tasks", "list", "--status", "all")


def test_a_quick_add_in_plain_words_says_what_it_understood(logged_in: Server) -> None:
    out = logged_in.ok("tasks", "add", "call mom tomorrow 6pm #family p2")
    assert "Added call mom" in out, out
    understood = " ".join(out.split())
    assert "Understood: due tomorrow (" in understood, out
    assert ") at 18:00, high priority, tagged #family" in understood, out

    out = logged_in.ok("tasks", "add", "Water plants", "--due", "next tuesday 9am")
    assert "Added Water plants" in out
    assert "at 09:00" in " ".join(out.split())

    out = logged_in.ok("tasks", "add", "Review the monthly report", "--literal")
    assert "Added Review the monthly report" in out
    assert "Understood" not in out


def test_a_chat_in_the_terminal_shows_the_tool_calls_under_each_answer(
    logged_in: Server,
) -> None:
    out = logged_in.ok("chat", "-m", "remind me to buy stamps tomorrow at 10am")
    assert "Added “buy stamps”" in out, out
    assert "· add_task(" in out, out
    assert "→ ok" in out

    result = subprocess.run(  # noqa: S603 -- our own executable, arguments are literals
        [str(TASKSTREAM), "chat"],
        input="show my tasks\ndone with the stamps one\n/quit\n",
        capture_output=True,
        text=True,
        env=logged_in.env,
        cwd=logged_in.cwd,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, logged_in.describe(result)
    assert "· list_tasks(" in result.stdout, result.stdout
    assert "Marked “buy stamps” as done." in result.stdout, result.stdout


def test_an_email_that_has_an_account_cannot_get_another(account: Server) -> None:
    message = account.fails("user", "create", EMAIL.upper(), "--password", "another password 1")

    assert "An account with this e-mail address exists; log in instead." in message


def test_titles_are_shown_as_written_not_as_markup(logged_in: Server) -> None:
    out = logged_in.ok("tasks", "add", "Fix [/] parser [red]now")

    assert "Added Fix [/] parser [red]now" in out
    assert "Fix [/] parser [red]now" in logged_in.ok("tasks", "list")


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("TASKSTREAM_METRICS_PORT=9464", "TASKSTREAM_METRICS_PORT serves one process's metrics"),
        ("TASKSTREAM_DATABASE_URL=sqlite+aiosqlite://", "not memory"),
    ],
)
def test_workers_refuse_what_they_cannot_share(
    server: Server, tmp_path: Path, setting: str, said: str
) -> None:
    name, value = setting.split("=", 1)
    alone = Server(server.url, {**server.env, name: value}, tmp_path, server.log_path)

    message = alone.fails("up", "--port", str(_free_port()), "--workers", "2")

    assert said in message
