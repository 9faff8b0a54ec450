"""A local stand-in for the Hugging Face Hub: just enough HTTP API for ``huggingface_hub`` to create a
dataset repo and commit files to it (regular and LFS), on 127.0.0.1.

Implemented: ``POST /api/repos/create``, ``GET /api/datasets/{id}[/revision/{rev}]``,
``GET /api/datasets/{id}/tree/{rev}[/{path}]``, ``POST /api/validate-yaml``,
``POST /api/datasets/{id}/preupload/{rev}``, ``POST /datasets/{id}.git/info/lfs/objects/batch`` (basic
transfer, with verify), ``PUT /lfs/{oid}``, ``POST /lfs/verify``, ``POST /api/datasets/{id}/commit/{rev}``
(``parentCommit`` checked: 412 when stale), and for dataset downloads ``GET|HEAD
/datasets/{id}/resolve/{rev}/{path}`` (``Range`` honoured) and ``POST /api/datasets/{id}/paths-info/{rev}``.
Commits are stored in memory, so tests can assert them; :func:`use_endpoint` points ``huggingface_hub`` and
``datasets`` (which keeps its own copy of the endpoint) at the stand-in.
Clients must use the LFS path (``HF_HUB_DISABLE_XET=1``): Xet storage is not emulated.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

LFS_SUFFIXES = (".parquet", ".arrow", ".wav", ".flac", ".bin", ".safetensors")


def git_blob_oid(data: bytes) -> str:
    """Git's object id of a blob (what the Hub reports for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    oid: str
    parent: str | None
    message: str
    files: dict[str, bytes]  # path -> content (LFS files resolved to their content)
    lfs: frozenset[str]  # paths stored as LFS


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def at(self, revision: str) -> Commit | None:
        if revision in ("main", "refs/heads/main"):
            return self.head
        return next((c for c in self.commits if c.oid == revision or c.oid.startswith(revision)), None)


class HubState:
    """Repositories (dataset type only), stored LFS objects, a request log, and injected failures."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[str, tuple[int, str]] = {}  # endpoint kind -> (status, message), used once
        #: endpoint kind -> (arrived, release): a request of that kind sets ``arrived`` and waits for ``release``
        #: before it is answered (so a test can kill a client mid-push)
        self.hold: dict[str, tuple[threading.Event, threading.Event]] = {}
        self.lock = threading.Lock()

    def new_commit(self, repo: Repo, files: dict[str, bytes], lfs: set[str], message: str) -> Commit:
        parent = repo.commits[-1].oid if repo.commits else None
        digest = hashlib.sha1(json.dumps(
            [parent, message, sorted((p, hashlib.sha256(b).hexdigest()) for p, b in files.items())]
        ).encode()).hexdigest()
        commit = Commit(digest, parent, message, dict(files), frozenset(lfs))
        repo.commits.append(commit)
        return commit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: object = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has headers only
            self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers)

    @property
    def state(self) -> HubState:
        return self.server.state

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _injected(self, kind: str) -> bool:
        with self.state.lock:
            failure = self.state.fail.pop(kind, None)
        if failure:  # "{authorization}" in a message echoes the request's header, as a careless server might
            self._error(failure[0], failure[1].replace("{authorization}", self.headers.get("Authorization", "")))
        return failure is not None

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self._error(404, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit | None:
        commit = repo.at(unquote(revision))
        if commit is None:
            self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    # -- routing ---------------------------------------------------------------------------------
    _ROUTES = (
        ("POST", re.compile(r"^/api/repos/create$"), "create_repo"),
        ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
        ("GET", re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$"), "repo_info"),
        ("GET", re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$"), "tree"),
        ("POST", re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)$"), "preupload"),
        ("POST", re.compile(r"^/datasets/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch$"), "lfs_batch"),
        ("PUT", re.compile(r"^/lfs/(?P<oid>[0-9a-f]{64})$"), "lfs_put"),
        ("POST", re.compile(r"^/lfs/verify$"), "lfs_verify"),
        ("POST", re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)$"), "commit"),
        ("GET", re.compile(r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
        ("HEAD", re.compile(r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
        ("POST", re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)$"), "paths_info"),
    )

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._body()
        with self.state.lock:
            self.state.requests.append((method, url.path))
        for route_method, pattern, name in self._ROUTES:
            match = pattern.match(url.path) if route_method == method else None
            if match:
                if self._injected(name):
                    return
                held = self.state.hold.get(name)
                if held is not None:
                    held[0].set()
                    held[1].wait(timeout=120)
                getattr(self, f"_do_{name}")(body, parse_qs(url.query), **match.groupdict())
                return
        self._error(404, f"stand-in Hub: no route for {method} {url.path}")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    # -- endpoints -------------------------------------------------------------------------------
    def _do_create_repo(self, body: bytes, query: dict) -> None:
        payload = json.loads(body)
        if payload.get("type") != "dataset":
            self._error(400, "stand-in Hub: only dataset repos")
            return
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        with self.state.lock:
            if repo_id in self.state.repos:  # the Hub answers 409 with the repo's url
                message = "You already created this dataset repo"
                self._send(409, {"error": message, "url": f"{self.base}/datasets/{repo_id}"},
                           {"X-Error-Message": message})
                return
            repo = Repo(repo_id, payload.get("visibility") == "private" or bool(payload.get("private")))
            self.state.new_commit(repo, {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"},
                                  set(), "initial commit")
            self.state.repos[repo_id] = repo
        self._send(200, {"url": f"{self.base}/datasets/{repo_id}", "name": repo_id, "id": repo_id})

    def _do_validate_yaml(self, body: bytes, query: dict) -> None:
        content = json.loads(body)["content"]
        match = re.match(r"^---\n(.*?)\n---\n", content, flags=re.S)
        try:
            if match:
                yaml.safe_load(match.group(1))
        except yaml.YAMLError as err:
            self._send(400, {"errors": [{"message": str(err)}]})
            return
        self._send(200, {"errors": [], "warnings": []})

    def _do_repo_info(self, body: bytes, query: dict, repo: str, rev: str | None) -> None:
        found = self._repo(repo)
        commit = found and self._commit(found, rev or "main")
        if commit:
            self._send(200, {"id": repo, "sha": commit.oid, "private": found.private,
                             "siblings": [{"rfilename": p} for p in sorted(commit.files)]})

    def _do_tree(self, body: bytes, query: dict, repo: str, rev: str, path: str | None) -> None:
        found = self._repo(repo)
        commit = found and self._commit(found, rev)
        if not commit:
            return
        prefix = (unquote(path).rstrip("/") + "/") if path else ""
        recursive = query.get("recursive", ["False"])[0].lower() == "true"
        entries, folders = [], set()
        for file_path, data in sorted(commit.files.items()):
            if not file_path.startswith(prefix):
                continue
            rest = file_path[len(prefix):]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if (recursive or depth == 1) and folder not in folders:
                    folders.add(folder)
                    entries.append({"type": "directory", "path": folder, "oid": git_blob_oid(folder.encode())})
            if recursive or len(parts) == 1:
                entry = {"type": "file", "path": file_path, "size": len(data), "oid": git_blob_oid(data)}
                if file_path in commit.lfs:
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                entries.append(entry)
        self._send(200, entries)

    def _do_preupload(self, body: bytes, query: dict, repo: str, rev: str) -> None:
        found = self._repo(repo)
        commit = found and self._commit(found, rev)
        if not commit:
            return
        files = []
        for item in json.loads(body)["files"]:
            sample = base64.b64decode(item["sample"])
            lfs = item["path"].endswith(LFS_SUFFIXES) or b"\0" in sample or item["size"] > 10 * 1024**2
            existing = commit.files.get(item["path"])
            oid = None
            if existing is not None:
                oid = hashlib.sha256(existing).hexdigest() if lfs else git_blob_oid(existing)
            files.append({"path": item["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                          "oid": oid})
        self._send(200, {"files": files})

    def _do_lfs_batch(self, body: bytes, query: dict, repo: str) -> None:
        if self._repo(repo) is None:
            return
        objects = []
        for obj in json.loads(body)["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.state.lfs_objects:
                entry["actions"] = {"upload": {"href": f"{self.base}/lfs/{obj['oid']}"},
                                    "verify": {"href": f"{self.base}/lfs/verify"}}
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects})

    def _do_lfs_put(self, body: bytes, query: dict, oid: str) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            self._error(400, "LFS object does not match its oid")
            return
        with self.state.lock:
            self.state.lfs_objects[oid] = body
        self._send(200, {})

    def _do_lfs_verify(self, body: bytes, query: dict) -> None:
        payload = json.loads(body)
        stored = self.state.lfs_objects.get(payload["oid"])
        if stored is None or len(stored) != payload["size"]:
            self._error(422, f"LFS object {payload['oid']} not uploaded")
            return
        self._send(200, {})

    def _do_commit(self, body: bytes, query: dict, repo: str, rev: str) -> None:
        found = self._repo(repo)
        if found is None:
            return
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        with self.state.lock:
            base = found.at(unquote(rev))
            if base is None or base is not found.head:
                self._error(400, f"stand-in Hub: can only commit to the head of main, not {rev}")
                return
            parent = header.get("parentCommit")
            if parent and not base.oid.startswith(parent):
                self._error(412, "A commit has happened since. Please refresh and try again.")
                return
            files, lfs = dict(base.files), set(base.lfs)
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                    lfs.discard(value["path"])
                elif key == "lfsFile":
                    data = self.state.lfs_objects.get(value["oid"])
                    if data is None:
                        self._error(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                        return
                    files[value["path"]] = data
                    lfs.add(value["path"])
                elif key in ("deletedFile", "deletedFolder"):
                    doomed = [p for p in files if p == value["path"] or p.startswith(value["path"].rstrip("/") + "/")]
                    if not doomed:
                        self._error(404, f"A file with this name doesn't exist: {value['path']}", "EntryNotFound")
                        return
                    for p in doomed:
                        files.pop(p)
                        lfs.discard(p)
            commit = self.state.new_commit(found, files, lfs, header["summary"])
        self._send(200, {"commitUrl": f"{self.base}/datasets/{repo}/commit/{commit.oid}", "commitOid": commit.oid,
                         "success": True})


    def _file_entry(self, commit: Commit, file_path: str) -> dict:
        data = commit.files[file_path]
        entry = {"type": "file", "path": file_path, "size": len(data), "oid": git_blob_oid(data)}
        if file_path in commit.lfs:
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def _do_resolve(self, body: bytes, query: dict, repo: str, rev: str, path: str) -> None:
        """A file's bytes (``Range`` honoured, as ``HfFileSystem`` streaming reads), or its headers for HEAD."""
        found = self._repo(repo)
        commit = found and self._commit(found, rev)
        if not commit:
            return
        path = unquote(path)
        if path not in commit.files:
            self._error(404, f"Entry not found: {path}", "EntryNotFound")
            return
        data = commit.files[path]
        etag = hashlib.sha256(data).hexdigest() if path in commit.lfs else git_blob_oid(data)
        status, start, stop = 200, 0, len(data)
        match = re.match(r"bytes=(\d*)-(\d*)$", self.headers.get("Range", ""))
        if match and data:
            first, last = match.groups()
            start, stop = ((int(first), min(len(data), int(last) + 1 if last else len(data))) if first
                           else (max(0, len(data) - int(last)), len(data)))
            status = 206
        self.send_response(status)
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(stop - start),
                   "Accept-Ranges": "bytes", "ETag": f'"{etag}"', "X-Repo-Commit": commit.oid}
        if path in commit.lfs:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data[start:stop])

    def _do_paths_info(self, body: bytes, query: dict, repo: str, rev: str) -> None:
        found = self._repo(repo)
        commit = found and self._commit(found, rev)
        if not commit:
            return
        form = parse_qs(body.decode()) if not body.lstrip().startswith(b"{") else json.loads(body)
        paths = form.get("paths", [])
        entries = []
        for path in paths if isinstance(paths, list) else [paths]:
            if path in commit.files:
                entries.append(self._file_entry(commit, path))
            elif any(p.startswith(path.rstrip("/") + "/") for p in commit.files):
                entries.append({"type": "directory", "path": path, "oid": git_blob_oid(path.encode())})
        self._send(200, entries)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: HubState


def use_endpoint(monkeypatch, endpoint: str) -> None:
    """Make ``endpoint`` the Hub for ``huggingface_hub`` and ``datasets`` (both read ``HF_ENDPOINT`` at import)."""
    import datasets.config
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "ENDPOINT", endpoint)
    template = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", endpoint)
    monkeypatch.setattr(datasets.config, "HUB_DATASETS_URL", endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}")


class HubStandin:
    """Context manager: ``with HubStandin() as hub: hub.endpoint, hub.state``."""

    def __init__(self) -> None:
        self.state = HubState()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, name="hub-standin", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def repo(self, repo_id: str) -> Repo:
        return self.state.repos[repo_id]
