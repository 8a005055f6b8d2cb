"""The HTTP service: routes, and `python -m app.main` to serve on $PORT (default 8080)."""

import os

from fastapi import FastAPI

app = FastAPI(title="${{ values.name }}", description="${{ values.description }}")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness and readiness: 200 {"status": "ok"} while the process serves requests."""
    return {"status": "ok"}


@app.get("/hello/{name}")
def hello(name: str) -> dict[str, str]:
    """The example endpoint: replace it with the service's own."""
    return {"message": f"Hello, {name}!"}


def run() -> None:
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    run()
