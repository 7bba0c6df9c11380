import type { MediaItemStatus } from "@marquee/media";
import { useRevalidator, useRouteLoaderData } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import type { loader as rootLoader } from "../root";

type Kind = MediaItemStatus["kind"];

const ACCEPT: Record<Kind, string> = {
  film: "video/*,.mkv,.mov,.mp4,.m4v,.webm",
  trailer: "video/*,.mkv,.mov,.mp4,.m4v,.webm",
  poster: "image/jpeg,image/png,image/webp",
  captions: ".vtt,text/vtt",
};

const LABEL: Record<Kind, string> = { film: "Film", trailer: "Trailer", poster: "Poster", captions: "Captions" };

/** Minimal shape of a tus-js-client upload that this component drives. */
interface TusUpload {
  start(): void;
  abort(): Promise<void>;
  findPreviousUploads(): Promise<unknown[]>;
  resumeFromPreviousUpload(previous: unknown): void;
}

type State =
  | { phase: "idle" }
  | { phase: "uploading"; sent: number; total: number; startedAt: number; paused: boolean }
  | { phase: "checking" }
  | { phase: "done"; message: string }
  | { phase: "error"; message: string };

function mib(n: number): string {
  return `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "";
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** What the server said when it refused an upload (tus carries the reason in the body). */
function reasonOf(err: unknown): string {
  const e = err as { originalResponse?: { getBody(): string; getStatus(): number } | null; message?: string };
  const body = e.originalResponse?.getBody()?.trim();
  if (body) return body;
  return "The connection was lost. Choose the same file again to resume where it stopped.";
}

/**
 * One of a title's uploads (film, trailer, poster, captions) with the tus protocol: a progress
 * bar with speed and time left, pause and resume, and automatic retries; a dropped connection
 * or a closed tab resumes from where the server stopped (the browser remembers the upload by
 * the file's fingerprint). The server probes the finished file and says why it refused one.
 */
export function MediaUploader({
  titleId,
  kind,
  status,
  endpoint = "/media/uploads",
}: {
  titleId: string;
  kind: Kind;
  status: MediaItemStatus | undefined;
  endpoint?: string;
}) {
  const csrf = useRouteLoaderData<typeof rootLoader>("root")?.csrf ?? "";
  const revalidator = useRevalidator();
  const [state, setState] = useState<State>({ phase: "idle" });
  const upload = useRef<TusUpload | null>(null);

  useEffect(() => () => void upload.current?.abort(), []);

  async function begin(file: File) {
    const tus = await import("tus-js-client");
    const startedAt = Date.now();
    const u = new tus.Upload(file, {
      endpoint,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      chunkSize: 16 * 1024 ** 2,
      metadata: { title_id: titleId, kind, filename: file.name, filetype: file.type },
      headers: { "x-csrf-token": csrf },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // A refusal (4xx: wrong kind, too big, not allowed, not a video) will not change on retry.
      onShouldRetry: (err) => {
        const s = (err as { originalResponse?: { getStatus(): number } | null }).originalResponse?.getStatus() ?? 0;
        return s === 0 || s === 409 || s === 423 || s >= 500;
      },
      onProgress: (sent, total) =>
        setState((p) => ({
          phase: "uploading",
          sent,
          total,
          startedAt: p.phase === "uploading" ? p.startedAt : startedAt,
          paused: false,
        })),
      onAfterResponse: (_req, res) => {
        // The last PATCH answers once the server has probed the file.
        if (res.getStatus() === 204 && Number(res.getHeader("Upload-Offset")) === file.size)
          setState({ phase: "checking" });
      },
      onSuccess: () => {
        upload.current = null;
        setState({
          phase: "done",
          message:
            kind === "film" || kind === "trailer" ? "Uploaded. Transcoding has started." : `${LABEL[kind]} uploaded.`,
        });
        revalidator.revalidate();
      },
      onError: (err) => {
        upload.current = null;
        setState({ phase: "error", message: reasonOf(err) });
        revalidator.revalidate();
      },
    });
    upload.current = u as unknown as TusUpload;
    const previous = await u.findPreviousUploads();
    if (previous[0]) u.resumeFromPreviousUpload(previous[0]);
    setState({ phase: "uploading", sent: 0, total: file.size, startedAt, paused: false });
    u.start();
  }

  const pause = () => {
    void upload.current?.abort();
    setState((p) => (p.phase === "uploading" ? { ...p, paused: true } : p));
  };
  const resume = () => {
    upload.current?.start();
    setState((p) => (p.phase === "uploading" ? { ...p, paused: false } : p));
  };

  const id = `upload-${kind}`;
  const busy = state.phase === "uploading" || state.phase === "checking";
  return (
    <div className="media-upload" data-kind={kind}>
      <div className="media-upload-head">
        <label htmlFor={id}>{LABEL[kind]}</label>
        <MediaStatusLine status={status} />
      </div>
      <input
        id={id}
        type="file"
        accept={ACCEPT[kind]}
        disabled={busy}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          if (file) void begin(file);
        }}
      />
      {state.phase === "uploading" && <UploadProgress {...state} onPause={pause} onResume={resume} />}
      {state.phase === "checking" && (
        <p className="muted" role="status">
          Checking the file…
        </p>
      )}
      {state.phase === "done" && (
        <p className="form-message notice" role="status">
          {state.message}
        </p>
      )}
      {state.phase === "error" && (
        <p className="form-message error" role="alert">
          {state.message}
        </p>
      )}
    </div>
  );
}

function UploadProgress({
  sent,
  total,
  startedAt,
  paused,
  onPause,
  onResume,
}: {
  sent: number;
  total: number;
  startedAt: number;
  paused: boolean;
  onPause: () => void;
  onResume: () => void;
}) {
  const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
  const elapsed = (Date.now() - startedAt) / 1000;
  const rate = elapsed > 0 ? sent / elapsed : 0;
  const left = rate > 0 ? (total - sent) / rate : Number.NaN;
  return (
    <div className="upload-progress">
      <progress max={100} value={percent} aria-label="Upload progress">
        {percent}%
      </progress>
      <span role="status">
        {percent}% · {mib(sent)} of {mib(total)}
        {!paused && rate > 0 ? ` · ${mib(rate)}/s · ${duration(left)} left` : ""}
        {paused ? " · paused" : ""}
      </span>
      {paused ? (
        <button type="button" className="button small" onClick={onResume}>
          Resume
        </button>
      ) : (
        <button type="button" className="button small secondary" onClick={onPause}>
          Pause
        </button>
      )}
    </div>
  );
}

/** Where a title's upload of one kind stands: transcoding progress and ETA, or why it failed. */
export function MediaStatusLine({ status }: { status: MediaItemStatus | undefined }) {
  if (!status || status.status === "none") return <span className="muted">Not uploaded</span>;
  switch (status.status) {
    case "ready":
      return (
        <span className="badge ok">
          Ready{status.rungs?.length ? ` · ${status.rungs.map((r) => `${r}p`).join(" ")}` : ""}
        </span>
      );
    case "failed":
      return <span className="badge error">Failed: {status.error ?? "unknown reason"}</span>;
    case "transcoding":
      return (
        <span className="badge">
          Transcoding {status.progress ?? 0}%{status.eta_s ? ` · about ${duration(status.eta_s)} left` : ""}
        </span>
      );
    default:
      return <span className="badge">Queued for transcoding</span>;
  }
}
