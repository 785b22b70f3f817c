"""bin/test runs the real-node tier wherever the shared Bitcoin Core build sits beside
the repository (CI on this machine kind): bin/bitcoind-path finds it, and says nothing
(the tier then skips with its reason) where there is none."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def layout(tmp_path: Path, *, shared: str | None) -> Path:
    """A clone at tmp/repo with, optionally, tmp/shared/bitcoin-core-31/ensure-runtime."""
    (tmp_path / "repo" / "bin").mkdir(parents=True)
    shutil.copy2(REPO / "bin" / "bitcoind-path", tmp_path / "repo" / "bin" / "bitcoind-path")
    if shared is not None:
        core = tmp_path / "shared" / "bitcoin-core-31"
        core.mkdir(parents=True)
        (core / "ensure-runtime").write_text(shared)
        (core / "ensure-runtime").chmod(0o555)
        core.chmod(0o555)  # read-only, as CI mounts it
    return tmp_path / "repo"


def run(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "BITCOIND"} | env
    return subprocess.run([str(repo / "bin" / "bitcoind-path")], capture_output=True, text=True, env=environ, timeout=60)


def test_the_shared_build_beside_the_clone_is_used(tmp_path):
    repo = layout(tmp_path, shared='#!/bin/sh\necho "$(cd "$(dirname "$0")" && pwd)/bitcoind"\n')
    done = run(repo)
    assert done.returncode == 0
    assert done.stdout.strip() == str(tmp_path / "shared" / "bitcoin-core-31" / "bitcoind")


def test_bitcoind_set_by_the_caller_wins(tmp_path):
    repo = layout(tmp_path, shared="#!/bin/sh\necho /elsewhere/bitcoind\n")
    assert run(repo, BITCOIND="/opt/core/bin/bitcoind").stdout.strip() == "/opt/core/bin/bitcoind"


def test_without_the_shared_build_nothing_is_printed_and_the_tier_skips(tmp_path):
    done = run(layout(tmp_path, shared=None))
    assert (done.returncode, done.stdout) == (0, "")


def test_a_failing_runtime_install_is_said_and_the_tier_skips(tmp_path):
    done = run(layout(tmp_path, shared="#!/bin/sh\necho 'E: no libzmq5' >&2\nexit 1\n"))
    assert (done.returncode, done.stdout) == (0, "")
    assert "ensure-runtime failed" in done.stderr


def test_bin_test_exports_what_bitcoind_path_finds():
    script = (REPO / "bin" / "test").read_text()
    assert "BITCOIND=$(bin/bitcoind-path)" in script and "export BITCOIND" in script
