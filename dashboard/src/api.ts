/** The dashboard's API client: bearer auth, typed errors, and "endpoint not deployed" detection. */

import type { AuthProvider, TokenCheck } from "./auth";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown = null,
    /** Seconds the API asked us to wait (504 from a slow Athena query, 503, 429). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** 404/405 with API Gateway's own body: no such route in this deployment (yet). */
  get routeMissing(): boolean {
    const message = (this.body as { message?: unknown } | null)?.message;
    return this.status === 405 || (this.status === 404 && (message === "Not Found" || this.body === null));
  }
}

/** Signed out, or the token expired: the app shows the sign-in screen again. */
export class AuthRequiredError extends ApiError {}

export type Query = Record<string, string | number | boolean | null | undefined>;

function reasonOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const { message, reason, error } = body as Record<string, unknown>;
    for (const value of [message, reason, error]) if (typeof value === "string" && value) return value;
  }
  return `HTTP ${status}`;
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly auth: AuthProvider,
    private readonly onAuthRequired: () => void,
  ) {}

  url(path: string, query: Query = {}): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
    }
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ""}`;
  }

  get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", this.url(path, query), undefined, signal);
  }

  post<T>(path: string, body: unknown, query: Query = {}, signal?: AbortSignal): Promise<T> {
    return this.request<T>("POST", this.url(path, query), body, signal);
  }

  /** Is `token` accepted? (Asked by the sign-in form before it keeps the token.) */
  async check(token: string): Promise<TokenCheck> {
    try {
      const response = await fetch(this.url("/v1/stats/realtime"), {
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.ok || response.status === 403) return "ok";
      return response.status === 401 ? "rejected" : "unreachable";
    } catch {
      return "unreachable";
    }
  }

  private async request<T>(method: string, url: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const token = this.auth.token();
    if (!token) {
      this.onAuthRequired();
      throw new AuthRequiredError(401, "Signed out");
    }
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, "The API cannot be reached");
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (response.ok) return parsed as T;
    if (response.status === 401) {
      this.onAuthRequired();
      throw new AuthRequiredError(401, "Your session has ended; sign in again", parsed);
    }
    const retry = Number(response.headers.get("retry-after") ?? (parsed as { retry_after?: unknown })?.retry_after);
    throw new ApiError(response.status, reasonOf(response.status, parsed), parsed, Number.isFinite(retry) ? retry : null);
  }
}
