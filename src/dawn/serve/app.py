"""The FastAPI application: thin routes over :class:`dawn.serve.service.Service`.

Routes: ``GET /health`` (open); under ``/v1`` (``Authorization: Bearer <key>`` when an
API key is set): ``GET /v1/models``, ``POST /v1/models/{name}/predict`` (``?explain=true``
adds the top features of each prediction), ``GET /v1/models/{name}/drift``. Errors are
``{"detail": "<what is wrong and how to fix it>"}``: 401 without the key, 404 for an
unknown model (naming the known ones), 422 for a body the model cannot read. The OpenAPI
document is at ``/openapi.json``.

>>> import tempfile
>>> from dawn.store import Project
>>> folder = tempfile.mkdtemp()
>>> Project.init(folder).close()
>>> paths = create_app(folder).openapi()["paths"]
>>> sorted(p for p in paths if p == "/health" or p.startswith("/v1/models"))
['/health', '/v1/models', '/v1/models/{name}/drift', '/v1/models/{name}/predict']
>>> sorted(p for p in paths if p.startswith("/v1/recommenders"))  # doctest: +NORMALIZE_WHITESPACE
['/v1/recommenders/{name}/events', '/v1/recommenders/{name}/metrics',
 '/v1/recommenders/{name}/users/{user}']

Run it with ``uvicorn`` (or ``dawn serve``), then
``curl -X POST localhost:8000/v1/models/NAME/predict -d '{"rows": [{"text": "hi"}]}'``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from dawn.errors import (
    ArtefactNotFoundError,
    ConfigError,
    DataError,
    DawnError,
    LabelError,
)

try:  # the 'serve' extra; routes' annotations are resolved against these module globals
    from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("dawn.serve needs FastAPI and uvicorn: pip install 'dawn[serve]'"
                      ) from exc

from dawn.serve import schemas as S

INLINE_ROWS = 32  # requests this small are scored on the event loop, larger ones in threads
_BEARER = HTTPBearer(auto_error=False, description="The server's DAWN_API_KEY.")

__all__ = ["create_app", "run"]


_CELL_TYPES = {"str", "int", "float", "bool"}


def _validation_message(errors: list[dict[str, Any]]) -> str:
    """One readable line from pydantic's errors (a cell's union errors become one)."""
    parts: list[str] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = err.get("msg", "invalid")
        if loc and loc[-1] in _CELL_TYPES:
            loc = loc[:-1]
            msg = "must be text, a number, true/false or null (not a list or an object)"
        part = f"{'.'.join(loc) or 'body'}: {msg}"
        if part not in parts:
            parts.append(part)
    errors = parts
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ("malformed request — " + "; ".join(parts[:5]) + more +
            '. Send JSON like {"rows": [{"column": value, ...}]}.')


def create_app(project_path: str | Path = ".", *, api_key: str | None = None,
               service: Any = None) -> FastAPI:
    """The API for the project at ``project_path`` (a FastAPI app; run it with uvicorn).

    ``api_key`` (default ``$DAWN_API_KEY``) protects ``/v1``. The project is opened now,
    so a missing project fails here; the background threads (prediction log, drift
    monitor, action delivery) run while the app's lifespan does.
    """
    from dawn import __version__
    from dawn.serve.auth import api_key_from_env, key_matches
    from dawn.serve.service import Service

    key = api_key_from_env(api_key)
    svc = service if service is not None else Service(project_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        svc.start()
        try:
            yield
        finally:
            svc.stop()

    app = FastAPI(title="dawn", version=__version__, lifespan=lifespan,
                  description="Predictions, models and drift checks of a dawn project.")
    app.state.service = svc

    @app.exception_handler(RequestValidationError)
    async def _malformed(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(list(exc.errors()))},
                            status_code=422)

    @app.exception_handler(DawnError)
    async def _dawn_error(_: Request, exc: DawnError) -> JSONResponse:
        if isinstance(exc, ArtefactNotFoundError):
            status = 404
        elif isinstance(exc, (DataError, LabelError, ConfigError)):
            status = 422
        else:
            status = 503
        return JSONResponse({"detail": str(exc)}, status_code=status)

    def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None,
                                           Depends(_BEARER)] = None) -> None:
        if key is None:
            return
        header = None if credentials is None else f"Bearer {credentials.credentials}"
        if not key_matches(header, key):
            raise HTTPException(401, detail="missing or wrong API key: send the header "
                                "'Authorization: Bearer <key>' with the server's DAWN_API_KEY.",
                                headers={"WWW-Authenticate": "Bearer"})

    errors: dict[int | str, dict[str, Any]] = {
        401: {"model": S.ErrorResponse}, 404: {"model": S.ErrorResponse},
        422: {"model": S.ErrorResponse}}

    @app.get("/health", response_model=S.Health, tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: always open, no key needed."""
        return {"status": "ok", "version": __version__}

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)], responses=errors)

    @v1.get("/models", response_model=S.ModelsResponse, tags=["models"])
    def models() -> dict[str, Any]:
        """Registered models, their versions, stages and metrics."""
        return {"models": svc.list_models()}

    @v1.post("/models/{name}/predict", response_model=S.PredictResponse, tags=["models"])
    async def predict(name: str, body: S.PredictRequest,
                      explain: Annotated[bool, Query(description="Add each prediction's top "
                                                     "contributing features.")] = False,
                      top: Annotated[int, Query(ge=1, le=100, description="Features per "
                                                "explanation.")] = 5) -> dict[str, Any]:
        """Score rows with the model's current version."""
        if len(body.rows) <= INLINE_ROWS:  # about a millisecond: a thread hop costs as much
            return svc.predict(name, body.rows, explain=explain, top=top)
        return await run_in_threadpool(svc.predict, name, body.rows, explain=explain, top=top)

    @v1.get("/models/{name}/drift", response_model=S.DriftResponse, tags=["monitoring"])
    def drift(name: str, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> dict[str, Any]:
        """The latest drift checks of live traffic (metric ``drift_share``), newest first."""
        return {"model": name, "checks": svc.drift(name, limit)}

    app.include_router(v1)
    from dawn.serve.recommend_routes import recommend_router

    app.include_router(recommend_router(svc.project.root, require_key))
    try:
        from dawn.serve.dashboard import dashboard_router
    except ImportError:  # jinja2 missing: the API still serves; the dashboard needs [serve]
        return app
    app.include_router(dashboard_router(svc.project.root, api_key=key))
    return app


def run(project_path: str | Path = ".", *, host: str = "127.0.0.1", port: int = 8000,
        api_key: str | None = None, log_level: str = "warning") -> None:
    """Serve the project with uvicorn until interrupted (what ``dawn serve`` runs).

    Refuses (:class:`ConfigError`) a non-loopback ``host`` without an API key.
    """
    import uvicorn

    from dawn.serve.auth import api_key_from_env, check_listen

    key = api_key_from_env(api_key)
    check_listen(host, key)
    app = create_app(project_path, api_key=key)
    uvicorn.run(app, host=host, port=int(port), log_level=log_level, access_log=False,
                timeout_graceful_shutdown=5)
