// ${{ values.name }}: serves on $PORT (default 8080) and stops cleanly on SIGTERM or SIGINT.

import { createServer } from "./app.js";

const port = Number.parseInt(process.env.PORT ?? "8080", 10);
const server = createServer();

server.listen(port, () => {
  console.log("${{ values.name }} listening on :" + port);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
