import type { AddressInfo } from "node:net";
import express from "express";

interface User {
  readonly name: string;
  readonly rooms: readonly string[];
  readonly admin: boolean;
}

/** What the hub POSTs (docs/security.md, "What the backend gets"), as far as this app reads it. */
interface HookCall {
  readonly headers: Record<string, string>;
  readonly topics?: readonly string[];
  readonly events?: readonly { readonly data: string }[];
}

// Your app's sessions: the cookie's value -> the user.
const sessions = new Map<string, User>([["abc", { name: "ann", rooms: ["room/1"], admin: true }]]);

function userOf(call: HookCall): User | undefined {
  const match = /(?:^|;\s*)session=([^;]*)/.exec(call.headers.cookie ?? "");
  return match === null ? undefined : sessions.get(match[1]!);
}

const app = express();
app.use(express.json());

app.post("/subscribe", (req, res) => {
  const call = req.body as HookCall;
  const user = userOf(call);
  const topics = (call.topics ?? []).filter((topic) => user?.rooms.includes(topic));
  if (user === undefined) res.json({ allow: false, status: 401, message: "Log in first" });
  else if (topics.length === 0) res.json({ allow: false, status: 403, message: "Not your room" });
  else res.json({ allow: true, topics, private: true, cacheSeconds: 10 });
});

app.post("/publish", (req, res) => {
  const call = req.body as HookCall;
  const user = userOf(call);
  if (user === undefined) res.json({ allow: false, status: 401, message: "Log in first" });
  else if (!user.admin) res.json({ allow: false, status: 403, message: "Read-only" });
  // Sign every message with its author.
  else
    res.json({
      allow: true,
      events: call.events?.map((e) => ({ data: `${user.name}: ${e.data}` })),
    });
});

const server = app.listen(Number(process.env.PORT ?? 4000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.once("SIGTERM", () => server.close());
