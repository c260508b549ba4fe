/**
 * Pluggable sign-in. A provider owns its sign-in screen and hands the API client a bearer token.
 *
 * - "token" (local, `reviva dev`): paste the admin token; kept in sessionStorage, so it is gone when
 *   the tab closes.
 * - "cognito" (AWS): the Cognito hosted UI, authorization code flow with PKCE (a public app client,
 *   no secret in the page); the API's HTTP API JWT authorizer verifies the token and its
 *   `cognito:groups` give the caller's roles.
 *
 * Another identity provider plugs in with `registerAuthProvider(kind, factory)` and a matching
 * `auth.provider` in config.json.
 */

import type { AuthConfig, CognitoAuthConfig } from "./config";
import { h } from "./dom";

/** What checking a candidate token against the API says. */
export type TokenCheck = "ok" | "rejected" | "unreachable";

export interface AuthProvider {
  readonly kind: string;
  /** Finish a sign-in that left the page (an OAuth redirect), before anything else runs. */
  init(): Promise<void>;
  /** The bearer token for API calls, or null when signed out (or expired). */
  token(): string | null;
  /** A short label for the signed-in user. */
  userLabel(): string;
  /** Draw the sign-in form into `host`; resolves once signed in. */
  signIn(host: HTMLElement, check: (token: string) => Promise<TokenCheck>, notice?: string): Promise<void>;
  signOut(): void;
}

type Factory = (config: AuthConfig) => AuthProvider;
const factories = new Map<string, Factory>();

/** Make a provider available under `kind` (config.json `auth.provider`). */
export function registerAuthProvider(kind: string, factory: Factory): void {
  factories.set(kind, factory);
}

/** The provider config.json asks for. */
export function createAuthProvider(config: AuthConfig): AuthProvider {
  const factory = factories.get(config.provider);
  if (!factory) throw new Error(`unknown auth provider "${config.provider}"`);
  return factory(config);
}

function signInCard(notice: string | undefined, ...content: HTMLElement[]): HTMLElement {
  return h(
    "div",
    { className: "signin-card", role: "dialog", "aria-labelledby": "signin-title" },
    h("div", { className: "brand brand-large" }, h("span", { className: "brand-mark" }), "RevivaTech Analytics"),
    h("h1", { id: "signin-title" }, "Sign in"),
    notice ? h("p", { className: "signin-notice", role: "status" }, notice) : null,
    ...content,
  );
}

// --------------------------------------------------------------------------- admin token (local)

const TOKEN_KEY = "reviva.dashboard.token";

export class TokenAuthProvider implements AuthProvider {
  readonly kind = "token";

  async init(): Promise<void> {}

  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  userLabel(): string {
    return "admin (token)";
  }

  signIn(host: HTMLElement, check: (token: string) => Promise<TokenCheck>, notice?: string): Promise<void> {
    return new Promise((resolve) => {
      const input = h("input", {
        type: "password",
        id: "admin-token",
        name: "token",
        autocomplete: "off",
        spellcheck: "false",
        required: true,
        placeholder: "Paste the admin token",
      });
      const error = h("p", { className: "form-error", role: "alert", hidden: true });
      const button = h("button", { type: "submit", className: "button primary" }, "Sign in");
      const form = h(
        "form",
        { className: "signin-form" },
        h("label", { for: "admin-token" }, "Admin token"),
        input,
        h(
          "p",
          { className: "hint" },
          h("code", {}, "make dev"),
          " prints it when it starts (and keeps it in ",
          h("code", {}, ".reviva/admin.token"),
          "). It stays in this tab only.",
        ),
        error,
        button,
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        button.disabled = true;
        button.textContent = "Checking…";
        const verdict = await check(token);
        button.disabled = false;
        button.textContent = "Sign in";
        if (verdict === "ok") {
          sessionStorage.setItem(TOKEN_KEY, token);
          resolve();
          return;
        }
        error.hidden = false;
        error.textContent =
          verdict === "rejected" ? "That token was not accepted." : "The API cannot be reached: is make dev still running?";
        input.select();
      });
      host.replaceChildren(signInCard(notice, form));
      input.focus();
    });
  }

  signOut(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  }
}

// --------------------------------------------------------------------------- Cognito (AWS)

const COGNITO_KEY = "reviva.dashboard.cognito";
const PKCE_KEY = "reviva.dashboard.pkce";

interface CognitoSession {
  token: string;
  expiresAt: number; // epoch ms
  label: string;
}

function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return base64Url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified: only for a display label (the API verifies the token). */
function jwtClaims(token: string): Record<string, unknown> {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export class CognitoAuthProvider implements AuthProvider {
  readonly kind = "cognito";
  private readonly domain: string;
  private readonly redirectUri: string;

  constructor(private readonly config: CognitoAuthConfig) {
    if (!config.domain || !config.clientId) throw new Error("cognito auth needs `domain` and `clientId`");
    this.domain = config.domain.replace(/\/+$/, "");
    this.redirectUri = config.redirectUri ?? window.location.origin + window.location.pathname;
  }

  /** Back from the hosted UI with `?code=&state=`: exchange the code for tokens (PKCE). */
  async init(): Promise<void> {
    const params = new URLSearchParams(window.location.search);
    const code = params.get("code");
    const state = params.get("state");
    if (!code || !state) return;
    const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null") as { state: string; verifier: string } | null;
    sessionStorage.removeItem(PKCE_KEY);
    window.history.replaceState(null, "", this.redirectUri + window.location.hash);
    if (!pending || pending.state !== state) return; // not our request: ignore it
    const response = await fetch(`${this.domain}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: this.config.clientId,
        code,
        redirect_uri: this.redirectUri,
        code_verifier: pending.verifier,
      }),
    });
    if (!response.ok) return;
    const tokens = (await response.json()) as { id_token?: string; access_token?: string; expires_in?: number };
    const token = this.config.tokenUse === "access" ? tokens.access_token : tokens.id_token;
    if (!token) return;
    const claims = jwtClaims(tokens.id_token ?? token);
    const session: CognitoSession = {
      token,
      expiresAt: Date.now() + (tokens.expires_in ?? 3600) * 1000,
      label: String(claims.email ?? claims["cognito:username"] ?? claims.sub ?? "signed in"),
    };
    sessionStorage.setItem(COGNITO_KEY, JSON.stringify(session));
  }

  private session(): CognitoSession | null {
    const session = JSON.parse(sessionStorage.getItem(COGNITO_KEY) ?? "null") as CognitoSession | null;
    // A minute's margin: a token that expires mid-request would fail as a 401.
    return session && session.expiresAt - 60_000 > Date.now() ? session : null;
  }

  token(): string | null {
    return this.session()?.token ?? null;
  }

  userLabel(): string {
    return this.session()?.label ?? "";
  }

  signIn(host: HTMLElement, _check: (token: string) => Promise<TokenCheck>, notice?: string): Promise<void> {
    const button = h("button", { type: "button", className: "button primary" }, "Sign in with your RevivaTech account");
    button.addEventListener("click", async () => {
      const verifier = randomString(48);
      const state = randomString(16);
      sessionStorage.setItem(PKCE_KEY, JSON.stringify({ state, verifier }));
      const query = new URLSearchParams({
        response_type: "code",
        client_id: this.config.clientId,
        redirect_uri: this.redirectUri,
        scope: this.config.scopes ?? "openid email profile",
        state,
        code_challenge_method: "S256",
        code_challenge: await sha256(verifier),
      });
      window.location.assign(`${this.domain}/oauth2/authorize?${query}`);
    });
    host.replaceChildren(signInCard(notice, h("div", { className: "signin-form" }, button)));
    return new Promise(() => {}); // the page navigates away; init() finishes on the way back
  }

  signOut(): void {
    sessionStorage.removeItem(COGNITO_KEY);
    const query = new URLSearchParams({ client_id: this.config.clientId, logout_uri: this.redirectUri });
    window.location.assign(`${this.domain}/logout?${query}`);
  }
}

registerAuthProvider("token", () => new TokenAuthProvider());
registerAuthProvider("cognito", (config) => new CognitoAuthProvider(config as CognitoAuthConfig));
