/**
 * The Hono example of docs/api.md (apps/hono-app.ts) serves the hub under `/sse`.
 */
import { describeFrameworkApp } from "./framework-cases.js";

describeFrameworkApp("Hono", "hono");
