/**
 * The browser's event tracker: queues events and posts them to the collector in batches.
 *
 * Sending is best-effort and never blocks the page: batches go out on a short timer, when the
 * queue fills, when a card is clicked, and when the page is hidden or unloaded. `fetch` with
 * `keepalive` lets a batch outlive the page; `sendBeacon` is the fallback. Every event carries
 * a client-minted UUIDv7 so a batch that is sent twice can be deduplicated downstream.
 */
import type { DeviceKind, EventContext, MarqueeEvent } from "@marquee/contracts";
// The subpath, not the package: the client bundle takes this one file, without zod.
import { newUuidV7 } from "@marquee/contracts/uuid-v7";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a page hands the tracker: type, title, payload, and where on the page it happened. */
export type TrackInput = DistributiveOmit<
  MarqueeEvent,
  "event_id" | "occurred_at" | "user_id" | "anonymous_id" | "session_id" | "context"
> & { context?: Omit<EventContext, "device"> };

type WireEvent = TrackInput & {
  event_id: string;
  occurred_at: string;
  user_id?: string;
  anonymous_id: string;
  session_id: string;
  context: EventContext;
};

export interface TrackerConfig {
  /** The anonymous visitor's id (the `mq_anon` cookie's value). */
  actorId: string;
  /** The signed-in user: their events are keyed by it (the anonymous id still rides along). */
  userId?: string | null;
  eventsUrl: string;
}

const FLUSH_AFTER_MS = 1500;
/** Keeps each request far below the 64 KiB that keepalive requests may carry in total. */
const MAX_BATCH = 40;
const SESSION_KEY = "mq_session";
const ANON_COOKIE = "mq_anon";

let config: TrackerConfig | null = null;
let queue: WireEvent[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let page = "unknown";
let sessionId: string | null = null;
let device: DeviceKind | null = null;
/** Cards already counted as seen in the current page view: `${row}|${position}|${item}`. */
let seen = new Set<string>();

function randomBase36(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

function getSessionId(): string {
  if (sessionId) return sessionId;
  try {
    sessionId = sessionStorage.getItem(SESSION_KEY);
    if (!sessionId) {
      sessionId = `s_${randomBase36(20)}`;
      sessionStorage.setItem(SESSION_KEY, sessionId);
    }
  } catch {
    // Storage can be disabled (privacy modes); a per-page-load session is the honest fallback.
    sessionId ??= `s_${randomBase36(20)}`;
  }
  return sessionId;
}

/** Rough device class from the user agent first (TVs and tablets lie about little), then the viewport. */
export function detectDevice(ua: string, width: number, coarse: boolean): DeviceKind {
  if (
    /smart-?tv|hbbtv|appletv|googletv|android tv|crkey|tizen|web0s|webos|netcast|bravia|roku|aftb|aftm|aftt|\bdtv\b/i.test(
      ua,
    )
  ) {
    return "tv";
  }
  if (/ipad|tablet|playbook|silk|kindle/i.test(ua) || (/android/i.test(ua) && !/mobile/i.test(ua))) return "tablet";
  if (/iphone|ipod|mobi|android/i.test(ua)) return "phone";
  // iPadOS reports itself as a Mac; a touch-only "Mac" is a tablet.
  if (/macintosh/i.test(ua) && coarse) return "tablet";
  if (coarse) return width < 700 ? "phone" : width < 1200 ? "tablet" : "tv";
  return "desktop";
}

function getDevice(): DeviceKind {
  device ??= detectDevice(
    navigator.userAgent,
    Math.min(window.screen?.width ?? window.innerWidth, window.innerWidth),
    window.matchMedia?.("(pointer: coarse)").matches ?? false,
  );
  return device;
}

function getActorId(): string | null {
  for (const part of document.cookie.split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === ANON_COOKIE && v) return v;
  }
  return config?.actorId ?? null;
}

function send(url: string, batch: WireEvent[]): void {
  const body = JSON.stringify({ events: batch });
  const beacon = () => {
    try {
      navigator.sendBeacon?.(url, new Blob([body], { type: "application/json" }));
    } catch {
      // Nothing more to do: analytics must never break the page.
    }
  };
  try {
    fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      keepalive: true,
      credentials: "same-origin",
    }).catch(beacon);
  } catch {
    beacon();
  }
}

/** Sends everything queued now. */
export function flush(): void {
  if (timer !== undefined) {
    clearTimeout(timer);
    timer = undefined;
  }
  if (!config || queue.length === 0) return;
  const pending = queue;
  queue = [];
  for (let i = 0; i < pending.length; i += MAX_BATCH) send(config.eventsUrl, pending.slice(i, i + MAX_BATCH));
}

export function track(input: TrackInput, options: { flush?: boolean } = {}): void {
  const anonymousId = getActorId();
  if (!anonymousId) return;
  const event = {
    ...input,
    event_id: newUuidV7(),
    occurred_at: new Date().toISOString(),
    ...(config?.userId ? { user_id: config.userId } : {}),
    anonymous_id: anonymousId,
    session_id: getSessionId(),
    context: { page, ...input.context, device: getDevice() },
  } as WireEvent;
  queue.push(event);
  if (options.flush || queue.length >= MAX_BATCH) flush();
  else if (timer === undefined) timer = setTimeout(flush, FLUSH_AFTER_MS);
}

function shelfContext(el: HTMLElement): Omit<EventContext, "device"> {
  const position = Number(el.dataset.mqPos);
  return {
    page,
    ...(el.dataset.mqRow ? { row: el.dataset.mqRow } : {}),
    ...(Number.isInteger(position) ? { position } : {}),
    ...(el.dataset.mqModel ? { model_version: el.dataset.mqModel } : {}),
    ...(el.dataset.mqVariant ? { variant: el.dataset.mqVariant } : {}),
  };
}

function onClick(e: MouseEvent): void {
  const el = (e.target as Element | null)?.closest?.<HTMLElement>("[data-mq-item]");
  const item = el?.dataset.mqItem;
  if (!el || !item) return;
  // Flushed at once, with keepalive, so it survives a full-page navigation too.
  track({ type: "click", item_id: item, payload: { target: "poster" }, context: shelfContext(el) }, { flush: true });
}

function onHide(): void {
  if (document.visibilityState === "hidden") flush();
}

/** Called once the root has its data; later calls only update the config. */
export function configureTracker(next: TrackerConfig): void {
  const first = config === null;
  config = next;
  if (!first) return;
  document.addEventListener("click", onClick, { capture: true });
  document.addEventListener("visibilitychange", onHide);
  window.addEventListener("pagehide", flush);
}

/** Starts a page view: records it and resets which cards count as already seen. */
export function pageView(name: string, path: string, referrer: string | undefined): void {
  page = name;
  seen = new Set();
  track({ type: "page_view", payload: { path, ...(referrer ? { referrer } : {}) } });
}

/**
 * Watches every shelf card under `root` and records an impression the first time at least half
 * of it is on screen in this page view. Returns a function that stops watching.
 */
export function observeImpressions(root: ParentNode): () => void {
  if (typeof IntersectionObserver === "undefined") return () => {};
  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const el = entry.target as HTMLElement;
        const item = el.dataset.mqItem;
        if (!item) continue;
        const key = `${el.dataset.mqRow ?? ""}|${el.dataset.mqPos ?? ""}|${item}`;
        observer.unobserve(el);
        if (seen.has(key)) continue;
        seen.add(key);
        track({ type: "impression", item_id: item, payload: {}, context: shelfContext(el) });
      }
    },
    { threshold: 0.5 },
  );
  for (const el of root.querySelectorAll<HTMLElement>("[data-mq-item]")) observer.observe(el);
  return () => observer.disconnect();
}
