"""Several replicas behind HAProxy, for real, on loopback (not part of `make test`).

Three ``streamlit run app.py`` replicas on free loopback ports, Debian's HAProxy in front of
them with the configuration of ``deploy/haproxy.cfg`` (only its listening address and the
replicas' ports are rewritten), and Debian's chromium driving the app through the proxy:

* one replica runs exactly what the Docker image would (its files, its build step, its
  command, its health check);
* HAProxy's health checks on ``/_stcore/health`` see every replica up, and take a stopped
  replica out of the rotation (a learner whose cookie names it is served by another);
* the 1-D house-prices page loads through the proxy and its step slider moves;
* two learners land on different replicas (the stickiness cookie says which), each uploads
  a CSV on the "Your data" page through the proxy, the upload works, and each sees only
  their own columns;
* upload requests with the stickiness cookie all reach the learner's replica; without it
  (round robin over two replicas) some reach the other replica and are refused: the reason
  the cookie is there.

Run:  ``.venv/bin/python -m pytest bench/test_replicas.py``  (about one to two minutes;
needs /usr/sbin/haproxy — ``apt-get install haproxy`` — and /usr/bin/chromium).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.browser.conftest import (
    CHARTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    VIEWPORT,
    StreamlitServer,
    assert_no_exception,
    free_port,
    stop_process,
    wait_for_app,
)
from tests.browser.pagecheck import LOAD_TIMEOUT, open_app_page, press_step
from tests.test_deploy import copy_image_files, dockerfile_instructions, healthcheck_cmd, served_cmd

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
COOKIE = "EMX_REPLICA"
#: Streamlit marks a file whose upload failed: its chip is aria-invalid, with an alert inside
UPLOAD_FAILED = ('[data-testid="stFileUploader"] [aria-invalid="true"], '
                 '[data-testid="stFileUploader"] [role="alert"]')
N_REPLICAS = 3


def render_config(template: str, bind_port: int, ports: list[int], stats_socket: Path,
                  sticky: bool = True) -> str:
    """``deploy/haproxy.cfg`` with its frontend on ``127.0.0.1:bind_port`` and one
    ``server`` line per port (named and cookied replica1, replica2, …), plus a stats socket
    for the test. ``sticky=False`` drops the cookie and balances round robin."""
    out = []
    servers_done = False
    for line in template.splitlines():
        stripped = line.strip()
        if stripped.startswith("bind "):
            line = f"    bind 127.0.0.1:{bind_port}"
        elif stripped.startswith("server "):
            if servers_done:
                continue
            servers_done = True
            line = "\n".join(
                f"    server replica{i + 1} 127.0.0.1:{p} check"
                + (f" cookie replica{i + 1}" if sticky else "")
                for i, p in enumerate(ports))
        elif not sticky and stripped.startswith("cookie "):
            continue
        elif not sticky and stripped.startswith("balance "):
            line = "    balance roundrobin"
        out.append(line)
        if stripped == "global":
            out.append(f"    stats socket {stats_socket} mode 600 level admin")
    assert servers_done and any(ln.strip().startswith("bind 127.0.0.1") for ln in out)
    return "\n".join(out) + "\n"


class HAProxy:
    """``haproxy -db`` (foreground) on a rendered copy of deploy/haproxy.cfg."""

    def __init__(self, workdir: Path, ports: list[int], sticky: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket = workdir / f"haproxy-{self.port}.sock"
        self.cfg = workdir / f"haproxy-{self.port}.cfg"
        self.cfg.write_text(render_config(TEMPLATE.read_text(), self.port, ports,
                                          self.socket, sticky))
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg)], capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(workdir / f"haproxy-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def stat(self) -> dict[str, str]:
        """Server name -> status ("UP", "DOWN", …) from the stats socket's ``show stat``."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, ln.split(","), strict=False)) for ln in lines[1:] if ln]
        return {r["svname"]: r["status"] for r in rows
                if r.get("pxname") == "streamlit_replicas" and r["svname"].startswith("replica")}

    def wait_status(self, want: dict[str, str], timeout: float = 60) -> dict[str, str]:
        deadline = time.time() + timeout
        last: dict[str, str] = {}
        while time.time() < deadline:
            try:
                last = self.stat()
            except OSError:
                last = {}
            # exact: "UP 1/2" is a server not yet checked (or failing), not one that is up
            if all(last.get(k) == v for k, v in want.items()):
                return last
            time.sleep(0.5)
        raise AssertionError(f"HAProxy server states {last}, wanted {want}")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


class ImageReplica:
    """A replica started as the Docker image starts it: from a copy of exactly the files the
    image contains (``COPY . .`` after ``.dockerignore``), after the Dockerfile's build-time
    ``RUN python …`` step, with the Dockerfile's ``CMD`` (only the address and port changed,
    for loopback); it is up when the ``HEALTHCHECK`` command succeeds."""

    def __init__(self, workdir: Path) -> None:
        self.app_dir = copy_image_files(workdir / "image")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # "python" in the Dockerfile's commands is this virtualenv's interpreter
        self.env = dict(os.environ, EM_EXPLORER_CACHE=str(workdir / "data-cache"),
                        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
        for word, args in dockerfile_instructions():
            if word == "RUN" and args.startswith("python "):
                subprocess.run(args, shell=True, cwd=self.app_dir, env=self.env, check=True,
                               timeout=300)
        cmd = [self._loopback(a) for a in served_cmd()]
        self.log = open(ROOT / "artifacts" / f"image-replica-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=self.app_dir, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while not self.healthy():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("the image's command did not become healthy")
            time.sleep(0.5)

    def _loopback(self, arg: str) -> str:
        if arg.startswith("--server.address="):
            return "--server.address=127.0.0.1"
        if arg.startswith("--server.port="):
            return f"--server.port={self.port}"
        return arg

    def healthy(self) -> bool:
        """The Dockerfile's HEALTHCHECK command, pointed at this replica's port."""
        port = served_cmd_port()
        cmd = [a.replace(f":{port}/", f":{self.port}/") for a in healthcheck_cmd()]
        return subprocess.run(cmd, env=self.env, capture_output=True, timeout=30).returncode == 0

    def stop(self) -> None:
        stop_process(self.proc)
        if not self.log.closed:
            self.log.close()


def served_cmd_port() -> str:
    return next(a.split("=", 1)[1] for a in served_cmd() if a.startswith("--server.port="))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not Path(HAPROXY).exists():
        pytest.skip("haproxy not found (apt-get install haproxy)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    (ROOT / "artifacts").mkdir(exist_ok=True)
    workdir = tmp_path_factory.mktemp("haproxy")
    replicas: list = []
    proxies: list[HAProxy] = []
    try:
        replicas.append(ImageReplica(workdir))  # replica1: what the Docker image runs
        for _ in range(N_REPLICAS - 1):
            replicas.append(StreamlitServer())
        ports = [r.port for r in replicas]
        sticky = HAProxy(workdir, ports, sticky=True)
        proxies.append(sticky)
        loose = HAProxy(workdir, ports[:2], sticky=False)
        proxies.append(loose)
        sticky.wait_status({f"replica{i + 1}": "UP" for i in range(N_REPLICAS)})
        loose.wait_status({"replica1": "UP", "replica2": "UP"})
        yield SimpleNamespace(replicas=replicas, proxy=sticky, loose=loose)
    finally:
        for p in proxies:
            p.stop()
        for r in replicas:
            r.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _new_page(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("pageerror", lambda exc: pg.console_errors.append(str(exc)))
    return ctx, pg


def _replica_of(ctx) -> str:
    cookies = {c["name"]: c["value"] for c in ctx.cookies()}
    assert COOKIE in cookies, f"no {COOKIE} cookie: {sorted(cookies)}"
    return cookies[COOKIE]


def _csv(names, seed, n=200) -> bytes:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0, 1, (n // 2, 2)), rng.normal([4, 3], 0.7, (n - n // 2, 2))])
    return (",".join(names) + "\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in X) + "\n").encode()


def _upload(pg, name: str, data: bytes) -> None:
    pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data})


def _upload_outcome(pg, timeout: float = LOAD_TIMEOUT) -> str:
    """Wait for the upload to end: "plots" when the fit is drawn, "error" when the file
    uploader reports a failed upload."""
    pg.wait_for_function(
        f"""() => document.querySelector('{UPLOAD_FAILED}') ||
                 (document.querySelectorAll('{CHARTS}').length >= 2 &&
                  document.querySelector('[data-testid="stApp"]')
                          .getAttribute('data-test-script-state') === 'notRunning')""",
        timeout=timeout)
    if pg.locator(UPLOAD_FAILED).count():
        return "error"
    wait_for_app(pg, timeout)
    return "plots"


def test_health_checks_see_every_replica(cluster):
    states = cluster.proxy.stat()
    assert states == {f"replica{i + 1}": "UP" for i in range(N_REPLICAS)}, states
    with urllib.request.urlopen(cluster.proxy.url + "/_stcore/health", timeout=10) as r:
        assert r.status == 200 and r.read() == b"ok"


def test_house_prices_loads_and_steps_through_the_proxy(cluster, browser):
    ctx, pg = _new_page(browser)
    try:
        open_app_page(pg, cluster.proxy, "house_prices", "hp_mixture")
        assert _replica_of(ctx) in {f"replica{i + 1}" for i in range(N_REPLICAS)}
        assert press_step(pg, "ArrowRight") == "E-step 1"
        assert press_step(pg, "ArrowRight") == "M-step 1"
        assert_no_exception(pg)
    finally:
        ctx.close()


def test_uploads_work_and_each_session_sees_only_its_own_data(cluster, browser):
    opened = [_new_page(browser) for _ in range(2)]
    try:
        for _, pg in opened:  # one after the other: the second sees the first's connection
            pg.goto(f"{cluster.proxy.url}/your_data", wait_until="domcontentloaded")
            wait_for_app(pg, LOAD_TIMEOUT)
        replicas = [_replica_of(ctx) for ctx, _ in opened]
        assert replicas[0] != replicas[1], f"both learners on {replicas[0]}"
        for i, (_, pg) in enumerate(opened):
            _upload(pg, f"learner{i}.csv", _csv([f"alpha_{i}", f"beta_{i}"], seed=i))
        for i, (_, pg) in enumerate(opened):
            assert _upload_outcome(pg) == "plots", f"learner {i}'s upload failed"
            assert_no_exception(pg)
            assert pg.get_by_text(f"alpha_{i}", exact=True).count() >= 1
            other = 1 - i
            assert pg.get_by_text(f"alpha_{other}", exact=True).count() == 0
    finally:
        for ctx, _ in opened:
            ctx.close()


def _cookies(response) -> dict[str, str]:
    out = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def _put_file(url: str, cookies: dict[str, str]) -> int:
    """PUT one small CSV as multipart form data, on a new connection; the status code."""
    boundary = "emx-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nx\n1\n2\n"
            f"\r\n--{boundary}--\r\n").encode()
    req = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "X-Xsrftoken": cookies["_streamlit_xsrf"]})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def upload_statuses(proxy_url: str, tries: int = 4) -> list[int]:
    """What the browser does for an upload, at the protocol level: load the page (cookies),
    open the session's WebSocket, ask for an upload URL, then PUT the file ``tries`` times,
    each on a new connection, as a browser's request may be."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    with urllib.request.urlopen(proxy_url + "/your_data", timeout=30) as r:
        cookies = _cookies(r)  # the replica cookie, behind the sticky proxy
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    # the page's first request to the server: /_stcore/health sets the XSRF cookie
    req = urllib.request.Request(proxy_url + "/_stcore/health", headers=header)
    with urllib.request.urlopen(req, timeout=30) as r:
        cookies |= _cookies(r)
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}

    async def run() -> list[int]:
        ws_url = proxy_url.replace("http://", "ws://") + "/_stcore/stream"
        async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                      additional_headers=header) as ws:
            back = BackMsg()
            back.rerun_script.page_name = "your_data"
            back.rerun_script.widget_states.SetInParent()
            await ws.send(back.SerializeToString())
            session_id, upload_url = None, None
            while upload_url is None:
                m = ForwardMsg()
                m.ParseFromString(await asyncio.wait_for(ws.recv(), 60))
                kind = m.WhichOneof("type")
                if kind == "new_session":
                    session_id = m.new_session.initialize.session_id
                elif kind == "script_finished" and session_id:
                    req = BackMsg()
                    req.file_urls_request.request_id = "r1"
                    req.file_urls_request.session_id = session_id
                    req.file_urls_request.file_names.append("a.csv")
                    await ws.send(req.SerializeToString())
                elif kind == "file_urls_response":
                    upload_url = m.file_urls_response.file_urls[0].upload_url
            url = upload_url if upload_url.startswith("http") else proxy_url + upload_url
            return [await asyncio.to_thread(_put_file, url, cookies) for _ in range(tries)]

    # Playwright's sync API runs an event loop in this thread: use a thread of our own
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result(timeout=300)


def test_uploads_need_the_cookie(cluster):
    """With the cookie every upload request reaches the learner's replica (204). Round robin
    over two replicas without it sends some of them to the other replica, which refuses
    them (400: Streamlit does not know the session there)."""
    assert upload_statuses(cluster.proxy.url) == [204] * 4
    loose = upload_statuses(cluster.loose.url)
    assert 400 in loose and set(loose) <= {204, 400}, loose


def test_a_stopped_replica_is_taken_out_and_the_others_serve(cluster, browser):
    cluster.replicas[-1].stop()
    name = f"replica{N_REPLICAS}"
    cluster.proxy.wait_status({name: "DOWN"}, timeout=30)
    for i in range(2):  # new learners, and one whose cookie names the stopped replica
        ctx, pg = _new_page(browser)
        if i == 1:
            ctx.add_cookies([{"name": COOKIE, "value": name, "url": cluster.proxy.url}])
        try:
            open_app_page(pg, cluster.proxy, "house_prices", "hp_mixture")
            assert _replica_of(ctx) != name
            assert_no_exception(pg)
        finally:
            ctx.close()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main([os.path.abspath(__file__), "-q"]))
