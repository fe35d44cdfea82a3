"""Static checks of the deployment files: Dockerfile, .dockerignore, compose.yaml,
deploy/k8s/*.yaml and deploy/smoke.sh.

No Docker engine or cluster runs in CI, so these tests parse the files (dockerfile-parse,
PyYAML) and check the invariants a real run depends on: the NVIDIA driver capabilities and EGL
vendor file, no driver libraries baked in, a non-root user, probes on the right paths and ports,
Indexed-Job parts that match the Job's completions, references that resolve, and `unnatural`
arguments that the real CLI parser accepts. The shell snippets of the Dockerfile that decide
what gets installed run here for real, with `pip` and `python3` replaced by recorders, and
smoke.sh runs against a stand-in for `docker` that starts the server as a local process.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import posixpath
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from unnatural.cli import make_parser
from unnatural.generator.args import UsageError
from unnatural.generator.spec import DatasetSpec

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
RENDER_JOB = ROOT / "deploy" / "k8s" / "render-job.yaml"
SERVER = ROOT / "deploy" / "k8s" / "server.yaml"
SMOKE = ROOT / "deploy" / "smoke.sh"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.sh"
HOST_PIP = ROOT / "deploy" / "host_pip.py"
DOCKER_TEST = ROOT / "deploy" / "docker-test.sh"
DOCS = ROOT / "docs" / "DEPLOY.md"

NVIDIA_VENDOR_FILE = "/usr/share/glvnd/egl_vendor.d/10_nvidia.json"
NVIDIA_VENDOR = {"file_format_version": "1.0.0", "ICD": {"library_path": "libEGL_nvidia.so.0"}}
CAPABILITIES = {"graphics", "compute", "utility"}
INDEX_VAR = "$(JOB_COMPLETION_INDEX)"


# -- helpers ----------------------------------------------------------------------------------
def parse_cli(argv: list[str]) -> argparse.Namespace:
    """Parse ``unnatural`` arguments with the real parser; a rejection fails the test."""
    try:
        return make_parser().parse_args(argv)
    except UsageError as exc:
        pytest.fail(f"`unnatural {shlex.join(argv)}` is rejected by the CLI: {exc}")


def render_options() -> dict:
    parser = make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["render"]._option_string_actions


def option(argv: list[str], flag: str) -> str | None:
    """The value after ``flag`` in ``argv`` (``None`` when absent)."""
    return argv[argv.index(flag) + 1] if flag in argv else None


def without_option(argv: list[str], flag: str) -> list[str]:
    if flag not in argv:
        return list(argv)
    i = argv.index(flag)
    return argv[:i] + argv[i + 2:]


def capability_set(value: str) -> set[str]:
    return {c.strip() for c in value.split(",") if c.strip()}


def env_dict(env) -> dict[str, str]:
    """A compose ``environment`` (mapping or ``KEY=VALUE`` list) or a k8s ``env`` list as a dict."""
    if env is None:
        return {}
    if isinstance(env, dict):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    out = {}
    for item in env:
        if isinstance(item, dict):
            out[item["name"]] = str(item.get("value", ""))
        else:
            key, _, value = str(item).partition("=")
            out[key] = value
    return out


def load_config_specs(text: str, tmp_path: Path) -> list[DatasetSpec]:
    """Specs of a server config (``datasets: [...]``) through the server's own loader and limits."""
    datasets = pytest.importorskip("unnatural.server.datasets", reason="the server extra is not installed")
    from unnatural.server.settings import ServerSettings

    path = tmp_path / "datasets.yaml"
    path.write_text(text)
    specs = datasets.load_config(path, ServerSettings())
    assert specs, "the datasets config registers no dataset"
    return specs


# -- Dockerfile -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dockerfile():
    dfp = pytest.importorskip("dockerfile_parse", reason="pip install dockerfile-parse (in the test extra)")
    parser = dfp.DockerfileParser(path=str(DOCKERFILE))
    structure = [s for s in parser.structure if s["instruction"] != "COMMENT"]
    stages = [i for i, s in enumerate(structure) if s["instruction"] == "FROM"]
    assert len(stages) == 1, "one stage expected: these checks read the final image's instructions"
    return parser, structure


def values(structure, instruction: str) -> list[str]:
    return [s["value"] for s in structure if s["instruction"] == instruction]


def position(structure, predicate) -> int:
    found = [i for i, s in enumerate(structure) if predicate(s)]
    assert found, "instruction not found"
    return found[0]


def run_shell(value: str) -> str:
    """The shell command of a RUN instruction without its ``--mount=...`` style flags."""
    text = value.strip()
    while text.startswith("--"):
        text = text.split(None, 1)[1]
    return text


def shell_commands(text: str) -> list[list[str]]:
    """Split a shell command line into simple commands (at && || ; | and parentheses)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in ("&&", "||", ";", "|", "(", ")", ";;"):
            if current:
                commands.append(current)
            current = []
        else:
            current.append(token)
    if current:
        commands.append(current)
    return commands


def apt_packages(structure) -> set[str]:
    packages = set()
    for value in values(structure, "RUN"):
        for cmd in shell_commands(run_shell(value)):
            if cmd and cmd[0] in ("apt-get", "apt") and "install" in cmd:
                after = cmd[cmd.index("install") + 1:]
                packages.update(t for t in after if not t.startswith("-") and t not in (">", "<"))
    return packages


def test_dockerfile_nvidia_driver_capabilities(dockerfile):
    parser, _ = dockerfile
    caps = capability_set(parser.envs.get("NVIDIA_DRIVER_CAPABILITIES", ""))
    assert CAPABILITIES <= caps, f"NVIDIA_DRIVER_CAPABILITIES={caps}: EGL needs graphics (plus compute, utility)"
    assert parser.envs.get("NVIDIA_VISIBLE_DEVICES") == "all"


def test_dockerfile_writes_nvidia_egl_vendor_file(dockerfile, tmp_path):
    _, structure = dockerfile
    runs = [run_shell(v) for v in values(structure, "RUN") if "10_nvidia.json" in v]
    assert len(runs) == 1, "one RUN should write the glvnd EGL vendor file 10_nvidia.json"
    folder = posixpath.dirname(NVIDIA_VENDOR_FILE)
    assert folder in runs[0]
    # Run it for real with the folder redirected, and read back what it wrote.
    script = runs[0].replace(folder, str(tmp_path / "egl_vendor.d"))
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=True)
    written = json.loads((tmp_path / "egl_vendor.d" / "10_nvidia.json").read_text())
    assert written == NVIDIA_VENDOR


def test_dockerfile_installs_glvnd_and_mesa_but_no_driver(dockerfile):
    _, structure = dockerfile
    packages = apt_packages(structure)
    missing = {"libglvnd0", "libegl1", "libgl1", "libopengl0", "libegl-mesa0", "libgl1-mesa-dri", "curl"} - packages
    assert not missing, f"apt packages missing: {sorted(missing)}"
    driver = [p for p in packages
              if re.match(r"(lib)?nvidia-|libcuda|xserver-xorg-video-nvidia|cuda-drivers", p)]
    assert not driver, f"driver packages must come from the host (NVIDIA container toolkit): {driver}"
    for value in values(structure, "COPY") + values(structure, "ADD"):
        assert "nvidia" not in value.lower(), f"driver files must not be copied into the image: {value}"


def test_dockerfile_variants_install_the_right_torch(dockerfile, tmp_path):
    parser, structure = dockerfile
    assert parser.args.get("VARIANT") == "gpu"
    runs = [run_shell(v) for v in values(structure, "RUN") if "$VARIANT" in v or "${VARIANT}" in v]
    assert len(runs) == 1, "one RUN should pick torch by $VARIANT"
    # Run that RUN for real with python3/pip replaced by recorders.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("python3", "pip"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
        (bin_dir / tool).chmod(0o755)

    def run(variant: str, **extra: str) -> tuple[int, list[str]]:
        log.write_text("")
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "VIRTUAL_ENV": str(tmp_path / "venv"), "VARIANT": variant,
               **{k: v for k, v in parser.args.items() if k != "VARIANT"}, **extra}
        done = subprocess.run(["sh", "-ec", runs[0]], env=env, capture_output=True, text=True)
        return done.returncode, [line for line in log.read_text().splitlines() if line.startswith("pip ")]

    version = parser.args["TORCH_VERSION"]
    assert version == "2.13.0"
    rc, calls = run("cpu")
    assert rc == 0 and calls == [f"pip install torch=={version} --index-url https://download.pytorch.org/whl/cpu"]
    rc, calls = run("gpu")
    assert rc == 0 and calls == [f"pip install torch=={version}"], "gpu: the CUDA build from PyPI"
    rc, calls = run("gpu", TORCH_GPU_INDEX="https://download.pytorch.org/whl/cu128")
    assert rc == 0 and calls == [f"pip install torch=={version} --index-url https://download.pytorch.org/whl/cu128"]
    rc, calls = run("tpu")
    assert rc != 0 and calls == [], "an unknown VARIANT must fail the build"


def test_dockerfile_dependencies_come_from_pyproject(dockerfile, monkeypatch):
    from importlib.metadata import PackageNotFoundError, version

    try:
        version("torch")  # the RUN pins the torch it finds installed
    except PackageNotFoundError:
        pytest.skip("torch is not installed here")
    _, structure = dockerfile
    runs = [run_shell(v) for v in values(structure, "RUN") if "tomllib" in v]
    assert len(runs) == 1
    code = shlex.split(runs[0])[-1]  # python -c '<code>'
    code = code.replace("/opt/unnatural/pyproject.toml", str(ROOT / "pyproject.toml"))
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda argv: calls.append(argv))
    exec(compile(code, "Dockerfile", "exec"), {})
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"]
    requirements = calls[0][4:]
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}
    assert {"moderngl", "webdataset", "fastapi", "uvicorn", "prometheus-client", "torch", "kornia"} <= names
    assert "unnatural" not in names and "pytest" not in names
    assert f"torch=={version('torch')}" in requirements, "the installed torch build must be pinned"


def test_dockerfile_layers_dependencies_before_source(dockerfile):
    _, structure = dockerfile
    torch_run = position(structure, lambda s: s["instruction"] == "RUN" and "$VARIANT" in s["value"])
    deps_run = position(structure, lambda s: s["instruction"] == "RUN" and "tomllib" in s["value"])
    source_copy = position(structure, lambda s: s["instruction"] == "COPY" and s["value"].split()[0] == ".")
    assert torch_run < deps_run < source_copy
    for s in structure[:source_copy]:
        if s["instruction"] in ("COPY", "ADD"):
            assert s["value"].split()[0] == "pyproject.toml", f"only pyproject.toml before the source: {s['value']}"


def test_dockerfile_runs_as_non_root(dockerfile):
    _, structure = dockerfile
    users = values(structure, "USER")
    assert users, "no USER instruction: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user == "10001", "the uid the Kubernetes manifests' runAsUser and the docs assume"
    creates = [v for v in values(structure, "RUN") if "useradd" in v]
    assert creates and re.search(r"--uid\s+10001\b", creates[0])
    assert values(structure, "WORKDIR")[-1] == "/data"


def test_dockerfile_healthcheck_entrypoint_cmd_expose(dockerfile):
    _, structure = dockerfile
    (health,) = values(structure, "HEALTHCHECK")
    assert health.split("CMD", 1)[1].split() == ['["unnatural-healthcheck"]']
    copied = [v.split() for v in values(structure, "COPY")]
    assert ["deploy/healthcheck.sh", "/usr/local/bin/unnatural-healthcheck"] in copied
    assert not ignored("deploy/healthcheck.sh", dockerignore_patterns()), "the probe must reach the build"
    assert os.access(HEALTHCHECK, os.X_OK), "COPY keeps the mode: the probe must be executable"
    assert json.loads(values(structure, "ENTRYPOINT")[-1]) == ["unnatural"]
    cmd = json.loads(values(structure, "CMD")[-1])
    assert cmd[0] == "serve"
    args = parse_cli(cmd)
    assert args.host == "0.0.0.0" and args.port == 8000
    exposed = {p.split("/")[0] for v in values(structure, "EXPOSE") for p in v.split()}
    assert "8000" in exposed


# -- .dockerignore ----------------------------------------------------------------------------
def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last matching pattern wins, ``!`` re-includes, and a
    pattern that matches a folder covers everything below it. fnmatch's ``*`` also crosses
    ``/``, so this errs towards "ignored" (stricter for the files the build needs)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.strip("/")
        variants = {pat, pat[3:]} if pat.startswith("**/") else {pat}
        if any(fnmatch.fnmatchcase(p, v) for p in prefixes for v in variants):
            result = not negate
    return result


def test_dockerignore_keeps_the_build_inputs_only():
    patterns = dockerignore_patterns()
    for path in (".venv", ".venv/bin/python", ".git", ".git/HEAD", "tests/test_cli.py", "runs/digits/log.jsonl",
                 "demo/unnatural-000000.tar", "generator/__pycache__/cli.cpython-311.pyc", "token"):
        assert ignored(path, patterns), f".dockerignore should exclude {path}"
    needed = ["pyproject.toml", "README.md"]
    for package in ("generator", "server", "distill", "shaders"):
        needed += [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts]
    kept_out = [p for p in needed if ignored(p, patterns)]
    assert not kept_out, f".dockerignore excludes files the image needs: {kept_out[:10]}"


# -- deploy/healthcheck.sh (the HEALTHCHECK) -----------------------------------------------------
@pytest.fixture()
def healthz_server():
    """A local HTTP server whose /healthz answers 200 (anything else 404); yields its port."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def fake_proc(tmp_path: Path, *argvs: list[str]) -> Path:
    """A stand-in for /proc holding one process per argv (only the cmdline files the probe reads)."""
    proc = tmp_path / "proc"
    for pid, argv in enumerate(argvs, start=100):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "cmdline").write_bytes(b"".join(a.encode() + b"\0" for a in argv))
    return proc


def probe(proc: Path) -> int:
    return subprocess.run(["sh", str(HEALTHCHECK), str(proc)], capture_output=True, timeout=60).returncode


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("port_args", [["--port", "{port}"], ["--port={port}"]])
def test_healthcheck_follows_the_serve_port(tmp_path, healthz_server, port_args):
    """The image's probe asks the port the running `unnatural serve` was given, not 8000."""
    port_args = [a.format(port=healthz_server) for a in port_args]
    venv_python = ["/opt/venv/bin/python3", "/opt/venv/bin/unnatural"]
    proc = fake_proc(tmp_path, ["/sbin/docker-init", "--", "unnatural", "serve", "--port", "1"],
                     venv_python + ["serve", "--host", "0.0.0.0", *port_args, "--workers", "1"])
    # The first process (an init whose argv merely contains the words) names a dead port: the
    # probe goes on to the real server.
    assert probe(proc) == 0


def test_healthcheck_fails_when_the_server_does_not_answer(tmp_path, healthz_server):
    dead = free_port()
    proc = fake_proc(tmp_path, ["python3", "-m", "unnatural", "serve", "--host", "127.0.0.1", "--port", str(dead)],
                     # a render process with the live port in its argv is not a server
                     ["unnatural", "render", "--port", str(healthz_server)])
    assert probe(proc) == 1


# -- deploy/host_pip.py and deploy/docker-test.sh (make docker-test) ---------------------------------
@pytest.fixture()
def host_pip():
    """deploy/host_pip.py, imported from its path (deploy/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("host_pip", HOST_PIP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_host_pip_moves_local_paths_under_one_mount_root(tmp_path, host_pip, monkeypatch):
    index = tmp_path / "mirror" / "simple"
    (index / "pkg").mkdir(parents=True)
    (tmp_path / "mirror" / "files").mkdir()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    cert = tmp_path / "ca.crt"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(host_pip, "reachable", lambda url: False)
    settings = {"cert": str(cert), "find-links": f"{wheels} https://example.invalid/wheels",
                "extra-index-url": f"file://{index}", "index-url": "https://mirror.invalid/simple",
                "default-timeout": "60"}
    flags = host_pip.build_flags(settings, tmp_path)
    mounts = dict(f.removeprefix("--volume=").rsplit(":", 1)[0].split(":") for f in flags if f.startswith("--volume="))
    conf = configparser_global(tmp_path / "pip.conf")
    assert mounts[str(tmp_path / "pip.conf")] == "/etc/pip.conf"
    # the index goes with its parent, where its pages' relative links lead
    assert conf["extra-index-url"] == f"file://{mounts[str(tmp_path / 'mirror')]}/simple"
    assert conf["cert"] == mounts[str(cert)] and conf["cert"].startswith("/host-pip/")
    assert conf["find-links"].split() == [mounts[str(wheels)], "https://example.invalid/wheels"]
    assert conf["default-timeout"] == "60" and conf["index-url"] == "https://mirror.invalid/simple"
    # PyTorch's index does not answer: the host's own index does
    assert "--build-arg=TORCH_CPU_INDEX=https://mirror.invalid/simple" in flags
    monkeypatch.setattr(host_pip, "reachable", lambda url: True)
    assert f"--build-arg=TORCH_CPU_INDEX={host_pip.DEFAULT_TORCH_CPU_INDEX}" in host_pip.build_flags(settings, tmp_path)


def configparser_global(path: Path) -> dict[str, str]:
    import configparser

    parser = configparser.ConfigParser()
    parser.read(path)
    return dict(parser["global"])


def test_host_pip_reads_what_pip_resolves(tmp_path, host_pip, monkeypatch):
    """Values come from pip itself: a config file's, and PIP_* variables over them."""
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\ntrusted-host = files.invalid\nfind-links = /from/the/file\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_FIND_LINKS", "/from/the/env")
    monkeypatch.delenv("PIP_TRUSTED_HOST", raising=False)
    settings = host_pip.pip_settings(sys.executable)
    assert settings["trusted-host"] == "files.invalid"
    assert settings["find-links"] == "/from/the/env"


def test_docker_test_script_is_valid_bash_and_wired_to_ci():
    for script in (DOCKER_TEST, HOST_PIP):
        assert os.access(script, os.X_OK), f"{script.name} should be executable"
    subprocess.run(["bash", "-n", str(DOCKER_TEST)], check=True)
    text = DOCKER_TEST.read_text()
    assert "--format docker" not in text, "smoke.sh adds --format docker for podman itself"
    assert "DOCKER=podman" in text and "SMOKE_BUILD_ARGS=" in text and "BASE_IMAGE=" in text
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^docker-test:", makefile, re.M) and "deploy/docker-test.sh" in makefile
    assert "make docker-test" in (ROOT / ".ci" / "run").read_text()


# -- compose.yaml -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def gpu_devices(service: dict) -> list[dict]:
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


def test_compose_server_builds_and_reserves_gpus(compose):
    server = compose["services"]["server"]
    build = server["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (COMPOSE.parent / context).resolve() == ROOT
    if isinstance(build, dict) and "args" in build:
        assert env_dict(build["args"]).get("VARIANT") == "gpu"
    devices = gpu_devices(server)
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices), devices
    for d in devices:
        assert d.get("count", "all") == "all" or int(d["count"]) >= 1
    assert CAPABILITIES <= capability_set(env_dict(server.get("environment")).get("NVIDIA_DRIVER_CAPABILITIES",
                                                                               "graphics,compute,utility"))
    targets = {str(p).rsplit(":", 1)[-1] if not isinstance(p, dict) else str(p["target"])
               for p in server["ports"]}
    assert "8000" in targets


def test_compose_server_arguments_config_and_token(compose, tmp_path):
    server = compose["services"]["server"]
    argv = [str(a) for a in server["command"]]
    args = parse_cli(argv)
    assert args.cmd == "serve" and args.host == "0.0.0.0" and args.port == 8000
    # the datasets config: a read-only compose config (or a :ro bind mount) at --config
    config_target = str(args.config)
    mounted = {c["target"]: c["source"] for c in server.get("configs", []) if isinstance(c, dict)}
    if config_target in mounted:
        config = compose["configs"][mounted[config_target]]
        text = config["content"] if "content" in config else (COMPOSE.parent / config["file"]).read_text()
        load_config_specs(text, tmp_path)
    else:
        volumes = [str(v) for v in server.get("volumes", [])]
        assert any(v.split(":")[1] == config_target and v.endswith(":ro") for v in volumes), \
            f"--config {config_target} is neither a compose config nor a read-only mount"
    # the token: a secret file, never a literal in the file
    token_file = str(args.token_file)
    assert token_file.startswith("/run/secrets/")
    secret = token_file.rsplit("/", 1)[1]
    names = [s if isinstance(s, str) else s["source"] for s in server.get("secrets", [])]
    assert secret in names and "file" in compose["secrets"][secret]
    for service in compose["services"].values():
        env = env_dict(service.get("environment"))
        assert not env.get("UNNATURAL_TOKEN"), "a token must not be hard-coded in compose.yaml"


def test_compose_healthcheck_inherits_and_render_profile(compose):
    server = compose["services"]["server"]
    assert "healthcheck" not in server or not server["healthcheck"].get("disable"), \
        "the server should keep the image's HEALTHCHECK"
    render = compose["services"].get("render")
    if render is None:
        return
    assert render.get("profiles"), "the render service should only run on request (a profile)"
    argv = [str(a) for a in render["command"]]
    args = parse_cli(argv)
    assert args.cmd == "render"
    targets = [str(v).split(":")[1] for v in render.get("volumes", [])]
    assert str(args.out) in targets, "--out must be a mounted host folder"
    assert render.get("healthcheck", {}).get("disable") is True, "no HTTP server in a render container"
    assert any(d.get("driver") == "nvidia" for d in gpu_devices(render))
    spec_source = {c["target"]: c["source"] for c in render.get("configs", [])}.get(str(args.spec))
    if spec_source is not None:
        DatasetSpec.from_dict(yaml.safe_load(compose["configs"][spec_source]["content"]))


# -- Kubernetes ---------------------------------------------------------------------------------
def load_documents(path: Path) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), d
    return docs


def one(docs: list[dict], kind: str) -> dict:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def named(docs: list[dict], kind: str, name: str) -> dict | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def docs_text() -> str:
    assert DOCS.is_file(), "docs/DEPLOY.md documents the deployment"
    return DOCS.read_text()


def mount_for(container: dict, pod: dict, path: str) -> tuple[dict, dict, str]:
    """The volumeMount holding ``path``, its volume and the path inside that volume."""
    for mount in container.get("volumeMounts", []):
        root = mount["mountPath"].rstrip("/")
        if path == root or path.startswith(root + "/"):
            volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
            return mount, volume, path[len(root):].lstrip("/")
    pytest.fail(f"{path} is on no volume mount of container {container['name']}")


def check_pod_security(pod: dict, container: dict) -> None:
    security = pod.get("securityContext", {})
    assert security.get("runAsNonRoot") is True
    assert security.get("runAsUser", 10001) == 10001, "the image's uid"
    assert container.get("securityContext", {}).get("allowPrivilegeEscalation") is False


def check_gpu(container: dict) -> None:
    assert int(container["resources"]["limits"]["nvidia.com/gpu"]) == 1
    env = env_dict(container.get("env"))
    assert CAPABILITIES <= capability_set(env.get("NVIDIA_DRIVER_CAPABILITIES", ""))


def workload(path, kind: str):
    """``(documents, the one workload of kind, its pod spec, its one container)`` of a manifest."""
    docs = load_documents(path)
    resource = one(docs, kind)
    pod = resource["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return docs, resource, pod, container


@pytest.fixture(scope="module")
def render_job():
    return workload(RENDER_JOB, "Job")


def test_job_is_indexed_with_parts_matching_completions(render_job):
    _, job, pod, container = render_job
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    n = int(spec["completions"])
    assert 1 <= int(spec.get("parallelism", 1)) <= n
    argv = [str(a) for a in container["args"]]
    assert argv[0] == "render" and "--resume" in argv and "--no-progress" in argv
    part = option(argv, "--part")
    assert part is not None, "pods must render their own part: --part $(JOB_COMPLETION_INDEX)/N"
    match = re.fullmatch(re.escape(INDEX_VAR) + r"/(\d+)", part)
    assert match, f"--part {part!r} should be {INDEX_VAR}/N"
    assert int(match.group(1)) == n, f"--part .../{match.group(1)} but completions: {n}"
    # every $(VAR) in the args must be one the kubelet can expand
    known = set(env_dict(container.get("env"))) | {"JOB_COMPLETION_INDEX"}
    for name in re.findall(r"\$\((\w+)\)", " ".join(argv)):
        assert name in known, f"$({name}) is not in the container's env: Kubernetes would pass it literally"
    assert "backoffLimitPerIndex" in spec or "backoffLimit" in spec
    if "backoffLimitPerIndex" in spec or "podFailurePolicy" in spec:
        assert pod["restartPolicy"] == "Never", "backoffLimitPerIndex and podFailurePolicy need restartPolicy: Never"
    assert pod["restartPolicy"] in ("Never", "OnFailure")


def test_job_args_are_accepted_by_the_cli(render_job):
    _, job, _, container = render_job
    argv = [str(a) for a in container["args"]]
    args = parse_cli(without_option(argv, "--part"))
    assert args.cmd == "render" and args.resume and args.no_progress


def test_job_part_is_accepted_by_the_cli(render_job):
    _, job, _, container = render_job
    if "--part" not in render_options():
        pytest.skip("`unnatural render --part I/N` is not in the CLI yet (being implemented in parallel); "
                    "the rest of the Job's arguments are checked by test_job_args_are_accepted_by_the_cli")
    argv = [str(a) for a in container["args"]]
    n = int(job["spec"]["completions"])
    for index in (0, n - 1):
        parse_cli([a.replace(INDEX_VAR, str(index)) for a in argv])


def test_job_volumes_spec_and_gpu(render_job, tmp_path):
    docs, job, pod, container = render_job
    argv = [str(a) for a in container["args"]]
    check_gpu(container)
    check_pod_security(pod, container)
    # output on the shared ReadWriteMany claim, documented in docs/DEPLOY.md
    mount, volume, _ = mount_for(container, pod, option(argv, "--out"))
    assert not mount.get("readOnly")
    claim = volume["persistentVolumeClaim"]["claimName"]
    if named(docs, "PersistentVolumeClaim", claim) is None:
        text = docs_text()
        assert claim in text and "ReadWriteMany" in text, f"PVC {claim} is neither in the file nor in docs/DEPLOY.md"
    # the spec from the ConfigMap in the same file; it has at least one shard per part
    _, volume, key = mount_for(container, pod, option(argv, "--spec"))
    config_map = named(docs, "ConfigMap", volume["configMap"]["name"])
    assert config_map is not None, "the spec ConfigMap should be in the same file"
    spec = DatasetSpec.from_dict(yaml.safe_load(config_map["data"][key]))
    assert spec.num_shards >= int(job["spec"]["completions"]), "more parts than shards"


@pytest.fixture(scope="module")
def server_manifests():
    return workload(SERVER, "Deployment")


def container_port(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


def test_deployment_probes_ports_and_args(server_manifests):
    _, deployment, pod, container = server_manifests
    assert deployment["spec"]["replicas"] == 2
    argv = [str(a) for a in container["args"]]
    args = parse_cli(argv)
    assert args.cmd == "serve" and args.host == "0.0.0.0" and args.workers == 1
    ports = {p["containerPort"] for p in container["ports"]}
    assert ports == {args.port} == {8000}
    ready, live = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    assert ready["path"] == "/readyz" and container_port(container, ready["port"]) == 8000
    assert live["path"] == "/healthz" and container_port(container, live["port"]) == 8000
    if "startupProbe" in container:
        assert container["startupProbe"]["httpGet"]["path"] in ("/healthz", "/readyz")
    check_gpu(container)
    check_pod_security(pod, container)
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/path") == "/metrics"
    assert int(annotations.get("prometheus.io/port")) == 8000


def test_service_reaches_the_pods(server_manifests):
    docs, deployment, _, container = server_manifests
    service = one(docs, "Service")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    assert container_port(container, port.get("targetPort", port["port"])) == 8000


def test_deployment_config_and_token_resolve(server_manifests, tmp_path):
    docs, _, pod, container = server_manifests
    args = parse_cli([str(a) for a in container["args"]])
    mount, volume, key = mount_for(container, pod, str(args.config))
    assert mount.get("readOnly") is True
    config_map = named(docs, "ConfigMap", volume["configMap"]["name"])
    assert config_map is not None and key in config_map["data"]
    load_config_specs(config_map["data"][key], tmp_path)
    # the token: a Secret volume, created by hand as docs/DEPLOY.md says
    mount, volume, key = mount_for(container, pod, str(args.token_file))
    secret = volume["secret"]
    items = {i["path"]: i["key"] for i in secret.get("items", [])}
    secret_key = items.get(key, key)
    if named(docs, "Secret", secret["secretName"]) is None:
        text = docs_text()
        assert f"kubectl create secret generic {secret['secretName']} --from-file={secret_key}=" in text, \
            f"Secret {secret['secretName']} (key {secret_key}) is neither in the file nor documented"


# -- smoke.sh -----------------------------------------------------------------------------------
def test_smoke_script_is_valid_bash():
    assert SMOKE.stat().st_mode & stat.S_IXUSR, "deploy/smoke.sh should be executable"
    text = SMOKE.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert "trap " in text and "tar -tf" in text and "/readyz" in text
    subprocess.run(["bash", "-n", str(SMOKE)], check=True)


# A stand-in for the docker CLI with just the subcommands smoke.sh uses: `run` starts the
# command as a local process (the server on a free port instead of the published one, mounted
# paths substituted), `inspect` reports its health from the image's own probe, and a run without
# --user leaves its output to uid 10001 as the image's user would (when the test runs as root).
FAKE_DOCKER = r"""#!/usr/bin/env bash
set -euo pipefail
state="$FAKE_DOCKER_STATE"
cmd="$1"; shift
case "$cmd" in
  --version) echo "Docker version 0 (stand-in)" ;;
  build) echo "build $*" >> "$state/calls" ;;
  run)
    echo "run $*" >> "$state/calls"
    id="c$RANDOM$RANDOM"; volumes=(); port_in=""; user=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -d|--init|--no-healthcheck) shift ;;
        --gpus|--health-interval) shift 2 ;;
        --user) user="$2"; shift 2 ;;
        -p) port_in="${2##*:}"; shift 2 ;;
        -v) volumes+=("$2"); shift 2 ;;
        *) break ;;
      esac
    done
    shift
    port="$("$FAKE_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    args=()
    for a in "$@"; do
      for v in "${volumes[@]}"; do
        source_path="${v%%:*}"; target="${v#*:}"; target="${target%%:*}"
        a="${a//$target/$source_path}"
      done
      [ -n "$port_in" ] && [ "$a" = "$port_in" ] && a="$port"
      args+=("$a")
    done
    (
      rc=0; "$FAKE_UNNATURAL" "${args[@]}" || rc=$?
      if [ -z "$user" ] && [ "$(id -u)" = 0 ]; then
        for v in "${volumes[@]}"; do [ -d "${v%%:*}" ] && chown -R 10001:10001 "${v%%:*}"; done
      fi
      echo "$rc" > "$state/$id.rc"
    ) > "$state/$id.log" 2>&1 &
    echo $! > "$state/$id.pid"; echo "$port" > "$state/$id.port"; echo "$port_in" > "$state/$id.port_in"; echo "$id" ;;
  port) echo "127.0.0.1:$(cat "$state/$1.port")" ;;
  wait) while [ ! -e "$state/$1.rc" ]; do sleep 0.2; done; cat "$state/$1.rc" ;;
  inspect)
    id="${*: -1}"
    case "$*" in
      *Health*) if sh "$FAKE_HEALTHCHECK"; then echo healthy; else echo unhealthy; fi ;;
      *) if [ ! -e "$state/$id.rc" ]; then echo true; else echo false; fi ;;
    esac ;;
  logs) cat "$state/$1.log" ;;
  rm)
    id="${*: -1}"; pid="$(cat "$state/$id.pid")"
    pkill -P "$pid" 2> /dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    pkill -9 -P "$pid" 2> /dev/null || true
    echo "rm $id" >> "$state/calls" ;;
  *) echo "fake docker: $cmd is not emulated" >&2; exit 1 ;;
esac
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_smoke_script_against_a_stand_in_docker(tmp_path, renderer):
    """smoke.sh's own logic (port discovery, /readyz polling, token, tar check, cleanup) with the
    server run as a local process: catches script bugs that `bash -n` cannot. (``renderer``:
    the session's EGL context proves EGL works here; a second context created and released in
    this process would break that one.)"""
    unnatural = Path(sys.executable).with_name("unnatural")
    if not unnatural.exists():
        pytest.skip("the unnatural console script is not installed next to this interpreter")
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    fake = tmp_path / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, "DOCKER": str(fake), "FAKE_DOCKER_STATE": str(state), "FAKE_PYTHON": sys.executable,
           "FAKE_UNNATURAL": str(unnatural), "FAKE_HEALTHCHECK": str(HEALTHCHECK), "SMOKE_TIMEOUT": "120",
           "SMOKE_BUILD_ARGS": "--network=host --build-arg=BASE_IMAGE=debian:bookworm"}
    done = subprocess.run([str(SMOKE)], env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("PASS")
    calls = (state / "calls").read_text().splitlines()
    assert calls[0].startswith("build --network=host --build-arg=BASE_IMAGE=debian:bookworm --build-arg VARIANT=cpu ")
    runs = [c for c in calls if c.startswith("run ")]
    assert len(runs) == 2 and not any("--gpus" in c for c in runs)
    assert "render --out /out" in runs[0] and "serve " in runs[1] and "--port 8811" in runs[1]
    assert "/run/secrets/unnatural_token" in runs[1]
    removed = sorted(c.split()[1] for c in calls if c.startswith("rm "))
    assert len(removed) == 2, "both containers must be removed, by id"
    assert "smoke: HEALTHCHECK healthy on port 8811" in done.stdout
