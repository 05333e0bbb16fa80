"""The group map: directory and file-server groups -> ragdesk groups, and admins."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_core.access.group_map import load_group_map
from rag_core.types import ConfigurationError


def test_group_map_names_groups_by_cn_or_dn_and_admins(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        'groups:\n  HR-Staff: [hr]\n  "cn=eng,ou=groups,dc=x": [eng, ops]\nadmins: [it-admins]\n'
    )
    mapping = load_group_map(path)
    assert mapping.ragdesk_groups(["cn=hr-staff,ou=groups,dc=x"]) == ("hr",)
    assert mapping.ragdesk_groups(["CN=eng,OU=groups,DC=x", "unknown"]) == ("eng", "ops")
    assert mapping.ragdesk_groups(["eng"]) == ()  # a DN key matches the full DN only
    assert mapping.is_admin(["cn=it-admins,ou=groups,dc=x"]) and not mapping.is_admin(["hr"])
    path.write_text("groups: [hr]\n")
    with pytest.raises(ConfigurationError, match="must map"):
        load_group_map(path)
