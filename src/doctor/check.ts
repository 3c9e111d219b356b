/**
 * One finding of `ssehub doctor`: what it looked at, the value found, what the target needs, the
 * verdict, why it matters and the exact lines that fix it. Helpers that build fix lines live
 * here too, so that every check prints them the same way.
 * @module
 */

/** The verdict of one check; `skip` when it does not apply to this host (no systemd). */
export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** One row of doctor's table. */
export interface DoctorCheck {
  /** A stable name: the sysctl key where there is one (`net.core.somaxconn`), else `nofile.soft`. */
  readonly id: string;
  /** What the value found is, in words. */
  readonly title: string;
  /** The value found, formatted (`20,000`, `32768-60999 (28,232 ports)`). */
  readonly found: string;
  /** What the target needs (`>= 550,100`), or `-` where nothing is required. */
  readonly needs: string;
  readonly status: CheckStatus;
  /** Why it matters for many long-lived connections, and what to do. */
  readonly note: string;
  /** The exact lines that fix it, one command or config line each; empty when nothing to fix. */
  readonly fix: readonly string[];
}

/** The file doctor's sysctl fixes go to, so they survive a reboot. */
export const SYSCTL_FILE = "/etc/sysctl.d/90-ssehub.conf";

/** `1,234,567`: counts read better grouped. */
export function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "unlimited";
}

/** `1 process`, `28 processes`: a count and its noun, singular or plural. */
export function counted(value: number, singular: string, plural: string): string {
  return `${count(value)} ${value === 1 ? singular : plural}`;
}

/** `1.5 GiB`, `640 MiB`, `12 KiB`. */
export function bytes(value: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaled = value;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return `${scaled >= 100 || unit === 0 ? Math.round(scaled) : scaled.toFixed(1)} ${units[unit]}`;
}

/**
 * The two lines that set a sysctl: now (`sysctl -w`) and at every boot (a line in
 * /etc/sysctl.d). `value` is one number or several (`tcp_mem`), written as the kernel shows them.
 */
export function sysctlFix(key: string, value: number | readonly number[]): string[] {
  const text = typeof value === "number" ? String(value) : value.join(" ");
  const now = typeof value === "number" ? `${key}=${text}` : `${key}="${text}"`;
  return [`sysctl -w ${now}`, `echo '${key} = ${text}' >> ${SYSCTL_FILE}`];
}

/** A row that could not be read: a warning, since doctor cannot vouch for it. */
export function unreadable(id: string, title: string, where: string): DoctorCheck {
  return {
    id,
    title,
    found: "unreadable",
    needs: "-",
    status: "warn",
    note: `Could not read ${where}; check it by hand.`,
    fix: [],
  };
}
