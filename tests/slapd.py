"""A real OpenLDAP directory for tests: Debian's slapd on 127.0.0.1 (free ports), its own
folder, a self-signed certificate (made with openssl) for LDAPS and StartTLS, the memberof
overlay, and a small company tree:

    people: lena (hr-staff), remy (hr-staff), omar (engineering), ada (ragdesk-admins),
            ragdesk-svc (read-only service account)
    groups: hr-staff, hr-all (nested: has hr-staff as member), engineering, ragdesk-admins

Groups are added over the protocol after start, so the overlay maintains `memberOf`.
Starts in well under a second; stops with the fixture.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag_core.generation.model_server import stop_process
from tests.servers import free_port

SLAPD = Path("/usr/sbin/slapd")
SCHEMA = Path("/etc/ldap/schema")
BASE = "dc=example,dc=org"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{BASE}", "root-secret"
PEOPLE, GROUPS = f"ou=people,{BASE}", f"ou=groups,{BASE}"
SERVICE_DN, SERVICE_PASSWORD = f"uid=ragdesk-svc,{PEOPLE}", "svc-password"
PASSWORDS = {
    "lena": "lena-password",
    "remy": "remy-password",
    "omar": "omar-password",
    "ada": "ada-password",
    "ragdesk-svc": SERVICE_PASSWORD,
}
MEMBERS = {  # group -> members (people by uid, groups by cn)
    "hr-staff": ["uid=lena", "uid=remy"],
    "hr-all": ["cn=hr-staff"],
    "engineering": ["uid=omar"],
    "ragdesk-admins": ["uid=ada"],
}
GROUP_MAP = """\
groups:
  hr-all: [hr]                                # nested: hr-staff's members are in it
  "cn=engineering,ou=groups,dc=example,dc=org": [eng]
  ragdesk-admins: [hr, eng]
admins: [ragdesk-admins]
"""

CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {dir}/slapd.pid
TLSCertificateFile {dir}/cert.pem
TLSCertificateKeyFile {dir}/key.pem
database mdb
maxsize 10485760
suffix "{base}"
rootdn "{root}"
rootpw {root_password}
directory {dir}/db
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"""


def member_dn(short: str) -> str:
    return f"{short},{PEOPLE if short.startswith('uid=') else GROUPS}"


def _base_ldif() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, password in PASSWORDS.items():
        entries.append(
            f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\n"
            f"sn: {uid}\nuserPassword: {password}"
        )
    return "\n\n".join(entries) + "\n"


@dataclass
class Directory:
    port: int
    ldaps_port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def starttls_url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> Path:
        return self.folder / "cert.pem"

    def settings(self, **extra: object) -> dict[str, object]:
        """Settings fields for ragdesk's LDAP sign-in against this directory."""
        return {
            "auth": "ldap",
            "ldap_url": self.starttls_url,
            "ldap_ca_file": self.ca_file,
            "ldap_user_dn": f"uid={{user}},{PEOPLE}",
            "ldap_base_dn": BASE,
            "ldap_bind_dn": SERVICE_DN,
            "ldap_bind_password": SERVICE_PASSWORD,
            "ldap_timeout_s": 3,
        } | extra

    def admin(self) -> Any:
        """An ldap3 connection bound as the directory's root (plain: test set-up only)."""
        from ldap3 import Connection, Server

        conn = Connection(Server(self.starttls_url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)
        return conn

    def remove_member(self, group: str, member: str) -> None:
        from ldap3 import MODIFY_DELETE

        conn = self.admin()
        done = conn.modify(
            f"cn={group},{GROUPS}", {"member": [(MODIFY_DELETE, [member_dn(member)])]}
        )
        conn.unbind()
        assert done, conn.result

    def stop(self) -> None:
        stop_process(self.process, grace_s=10)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by a crash."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"slapd exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"slapd did not listen on {port} within 10 s:\n{log.read_text()[-2000:]}")


def _make_certificate(folder: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
            "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


@contextmanager
def slapd(folder: Path) -> Iterator[Directory]:
    """Debian's slapd with the test tree, on free ports; stopped on exit."""
    if not SLAPD.is_file() or shutil.which("slapadd") is None:
        pytest.fail(f"{SLAPD} not found: install Debian's slapd (scripts/system.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir(exist_ok=True)
    _make_certificate(folder)
    config = folder / "slapd.conf"
    config.write_text(
        CONFIG.format(
            schema=SCHEMA, dir=folder, base=BASE, root=ROOT_DN, root_password=ROOT_PASSWORD
        )
    )
    (folder / "base.ldif").write_text(_base_ldif())
    subprocess.run(
        ["slapadd", "-f", str(config), "-l", str(folder / "base.ldif")],
        check=True,
        capture_output=True,
    )
    port, ldaps_port = free_port(), free_port()
    log = folder / "slapd.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [
                str(SLAPD), "-d", "0", "-f", str(config),
                "-h", f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
    directory = Directory(port, ldaps_port, folder, process)
    try:
        _wait_listening(port, process, log)
        _wait_listening(ldaps_port, process, log)
        conn = directory.admin()
        for group, members in MEMBERS.items():
            added = conn.add(
                f"cn={group},{GROUPS}",
                "groupOfNames",
                {"cn": group, "member": [member_dn(m) for m in members]},
            )
            assert added, conn.result
        conn.unbind()
        yield directory
    finally:
        directory.stop()
