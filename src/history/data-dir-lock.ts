/**
 * One process owns a data directory at a time: two hubs appending to one log would interleave
 * their records and reuse each other's seqs. The owner's pid is in `<dir>/lock`; a lock whose
 * process is gone (killed, crashed) is taken over, so a restart after SIGKILL needs no cleanup.
 * @module
 */
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SsehubError } from "../errors.js";

/** Directories locked by this process: a second hub of this process must not share one either. */
const heldHere = new Set<string>();

/** A held lock on a data directory. */
export interface DataDirLock {
  /** Frees the directory (safe to call more than once). */
  release(): void;
}

/** True when a process with `pid` runs (one of another user counts: it answers EPERM). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes `<dir>/lock` for this process. Throws SSEHUB_ERR_DATA_DIR_LOCKED when a running process
 * other than this one holds it.
 */
export function lockDataDir(dir: string): DataDirLock {
  const path = join(dir, "lock");
  const mine = `${process.pid}\n`;
  const key = resolve(dir);
  if (heldHere.has(key)) {
    throw new SsehubError(
      "SSEHUB_ERR_DATA_DIR_LOCKED",
      `Cannot use the data directory ${dir}: another hub of this process uses it. Give each hub a directory of its own`,
    );
  }
  for (;;) {
    try {
      writeFileSync(path, mine, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(path, "utf8"), 10);
    } catch {
      // Removed in between: try again.
    }
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isRunning(holder)) {
      throw new SsehubError(
        "SSEHUB_ERR_DATA_DIR_LOCKED",
        `Cannot use the data directory ${dir}: process ${holder} uses it (${path}). Stop it, or give this hub a directory of its own`,
      );
    }
    // Its owner is gone (or it is this process's own, or unreadable): take it over.
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  heldHere.add(key);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      try {
        if (readFileSync(path, "utf8") === mine) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}
