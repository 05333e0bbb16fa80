"""LDAP sign-in against a real slapd (tests/slapd.py): StartTLS and LDAPS with a verified
certificate, nested groups through memberOf and through a group search, the group map and
its admins, wrong and missing credentials, removal from a group, a directory that is down."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_core.access.ldap_directory import DirectoryUnavailable, LdapDirectory
from rag_core.settings import Settings, load_settings
from rag_core.types import ConfigurationError
from tests.servers import free_port
from tests.slapd import PASSWORDS, Directory, slapd


@pytest.fixture
def ldap(ldap_server: Directory) -> Directory:
    return ldap_server


@pytest.fixture
def group_map(ldap_group_map: Path) -> Path:
    return ldap_group_map


def client(ldap: Directory, group_map: Path, **extra: object) -> LdapDirectory:
    return LdapDirectory(Settings(group_map_file=group_map, **ldap.settings(**extra)))


@pytest.mark.parametrize("source", ["memberof", "search"])
@pytest.mark.parametrize("transport", ["starttls", "ldaps"])
def test_nested_group_membership_gives_ragdesk_groups(
    ldap: Directory, group_map: Path, source: str, transport: str
) -> None:
    url = ldap.starttls_url if transport == "starttls" else ldap.ldaps_url
    directory = client(ldap, group_map, ldap_url=url, ldap_group_source=source)
    lena = directory.authenticate("lena", PASSWORDS["lena"])
    assert lena is not None and lena.groups == ("hr",) and not lena.admin  # via hr-all
    omar = directory.authenticate("omar", PASSWORDS["omar"])
    assert omar is not None and omar.groups == ("eng",)  # mapped by the group's full DN
    ada = directory.authenticate("ada", PASSWORDS["ada"])
    assert ada is not None and ada.admin and ada.groups == ("eng", "hr")


def test_wrong_password_unknown_user_and_empty_password_are_refused(
    ldap: Directory, group_map: Path
) -> None:
    directory = client(ldap, group_map)
    assert directory.authenticate("lena", "not-her-password") is None
    assert directory.authenticate("nobody", "any-password") is None
    assert directory.authenticate("lena", "") is None  # would be an anonymous bind
    assert directory.authenticate("lena)(uid=*", PASSWORDS["lena"]) is None


def test_a_user_removed_from_a_group_loses_it_at_the_next_sign_in(
    ldap: Directory, group_map: Path
) -> None:
    directory = client(ldap, group_map)
    before = directory.authenticate("remy", PASSWORDS["remy"])
    assert before is not None and before.groups == ("hr",)
    ldap.remove_member("hr-staff", "uid=remy")
    after = directory.authenticate("remy", PASSWORDS["remy"])
    assert after is not None and after.groups == ()


def test_service_account_lookup_is_cached_briefly(ldap: Directory, group_map: Path) -> None:
    from ldap3 import Server

    dead = Server(f"ldap://127.0.0.1:{free_port()}", connect_timeout=2)
    cached = client(ldap, group_map, ldap_cache_s=30)
    lena = cached.lookup("lena")
    assert lena is not None and lena.groups == ("hr",)
    assert cached.lookup("nobody") is None
    cached._server = dead  # fault: the directory goes away; the answer is still fresh
    assert cached.lookup("lena") == lena
    uncached = client(ldap, group_map, ldap_cache_s=0)
    assert uncached.lookup("lena") == lena
    uncached._server = dead
    with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
        uncached.lookup("lena")


def test_a_directory_that_is_down_fails_closed_with_a_clear_message(
    tmp_path: Path, group_map: Path
) -> None:
    with slapd(tmp_path / "slapd") as own:
        directory = client(own, group_map)
        assert directory.authenticate("lena", PASSWORDS["lena"]) is not None
        own.stop()
        with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
            directory.authenticate("lena", PASSWORDS["lena"])


def test_the_server_certificate_is_verified(ldap: Directory, group_map: Path) -> None:
    for url in (ldap.ldaps_url, ldap.starttls_url):
        untrusted = client(ldap, group_map, ldap_ca_file=None, ldap_url=url)
        with pytest.raises(DirectoryUnavailable, match="not trusted"):
            untrusted.authenticate("lena", PASSWORDS["lena"])


def test_a_plain_text_bind_is_refused_unless_allowed(ldap: Directory, group_map: Path) -> None:
    plain = ldap.settings(ldap_start_tls=False)
    with pytest.raises(ConfigurationError, match="in clear"):
        load_settings(group_map_file=group_map, **plain)
    allowed = client(ldap, group_map, ldap_start_tls=False, ldap_allow_plain=True)
    lena = allowed.authenticate("lena", PASSWORDS["lena"])
    assert lena is not None and lena.groups == ("hr",)


def test_a_missing_group_map_is_a_configuration_error(ldap: Directory, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="group mapping file"):
        LdapDirectory(Settings(group_map_file=tmp_path / "absent.yaml", **ldap.settings()))
