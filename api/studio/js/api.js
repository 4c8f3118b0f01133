// The public API, as the page uses it: the studio's key (kept in this tab's
// sessionStorage) goes in the Authorization header; streams and media, which cannot
// send a header, get a short-lived token minted for them alone.

const KEY = "scenestate.key";

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export async function call(method, path, body, headers = {}) {
  const secret = key.get();
  const init = { method, headers: { ...headers } };
  if (secret) init.headers.Authorization = `Bearer ${secret}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "the server cannot be reached (is scenestate serve running?)");
  }
  if (answer.status === 204) return null;
  const data = await answer.json().catch(() => null);
  if (!answer.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(answer.status, error.message || `${answer.status} ${answer.statusText}`,
      error.field);
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body, headers) => call("POST", path, body ?? {}, headers);

export function query(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

export const scenePath = (scene) => `/scenes/${encodeURIComponent(scene)}`;

// A live stream of one scene or execution. It resumes by itself: the browser's own
// reconnect sends Last-Event-ID; when it gives up (say the token expired while the
// server was down), a new token is minted and the stream reopened after the last id
// seen. Messages at or before that id are never delivered twice.
export class LiveStream {
  constructor({ scene, execution = null, branch = null, view = null, after = null, onMessage, onState }) {
    Object.assign(this, { scene, execution, branch, view, onMessage, onState });
    this.last = after;
    this.closed = false;
    this.open();
  }

  async open() {
    if (this.closed) return;
    let minted;
    try {
      minted = await post("/streams/tokens", { scene: this.scene, execution: this.execution });
    } catch (err) {
      this.onState?.("reconnecting");
      this.retry = setTimeout(() => this.open(), 1000);
      return;
    }
    if (this.closed) return;
    const extra = query({ branch: this.branch, view: this.view, after: this.last });
    const url = minted.events + (extra ? `&${extra.slice(1)}` : "");
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => this.onState?.("live");
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED && !this.closed) {
        this.onState?.("reconnecting");
        this.retry = setTimeout(() => this.open(), 1000);
      } else {
        this.onState?.("reconnecting");
      }
    };
    for (const kind of ["scene", "task", "execution", "result"]) {
      source.addEventListener(kind, (event) => this.deliver(kind, event));
    }
  }

  deliver(kind, event) {
    const position = Number(event.lastEventId);
    if (this.last !== null && position <= this.last) return;
    this.last = position;
    this.onMessage(kind, JSON.parse(event.data));
  }

  close() {
    this.closed = true;
    clearTimeout(this.retry);
    this.source?.close();
  }
}

// An artifact's bytes for <video> or <img>: a URL with a token that reads that
// artifact alone (a player asks for byte ranges as it plays).
export async function contentUrl(artifact) {
  const minted = await post(`/artifacts/${artifact}/tokens`);
  return minted.content;
}
