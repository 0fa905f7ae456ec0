"""The collection tarball as users get it: what it holds, and that it works from an empty path.

The tarball is built here exactly as `make collection` builds it (.ci/build-collection: the files
git sees, CHANGELOG.md rendered, galaxy.yml's build_ignore applied).
"""

import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml

from .harness import BIN, ROOT, Ansible

# What a user needs, and nothing else, at the top of the tarball.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.md", "requirements.txt",
             "changelogs", "docs", "extensions", "meta", "playbooks", "plugins", "roles", "tests"}
# Directories shipped as a whole: every file git sees there must be in the tarball.
SHIPPED = ("plugins/", "roles/", "docs/docsite/", "extensions/awx/", "meta/")
# Of tests/, only what ansible-test needs to run sanity on the installed collection (Automation Hub).
TESTS_ALLOWED = ("tests/config.yml", "tests/sanity/")
NEVER = ("tests/simulator", "tests/integration", "tests/unit", "tests/bench", ".ci", "requirements/",
         "Makefile", ".build", ".venv", ".git", "extensions/molecule", "playbooks/demo.yml",
         ".ansible-lint", ".hypothesis", "changelogs/fragments/", "changelogs/.plugin-cache.yaml")


def git_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(p for p in out.split("\0") if p and os.path.exists(os.path.join(ROOT, p)))


def tool_env():
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"])


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run([os.path.join(ROOT, ".ci", "build-collection"), str(out)], env=tool_env(),
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    return build.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(tarball) as archive:
        return dict((m.name, m) for m in archive.getmembers())


def read_member(tarball, name):
    with tarfile.open(tarball) as archive:
        return archive.extractfile(name).read().decode()


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory):
    """The tarball installed into an empty collections path, with nothing else there."""
    path = str(tmp_path_factory.mktemp("empty-collections-path"))
    # Only that path is configured: an install elsewhere (make's .build/collections) must not count.
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "-p", path, tarball],
                   env=dict(tool_env(), ANSIBLE_COLLECTIONS_PATH=path), capture_output=True, text=True, check=True)
    assert os.path.isfile(os.path.join(path, "ansible_collections", "hybridcloud", "ops", "MANIFEST.json"))
    return path


def test_tarball_is_named_after_the_collection_and_version_of_galaxy_yml(tarball):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert os.path.basename(tarball) == "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])


def test_tarball_holds_every_plugin_role_guide_and_metadata_file(members):
    expected = [p for p in git_files() if p.startswith(SHIPPED)]
    assert expected
    missing = [p for p in expected if p not in members]
    assert not missing, "not in the tarball: %s" % missing
    for name in ("README.md", "LICENSE", "CHANGELOG.md", "requirements.txt", "meta/runtime.yml",
                 "meta/execution-environment.yml", "changelogs/changelog.yaml"):
        assert name in members and members[name].isfile(), name


def test_tarball_holds_nothing_of_the_simulator_benchmark_tests_or_ci(members):
    assert {n.split("/")[0] for n in members} <= TOP_LEVEL
    unwanted = [n for n in members if n.startswith(NEVER) or "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]
    assert not unwanted, "should not be in the tarball: %s" % unwanted
    tests = [n for n in members if n.startswith("tests/") and members[n].isfile()]
    assert all(n.startswith(TESTS_ALLOWED) for n in tests), tests


def test_manifest_names_the_collection_its_license_and_no_dependencies(tarball):
    info = json.loads(read_member(tarball, "MANIFEST.json"))["collection_info"]
    assert (info["namespace"], info["name"]) == ("hybridcloud", "ops")
    assert info["license"] == ["GPL-3.0-or-later"]
    assert info["dependencies"] == {}


def test_changelog_lists_every_module_under_the_release_that_added_it(tarball):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = str(yaml.safe_load(handle)["version"])
    changelog = read_member(tarball, "CHANGELOG.md").replace("\\", "")
    assert "## v%s" % version in changelog
    # One section per release, newest first: "## v1.1.0 ... ## v1.0.0 ..."
    sections = dict((part.split("\n", 1)[0].strip(), part) for part in changelog.split("\n## v")[1:])
    assert version in sections
    modules = [p[len("plugins/modules/"):-3] for p in git_files()
               if p.startswith("plugins/modules/") and p.endswith(".py") and not p.endswith("__init__.py")]
    assert modules
    misplaced = []
    for module in modules:
        with open(os.path.join(ROOT, "plugins", "modules", module + ".py")) as handle:
            added = re.search(r"^version_added: *['\"]?([0-9.]+)", handle.read(), re.M).group(1)
        section = sections.get(added, "")
        new_modules = section.split("### New Modules", 1)[1] if "### New Modules" in section else ""
        if "* hybridcloud.ops.%s - " % module not in new_modules:
            misplaced.append("%s (version_added %s)" % (module, added))
    assert not misplaced, "CHANGELOG.md does not list %s under New Modules of its release" % misplaced


def test_user_agent_version_is_written_from_galaxy_yml_at_build(tarball):
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        version = str(yaml.safe_load(handle)["version"])
    with open(os.path.join(ROOT, "plugins", "module_utils", "_client.py")) as handle:
        assert 'COLLECTION_VERSION = "source"' in handle.read().splitlines()
    assert 'COLLECTION_VERSION = "%s"' % version in read_member(tarball, "plugins/module_utils/_client.py").splitlines()


def test_installed_tarball_verifies_against_its_own_checksums(installed):
    verify = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "verify", "--offline", "-p", installed,
                             "hybridcloud.ops"], env=dict(tool_env(), ANSIBLE_COLLECTIONS_PATH=installed),
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Successfully verified" in verify.stdout


def test_every_module_documents_itself_from_the_installed_tarball(installed, members):
    modules = sorted(n[len("plugins/modules/"):-3] for n in members
                     if n.startswith("plugins/modules/") and n.endswith(".py") and not n.endswith("__init__.py"))
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module"] + ["hybridcloud.ops." + m for m in modules],
                         env=dict(tool_env(), ANSIBLE_COLLECTIONS_PATH=installed), capture_output=True, text=True, check=True)
    docs = json.loads(out.stdout)
    assert sorted(docs) == ["hybridcloud.ops." + m for m in modules]
    for name, doc in docs.items():
        assert doc["doc"]["options"] and doc["examples"].strip() and doc["return"], name


def test_module_runs_ad_hoc_from_the_tarball_in_an_empty_collections_path(installed, simulator, tmp_path):
    nsx = simulator.appliance("nsxt")
    made = simulator.command("nsxt", "create_session", realize_after=0.5)
    mark = simulator.mark()
    run = Ansible(installed, str(tmp_path)).module("vpn_session_realization_info", {
        "host": nsx["host"], "username": nsx["username"], "password": nsx["password"],
        "ca_path": simulator.config["ca_path"], "session_id": made["session_id"]})
    assert run.rc == 0, run
    assert run.last["in_sync"] is True and run.last["realization"]["state"] == "in_sync"
    sent = [e for e in simulator.log(since=mark, appliance="nsxt") if made["session_id"] in e["path"]]
    assert len(sent) == run.last["polls"]


def test_metadata_claims_only_what_is_true_and_tested():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    # Red Hat certification is granted by Red Hat, not claimed in a tag.
    assert "certified" not in galaxy["tags"]
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        claimed = yaml.safe_load(handle)["requires_ansible"]
    with open(os.path.join(ROOT, "requirements", "oldest-core.txt")) as handle:
        oldest = re.search(r"^ansible-core==(\d+\.\d+)\.", handle.read(), re.M).group(1)
    # The oldest core claimed is the one the oldest-core leg (sanity + every module) runs on.
    assert claimed == ">=%s.0" % oldest
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        with open(os.path.join(ROOT, "roles", role, "meta", "main.yml")) as handle:
            meta = yaml.safe_load(handle)
        assert str(meta["galaxy_info"]["min_ansible_version"]) == oldest, role
