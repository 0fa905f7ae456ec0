"""AWX / Automation Platform: credential types, execution environment, a job run by ansible-runner.

The credential types of extensions/awx/credential_types/ are checked against the modules' own
argument specs and documentation, so that what a credential injects is always what the modules
read. Their injectors are rendered the way AWX renders them (see ``inject``). ansible-builder and
ansible-runner come from the tools venv ($HYBRIDCLOUD_TOOLS_BIN, set by make; .build/venvs/tools).
"""

import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .harness import BIN, PLATFORM_ENV_PREFIXES, ROOT

AWX = os.path.join(ROOT, "extensions", "awx")
CREDENTIAL_TYPES = dict((os.path.basename(p)[:-4], p) for p in sorted(glob.glob(os.path.join(AWX, "credential_types", "*.yml"))))
# Environment fallbacks a credential type leaves out on purpose.
NOT_INJECTED = {
    "ZSTACK_SESSION_UUID": "a ZStack session expires within hours: no credential to store",
}
# What AWX accepts in a custom credential type (awx/main/fields.py, CredentialTypeInputField).
FIELD_KEYS = {"id", "label", "type", "help_text", "secret", "multiline", "default", "choices", "format", "ask_at_runtime"}
FIELD_TYPES = {"string", "boolean"}


# -- helpers ---------------------------------------------------------------------------------
def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def tool(name):
    """An executable of the tools venv: a skip where it is missing, a failure on CI."""
    bin_dir = os.environ.get("HYBRIDCLOUD_TOOLS_BIN") or os.path.join(ROOT, ".build", "venvs", "tools", "bin")
    path = os.path.join(bin_dir, name)
    if not os.access(path, os.X_OK):
        message = "%s is not in %s: run `make setup-tools`" % (name, bin_dir)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def action_groups():
    groups = load(os.path.join(ROOT, "meta", "runtime.yml"))["action_groups"]
    return dict((k, [m for m in v if isinstance(m, str)]) for k, v in groups.items() if k != "all")


def existing_modules(collections_path):
    path = os.path.join(collections_path, "ansible_collections", "hybridcloud", "ops", "plugins", "modules")
    return sorted(m for group in action_groups().values() for m in group if os.path.isfile(os.path.join(path, m + ".py")))


def platform_modules(platform, specs):
    """The modules of a platform's action group that the collection has."""
    modules = [m for m in action_groups()[platform] if m in specs]
    if not modules:
        pytest.skip("the collection has no %s module yet" % platform)
    return modules


def env_template_field(template):
    """The input field an env injector copies as it is ("{{ field }}"), else None."""
    text = template.strip()
    if text.startswith("{{") and text.endswith("}}"):
        inner = text[2:-2].strip()
        if inner.isidentifier():
            return inner
    return None


def inject(credential_type, inputs, private_data_dir):
    """The environment AWX gives a job for a credential of this type with these inputs.

    As AWX's CredentialType.inject_credential: a boolean field not set is False; each file
    injector is rendered to a private file in the job's env/ directory, named to the other
    templates as tower.filename (one file) or tower.filename.<name> (several); then every env
    injector is rendered in a Jinja2 sandbox.
    """
    namespace = dict(inputs)
    for field in credential_type["inputs"]["fields"]:
        if field["type"] == "boolean" and field["id"] not in namespace:
            namespace[field["id"]] = False
    sandbox = ImmutableSandboxedEnvironment()
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    filenames = {}
    single = None
    for label, template in (credential_type["injectors"].get("file") or {}).items():
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, "w") as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." in label:
            filenames[label.split(".", 1)[1]] = path
        else:
            single = path
    namespace["tower"] = {"filename": single if single is not None else filenames}
    return dict((var, sandbox.from_string(template).render(**namespace))
                for var, template in credential_type["injectors"]["env"].items())


@pytest.fixture(scope="module")
def specs(collections_path):
    """Each module's argument spec as AnsibleModule receives it: {module: {option: facts}}."""
    modules = existing_modules(collections_path)
    script = r"""
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
from ansible.module_utils import basic

class Captured(Exception):
    pass

def capture(self, argument_spec, **kwargs):
    raise Captured(argument_spec)

basic.AnsibleModule.__init__ = capture
found = {}
for name in sys.argv[2:]:
    module = importlib.import_module("ansible_collections.hybridcloud.ops.plugins.modules." + name)
    try:
        module.main()
    except Captured as exc:
        spec = exc.args[0]
    found[name] = dict((option, {
        "env": list(value["fallback"][1]) if value.get("fallback") and value["fallback"][0] is basic.env_fallback else [],
        "no_log": bool(value.get("no_log")), "default": value.get("default"),
    }) for option, value in spec.items())
print(json.dumps(found))
"""
    run = subprocess.run([sys.executable, "-c", script, collections_path] + modules, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def docs(collections_path):
    modules = existing_modules(collections_path)
    out = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "-t", "module"] + ["hybridcloud.ops." + m for m in modules],
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path),
                         capture_output=True, text=True, check=True).stdout
    return dict((k.rsplit(".", 1)[-1], v["doc"]) for k, v in json.loads(out).items())


def fallbacks(specs, module):
    """{environment variable: option} of one module."""
    return dict((var, option) for option, facts in specs[module].items() for var in facts["env"])


# -- credential types against the modules -----------------------------------------------------
def test_each_platform_action_group_has_one_credential_type():
    assert sorted(CREDENTIAL_TYPES) == sorted(action_groups())


def test_every_module_named_in_an_action_group_exists(collections_path):
    named = sorted(m for group in action_groups().values() for m in group)
    missing = sorted(set(named) - set(existing_modules(collections_path)))
    assert not missing, "meta/runtime.yml names modules the collection does not have: %s" % missing


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_credential_type_has_the_shape_awx_accepts(platform):
    credential_type = load(CREDENTIAL_TYPES[platform])
    assert credential_type["name"].startswith("hybridcloud.ops ") and credential_type["description"]
    assert credential_type["kind"] in ("cloud", "net")
    fields = credential_type["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids))
    for field in fields:
        assert set(field) <= FIELD_KEYS and field["type"] in FIELD_TYPES and field["label"], field
    assert set(credential_type["inputs"].get("required", [])) <= set(ids)
    assert "host" in credential_type["inputs"]["required"]
    assert set(credential_type["injectors"]) <= {"env", "file", "extra_vars"}
    for label in credential_type["injectors"].get("file") or {}:
        assert label.startswith("template.") and label.split(".", 1)[1] in ids, label
    for var, template in credential_type["injectors"]["env"].items():
        field = env_template_field(template)
        assert field is None or field in ids, (var, template)


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_injected_variables_are_environment_fallbacks_of_every_module_of_the_platform(platform, specs):
    injected = set(load(CREDENTIAL_TYPES[platform])["injectors"]["env"])
    for module in platform_modules(platform, specs):
        unknown = injected - set(fallbacks(specs, module))
        assert not unknown, "%s reads none of %s" % (module, sorted(unknown))


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_every_environment_fallback_of_the_platform_is_injected(platform, specs):
    injected = set(load(CREDENTIAL_TYPES[platform])["injectors"]["env"])
    for module in platform_modules(platform, specs):
        left_out = set(fallbacks(specs, module)) - injected - set(NOT_INJECTED)
        assert not left_out, "the %s credential type does not inject %s (read by %s)" % (platform, sorted(left_out), module)


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_secret_inputs_feed_exactly_the_no_log_options(platform, specs):
    credential_type = load(CREDENTIAL_TYPES[platform])
    secret = dict((f["id"], bool(f.get("secret"))) for f in credential_type["inputs"]["fields"])
    for var, template in credential_type["injectors"]["env"].items():
        field = env_template_field(template)
        if field is None:
            continue  # a file path or a derived flag, not the input itself
        for module in platform_modules(platform, specs):
            option = fallbacks(specs, module)[var]
            assert specs[module][option]["no_log"] == secret[field], (module, option, field)
    for label, template in (credential_type["injectors"].get("file") or {}).items():
        assert label.split(".", 1)[1] in secret and env_template_field(template) == label.split(".", 1)[1]


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_module_documentation_names_every_injected_variable(platform, specs, docs):
    for var in load(CREDENTIAL_TYPES[platform])["injectors"]["env"]:
        for module in platform_modules(platform, specs):
            option = fallbacks(specs, module)[var]
            text = " ".join(docs[module]["options"][option]["description"])
            assert "E(%s)" % var in text, "%s does not document %s for option %s" % (module, var, option)


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_field_defaults_match_the_module_defaults(platform, specs):
    credential_type = load(CREDENTIAL_TYPES[platform])
    for field in credential_type["inputs"]["fields"]:
        if "default" not in field:
            continue
        var = next(v for v, t in credential_type["injectors"]["env"].items() if env_template_field(t) == field["id"])
        for module in platform_modules(platform, specs):
            assert specs[module][fallbacks(specs, module)[var]]["default"] == field["default"]


# -- injectors rendered as AWX renders them --------------------------------------------------
def test_injectors_write_certificates_to_private_files_and_keep_verification_on(tmp_path):
    nsxt = load(CREDENTIAL_TYPES["nsxt"])
    env = inject(nsxt, {"host": "nsx.example.com", "username": "admin", "password": "s3cret!",
                        "ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}, str(tmp_path))
    assert env["NSXT_MANAGER_HOST"] == "nsx.example.com"
    assert env["NSXT_USERNAME"] == "admin" and env["NSXT_PASSWORD"] == "s3cret!"
    assert env["NSXT_VALIDATE_CERTS"] == "true"
    assert os.path.dirname(env["NSXT_CA_PATH"]) == str(tmp_path / "env")
    with open(env["NSXT_CA_PATH"]) as handle:
        assert handle.read().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(os.stat(env["NSXT_CA_PATH"]).st_mode) == 0o600
    assert env["NSXT_CLIENT_CERT"] == "" and env["NSXT_CLIENT_KEY"] == ""


@pytest.mark.parametrize("platform", sorted(CREDENTIAL_TYPES))
def test_injectors_turn_verification_off_only_when_asked(platform, tmp_path):
    credential_type = load(CREDENTIAL_TYPES[platform])
    var = [v for v in credential_type["injectors"]["env"] if v.endswith("_VALIDATE_CERTS")]
    assert len(var) == 1
    assert inject(credential_type, {"host": "h"}, str(tmp_path))[var[0]] == "true"
    assert inject(credential_type, {"host": "h", "skip_tls_verify": True}, str(tmp_path))[var[0]] == "false"


def test_module_treats_credential_inputs_left_empty_as_not_set(ansible, simulator, tmp_path):
    nsx = simulator.appliance("nsxt")
    env = inject(load(CREDENTIAL_TYPES["nsxt"]), {"host": nsx["host"], "username": nsx["username"],
                                                  "password": nsx["password"], "skip_tls_verify": True}, str(tmp_path))
    assert env["NSXT_CA_PATH"] == "" and env["NSXT_CLIENT_CERT"] == ""
    made = simulator.command("nsxt", "create_session", realize_after=0.2)
    run = ansible.module("vpn_session_realization_info", {"session_id": made["session_id"]}, env=env)
    assert run.rc == 0, run
    assert run.last["in_sync"] is True


def test_module_verifies_tls_with_an_injected_credential_that_has_no_ca(ansible, simulator, tmp_path):
    nsx = simulator.appliance("nsxt")
    env = inject(load(CREDENTIAL_TYPES["nsxt"]), {"host": nsx["host"], "username": nsx["username"],
                                                  "password": nsx["password"]}, str(tmp_path))
    mark = simulator.mark()
    run = ansible.module("vpn_session_realization_info", {"session_id": "any-session"}, env=env)
    assert run.rc != 0
    assert "certificate" in run.last["msg"].lower() and "ca_path" in run.last["msg"]
    assert simulator.log(since=mark, appliance="nsxt") == []  # the TLS handshake failed: no request


# -- execution environment -------------------------------------------------------------------
def test_collection_declares_its_python_requirements_for_execution_environments():
    meta = load(os.path.join(ROOT, "meta", "execution-environment.yml"))
    assert meta["dependencies"] == {"python": "requirements.txt"}
    with open(os.path.join(ROOT, meta["dependencies"]["python"])) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert any(line.startswith("requests") for line in lines)


def test_ansible_builder_finds_the_collection_requirements_in_the_installed_collection(collections_path):
    out = subprocess.run([tool("ansible-builder"), "introspect", collections_path],
                         capture_output=True, text=True, check=True).stdout
    python = yaml.safe_load(out[out.index("python:"):].split("\nsystem:", 1)[0])["python"] if "python:" in out else None
    assert python, out
    assert any(line.startswith("requests") and "hybridcloud.ops" in line for line in python), out


def test_ansible_builder_renders_the_build_context_of_the_execution_environment(tmp_path):
    context = tmp_path / "context"
    create = subprocess.run([tool("ansible-builder"), "create", "-f", os.path.join(AWX, "execution-environment.yml"),
                             "-c", str(context), "--output-filename", "Containerfile"],
                            capture_output=True, text=True, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile
    assert (context / "_build" / "scripts" / "introspect.py").is_file()
    collections = yaml.safe_load((context / "_build" / "requirements.yml").read_text())["collections"]
    assert [c["name"] for c in collections] == ["hybridcloud.ops"]
    pins = dict(line.strip().split("==") for line in open(os.path.join(ROOT, "requirements", "tools.txt"))
                if "==" in line and not line.startswith("#"))
    for package in ("ansible-core", "ansible-runner"):
        assert "%s==%s" % (package, pins[package]) in containerfile, package


# -- a job template run ----------------------------------------------------------------------
def test_demo_runs_as_an_awx_job_with_credentials_only_in_the_injected_environment(simulator, collections_path, tmp_path):
    runner = tool("ansible-runner")
    nsx = simulator.appliance("nsxt")
    with open(simulator.config["ca_path"]) as handle:
        ca_pem = handle.read()
    pdd = tmp_path / "job"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    shutil.copy(os.path.join(ROOT, "playbooks", "demo.yml"), str(pdd / "project" / "demo.yml"))
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % os.path.join(os.path.dirname(runner), "python"))
    # The job's environment: the credential's injectors, and the collection as the EE holds it.
    injected = inject(load(CREDENTIAL_TYPES["nsxt"]), {"host": nsx["host"], "username": nsx["username"],
                                                       "password": nsx["password"], "ca_cert": ca_pem}, str(pdd))
    envvars = dict(injected, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_LOCALHOST_WARNING="false")
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    # What to work on: extra vars (a survey), never a credential.
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({
        "demo_nsx_session_id": nsx["samples"]["session_id"],
        "demo_nsx_error_session_id": nsx["samples"]["error_session_id"]}))
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(PLATFORM_ENV_PREFIXES) and k not in ("SIMULATOR_CONFIG", "ANSIBLE_COLLECTIONS_PATH"))
    env["PATH"] = os.path.dirname(runner) + os.pathsep + env["PATH"]
    mark = simulator.mark()

    job = subprocess.run([runner, "run", str(pdd), "-p", "demo.yml", "--ident", "awx-demo", "--omit-env-files"], env=env,
                         capture_output=True, text=True, timeout=600, check=False)

    artifacts = pdd / "artifacts" / "awx-demo"
    assert job.returncode == 0, job.stdout[-4000:] + job.stderr[-2000:]
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    event_files = sorted((artifacts / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-", 1)[0]))
    events = [json.loads(p.read_text()) for p in event_files]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "playbook_on_start" and kinds[-1] == "playbook_on_stats"
    results = dict((e["event_data"]["task"], e["event_data"]["res"]) for e in events if e["event"] == "runner_on_ok")
    realized = results["NSX | Wait until the change is realized on every transport node"]
    assert realized["changed"] is False and realized["realization"]["state"] == "in_sync"
    assert realized["polls"] >= 1 and realized["history"][-1]["state"] == "in_sync"
    assert results["NSX | Change the session (NSX answers with an x-nsx-requestid)"]["changed"] is True
    assert results["NSX | Check a session whose realization fails (reported, not hidden)"]["realization"]["state"] == "error"
    stats = events[-1]["event_data"]
    assert stats["failures"] == {} and stats["ok"] == {"localhost": 5}
    state_reads = [e for e in simulator.log(since=mark, appliance="nsxt", method="GET") if e["path"].endswith("/state")]
    assert state_reads and all(e["status"] == 200 for e in state_reads)
    assert nsx["samples"]["session_id"] in " ".join(e["path"] for e in state_reads)
    # The password is in the injected environment and nowhere in the job's output and events. (The
    # artifact "command" is ansible-runner's private record of the process and its environment.)
    for path in artifacts.rglob("*"):
        if path.is_file() and path.name != "command":
            assert nsx["password"] not in path.read_text(errors="replace"), path
    assert nsx["password"] not in job.stdout + job.stderr
