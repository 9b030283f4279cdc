"""The installed command answers, and reading commands refuse to invent a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str, data_dir: Path, env_extra: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSULTRACK_")}
    env["CONSULTRACK_PREFECT_IDLE_SECONDS"] = "0"  # no Prefect server kept after the test (tests/conftest.py)
    env["CONSULTRACK_DATA_DIR"] = str(data_dir)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "consultrack", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        umask=0o022,
        input=stdin,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", data_dir=tmp_path)
    assert result.returncode == 0
    for command in ("init", "status", "stage", "response", "audit", "demo", "template", "directory"):
        assert command in result.stdout


def test_status_without_data_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("status", data_dir=tmp_path / "nothing")
    assert result.returncode == 1
    assert "consultrack init" in result.stderr
    assert not (tmp_path / "nothing" / "consultrack.db").exists()


def test_unusable_settings_get_one_message_and_exit_2(tmp_path: Path) -> None:
    for name, value, said in (
        ("CONSULTRACK_NOW", "garbage", "CONSULTRACK_NOW='garbage'"),
        ("CONSULTRACK_NOW", "2025-03-20T09:00", "timezone"),
        ("CONSULTRACK_SMTP_PORT", "abc", "CONSULTRACK_SMTP_PORT='abc'"),
    ):
        result = run_cli("status", data_dir=tmp_path, env_extra={name: value})
        assert result.returncode == 2, result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr
        assert result.stderr.count("error:") == 1


def test_read_only_commands_end_fast_with_all_their_output(tmp_path: Path) -> None:
    """status and audit skip the interpreter's teardown (consultrack.cli.READ_ONLY): nothing may be lost."""
    data = tmp_path / "data"
    assert run_cli("init", "--sample", "--actor", "test", data_dir=data).returncode == 0
    shown = run_cli("status", data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip().endswith("RU = Russian Federation"), shown.stdout[-300:]
    assert "Adoption at SOM-28" in shown.stdout
    refused = run_cli("status", "--stage", "nope", data_dir=data)
    assert refused.returncode == 1 and "unknown stage 'nope'" in refused.stderr
    logged = run_cli("audit", "--limit", "1", data_dir=data)
    assert logged.returncode == 0 and "process.create" in logged.stdout


def test_the_data_directory_and_its_secrets_are_owner_only(tmp_path: Path) -> None:
    """Password hashes, token digests, Prefect's run parameters: nothing in the data directory is readable by other
    users, under the usual umask (022), including the SQLite -wal/-shm files and Prefect's database."""
    data = tmp_path / "fresh" / "data"
    env = {"PREFECT_HOME": str(data / "prefect")}
    assert run_cli("init", "--sample", "--actor", "test", data_dir=data, env_extra=env).returncode == 0
    assert (
        run_cli(
            "account",
            "create",
            "ana",
            "--role",
            "admin",
            "--password-stdin",
            data_dir=data,
            env_extra=env,
            stdin="a long enough password\n",
        ).returncode
        == 0
    )
    saved = run_cli("api-token", "new", "ana", "--save", data_dir=data, env_extra=env)
    assert saved.returncode == 0, saved.stderr

    def mode(path: Path) -> int:
        return path.stat().st_mode & 0o777

    for directory in (tmp_path / "fresh", data, data / "prefect"):
        assert mode(directory) == 0o700, directory
    files = [
        data / "consultrack.db",
        data / "prefect" / "prefect.db",
        data / "api-token",
        *data.glob("consultrack.db-*"),
        *(data / "prefect").glob("prefect.db-*"),
        data / "prefect" / "server.lock",
    ]
    assert {str(f): oct(mode(f)) for f in files} == {str(f): oct(0o600) for f in files}

    # A database an older version made world-readable is tightened the next time it is opened.
    (data / "consultrack.db").chmod(0o644)
    assert run_cli("status", data_dir=data, env_extra=env).returncode == 0
    assert mode(data / "consultrack.db") == 0o600
