"""CURVE identities: keypairs, key files and the enrolment table (peer name -> role, public key).

Layout of a run's key directory (RUN/keys by default):

    NAME.key           the peer's public key (Z85), readable
    NAME.key_secret    its secret key (Z85), mode 0600, read only by the peer's own process
    enrolment.json     {"NAME": {"role": ROLE, "public": Z85}, ...}: who may connect, as whom

The enrolment table is the one binding of names to keys: a peer is whoever holds the secret
key of the public key enrolled under its name. It is written atomically (rename), so a process
that re-reads it on an unknown key (a peer that joined at run time) never sees half a file.
A deployment gives each host its own copy; a host other than the bootstrap's learns a joiner's
entry by asking the bootstrap (`whois`, scowl.security.zap), in memory only (`learn`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import zmq
from zmq.utils import z85

from scowl.errors import ScowlError

ENROLMENT_FILE = "enrolment.json"


class EnrolmentError(ScowlError):
    """A name enrolled twice with different keys, a malformed table, or a missing key file."""


@dataclass(frozen=True)
class Keypair:
    public: bytes  # Z85, 40 bytes
    secret: bytes  # Z85, 40 bytes

    @classmethod
    def generate(cls) -> Keypair:
        public, secret = zmq.curve_keypair()
        return cls(public, secret)


def _check_key(key: bytes | str, what: str) -> bytes:
    raw = key.encode("ascii") if isinstance(key, str) else bytes(key)
    if len(raw) != 40:
        raise EnrolmentError(f"{what}: a CURVE key is 40 Z85 characters, got {len(raw)}")
    try:
        z85.decode(raw)
    except (ValueError, KeyError, TypeError):
        raise EnrolmentError(f"{what}: not a Z85 key") from None
    return raw


def _check_name_and_key(name: str, public_key: bytes | str) -> bytes:
    """An enrolment's public key as bytes, once the key and the name (1 to 64 characters) are valid."""
    key = _check_key(public_key, f"public key of {name}")
    if not name or len(name) > 64:
        raise EnrolmentError(f"enrolment name {name!r}: 1 to 64 characters")
    return key


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600 from creation, never world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def write_keypair(keys_dir: str | Path, name: str, pair: Keypair) -> None:
    d = Path(keys_dir)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    (d / f"{name}.key").write_bytes(pair.public + b"\n")
    _write_private(d / f"{name}.key_secret", pair.secret + b"\n")


def load_keypair(keys_dir: str | Path, name: str) -> Keypair:
    d = Path(keys_dir)
    try:
        public = (d / f"{name}.key").read_bytes().strip()
        secret_path = d / f"{name}.key_secret"
        secret = secret_path.read_bytes().strip()
    except FileNotFoundError as exc:
        raise EnrolmentError(f"no CURVE key for {name!r} in {d} ({exc.filename} missing): "
                             "was this peer enrolled for this run?") from None
    mode = secret_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise EnrolmentError(f"{secret_path}: mode {mode:o}, a secret key must be 0600 (chmod 600 it)")
    return Keypair(_check_key(public, f"{name}.key"), _check_key(secret, f"{name}.key_secret"))


class Enrolment:
    """The table of enrolled peers: name -> (role, public key), and the reverse, key -> name.
    With a `keys_dir` every `add` is persisted, and `refresh()` picks up what another process
    added (a peer that joined at run time)."""

    def __init__(self, keys_dir: str | Path | None = None) -> None:
        self.keys_dir = Path(keys_dir) if keys_dir else None
        self._role: dict[str, str] = {}
        self._public: dict[str, bytes] = {}
        self._by_key: dict[bytes, str] = {}
        self._joined: set[str] = set()  # enrolled by the bootstrap for a `join` (it showed the run's join token)
        self._mtime = -1.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lookups
    def __contains__(self, name: str) -> bool:
        return name in self._public

    def __len__(self) -> int:
        return len(self._public)

    def names(self) -> list[str]:
        return sorted(self._public)

    def role(self, name: str) -> str | None:
        """The role `name` is enrolled with (None: not enrolled). A miss re-reads the file if it
        changed: another actor's table in this process (a shared scowl-node) may have enrolled it."""
        role = self._role.get(name)
        if role is None and self.refresh():
            role = self._role.get(name)
        return role

    def joined(self, name: str) -> bool:
        """Enrolled by a `join` the bootstrap admitted (a member of the run's day, not only a key)."""
        return name in self._joined or (self.refresh() and name in self._joined)

    def public_key(self, name: str) -> bytes:
        key = self._public.get(name)
        if key is None and self.refresh():
            key = self._public.get(name)
        if key is None:
            raise EnrolmentError(f"{name!r} is not enrolled (no public key to authenticate it by)")
        return key

    def name_of(self, public_key: bytes) -> str | None:
        """The enrolled name of a Z85 public key (None: not enrolled)."""
        name = self._by_key.get(bytes(public_key))
        if name is None and self.refresh():
            name = self._by_key.get(bytes(public_key))
        return name

    # ------------------------------------------------------------ changes
    def add(self, name: str, role: str, public_key: bytes | str, joined: bool = False) -> None:
        """Enrol `name` (of `role`) as the holder of `public_key`. Enrolling the same name with
        the same key again is a no-op; with another key it is refused ("duplicate name").
        `joined`: the bootstrap admitted it by the join token (the table says `"joined": true`)."""
        key = _check_name_and_key(name, public_key)
        with self._lock:
            self.refresh()
            self._bind(name, role, key, "offered", "")
            if joined:
                self._joined.add(name)
            self._save()

    def learn(self, name: str, role: str, public_key: bytes | str) -> None:
        """Take `name` (of `role`, enrolled by a join) as the holder of `public_key`, as the
        bootstrap answered a `whois`: in this process's table only, never written to the file
        (this host's copy is the deployment's; the bootstrap's host holds the run's table).
        A name or key this table binds otherwise is refused ("duplicate name"/"duplicate key")."""
        key = _check_name_and_key(name, public_key)
        with self._lock:
            self._bind(name, role, key, "learnt", " here")
            self._joined.add(name)

    def _bind(self, name: str, role: str, key: bytes, how: str, where: str) -> None:
        """`name` holds `key` from now on, unless this table binds either to another ("duplicate name"/"duplicate key")."""
        if self._public.get(name, key) != key:
            raise EnrolmentError(f"duplicate name: {name!r} is enrolled{where} with another key")
        other = self._by_key.get(key)
        if other is not None and other != name:
            raise EnrolmentError(f"duplicate key: the key {how} for {name!r} is {other!r}'s{where}")
        self._put(name, role, key)

    def _put(self, name: str, role: str, key: bytes) -> None:
        self._role[name] = role
        self._public[name] = key
        self._by_key[key] = name

    def _save(self) -> None:
        if self.keys_dir is None:
            return
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        table = {n: {"role": self._role[n], "public": self._public[n].decode("ascii"), **({"joined": True} if n in self._joined else {})}
                 for n in sorted(self._public)}
        fd, tmp = tempfile.mkstemp(dir=self.keys_dir, prefix=".enrolment-")
        with os.fdopen(fd, "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.keys_dir / ENROLMENT_FILE)
        self._mtime = (self.keys_dir / ENROLMENT_FILE).stat().st_mtime

    def refresh(self) -> bool:
        """Re-read the table file if it changed since last read; True when it was re-read."""
        if self.keys_dir is None:
            return False
        path = self.keys_dir / ENROLMENT_FILE
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return False
        if mtime == self._mtime:
            return False
        try:
            table = json.loads(path.read_text())
            entries = [(str(n), str(e["role"]), _check_key(e["public"], f"{path}: {n}")) for n, e in table.items()]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise EnrolmentError(f"{path}: not an enrolment table ({type(exc).__name__}: {exc})") from None
        for name, role, key in entries:
            self._put(name, role, key)
        self._joined |= {str(n) for n, e in table.items() if e.get("joined") is True}
        self._mtime = mtime
        return True

    @classmethod
    def load(cls, keys_dir: str | Path) -> Enrolment:
        e = cls(keys_dir)
        if not e.refresh():
            raise EnrolmentError(f"no enrolment table at {Path(keys_dir) / ENROLMENT_FILE}")
        return e


def enrol(keys_dir: str | Path, name: str, role: str, enrolment: Enrolment | None = None, joined: bool = False) -> Keypair:
    """Make a keypair for `name`, write its key files and add it to the table (`joined`: as
    the bootstrap enrols a peer admitted to join the running day)."""
    pair = Keypair.generate()
    table = enrolment if enrolment is not None else Enrolment(keys_dir)
    table.add(name, role, pair.public, joined=joined)
    write_keypair(keys_dir, name, pair)
    return pair


def enrol_all(keys_dir: str | Path, roles: dict[str, str]) -> Enrolment:
    """Enrol every peer of a run (name -> role) in a fresh key directory: the bootstrap of a
    secure run, done by whoever creates the run (`scowl run`, `scowl deploy`)."""
    d = Path(keys_dir)
    if (d / ENROLMENT_FILE).exists():
        raise EnrolmentError(f"{d} already holds an enrolment table: use a fresh key directory per run")
    table = Enrolment(d)
    for name, role in roles.items():
        enrol(d, name, role, table)
    return table


def enrol_plan(plan) -> Enrolment | None:
    """Enrol every actor of a run plan (its fixed services and every grid peer) in the plan's
    key directory, replacing the keys of an earlier run there; None when the plan runs
    without keys (inproc, or security off). Whoever starts a plan's nodes calls it first."""
    if not plan.keys_dir:
        return None
    from scowl.plan import role_of

    if (Path(plan.keys_dir) / ENROLMENT_FILE).exists():  # a run directory used again: fresh identities
        shutil.rmtree(plan.keys_dir)

    names = ["bootstrap", "broker", "metronome", *plan.names()]
    return enrol_all(plan.keys_dir, {n: role_of(plan, n) for n in names})
