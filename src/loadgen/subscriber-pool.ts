/**
 * The subscribers of one worker process: raw TCP sockets with a hand-written
 * `GET ... HTTP/1.1` request, read through a StreamScanner into one shared buffer (`onread`,
 * so that no Buffer is allocated per read), with sequence accounting per subscriber and one
 * latency histogram for the whole pool.
 *
 * Connects are paced (`connectConcurrency` in flight) so that the server's accept backlog never
 * overflows, which would turn into SYN retransmits a second later and distort the connect rate.
 * One interval checks connect timeouts for all subscribers; nothing is scheduled per subscriber.
 *
 * Local ports are chosen here, not by the kernel. Given a source address and port 0, Linux's
 * bind() searches the ephemeral range for a free port, preferring one parity (half the range);
 * once that half fills up (about 14,000 sockets per address) every search walks the whole range,
 * and a connect cost 650 µs to 1.5 ms of kernel time (measured at 30,000 subscribers). An
 * explicit port costs one hash lookup. Worker i of n takes ports i, i + n, i + 2n, ... from
 * 10,000 to 65,535 of each source address, so workers never collide; a port that is taken
 * anyway (another program, a TIME_WAIT, another run of the tool loading the same server) fails
 * the bind and the next one is tried, up to the whole of the worker's share: a concurrent run
 * holds a block of thousands of ports, which the subscribers walk past once.
 *
 * With several URLs (the nodes of one hub), subscriber i first connects to URL i mod n, and
 * every reconnect (churn, or after the server closed the stream) goes to the next URL, so that
 * a resume with Last-Event-ID lands on another node than the one that sent the id.
 * @module
 */
import { connect, type Socket } from "node:net";
import { Histogram } from "./histogram.js";
import type { ConnectReport, PhaseReport, WorkerConfig, WorkerStats } from "./messages.js";
import { monotonicMicros } from "./payload.js";
import type { StreamSeq } from "./seq-tracker.js";
import {
  CLOSED,
  CONNECTING,
  firstUrlIndex,
  nextUrlIndex,
  OPEN,
  Subscriber,
  type SubscriberHost,
} from "./subscriber.js";
import { createTarget, type Target } from "./targets.js";

/** Size of the read buffer shared by every socket of the pool. */
const READ_BUFFER_BYTES = 256 * 1024;
/** How often connect timeouts are checked, in ms. */
const TIMEOUT_CHECK_MS = 250;
/** How often churn reconnects are scheduled, in ms. */
const CHURN_TICK_MS = 10;
/** Pause before a failed reconnect is tried again, in ms. */
const RETRY_DELAY_MS = 100;
/** How often a draining phase checks whether anything is still owed, in ms. */
const DRAIN_CHECK_MS = 20;
/** The local ports subscribers bind to. */
const FIRST_PORT = 10_000;
const LAST_PORT = 65_535;
/** Errors of a bind to a local port that is taken: the next port is tried. */
const PORT_TAKEN = new Set(["EADDRINUSE", "EADDRNOTAVAIL"]);

/**
 * The subscribers of a worker and everything they count. The worker (worker.ts) drives it
 * from the controller's messages.
 */
export class SubscriberPool implements SubscriberHost {
  readonly config: WorkerConfig;
  readonly trackIds: boolean;
  readonly trackNotices: boolean;
  /** One target per URL. */
  readonly #targets: readonly Target[];
  /** Subscribers established per URL (first connections). */
  readonly #establishedByUrl: number[];
  readonly #subscribers: Subscriber[] = [];
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly #connecting = new Set<Subscriber>();
  readonly #queue: Subscriber[] = [];
  #queueAt = 0;
  readonly #latency = new Histogram();
  readonly #connectLatency = new Histogram();
  readonly #reconnectLatency = new Histogram();
  readonly #errors: Record<string, number> = {};
  /** Failures of reconnects in the current phase, by cause. */
  #reconnectErrors: Record<string, number> = {};
  /** The next local port to bind, per source address. */
  readonly #nextPort: number[];
  /** Ports of each source address that are this worker's: binds tried in a row at most. */
  readonly #portShare: number;
  #nowUs = 0;
  #lastEventUs = 0;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #churnTimer: NodeJS.Timeout | undefined;
  #onConnected: ((report: ConnectReport) => void) | undefined;
  #firstConnectUs = 0;
  #lastEstablishedUs = 0;
  /** Foreign events of the phase. */
  foreign = 0;
  /** `ssehub-reset` notices of the phase, by reason. */
  #resetReasons: Record<string, number> = {};
  /** The phase's mark (monotonic µs), 0 when none. */
  #markUs = 0;
  #events = 0;
  #established = 0;
  #failed = 0;
  #dropped = 0;
  #open = 0;
  #reconnects = 0;
  #failedReconnects = 0;
  /** The same three, counted from the start of the phase. */
  #phaseDropped = 0;
  #phaseReconnects = 0;
  #phaseFailedReconnects = 0;
  #closing = false;

  constructor(config: WorkerConfig) {
    this.config = config;
    this.trackIds = config.trackIds;
    this.trackNotices = config.trackNotices;
    this.#targets = config.targets.map((spec) => createTarget(spec));
    this.#establishedByUrl = this.#targets.map(() => 0);
    this.#nextPort = config.sourceAddresses.map(() => FIRST_PORT + config.workerIndex);
    this.#portShare = Math.ceil((LAST_PORT - FIRST_PORT + 1) / config.processes);
    const slots = config.streamMode === "all" ? config.streams : config.topicsPerSubscriber;
    for (let index = config.from; index < config.to; index++) {
      const topicBase = (index * config.topicsPerSubscriber) % config.topics;
      const verify = config.verify === "all" || index === config.from;
      const urlIndex = firstUrlIndex(index, this.#targets.length);
      this.#subscribers.push(new Subscriber(this, index, slots, topicBase, verify, urlIndex));
    }
  }

  /** The tracker slot of `stream` for `sub`, or -1 when the subscriber does not follow it. */
  slotOf(sub: Subscriber, stream: number): number {
    const { config } = this;
    if (config.streamMode === "all") return stream < config.streams ? stream : -1;
    const slot = (stream - sub.topicBase + config.topics) % config.topics;
    return slot < config.topicsPerSubscriber ? slot : -1;
  }

  /** The stream of tracker slot `slot` of `sub`. */
  #streamOf(sub: Subscriber, slot: number): number {
    if (this.config.streamMode === "all") return slot;
    return (sub.topicBase + slot) % this.config.topics;
  }

  recordDelivery(sentUs: number, sub: Subscriber): void {
    this.#events++;
    this.#lastEventUs = this.#nowUs;
    this.#latency.record(this.#nowUs - sentUs);
    if (this.#markUs > 0 && sentUs >= this.#markUs && sub.firstAfterMarkUs === 0) {
      sub.firstAfterMarkUs = this.#nowUs;
    }
  }

  recordReset(reason: string): void {
    const key = reason === "" ? "unknown" : reason;
    this.#resetReasons[key] = (this.#resetReasons[key] ?? 0) + 1;
  }

  /** From now on, the first arrival per subscriber of an event sent at or after `atUs` counts. */
  mark(atUs: number): void {
    this.#markUs = atUs;
    for (const sub of this.#subscribers) sub.firstAfterMarkUs = 0;
  }

  /** Counters right now. */
  stats(): WorkerStats {
    return {
      open: this.#open,
      connecting: this.#connecting.size,
      established: this.#established,
      failed: this.#failed,
      dropped: this.#dropped,
      events: this.#events,
      reconnects: this.#reconnects,
      failedReconnects: this.#failedReconnects,
    };
  }

  /** Opens every subscriber, `connectConcurrency` at a time; resolves when all are settled. */
  connectAll(): Promise<ConnectReport> {
    return new Promise((resolve) => {
      this.#onConnected = resolve;
      this.#queue.push(...this.#subscribers);
      this.#firstConnectUs = monotonicMicros();
      this.#timeoutTimer = setInterval(() => this.#checkTimeouts(), TIMEOUT_CHECK_MS);
      this.#pump();
    });
  }

  #pump(): void {
    while (
      this.#queueAt < this.#queue.length &&
      this.#connecting.size < this.config.connectConcurrency
    ) {
      this.#open1(this.#queue[this.#queueAt++]!);
    }
    if (this.#queueAt >= this.#queue.length) {
      this.#queue.length = 0;
      this.#queueAt = 0;
    }
    if (
      this.#onConnected !== undefined &&
      this.#queue.length === 0 &&
      this.#connecting.size === 0
    ) {
      const done = this.#onConnected;
      this.#onConnected = undefined;
      done({
        attempted: this.#subscribers.length,
        established: this.#established,
        failed: this.#failed,
        establishedByUrl: [...this.#establishedByUrl],
        errors: { ...this.#errors },
        connectLatency: this.#connectLatency.toJSON(),
        firstConnectUs: this.#firstConnectUs,
        lastEstablishedUs: this.#lastEstablishedUs || this.#firstConnectUs,
      });
    }
  }

  /** Opens the connection of `sub` to its URL, with Last-Event-ID when it resumes. */
  #open1(sub: Subscriber): void {
    const { config } = this;
    const target = this.#targets[sub.urlIndex]!;
    const endpoint = target.subscribe;
    const topics: string[] = [];
    if (config.streamMode === "all") {
      topics.push(`${config.topicPrefix}0`);
    } else {
      for (let j = 0; j < config.topicsPerSubscriber; j++) {
        topics.push(`${config.topicPrefix}${(sub.topicBase + j) % config.topics}`);
      }
    }
    let request = `GET ${target.subscribePath(topics)} HTTP/1.1\r\nHost: ${endpoint.hostHeader}\r\n`;
    for (const [name, value] of Object.entries(target.subscribeHeaders)) {
      request += `${name}: ${value}\r\n`;
    }
    if (sub.scanner.lastEventId !== "") {
      request += `${target.resume.name}: ${sub.scanner.lastEventId}\r\n`;
    }
    request += "\r\n";

    const { sourceAddresses } = config;
    const addressIndex = sub.index % Math.max(1, sourceAddresses.length);
    const localAddress = sourceAddresses[addressIndex];
    const localPort = localAddress === undefined ? undefined : this.#takePort(addressIndex);
    sub.scanner.reset();
    sub.verifier?.parser.reset();
    sub.state = CONNECTING;
    sub.closing = false;
    sub.startedUs = monotonicMicros();
    this.#connecting.add(sub);
    const socket = connect({
      host: endpoint.host,
      port: endpoint.port,
      ...(localAddress === undefined ? {} : { localAddress, localPort }),
      onread: {
        buffer: this.#readBuffer,
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          this.#nowUs = monotonicMicros();
          sub.scanner.feed(buffer as Buffer, 0, bytes);
          return true;
        },
      },
    });
    sub.socket = socket;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (sub.socket !== socket || sub.state !== CONNECTING) return;
      const code = error.code ?? "ERROR";
      if (PORT_TAKEN.has(code) && sub.portAttempts < this.#portShare) sub.portTaken = true;
      else this.#countError(sub, code);
    });
    socket.on("close", () => this.#onClose(sub, socket));
    socket.write(request);
  }

  /** The next local port of this worker's share for source address `addressIndex`. */
  #takePort(addressIndex: number): number {
    const port = this.#nextPort[addressIndex]!;
    const next = port + this.config.processes;
    this.#nextPort[addressIndex] = next > LAST_PORT ? FIRST_PORT + this.config.workerIndex : next;
    return port;
  }

  #countError(sub: Subscriber, code: string): void {
    const errors = sub.wasOpen ? this.#reconnectErrors : this.#errors;
    errors[code] = (errors[code] ?? 0) + 1;
  }

  /** The response head of `sub` arrived. */
  onHead(sub: Subscriber, status: number): void {
    if (sub.state !== CONNECTING) return;
    this.#connecting.delete(sub);
    const now = monotonicMicros();
    if (status !== 200) {
      this.#countError(sub, `HTTP_${status}`);
      // The close event counts the failure.
      sub.socket?.destroy();
      return;
    }
    sub.state = OPEN;
    sub.portAttempts = 0;
    this.#open++;
    if (sub.wasOpen) {
      this.#reconnects++;
      this.#phaseReconnects++;
      this.#reconnectLatency.record(now - sub.startedUs);
    } else {
      sub.wasOpen = true;
      this.#established++;
      this.#establishedByUrl[sub.urlIndex]!++;
      this.#lastEstablishedUs = now;
      this.#connectLatency.record(now - sub.startedUs);
      this.#pump();
    }
  }

  #onClose(sub: Subscriber, socket: Socket): void {
    if (sub.socket !== socket) return; // an earlier connection of a subscriber that reconnected
    sub.socket = undefined;
    const was = sub.state;
    sub.state = CLOSED;
    if (was === OPEN) this.#open--;
    if (this.#closing || sub.closing) return;
    if (was === CONNECTING) {
      this.#connecting.delete(sub);
      if (sub.portTaken) {
        // Not a failure of the server: the same connect again, from the next port.
        sub.portTaken = false;
        sub.portAttempts++;
        this.#open1(sub);
        return;
      }
      sub.portAttempts = 0;
      if (sub.wasOpen) {
        this.#failedReconnects++;
        this.#phaseFailedReconnects++;
        setTimeout(() => this.#retry(sub), RETRY_DELAY_MS);
      } else {
        this.#failed++;
        this.#pump();
      }
      return;
    }
    if (was === OPEN) {
      this.#dropped++;
      this.#phaseDropped++;
      if (this.config.reconnectOnClose) this.#retry(sub);
    }
  }

  /** Reconnects `sub`, to the next URL, after its stream closed or a reconnect failed. */
  #retry(sub: Subscriber): void {
    if (this.#closing || sub.state === OPEN || sub.state === CONNECTING) return;
    sub.urlIndex = nextUrlIndex(sub.urlIndex, this.#targets.length);
    this.#open1(sub);
  }

  #checkTimeouts(): void {
    const limitUs = this.config.connectTimeoutMs * 1000;
    const now = monotonicMicros();
    for (const sub of this.#connecting) {
      if (now - sub.startedUs > limitUs) {
        this.#countError(sub, "TIMEOUT");
        sub.socket?.destroy();
      }
    }
  }

  /** Counts afresh: every stream expects `base[stream] + 1` next. */
  startPhase(base: readonly number[]): void {
    for (const sub of this.#subscribers) {
      sub.inPhase = sub.state === OPEN;
      sub.tracker.reset((slot) => base[this.#streamOf(sub, slot)] ?? 0);
    }
    this.#latency.reset();
    this.#reconnectLatency.reset();
    this.foreign = 0;
    this.#resetReasons = {};
    this.mark(0);
    this.#lastEventUs = 0;
    this.#phaseReconnects = 0;
    this.#phaseFailedReconnects = 0;
    this.#phaseDropped = 0;
    this.#reconnectErrors = {};
  }

  /**
   * Deliveries still owed to the counted subscribers: the events of acknowledged publishes
   * only. The events of refused publishes are not waited for: the publisher was told they
   * failed, and the drain would otherwise always run to its end when one is never applied.
   */
  #owed(final: readonly number[], refused: ReadonlyMap<number, readonly number[]>): number {
    let owed = 0;
    const canReturn = this.config.reconnectOnClose;
    for (const sub of this.#subscribers) {
      // A stream the server closed gets nothing more, unless it reconnects.
      if (!sub.inPhase || (sub.state === CLOSED && !canReturn)) continue;
      const finalOf = (slot: number): number => final[this.#streamOf(sub, slot)] ?? 0;
      owed +=
        refused.size === 0
          ? sub.tracker.lost(finalOf)
          : sub.tracker.missing(finalOf, (slot) => refused.get(this.#streamOf(sub, slot))).lost;
    }
    return owed;
  }

  /**
   * Waits until no counted subscriber is owed an event of an acknowledged publish up to
   * `final[stream]`, or `drainMs`, then reports the phase. The missing events of `refused` publishes (stream, seq) count as
   * refusedNotDelivered, not lost; those that arrived, as refusedDelivered.
   */
  async endPhase(
    final: readonly number[],
    drainMs: number,
    loopDelayP99Ms: number,
    refused: readonly StreamSeq[] = [],
  ): Promise<PhaseReport> {
    const refusedByStream = new Map<number, number[]>();
    for (const [stream, seq] of refused) {
      const seqs = refusedByStream.get(stream);
      if (seqs === undefined) refusedByStream.set(stream, [seq]);
      else seqs.push(seq);
    }
    const deadline = performance.now() + drainMs;
    while (this.#owed(final, refusedByStream) > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_CHECK_MS));
    }
    let subscribers = 0;
    let expected = 0;
    let delivered = 0;
    let lost = 0;
    let refusedNotDelivered = 0;
    let refusedDelivered = 0;
    let duplicated = 0;
    let reordered = 0;
    let firstAfterMarkUs = 0;
    let allAfterMarkUs = 0;
    let subscribersAfterMark = 0;
    const verify = { subscribers: 0, events: 0, mismatches: 0 };
    for (const sub of this.#subscribers) {
      const v = sub.verifier;
      if (v !== undefined && sub.wasOpen) {
        verify.subscribers++;
        verify.events += v.events + v.foreign;
        if (v.events !== sub.events || v.seqSum !== sub.seqSum || v.foreign !== sub.foreign) {
          verify.mismatches++;
        }
      }
      if (!sub.inPhase) continue;
      subscribers++;
      const { tracker } = sub;
      const finalOf = (slot: number): number => final[this.#streamOf(sub, slot)] ?? 0;
      expected += tracker.expected(finalOf);
      delivered += tracker.received;
      const missing = tracker.missing(finalOf, (slot) =>
        refusedByStream.get(this.#streamOf(sub, slot)),
      );
      lost += missing.lost;
      refusedNotDelivered += missing.refusedNotDelivered;
      refusedDelivered += missing.refusedDelivered;
      duplicated += tracker.duplicated;
      reordered += tracker.reordered;
      const first = sub.firstAfterMarkUs;
      if (first > 0) {
        subscribersAfterMark++;
        firstAfterMarkUs = firstAfterMarkUs === 0 ? first : Math.min(firstAfterMarkUs, first);
        allAfterMarkUs = Math.max(allAfterMarkUs, first);
      }
    }
    return {
      subscribers,
      expected,
      delivered,
      lost,
      refusedNotDelivered,
      refusedDelivered,
      duplicated,
      reordered,
      foreign: this.foreign,
      dropped: this.#phaseDropped,
      latency: this.#latency.toJSON(),
      lastEventUs: this.#lastEventUs,
      reconnects: this.#phaseReconnects,
      failedReconnects: this.#phaseFailedReconnects,
      reconnectLatency: this.#reconnectLatency.toJSON(),
      reconnectErrors: { ...this.#reconnectErrors },
      verify,
      eventLoopDelayP99Ms: loopDelayP99Ms,
      resetReasons: { ...this.#resetReasons },
      firstAfterMarkUs,
      allAfterMarkUs: subscribersAfterMark === subscribers ? allAfterMarkUs : 0,
      subscribersAfterMark,
    };
  }

  /** Reconnects `ratePerSec` subscribers per second with Last-Event-ID; 0 stops. */
  churn(ratePerSec: number): void {
    if (this.#churnTimer !== undefined) clearInterval(this.#churnTimer);
    this.#churnTimer = undefined;
    if (ratePerSec <= 0 || this.#subscribers.length === 0) return;
    const started = performance.now();
    let done = 0;
    let cursor = 0;
    this.#churnTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * ratePerSec) - done;
      for (let i = 0; i < due; i++) {
        // The next open subscriber that knows where it stands; give up after one full round.
        let sub: Subscriber | undefined;
        for (let tries = 0; tries < this.#subscribers.length; tries++) {
          const candidate = this.#subscribers[cursor]!;
          cursor = (cursor + 1) % this.#subscribers.length;
          if (candidate.state === OPEN && candidate.scanner.lastEventId !== "") {
            sub = candidate;
            break;
          }
        }
        done++;
        if (sub === undefined) continue;
        this.#reconnect(sub);
      }
    }, CHURN_TICK_MS);
  }

  /** Drops the stream of `sub` and resumes it on the next URL (churn). */
  #reconnect(sub: Subscriber): void {
    const old = sub.socket;
    sub.socket = undefined;
    if (sub.state === OPEN) this.#open--;
    sub.state = CLOSED;
    old?.destroy();
    sub.urlIndex = nextUrlIndex(sub.urlIndex, this.#targets.length);
    this.#open1(sub);
  }

  /**
   * Closes every socket with a reset; resolves when all are closed (or after `timeoutMs`).
   */
  async close(timeoutMs = 5000): Promise<WorkerStats> {
    this.#closing = true;
    if (this.#timeoutTimer !== undefined) clearInterval(this.#timeoutTimer);
    if (this.#churnTimer !== undefined) clearInterval(this.#churnTimer);
    const closing: Promise<void>[] = [];
    for (const sub of this.#subscribers) {
      const socket = sub.socket;
      if (socket === undefined || socket.destroyed) continue;
      sub.closing = true;
      closing.push(new Promise((resolve) => socket.once("close", () => resolve())));
      // A reset leaves no TIME_WAIT behind: tens of thousands of them slow down the port
      // search of the next run's connects (churn's reconnects close with FIN, as clients do).
      socket.resetAndDestroy();
    }
    await Promise.race([
      Promise.all(closing),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
    return this.stats();
  }
}
