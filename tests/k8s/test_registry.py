"""default_registry() renaming, as Tilt names images in a registry."""

from __future__ import annotations

import pytest

from lockstep.k8s.registry import Registry, escape_name, from_settings
from lockstep.model.resource import Settings
from lockstep.tiltfile.refs import host_error


@pytest.mark.parametrize(("host", "ref", "expected"), [
    ("myreg.com", "gcr.io/foo/bar:deadbeef", "myreg.com/gcr.io_foo_bar:deadbeef"),
    ("aws_account_id.dkr.ecr.region.amazonaws.com/bar", "gcr.io/baz/foo/bar",
     "aws_account_id.dkr.ecr.region.amazonaws.com/bar/gcr.io_baz_foo_bar"),
    ("gcr.io/foo", "docker.io/library/busybox", "gcr.io/foo/busybox"),
    ("gcr.io/foo", "bar", "gcr.io/foo/bar"),
    ("localhost:5000", "team/api:tilt-2", "localhost:5000/team_api:tilt-2"),
    # Already under the registry: left alone (and renaming twice changes nothing).
    ("localhost:5000", "localhost:5000/app:tilt-1", "localhost:5000/app:tilt-1"),
])
def test_images_move_under_the_registry_with_escaped_names(host: str, ref: str, expected: str) -> None:
    reg = Registry(host)
    assert reg.local_ref(ref) == expected
    assert reg.local_ref(reg.local_ref(ref)) == expected
    assert reg.cluster_ref(ref) == expected


def test_host_from_cluster_names_the_registry_in_the_yaml() -> None:
    reg = Registry("localhost:1234", "registry:1234")
    assert reg.local_ref("gcr.io/foo/bar:t") == "localhost:1234/gcr.io_foo_bar:t"
    assert reg.cluster_ref("gcr.io/foo/bar:t") == "registry:1234/gcr.io_foo_bar:t"
    assert reg.cluster_ref("localhost:1234/app:t") == "registry:1234/app:t"


def test_single_name_pushes_every_image_to_one_repository() -> None:
    reg = Registry("123.dkr.ecr.us-east-1.amazonaws.com", single_name="dev/me")
    assert reg.local_ref("team/api:tilt-2") == "123.dkr.ecr.us-east-1.amazonaws.com/dev/me:api-tilt-2"
    assert reg.local_ref("web:tilt-2") == "123.dkr.ecr.us-east-1.amazonaws.com/dev/me:web-tilt-2"
    assert reg.local_ref(reg.local_ref("web:tilt-2")) == reg.local_ref("web:tilt-2")
    assert escape_name("a/b:c@d") == "a_b_c_d"


def test_registry_hosts_must_be_domains() -> None:
    assert host_error("localhost:5000") == "" and host_error("gcr.io/my-project") == ""
    for bad in ("", "invalid", "foo/bar/baz", "local host:5000"):
        assert host_error(bad), bad


def test_from_settings() -> None:
    assert from_settings(Settings()) is None
    assert from_settings(Settings(default_registry="r.io", registry_host_from_cluster="c:1",
                                  registry_single_name="s")) == Registry("r.io", "c:1", "s")
