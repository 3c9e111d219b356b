#!/usr/bin/env node
// The npm registry mirror that CI uses serves only the Linux builds of Biome's platform
// packages (@biomejs/cli-<os>-<cpu>), so `npm install` writes a package-lock.json without the
// others, and `npm ci` then refuses that lock as out of sync with package.json. This adds the
// missing entries (optional, with their os/cpu/libc, no tarball: npm skips them on other
// platforms before fetching anything). Run it after any `npm install` that rewrites the lock.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;
const biome = packages["node_modules/@biomejs/biome"];
let added = 0;
for (const [name, version] of Object.entries(biome?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (packages[key] !== undefined) continue;
  const match = /^@biomejs\/cli-([a-z0-9]+)-([a-z0-9]+)(-musl)?$/.exec(name);
  if (match === null) throw new Error(`Cannot tell the platform of ${name}`);
  const [, os, cpu, musl] = match;
  packages[key] = {
    version,
    cpu: [cpu],
    dev: true,
    ...(os === "linux" ? { libc: [musl ? "musl" : "glibc"] } : {}),
    license: biome.license,
    optional: true,
    os: [os],
    engines: biome.engines,
  };
  added++;
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
lock.packages = sorted;
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform entries added`);
