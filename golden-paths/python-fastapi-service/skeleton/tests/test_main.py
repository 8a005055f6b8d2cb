from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app)


def test_healthz_is_ok() -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_hello_greets_by_name() -> None:
    response = client.get("/hello/socle")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, socle!"}


def test_unknown_route_is_404() -> None:
    assert client.get("/nope").status_code == 404
