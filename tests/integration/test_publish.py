"""Publishable: what a new contributor and Galaxy's own import check see.

- plain ``ansible-lint`` (no arguments, no environment prepared) passes on a fresh clone and leaves
  nothing there that git would see;
- the pre-commit hook runs the pinned ansible-lint;
- every role's README has its generated part (.ci/role-readmes) in step with its argument spec;
- .ci/galaxy-import (`make galaxy-import`, galaxy-importer on the tarball) fails the way Galaxy
  refuses an upload, here for a role without a README.

The tools (ansible-lint, galaxy-importer) come from the tools venv ($HYBRIDCLOUD_TOOLS_BIN).
"""

import os
import shutil
import subprocess
import tarfile

import yaml

from .harness import BIN, ROOT
from .test_awx import tool


def pins():
    with open(os.path.join(ROOT, "requirements", "tools.txt")) as handle:
        return dict(line.strip().split("==", 1) for line in handle if "==" in line and not line.startswith("#"))


def fresh_clone(dest):
    """A git repository holding what a clone of the working tree would: tracked files and new ones
    that are not ignored, committed."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for path in listed:
        source = os.path.join(ROOT, path)
        if path and (os.path.isfile(source) or os.path.islink(source)):
            os.makedirs(os.path.dirname(os.path.join(dest, path)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, path), follow_symlinks=False)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "clone"], cwd=dest, check=True)
    return dest


def clean_env(tmp_path, tools_bin):
    """A new contributor's shell: the tools venv activated, an empty home, nothing else prepared (no
    ANSIBLE_HOME, no collections path: with any of them set ansible-lint leaves its isolated mode)."""
    return {"PATH": tools_bin + os.pathsep + "/usr/local/bin:/usr/bin:/bin", "VIRTUAL_ENV": os.path.dirname(tools_bin),
            "HOME": str(tmp_path / "home"), "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}


def test_plain_ansible_lint_passes_on_a_fresh_clone_and_leaves_nothing_git_sees(tmp_path):
    lint = tool("ansible-lint")
    clone = fresh_clone(str(tmp_path / "clone"))
    (tmp_path / "home").mkdir()

    run = subprocess.run(["ansible-lint"], cwd=clone, env=clean_env(tmp_path, os.path.dirname(lint)),
                         capture_output=True, text=True, timeout=900, check=False)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "Passed: 0 failure(s), 0 warning(s)" in output, output[-3000:]
    assert "Profile 'production' was required, and it passed" in output, output[-3000:]
    # Isolated mode: ansible-lint installed the collection under lint into the clone's own .ansible/
    # (not into the home directory), which git ignores and lint excludes.
    installed = os.path.join(clone, ".ansible", "collections", "ansible_collections", "hybridcloud", "ops")
    assert os.path.isdir(installed), "ansible-lint did not install the collection into the clone's .ansible/"
    assert not os.path.exists(str(tmp_path / "home" / ".ansible" / "collections")), "ansible-lint used ~/.ansible"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", "ansible-lint left files git sees:\n" + status


def test_pre_commit_runs_the_pinned_ansible_lint():
    with open(os.path.join(ROOT, ".pre-commit-config.yaml")) as handle:
        config = yaml.safe_load(handle)
    (repo,) = [r for r in config["repos"] if r["repo"] == "https://github.com/ansible/ansible-lint"]
    assert repo["rev"] == "v" + pins()["ansible-lint"]
    (hook,) = repo["hooks"]
    assert hook["id"] == "ansible-lint"
    assert hook["additional_dependencies"] == ["ansible-core==" + pins()["ansible-core"]]


def readmes(root, *args):
    return subprocess.run([os.path.join(BIN, "python"), os.path.join(ROOT, ".ci", "role-readmes")] + list(args) + [root],
                          capture_output=True, text=True, check=False)


def test_role_readmes_are_generated_from_the_argument_specs():
    run = readmes(ROOT, "--check")
    assert run.returncode == 0, run.stderr


def test_role_readme_check_catches_a_changed_argument_spec_and_the_generator_keeps_the_hand_written_text(tmp_path):
    root = str(tmp_path / "tree")
    for part in ("roles", "meta", "playbooks", os.path.join("extensions", "awx")):
        shutil.copytree(os.path.join(ROOT, part), os.path.join(root, part))
    spec_path = os.path.join(root, "roles", "vscan_health", "meta", "argument_specs.yml")
    with open(spec_path) as handle:
        spec = yaml.safe_load(handle)
    spec["argument_specs"]["main"]["options"]["vscan_health_new_knob"] = {
        "description": "A new variable with C(markup).", "type": "int", "default": 3}
    with open(spec_path, "w") as handle:
        yaml.safe_dump(spec, handle)
    readme = os.path.join(root, "roles", "vscan_health", "README.md")
    with open(readme) as handle:
        before = handle.read()

    check = readmes(root, "--check")
    assert check.returncode == 1 and "roles/vscan_health/README.md is out of date" in check.stderr, check.stderr
    assert "vscan_health_new_knob" in check.stderr

    assert readmes(root).returncode == 0
    with open(readme) as handle:
        after = handle.read()
    assert "| `vscan_health_new_knob` | int | default: `3` | A new variable with `markup`. |" in after
    head, tail = before.split("<!-- BEGIN", 1)[0], before.split("<!-- END generated by .ci/role-readmes -->", 1)[1]
    assert after.startswith(head) and after.endswith(tail)
    assert readmes(root, "--check").returncode == 0

    os.remove(readme)
    missing = readmes(root, "--check")
    assert missing.returncode == 1 and "roles/vscan_health/README.md is missing" in missing.stderr


def test_galaxy_import_fails_as_galaxy_refuses_a_role_without_readme(tmp_path):
    tools_bin = os.path.dirname(tool("ansible-lint"))
    if subprocess.run([os.path.join(tools_bin, "python"), "-c", "import galaxy_importer"], check=False).returncode:
        tool("galaxy-importer (the package)")  # a skip, a failure on CI
    tree = fresh_clone(str(tmp_path / "tree"))
    os.remove(os.path.join(tree, "roles", "vscan_health", "README.md"))
    dist = tmp_path / "dist"
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), tree],
                   check=True, capture_output=True)
    (tarball,) = dist.glob("*.tar.gz")
    with tarfile.open(str(tarball)) as archive:
        assert "roles/vscan_health/README.md" not in archive.getnames()

    run = subprocess.run([os.path.join(ROOT, ".ci", "galaxy-import"), str(tarball), str(tmp_path / "out")],
                         env=dict(os.environ, HYBRIDCLOUD_TOOLS_BIN=tools_bin), capture_output=True, text=True,
                         timeout=900, check=False)

    assert run.returncode == 1, run.stdout[-3000:] + run.stderr
    assert "No role readme found" in run.stdout, run.stdout[-3000:]
    assert (tmp_path / "out" / "galaxy-importer.log").is_file()
