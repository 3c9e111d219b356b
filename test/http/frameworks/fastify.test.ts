/**
 * The Fastify example of docs/api.md (apps/fastify-app.ts) serves the hub under `/sse`.
 */
import { describeFrameworkApp } from "./framework-cases.js";

describeFrameworkApp("Fastify", "fastify");
