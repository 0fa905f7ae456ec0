"""The documentation site (antsibull-docs + Sphinx), opened in headless Chromium.

`make test-docs-site` builds the site (`make docs`, .ci/docs-site) and runs this file with the
tools venv, which has selenium; Chromium and chromedriver are Debian's (`make browser`), never
downloaded. The pages are compared with what ``ansible-doc`` says of the installed collection.
A full-page screenshot of every page checked is saved to $HYBRIDCLOUD_ARTIFACTS/docs-site/
(.build/artifacts/docs-site/ under make).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from .harness import ROOT

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-dev-shm-usage", "--window-size=1280,1024")
ARTIFACTS = os.path.join(os.environ.get("HYBRIDCLOUD_ARTIFACTS") or os.path.join(ROOT, ".build", "artifacts"),
                         "docs-site")


def need(module):
    """Import a tool of the tools venv: a skip where it is missing, a failure on CI."""
    try:
        return pytest.importorskip(module, reason="%s is in the tools venv: run `make test-docs-site`" % module)
    except pytest.skip.Exception:
        if os.environ.get("CI"):
            pytest.fail("%s is missing on CI: `make test-docs-site` runs this file in the tools venv" % module)
        raise


def executable(name, variable):
    path = os.environ.get(variable) or shutil.which(name)
    if not path:
        message = "%s not found (set %s or run `make browser`)" % (name, variable)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def site(collections_path, tmp_path_factory):
    """The built site: the one `make docs` made, else one built here."""
    given = os.environ.get("HYBRIDCLOUD_DOCS_SITE")
    if given and os.path.isfile(os.path.join(given, "index.html")):
        return given
    need("antsibull_docs")
    dest = str(tmp_path_factory.mktemp("docs"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    subprocess.run([os.path.join(ROOT, ".ci", "docs-site"), dest], env=env, check=True)
    return os.path.join(dest, "html")


@pytest.fixture(scope="module")
def docs(collections_path):
    """ansible-doc's view of every module: {name: {"doc", "examples", "return"}}."""
    names = ["hybridcloud.ops." + m for m in MODULES]
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module"] + names,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path),
                         capture_output=True, text=True, check=True).stdout
    return dict((k.rsplit(".", 1)[-1], v) for k, v in json.loads(out).items())


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = need("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or driver
    options = Options()
    options.binary_location = executable("chromium", "CHROMIUM")
    for flag in CHROMIUM_FLAGS + ("--user-data-dir=%s" % tmp_path_factory.mktemp("chromium-profile"),):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=executable("chromedriver", "CHROMEDRIVER")),
                              options=options)
    yield driver
    driver.quit()


def open_page(browser, site, page):
    path = os.path.join(site, page)
    assert os.path.isfile(path), "the site has no %s" % page
    browser.get("file://" + path)
    return browser


def screenshot(browser, page):
    """Save the whole page as it rendered, as a test artifact."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(max(height, 600), 20000))
    path = os.path.join(ARTIFACTS, page.replace("/", "_")[:-5] + ".png")
    assert browser.save_screenshot(path)
    browser.set_window_size(1280, 1024)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def visible_row(browser, anchor_id):
    """The table cell that an antsibull-docs anchor (parameter-x, return-x) belongs to, if shown."""
    from selenium.webdriver.common.by import By

    found = browser.find_elements(By.XPATH, "//div[@id=%s]/.." % json.dumps(anchor_id))
    if not found:
        return None
    cell = found[0]
    return cell if cell.is_displayed() and cell.size["height"] > 0 and cell.size["width"] > 0 else None


def option_anchors(options, prefix=""):
    """parameter-a, parameter-a/b, ... for every option and suboption."""
    for name, spec in sorted((options or {}).items()):
        yield prefix + name
        yield from option_anchors(spec.get("suboptions"), prefix + name + "/")


def code_lines(text):
    return [line.rstrip() for line in text.strip().splitlines() if line.strip()]


def test_the_collection_has_modules_to_document():
    assert MODULES, "no module found under plugins/modules"


def test_index_links_every_module_and_role(browser, site):
    from selenium.webdriver.common.by import By

    open_page(browser, site, "index.html")
    links = dict((a.get_attribute("href").rsplit("/", 1)[-1], a) for a in browser.find_elements(By.TAG_NAME, "a")
                 if a.get_attribute("href"))
    for page in ["%s_module.html" % m for m in MODULES] + ["%s_role.html" % r for r in ROLES]:
        assert page in links, "index.html does not link %s" % page
        assert links[page].is_displayed()
    screenshot(browser, "index.html")


@pytest.mark.parametrize("module", MODULES)
def test_module_page_renders_its_options_examples_and_return_values(browser, site, docs, module):
    from selenium.webdriver.common.by import By

    page = "%s_module.html" % module
    open_page(browser, site, page)
    title = browser.find_element(By.TAG_NAME, "h1").text
    assert title.startswith("hybridcloud.ops.%s module" % module)
    assert docs[module]["doc"]["short_description"] in title

    missing = [a for a in option_anchors(docs[module]["doc"]["options"]) if visible_row(browser, "parameter-" + a) is None]
    assert not missing, "%s does not show the options %s" % (page, missing)
    for name in docs[module]["doc"]["options"]:
        assert name in visible_row(browser, "parameter-" + name).text

    examples = browser.find_element(By.CSS_SELECTOR, "section#examples")
    assert examples.is_displayed()
    shown = examples.find_element(By.CSS_SELECTOR, "div.highlight pre")
    assert shown.is_displayed()
    assert code_lines(shown.text) == code_lines(docs[module]["examples"])
    assert "hybridcloud.ops.%s:" % module in shown.text

    returns = docs[module].get("return") or {}
    missing = [r for r in returns if visible_row(browser, "return-" + r) is None]
    assert not missing, "%s does not show the return values %s" % (page, missing)
    screenshot(browser, page)


@pytest.mark.parametrize("role", ROLES)
def test_role_page_renders_the_options_of_each_entry_point(browser, site, role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as handle:
        entry_points = yaml.safe_load(handle)["argument_specs"]
    page = "%s_role.html" % role
    open_page(browser, site, page)
    for entry, spec in entry_points.items():
        missing = [a for a in option_anchors(spec.get("options")) if visible_row(browser, "parameter-%s--%s" % (entry, a)) is None]
        assert not missing, "%s does not show the options %s of entry point %s" % (page, missing, entry)
    screenshot(browser, page)


@pytest.mark.parametrize("guide, text", [
    ("docsite/guide_adhoc.html", "ansible localhost -m hybridcloud.ops.vpn_session_realization_info"),
    ("docsite/guide_awx.html", "NSXT_MANAGER_HOST"),
    ("docsite/guide_nsx.html", "vpn_session_state"),
])
def test_guides_render(browser, site, guide, text):
    from selenium.webdriver.common.by import By

    open_page(browser, site, guide)
    body = browser.find_element(By.CSS_SELECTOR, "div[role=main], main, body")
    assert body.is_displayed()
    assert re.search(re.escape(text), body.text)
    screenshot(browser, guide)
