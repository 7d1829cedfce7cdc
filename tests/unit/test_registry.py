"""The registry, the same tests on the embedded SQLite file and on a real PostgreSQL:
versions, channels (compare-and-set, history, rollback, managed latest),
revocation, ancestry, lookups, imports, schema revisions and concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hybridcore import packer
from hybridcore.cli.main import main
from hybridcore.packer.base.artifact_record import ArtifactRecord, Image, Provenance
from hybridcore.packer.store.registry.engine import migrate
from hybridcore.packer.store.registry.schema import SCHEMA_REVISION, metadata
from hybridcore.packer.store.registry.store import Registry, open_registry
from hybridcore.packer.store.registry.target import resolve_target
from hybridcore.packer.store.registry.versions import NewVersion
from tests.conftest import REPO, RegistryBackend

BASE_IMAGE = (
    "/subscriptions/3f2c1a7e-8b4d-4e6f-9a0c-5d7e1b2f4a68/resourceGroups/rg-golden/providers/"
    "Microsoft.Compute/images/base-ubuntu-2204-1"
)
APP_IMAGE = BASE_IMAGE.replace("base-ubuntu-2204-1", "app-ubuntu-2204-7")


def _record(build: str, platform: str, images: list[tuple[str | None, str]]) -> ArtifactRecord:
    return ArtifactRecord(
        record_id=uuid.uuid4().hex,
        build=build,
        builder_type={"azure": "azure-arm", "aws": "amazon-ebs"}.get(platform, platform),
        builder_id=None,
        platform=platform,  # type: ignore[arg-type]
        artifact_id=images[0][1] if images else None,
        images=[Image(region=region, id=image) for region, image in images],
        details={},
        files=[],
        custom_data=None,
        provenance=Provenance(
            command_id="c1",
            source="build",
            git_sha=None,
            git_dirty=None,
            packer_version="1.6.6",
            packer_run_uuid=None,
            inputs_digest=None,
            started_at=None,
            finished_at=None,
        ),
    )


def _open(backend: RegistryBackend, tmp_path: Path) -> Registry:
    return open_registry(resolve_target(backend.url, workdir=tmp_path, environ={}))


def _api(backend: RegistryBackend, tmp_path: Path) -> dict[str, Any]:
    return {"registry": backend.url, "workdir": tmp_path, "environ": {"USER": "tester"}}


def _register(
    store: Registry,
    build: str,
    images: list[tuple[str | None, str]],
    *,
    platform: str = "azure",
    candidates: frozenset[str] = frozenset(),
) -> str:
    version = store.register(
        NewVersion(
            build=build,
            source="build",
            records=[_record(build, platform, images)],
            candidates=candidates,
        )
    )
    return version.version_id


# --- versions and the managed latest channel ------------------------------------------


def test_versions_are_numbered_per_build_and_latest_follows(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    first = _register(store, "azure-arm.base", [("northeurope", BASE_IMAGE)])
    _register(store, "other.build", [("westeurope", "img-x")])
    second = _register(store, "azure-arm.base", [("northeurope", BASE_IMAGE + "-2")])

    report = packer.registry_versions("azure-arm.base", **_api(registry_backend, tmp_path))
    assert report.exit_code == 0, report.message
    assert [(v.number, v.version_id) for v in report.versions] == [(2, second), (1, first)]
    assert report.versions[0].images[0].region == "northeurope"

    latest = packer.registry_channel_get(
        "azure-arm.base", "latest", **_api(registry_backend, tmp_path)
    )
    assert latest.channel is not None and latest.channel.managed
    assert latest.channel.version.version_id == second

    refused = packer.registry_channel_set(
        "azure-arm.base", "latest", "1", **_api(registry_backend, tmp_path)
    )
    assert (refused.exit_code, refused.rule) == (1, "channel_managed")


# --- channels -----------------------------------------------------------------------------


def test_channel_set_get_history_and_rollback(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    for n in range(3):
        _register(store, "app", [("northeurope", f"{APP_IMAGE}-{n}")])
    api = _api(registry_backend, tmp_path)

    assert packer.registry_channel_set("app", "production", "1", **api).exit_code == 0
    moved = packer.registry_channel_set("app", "production", "v3", expect="1", **api)
    assert moved.exit_code == 0, moved.message
    assert moved.channel is not None and moved.channel.version.number == 3
    assert moved.channel.revision == 2

    got = packer.registry_channel_get(
        "app", "production", platform="azure", region="NorthEurope", **api
    )
    assert got.exit_code == 0 and got.channel is not None
    assert [i.image_id for i in got.channel.version.images] == [f"{APP_IMAGE}-2"]
    missing = packer.registry_channel_get("app", "production", region="eastus", **api)
    assert (missing.exit_code, missing.rule) == (1, "no_matching_image")

    rolled = packer.registry_channel_rollback("app", "production", **api)
    assert rolled.exit_code == 0 and rolled.channel is not None
    assert rolled.channel.version.number == 1

    history = packer.registry_channel_history("app", "production", **api)
    assert [(e.action, e.number, e.actor) for e in history.history] == [
        ("set", 1, "tester"),
        ("set", 3, "tester"),
        ("rollback", 1, "tester"),
    ]
    unknown = packer.registry_channel_get("app", "staging", **api)
    assert (unknown.exit_code, unknown.rule) == (1, "channel_not_found")


def test_a_stale_expect_loses_with_exit_1_and_changes_nothing(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    for n in range(3):
        _register(store, "app", [("northeurope", f"{APP_IMAGE}-{n}")])
    api = _api(registry_backend, tmp_path)
    assert packer.registry_channel_set("app", "prod", "1", expect="none", **api).exit_code == 0
    assert packer.registry_channel_set("app", "prod", "2", expect="1", **api).exit_code == 0

    lost = packer.registry_channel_set("app", "prod", "3", expect="1", **api)
    assert (lost.exit_code, lost.classification, lost.rule) == (1, "config", "channel_conflict")
    assert "app@2" in lost.message and "nothing was changed" in lost.message
    again = packer.registry_channel_set("app", "prod", "3", expect="none", **api)
    assert again.rule == "channel_conflict"
    got = packer.registry_channel_get("app", "prod", **api)
    assert got.channel is not None and got.channel.version.number == 2


# --- revocation and ancestry --------------------------------------------------------------


def test_revoke_cascade_hides_children_and_outdated_lists_them(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    api = _api(registry_backend, tmp_path)
    base = _register(store, "azure-arm.base", [("northeurope", BASE_IMAGE)])
    child = _register(
        store,
        "azure-arm.app",
        [("northeurope", APP_IMAGE)],
        candidates=frozenset({BASE_IMAGE, "northeurope", "unrelated"}),
    )
    grandchild = _register(
        store,
        "vsphere.app",
        [(None, "tpl-app")],
        platform="vsphere",
        candidates=frozenset({APP_IMAGE}),
    )
    found = packer.registry_versions("azure-arm.app", **api).versions[0]
    assert [(p.version_id, p.image_id) for p in found.parents] == [(base, BASE_IMAGE)]
    assert packer.registry_channel_set("azure-arm.app", "production", "1", **api).exit_code == 0
    assert packer.registry_outdated(**api).outdated == []

    revoked = packer.registry_revoke(
        "azure-arm.base@1", reason="CVE-2024-1234", cascade=True, **api
    )
    assert revoked.exit_code == 0, revoked.message
    assert {v.version_id for v in revoked.versions} == {base, child, grandchild}
    looked = packer.registry_lookup(
        {
            "build": "azure-arm.app",
            "channel": "production",
            "platform": "azure",
            "region": "northeurope",
        },
        **api,
    )
    assert (looked.exit_code, looked.rule) == (3, "version_revoked")
    assert "CVE-2024-1234" in looked.message
    assigned = packer.registry_channel_set("azure-arm.app", "staging", "1", **api)
    assert (assigned.exit_code, assigned.rule) == (3, "version_revoked")
    outdated = packer.registry_outdated(**api).outdated
    assert [(o.child, o.parent, o.child_revoked) for o in outdated] == [
        ("azure-arm.app@1", "azure-arm.base@1", True),
        ("vsphere.app@1", "azure-arm.app@1", True),
    ]
    assert "CVE-2024-1234" in outdated[0].reason

    restored = packer.registry_restore(base, **api)
    assert {v.version_id for v in restored.versions} == {base, child, grandchild}
    assert (
        packer.registry_lookup({"build": "azure-arm.app", "channel": "production"}, **api).exit_code
        == 0
    )


def test_a_child_is_outdated_once_its_parents_channel_moves_on(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    api = _api(registry_backend, tmp_path)
    _register(store, "base", [("northeurope", BASE_IMAGE)])
    assert packer.registry_channel_set("base", "production", "1", **api).exit_code == 0
    _register(store, "app", [("northeurope", APP_IMAGE)], candidates=frozenset({BASE_IMAGE}))
    # a second base version moves `latest` off base@1; production still holds it
    _register(store, "base", [("northeurope", BASE_IMAGE + "-new")])
    assert [o.reason for o in packer.registry_outdated(**api).outdated] == [
        "parent no longer on channel(s) latest of base"
    ]
    assert packer.registry_channel_set("base", "production", "2", **api).exit_code == 0
    assert [o.reason for o in packer.registry_outdated(**api).outdated] == [
        "parent no longer on channel(s) latest, production of base"
    ]


# --- lookup: Terraform's external data source -----------------------------------------------


def _cli(
    argv: list[str], stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybridcore.cli", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_lookup_speaks_the_external_data_source_protocol(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    base = _register(
        store, "azure-arm.base", [("westeurope", BASE_IMAGE + "-w"), ("northeurope", BASE_IMAGE)]
    )
    common = ["--workdir", str(tmp_path), "--registry", str(registry_backend.url)]
    assert (
        _cli(
            [*common, "registry", "channel", "set", "azure-arm.base", "production", "1"]
        ).returncode
        == 0
    )

    query = {
        "build": "azure-arm.base",
        "channel": "production",
        "platform": "azure",
        "region": "northeurope",
    }
    proc = _cli([*common, "registry", "lookup"], json.dumps(query))
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert all(isinstance(value, str) for value in answer.values())
    assert answer["image_id"] == BASE_IMAGE
    assert (answer["version"], answer["version_id"], answer["region"]) == ("1", base, "northeurope")

    bad = _cli([*common, "registry", "lookup"], json.dumps({"build": "azure-arm.base", "count": 2}))
    assert bad.returncode == 1 and bad.stdout == ""
    assert "unknown key" in bad.stderr
    not_json = _cli([*common, "registry", "lookup"], "build=azure")
    assert not_json.returncode == 1 and "not JSON" in not_json.stderr


# --- imports -----------------------------------------------------------------------------------


def test_manifest_import_and_workdir_records_load_once(
    registry_backend: RegistryBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = REPO / "tests" / "golden" / "manifests" / "amazon-ebs.json"
    common = ["--workdir", str(tmp_path), "--registry", str(registry_backend.url)]
    for _ in range(2):
        assert main([*common, "manifest", "import", "--write", str(manifest)]) == 0
    capsys.readouterr()
    assert main([*common, "--json", "registry", "import"]) == 0
    assert json.loads(capsys.readouterr().out)["versions"] == []  # all there already
    assert main([*common, "--json", "registry", "versions", "amazon-ebs.ubuntu"]) == 0
    listed = json.loads(capsys.readouterr().out)["versions"]
    runs = {v["packer_run_uuid"] for v in listed}
    assert len(listed) == len(runs) > 1
    assert {v["source"] for v in listed} == {"import"}
    regions = {i["region"] for v in listed for i in v["images"]}
    assert {"eu-west-1", "us-east-1"} <= regions


# --- schema revisions --------------------------------------------------------------------------


def _second_database(backend: RegistryBackend, tmp_path: Path) -> str:
    if backend.server is None:
        return f"sqlite:///{tmp_path / 'second' / 'registry.db'}"
    return backend.server.url(backend.server.create_database())


def test_migrations_build_the_schema_the_code_reads(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    """`registry migrate` (Alembic) on an empty database and the quick create of a fresh
    one give the tables of the code's metadata."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert registry_backend.url
    migrated = resolve_target(registry_backend.url, workdir=tmp_path, environ={})
    report = packer.registry_migrate(**_api(registry_backend, tmp_path))
    assert (report.exit_code, report.schema_revision) == (0, SCHEMA_REVISION), report.message
    assert "upgraded from empty" in report.message
    assert migrate(migrated) == (SCHEMA_REVISION, SCHEMA_REVISION)  # idempotent
    quick = _open(RegistryBackend("second", _second_database(registry_backend, tmp_path)), tmp_path)
    for target in (migrated, quick.target):
        engine = create_engine(target.url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == SCHEMA_REVISION
            assert compare_metadata(context, metadata) == []
        engine.dispose()


def test_an_older_tool_on_a_newer_schema_exits_1(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    store = _open(registry_backend, tmp_path)
    target = store.target
    engine = create_engine(target.url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    from hybridcore.packer.store.registry import engine as engines

    engines._checked.discard(target.key)  # a new process would check again
    report = packer.registry_versions("any", **_api(registry_backend, tmp_path))
    assert (report.exit_code, report.rule) == (1, "registry_schema_newer")
    assert "9999_future" in report.message and "Upgrade hybridcore-packer" in (
        report.remediation or ""
    )
    proc = _cli(
        [
            "--workdir",
            str(tmp_path),
            "--registry",
            str(target.url.render_as_string(False)),
            "registry",
            "versions",
            "x",
        ]
    )
    assert proc.returncode == 1 and "newer than this hybridcore-packer" in proc.stderr
    assert "Traceback" not in proc.stderr


# --- concurrent writers ------------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, time, uuid
    from pathlib import Path
    from hybridcore.packer.base.artifact_record import ArtifactRecord, Image, Provenance
    from hybridcore.packer.base.errors import HybridcoreError
    from hybridcore.packer.store.registry.store import open_registry
    from hybridcore.packer.store.registry.target import resolve_target
    from hybridcore.packer.store.registry.versions import NewVersion

    url, worker, signals, count = sys.argv[1:5]
    store = open_registry(resolve_target(url, workdir=Path("."), environ={}))

    def barrier(name):
        Path(signals, f"{name}.{worker}").touch()
        while not Path(signals, name).exists():
            time.sleep(0.005)

    def record(n):
        return ArtifactRecord(
            record_id=uuid.uuid4().hex, build="shared", builder_type="amazon-ebs",
            builder_id=None, platform="aws", artifact_id=f"eu-west-1:ami-{worker}-{n}",
            images=[Image(region="eu-west-1", id=f"ami-{worker}-{n}")], details={}, files=[],
            custom_data=None,
            provenance=Provenance(command_id=None, source="build", git_sha=None,
                git_dirty=None, packer_version=None, packer_run_uuid=None, inputs_digest=None,
                started_at=None, finished_at=None))

    barrier("register")
    for n in range(int(count)):
        version = store.register(NewVersion(build="shared", source="build", records=[record(n)]))
        store.assign("shared", f"ch{worker}", version.version_id)
    barrier("race")
    try:
        store.assign("shared", "production", "2", expect="1")
        print("won")
    except HybridcoreError as error:
        print(error.rule, error.exit_code)
    """
)


def _wait_for(signals: Path, name: str, procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 180
    while len(list(signals.glob(f"{name}.*"))) < len(procs):
        assert time.monotonic() < deadline, f"writers never reached {name}"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.02)


def test_16_processes_lose_no_version_and_one_wins_a_channel_race(
    registry_backend: RegistryBackend, tmp_path: Path
) -> None:
    """16 processes register 4 versions each and assign their own channel at once; then
    all race to move `production` from 1 to 2 with --expect 1: exactly one wins."""
    store = _open(registry_backend, tmp_path)
    assert registry_backend.url
    signals = tmp_path / "signals"
    signals.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, registry_backend.url, str(worker), str(signals), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(16)
    ]
    _wait_for(signals, "register", procs)  # every writer connected: go at once
    (signals / "register").touch()
    _wait_for(signals, "race", procs)
    found = store.versions("shared")
    assert sorted(v.number for v in found) == list(range(1, 65))
    assert len({i.image_id for v in found for i in v.images}) == 64
    events = store.history("shared")
    assert len([e for e in events if e.action == "set"]) == 64
    assert len([e for e in events if e.action == "latest"]) == 64
    assert store.channel("shared", "latest").version.number == 64
    assert {store.channel("shared", f"ch{w}").version.number for w in range(16)} <= set(
        range(1, 65)
    )

    store.assign("shared", "production", "1")
    (signals / "race").touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["channel_conflict 1"] * 15 + ["won"]
    assert store.channel("shared", "production").version.number == 2
    assert [e.number for e in store.history("shared", "production")] == [1, 2]
