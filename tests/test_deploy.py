"""The Dockerfile, .dockerignore and deploy/haproxy.cfg, checked without Docker.

No image can be pulled here, so the Dockerfile is checked by reading it and by rebuilding its
result the slow way: the files its ``COPY . .`` keeps after ``.dockerignore`` are copied to a
temporary directory, and the app's home page runs from there (a file the app needs but the
image leaves out fails this). The ``CMD``'s options must be real Streamlit options, the
``HEALTHCHECK`` must ask the served port for ``/_stcore/health``, the user must not be root,
and only ``requirements.txt`` is installed. ``bench/test_replicas.py`` goes further: it starts
a replica from that copy with the ``CMD``'s options and runs the ``HEALTHCHECK`` command.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
DEPLOY_README = ROOT / "deploy" / "README.md"


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    out, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        current += (" " if current else "") + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            word, _, rest = current.partition(" ")
            out.append((word.upper(), rest.strip()))
            current = ""
    assert not current, "Dockerfile ends inside a continued line"
    return out


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form CMD / HEALTHCHECK CMD."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def cmd_options(cmd: list[str]) -> dict[str, str]:
    """``--section.name=value`` options of a ``streamlit run`` command line."""
    opts = {}
    for arg in cmd:
        m = re.fullmatch(r"--([a-zA-Z]+\.[a-zA-Z]+)=(.*)", arg)
        if m:
            opts[m.group(1)] = m.group(2)
    return opts


def docker_context_files(root: Path = ROOT) -> list[Path]:
    """Files of the repository that ``COPY . .`` puts in the image after ``.dockerignore``
    (patterns used here: a top-level name, or ``**/name``; no ``!`` exceptions)."""
    patterns = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    for p in patterns:
        assert not p.startswith("!"), f"exceptions are not handled here: {p}"

    def ignored(rel: str) -> bool:
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for p in patterns:
            if p.startswith("**/"):
                if any(fnmatch.fnmatch(part, p[3:]) for part in parts):
                    return True
            elif any(fnmatch.fnmatch(pre, p) for pre in prefixes):
                return True
        return False

    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not ignored(prefix + d))  # prune
        files += [here / f for f in sorted(filenames) if not ignored(prefix + f)]
    return sorted(files)


def copy_image_files(dest: Path) -> Path:
    """Copy the image's files (as ``COPY . .`` would) into ``dest``; return ``dest``."""
    for path in docker_context_files():
        target = dest / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


def served_cmd() -> list[str]:
    return exec_form(dict(dockerfile_instructions())["CMD"])


def healthcheck_cmd() -> list[str]:
    args = dict(dockerfile_instructions())["HEALTHCHECK"]
    _, _, cmd = args.partition(" CMD ")
    return exec_form(cmd.strip())


def test_dockerfile_base_requirements_user_and_health():
    ins = dockerfile_instructions()
    words = [w for w, _ in ins]
    assert ins[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(a for w, a in ins if w == "RUN")
    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert not any("requirements-dev" in a for _, a in ins)  # test tools stay out
    # the last USER before CMD is an unprivileged one
    user = [a for w, a in ins if w == "USER"]
    assert user and user[-1] not in ("root", "0"), user
    assert words.index("USER") < words.index("CMD")
    cmd = served_cmd()
    assert cmd[:4] == ["python", "-m", "streamlit", "run"] and cmd[4] == "app.py"
    opts = cmd_options(cmd)
    port = opts["server.port"]
    assert dict(ins)["EXPOSE"] == port
    assert opts["server.address"] == "0.0.0.0" and opts["server.headless"] == "true"
    assert opts["server.fileWatcherType"] == "none" and opts["server.runOnSave"] == "false"
    health = healthcheck_cmd()
    assert f"http://127.0.0.1:{port}/_stcore/health" in " ".join(health)
    assert health[0] == "python"  # python:3.11-slim has no curl or wget


def test_cmd_options_are_streamlit_options():
    import streamlit as st

    for key, value in cmd_options(served_cmd()).items():
        default = st.get_option(key)  # raises for an unknown option
        if isinstance(default, bool):
            assert value in ("true", "false"), (key, value)
        elif isinstance(default, int):
            assert value.isdigit(), (key, value)


def test_image_keeps_what_the_app_needs_and_leaves_out_the_rest():
    kept = {p.relative_to(ROOT).as_posix() for p in docker_context_files()}
    import app

    for page_file, *_ in app.available_pages():
        assert page_file in kept, page_file
    assert {"app.py", "requirements.txt", ".streamlit/config.toml"} <= kept
    for pkg in ("emcore", "emdata", "emui", "emviz"):
        assert f"{pkg}/__init__.py" in kept
    for left_out in (".venv/", "tests/", "bench/", "artifacts/", ".git/", "docs/screenshots/"):
        assert not any(k.startswith(left_out) for k in kept), left_out
    assert "requirements-dev.txt" not in kept


def test_the_app_runs_from_the_images_files(tmp_path):
    from streamlit.testing.v1 import AppTest

    copy_image_files(tmp_path)
    at = AppTest.from_file(str(tmp_path / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value == "EM Explorer"


def test_haproxy_template_is_valid_and_sticky():
    text = HAPROXY_CFG.read_text()
    assert re.search(r"^\s*cookie \S+ insert indirect nocache", text, re.M)
    assert re.search(r"^\s*http-check send meth GET uri /_stcore/health", text, re.M)
    assert re.search(r"^\s*timeout tunnel ", text, re.M)  # WebSockets stay open
    servers = re.findall(r"^\s*server (\S+) \S+ check cookie (\S+)", text, re.M)
    assert len(servers) >= 2 and all(a == b for a, b in servers)
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy not installed: the syntax check needs it (apt-get install haproxy)")
    res = subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CFG)], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr


def test_deploy_notes_match_the_dockerfile_and_the_template():
    notes = DEPLOY_README.read_text()
    port = cmd_options(served_cmd())["server.port"]
    assert f"{port}:{port}" in notes  # the docker run line publishes the served port
    assert "/_stcore/health" in notes
    cookie = re.search(r"^\s*cookie (\S+)", HAPROXY_CFG.read_text(), re.M).group(1)
    assert cookie in notes
    for flag in ("fileWatcherType", "runOnSave", "maxUploadSize"):
        assert flag in notes, flag
