// Shared WebSocket connections (the shape of headlamp's `webSocket.ts`): one socket per
// stream key however many components listen, listeners ref-counted, a placeholder entry so
// two components subscribing in the same tick never open two sockets, the socket closed when
// its last listener leaves, and reconnection with backoff while anyone still listens. The URL
// is asked for again on every (re)connect so the caller can resume with `?since=<seq>`.

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SocketListener {
  onMessage: (data: unknown) => void;
  onStatus?: (status: ConnectionStatus) => void;
}

export interface StreamOptions {
  /** Identity of the stream; subscribers with the same key share one socket. */
  key: string;
  /** The URL to connect to, asked for on every (re)connect. */
  url: () => string;
  /** Whether to reconnect after the socket closed without us asking (default: always). */
  shouldReconnect?: (event: CloseEvent) => boolean;
  /** First retry delay; doubles per failed attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (default: never). */
  maxAttempts?: number;
}

interface Entry {
  options: StreamOptions;
  listeners: Set<SocketListener>;
  socket: WebSocket | null;
  status: ConnectionStatus;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** Set when we close the socket ourselves, so its close event does not reconnect. */
  closing: boolean;
}

type SocketFactory = (url: string) => WebSocket;

const entries = new Map<string, Entry>();
let createSocket: SocketFactory = (url) => new WebSocket(url);

/** Replaces how sockets are created (tests hand in a fake). Returns the previous factory. */
export function setSocketFactory(factory: SocketFactory): SocketFactory {
  const prev = createSocket;
  createSocket = factory;
  return prev;
}

function setStatus(entry: Entry, status: ConnectionStatus) {
  entry.status = status;
  entry.listeners.forEach((l) => l.onStatus?.(status));
}

function connect(entry: Entry) {
  entry.timer = null;
  let socket: WebSocket;
  try {
    socket = createSocket(entry.options.url());
  } catch {
    // An invalid URL or a blocked scheme: treat like a failed connection attempt.
    scheduleReconnect(entry, null);
    return;
  }
  entry.socket = socket;
  socket.onopen = () => {
    if (entry.socket !== socket) return;
    entry.attempts = 0;
    setStatus(entry, 'open');
  };
  socket.onmessage = (ev: MessageEvent) => {
    if (entry.socket !== socket) return;
    let data: unknown = ev.data;
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        return; // Not one of ours; the protocol is JSON only.
      }
    }
    // Copy: a listener may unsubscribe while we iterate.
    [...entry.listeners].forEach((l) => l.onMessage(data));
  };
  socket.onclose = (ev: CloseEvent) => {
    if (entry.socket !== socket) return;
    entry.socket = null;
    if (entry.closing || entry.listeners.size === 0) return;
    scheduleReconnect(entry, ev);
  };
}

function scheduleReconnect(entry: Entry, ev: CloseEvent | null) {
  const o = entry.options;
  const wanted = ev === null || (o.shouldReconnect?.(ev) ?? true);
  if (!wanted || (o.maxAttempts !== undefined && entry.attempts >= o.maxAttempts)) {
    setStatus(entry, 'closed');
    return;
  }
  const delay = Math.min(o.maxDelayMs ?? 15_000, (o.initialDelayMs ?? 500) * 2 ** entry.attempts);
  entry.attempts += 1;
  setStatus(entry, 'reconnecting');
  entry.timer = setTimeout(() => connect(entry), delay);
}

/** Subscribes to a stream, opening its socket if needed. Returns the unsubscribe function. */
export function subscribe(options: StreamOptions, listener: SocketListener): () => void {
  let entry = entries.get(options.key);
  if (!entry) {
    // The placeholder goes into the map before the socket exists: a second subscriber in
    // the same tick joins it instead of opening its own socket.
    entry = { options, listeners: new Set(), socket: null, status: 'connecting', attempts: 0, timer: null, closing: false };
    entries.set(options.key, entry);
    entry.listeners.add(listener);
    listener.onStatus?.('connecting');
    connect(entry);
  } else {
    entry.listeners.add(listener);
    listener.onStatus?.(entry.status);
  }
  const e = entry;
  return () => {
    if (!e.listeners.delete(listener) || e.listeners.size > 0) return;
    close(e);
  };
}

function close(e: Entry) {
  e.closing = true;
  if (e.timer) clearTimeout(e.timer);
  e.timer = null;
  const s = e.socket;
  e.socket = null;
  if (s && (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING)) s.close(1000, 'no listeners');
  if (entries.get(e.options.key) === e) entries.delete(e.options.key);
}

/**
 * Drops the current connection of a stream and connects again at once (with a fresh URL),
 * keeping its listeners: used to resume from a known sequence number after a gap.
 */
export function reconnectNow(key: string): void {
  const e = entries.get(key);
  if (!e) return;
  if (e.timer) clearTimeout(e.timer);
  const s = e.socket;
  e.socket = null; // its close event is now ignored
  if (s && (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING)) s.close(1000, 'resync');
  e.attempts = 0;
  setStatus(e, 'connecting');
  connect(e);
}

/** For tests and diagnostics: how many streams are open and how many listen to a key. */
export function streamInfo(key: string): { listeners: number; status: ConnectionStatus } | null {
  const e = entries.get(key);
  return e ? { listeners: e.listeners.size, status: e.status } : null;
}

export function openStreamCount(): number {
  return entries.size;
}
