"""The gallery in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) on a live ``unnatural serve``, with and without a
token. With one, the page is a sign-in form that trades the token for an HttpOnly,
SameSite=Strict session cookie; then every preview image loads."""
from __future__ import annotations

import shutil
import socket
import time

import pytest

from unnatural.server.process import ServerProcess

pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402  (after the skip: selenium is a test extra)
from selenium.webdriver.common.by import By  # noqa: E402

TOKEN = "gallery-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _localhost_resolves() -> bool:
    # Selenium reaches chromedriver as http://localhost:PORT; a root without /etc/hosts (a bare
    # chroot) cannot resolve the name, and the driver then never answers
    try:
        socket.getaddrinfo("localhost", None)
        return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver "
                                                         "(make system-deps installs them)"),
    pytest.mark.skipif(not _localhost_resolves(), reason="'localhost' does not resolve (no /etc/hosts)"),
]
ALL_IMAGES_LOADED = ("return [...document.images].every(i => i.complete && i.naturalWidth > 0) "
                     "&& document.images.length")


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,4000"):   # tall: the lazy previews are all in view
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _server(tmp_path_factory, name: str, token: str | None) -> ServerProcess:
    folder = tmp_path_factory.mktemp(name)
    args = ["--workers", "1"]
    if token:
        (folder / "token").write_text(token)
        args += ["--token-file", str(folder / "token")]
    return ServerProcess(args, folder / "server.log", token=token)


def _until(condition, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.5)
    return value


def test_open_gallery_shows_previews(browser, tmp_path_factory):
    with _server(tmp_path_factory, "open", None) as srv:
        browser.get(srv.url + "/")
        assert "Shader families" in browser.page_source and not browser.find_elements(By.NAME, "token")
        first = browser.find_element(By.TAG_NAME, "img")
        _until(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", first))


def test_token_gallery_signs_in_with_a_session_cookie(browser, tmp_path_factory):
    with _server(tmp_path_factory, "guarded", TOKEN) as srv:
        browser.get(srv.url + "/")
        assert not browser.find_elements(By.TAG_NAME, "img")          # the sign-in form, no gallery
        browser.find_element(By.NAME, "token").send_keys("wrong")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        assert "not this server's" in browser.find_element(By.CSS_SELECTOR, ".error").text
        browser.find_element(By.NAME, "token").send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until(lambda: "Shader families" in browser.page_source, timeout=60)
        assert TOKEN not in browser.current_url and browser.current_url.rstrip("/") == srv.url
        cookie, = browser.get_cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        assert _until(lambda: browser.execute_script(ALL_IMAGES_LOADED)) == 27
        assert TOKEN not in srv.log.read_text()                      # nor in the access log
