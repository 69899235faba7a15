"""The app answers on both backends and serves its API description without any CDN."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_the_database(app_client: TestClient, backend: str) -> None:
    response = app_client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == backend


def test_openapi_schema_is_served(app_client: TestClient) -> None:
    schema = app_client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"] == "fullpicture"
    assert "/healthz" in schema["paths"]


def test_api_docs_page_uses_local_assets_and_no_inline_script(app_client: TestClient) -> None:
    page = app_client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "<script>" not in page.text  # every script has a src, so CSP can forbid inline script
    for asset in (
        "/api/docs/assets/swagger-ui-bundle.js",
        "/api/docs/assets/swagger-ui.css",
        "/static/api-docs.js",
    ):
        assert asset in page.text
        assert app_client.get(asset).status_code == 200


def test_home_leads_to_sign_in(app_client: TestClient) -> None:
    response = app_client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/home"
    assert app_client.get("/").status_code == 200  # the sign-in form


def test_the_favicon_is_served_and_linked_from_every_page(app_client: TestClient) -> None:
    icon = app_client.get("/favicon.ico", follow_redirects=False)
    assert icon.status_code == 301 and icon.headers["location"] == "/static/favicon.svg"
    svg = app_client.get("/favicon.ico")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text
    # Nothing in it that the Content-Security-Policy would refuse: no script, no inline style.
    for refused in ("<script", "style=", "<style", 'href="http', "javascript:"):
        assert refused not in svg.text
    assert "img-src 'self'" in svg.headers["content-security-policy"]
    for page in ("/sign-in", "/api/docs"):
        assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in (
            app_client.get(page).text
        ), page
