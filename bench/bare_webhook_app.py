"""The baseline of bench/webhooks.py: a bare FastAPI app that reads a delivery's body and checks
its HMAC (X-Hub-Signature-256) the way GitHub signs it, and answers 202. Nothing is stored.

Served by the same uvicorn as `stackrun api` (`python -m uvicorn bare_webhook_app:app
--app-dir bench --log-level warning`); the secret comes from BENCH_WEBHOOK_SECRET."""

from __future__ import annotations

import hashlib
import hmac
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

SECRET = os.environ.get("BENCH_WEBHOOK_SECRET", "bench").encode()
app = FastAPI()


@app.post("/webhooks/github", status_code=202)
async def github_webhook(request: Request) -> JSONResponse:
    body = await request.body()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    given = request.headers.get("x-hub-signature-256", "")
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        return JSONResponse({"detail": "signature does not match"}, 401)
    return JSONResponse({"status": "accepted"}, 202)
