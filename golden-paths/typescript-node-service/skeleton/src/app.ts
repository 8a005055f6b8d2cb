// The HTTP routes on node:http, kept apart from main.ts so that tests start the server themselves.

import { createServer as createHttpServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

export function handle(req: IncomingMessage, res: ServerResponse): void {
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  if (req.method !== "GET") {
    res.setHeader("allow", "GET");
    sendJson(res, 405, { error: "method not allowed" });
    return;
  }
  // Liveness and readiness: 200 {"status":"ok"} while the process serves requests.
  if (pathname === "/healthz") {
    sendJson(res, 200, { status: "ok" });
    return;
  }
  // The example endpoint: replace it with the service's own.
  const hello = /^\/hello\/([^/]+)$/.exec(pathname);
  if (hello) {
    let name: string;
    try {
      name = decodeURIComponent(hello[1]);
    } catch {
      sendJson(res, 400, { error: "bad name" });
      return;
    }
    sendJson(res, 200, { message: `Hello, ${name}!` });
    return;
  }
  sendJson(res, 404, { error: "not found" });
}

export function createServer(): Server {
  return createHttpServer(handle);
}
