/**
 * Starts an ssehub server on 127.0.0.1, port 0, logging nothing, and closes it after the test.
 */
import type { TestContext } from "node:test";
import {
  type CreateServerOptions,
  createServer,
  type SsehubServer,
} from "../../src/http/server.js";
import { createLogger } from "../../src/http/telemetry/logger.js";
import type { HubPlugins } from "../../src/hub/types.js";

export interface StartedServer {
  readonly ssehub: SsehubServer;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
}

export async function startServer(
  t: TestContext,
  options: CreateServerOptions = {},
  plugins: HubPlugins = {},
): Promise<StartedServer> {
  const ssehub = createServer(
    {
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      shutdownTimeoutMs: 2000,
      ...options,
    },
    plugins,
  );
  t.after(() => ssehub.close());
  const { url, port } = await ssehub.listen();
  return { ssehub, url, port };
}
