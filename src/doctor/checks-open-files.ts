/**
 * Open files: every subscriber holds a socket, and every socket is a file descriptor of the
 * process that holds it. The limits come in layers, from the process to the whole system:
 * soft and hard limit of the process (raised by `ulimit`, limits.conf, systemd's LimitNOFILE,
 * `docker --ulimit`), `fs.nr_open` (the ceiling of any hard limit), `fs.file-max` (all processes).
 * @module
 */
import { count, counted, type DoctorCheck, sysctlFix, unreadable } from "./check.js";
import { connectionsUnder, type DoctorTarget, FD_BASE } from "./doctor-target.js";
import type { HostFacts } from "./host-facts.js";

/** A count rounded up to whole thousands, so that fix lines read well and leave a little room. */
export function roundUpThousands(value: number): number {
  return Math.ceil(value / 1000) * 1000;
}

/** Workers needed so that each process stays under `hardLimit` open files. */
export function workersUnder(hardLimit: number, connections: number): number {
  const perProcess = connectionsUnder(hardLimit);
  return perProcess === 0 ? Number.POSITIVE_INFINITY : Math.ceil(connections / perProcess);
}

/** The lines that raise a process's open-files limit, wherever the hub is started. */
function nofileFixes(files: number): string[] {
  return [
    `ulimit -n ${files}`,
    `echo '* soft nofile ${files}' >> /etc/security/limits.d/90-ssehub.conf`,
    `echo '* hard nofile ${files}' >> /etc/security/limits.d/90-ssehub.conf`,
    `LimitNOFILE=${files}`,
    `docker run --ulimit nofile=${files}:${files} ...`,
  ];
}

function hardLimitCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const title = "open files, hard limit of a process";
  if (facts.openFiles === undefined) return unreadable("nofile.hard", title, "/proc/self/limits");
  const { hard } = facts.openFiles;
  const files = roundUpThousands(target.filesPerProcess);
  const base = {
    id: "nofile.hard",
    title,
    found: count(hard),
    needs: `>= ${count(target.filesPerProcess)}`,
  };
  if (hard >= target.filesPerProcess) {
    return {
      ...base,
      status: "pass",
      note: `Each process holds ${count(target.connectionsPerProcess)} connections plus a 10% margin for reconnects and ${FD_BASE} other files.`,
      fix: [],
    };
  }
  const workers = workersUnder(hard, target.connections);
  const spread = `A target above the hard limit needs several processes: ${count(connectionsUnder(hard))} connections fit under ${count(hard)} open files, so ${count(target.connections)} connections need ssehub serve --workers ${workers} (check it: ssehub doctor --connections ${target.connections} --workers ${workers}).`;
  const locked =
    facts.canRaiseHardLimit === false
      ? " This process lacks CAP_SYS_RESOURCE, so its hard limit cannot be raised from here (a container or sandbox set it): raise it where the hub is started, or use the workers."
      : "";
  return {
    ...base,
    status: "fail",
    note: `${spread}${locked} Otherwise raise the hard limit: in the shell that starts the hub, in limits.d (new logins), in the systemd unit's [Service] section, or in the container's ulimits.`,
    fix: [...nofileFixes(files), `ssehub serve --workers ${count(workers)}`],
  };
}

function softLimitCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const title = "open files, soft limit of a process";
  if (facts.openFiles === undefined) return unreadable("nofile.soft", title, "/proc/self/limits");
  const { soft, hard } = facts.openFiles;
  const base = {
    id: "nofile.soft",
    title,
    found: count(soft),
    needs: `>= ${count(target.filesPerProcess)}`,
  };
  if (soft >= target.filesPerProcess) return { ...base, status: "pass", note: "", fix: [] };
  if (hard >= target.filesPerProcess) {
    return {
      ...base,
      status: "pass",
      note: "Node raises its soft limit to the hard limit when it starts, so the hub gets the hard limit; raise the soft limit for other processes in front of it.",
      fix: [],
    };
  }
  return {
    ...base,
    status: "fail",
    note: "Node raises its soft limit to the hard limit, which is too low as well: see the hard limit.",
    fix: [`ulimit -n ${roundUpThousands(target.filesPerProcess)}`],
  };
}

function nrOpenCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "fs.nr_open";
  const title = "ceiling of any process's open-files limit";
  if (facts.nrOpen === undefined) return unreadable(id, title, "/proc/sys/fs/nr_open");
  const base = {
    id,
    title,
    found: count(facts.nrOpen),
    needs: `>= ${count(target.filesPerProcess)}`,
  };
  if (facts.nrOpen >= target.filesPerProcess) return { ...base, status: "pass", note: "", fix: [] };
  return {
    ...base,
    status: "fail",
    note: "No hard limit, LimitNOFILE included, can pass fs.nr_open: raise it first.",
    fix: sysctlFix(id, roundUpThousands(target.filesPerProcess)),
  };
}

function fileMaxCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "fs.file-max";
  const title = "open files of all processes together";
  if (facts.fileMax === undefined) return unreadable(id, title, "/proc/sys/fs/file-max");
  const inUse = facts.filesAllocated ?? 0;
  const needed = target.workers * target.filesPerProcess + inUse;
  const base = { id, title, found: count(facts.fileMax), needs: `>= ${count(needed)}` };
  const note = `The hub's ${counted(target.workers, "process", "processes")} x ${count(target.filesPerProcess)} files, plus the ${count(inUse)} the system has open now (fs.file-nr).`;
  if (facts.fileMax >= needed) return { ...base, status: "pass", note, fix: [] };
  return { ...base, status: "fail", note, fix: sysctlFix(id, roundUpThousands(needed)) };
}

function systemdCheck(facts: HostFacts, target: DoctorTarget): DoctorCheck {
  const id = "systemd.LimitNOFILE";
  const title = "LimitNOFILE of the systemd unit";
  const needs = `>= ${count(target.filesPerProcess)}`;
  const unit = facts.systemd;
  if (unit === undefined) {
    return {
      id,
      title,
      found: "not under systemd",
      needs,
      status: "skip",
      note: "Doctor does not run under systemd; check the hub's unit with --unit ssehub.service.",
      fix: [],
    };
  }
  // Inside the unit, systemd has applied its LimitNOFILE to this process as its hard limit.
  const inside = unit.detectedBy !== "--unit";
  const limit = unit.limitNofile ?? (inside ? facts.openFiles?.hard : undefined);
  const found = limit === undefined ? "unknown" : count(limit);
  const base = { id, title: `${title} (${unit.unit})`, found, needs };
  if (limit === undefined) {
    return {
      ...base,
      status: "warn",
      note: `Found ${unit.unit} by ${unit.detectedBy}, but systemctl show could not tell its LimitNOFILE.`,
      fix: [],
    };
  }
  if (limit >= target.filesPerProcess) return { ...base, status: "pass", note: "", fix: [] };
  const files = roundUpThousands(target.filesPerProcess);
  return {
    ...base,
    status: "fail",
    note: "systemd sets the hub's limits from the unit, whatever limits.conf or ulimit say: put the line in its [Service] section.",
    fix: [
      `LimitNOFILE=${files}`,
      `systemctl daemon-reload && systemctl restart ${unit.unit.endsWith(".service") ? unit.unit : "<unit>"}`,
    ],
  };
}

/** The open-files checks, from the process up to the system. */
export function openFilesChecks(facts: HostFacts, target: DoctorTarget): DoctorCheck[] {
  return [
    softLimitCheck(facts, target),
    hardLimitCheck(facts, target),
    systemdCheck(facts, target),
    nrOpenCheck(facts, target),
    fileMaxCheck(facts, target),
  ];
}
