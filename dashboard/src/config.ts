/** Runtime configuration, read from `config.json` beside index.html (a deployment writes its own). */

export interface TokenAuthConfig {
  provider: "token";
}

export interface CognitoAuthConfig {
  provider: "cognito";
  /** The Cognito hosted UI domain, e.g. "https://revivatech.auth.eu-west-2.amazoncognito.com". */
  domain: string;
  /** The app client id (a public client: no secret, authorization code flow with PKCE). */
  clientId: string;
  /** Where Cognito sends the browser back; defaults to this page's URL without query or hash. */
  redirectUri?: string;
  /** Scopes to ask for; defaults to "openid email profile". */
  scopes?: string;
  /** Which token the API's JWT authorizer expects; both carry `cognito:groups`. */
  tokenUse?: "id" | "access";
}

export type AuthConfig = TokenAuthConfig | CognitoAuthConfig | { provider: string; [key: string]: unknown };

export interface DashboardConfig {
  /** The API's base URL; "" means the page's own origin (how `reviva dev` serves it). */
  apiBaseUrl: string;
  auth: AuthConfig;
  /** Seconds between refreshes of the realtime panel. */
  realtimeRefreshSeconds: number;
}

export const DEFAULT_CONFIG: DashboardConfig = {
  apiBaseUrl: "",
  auth: { provider: "token" },
  realtimeRefreshSeconds: 10,
};

/** Load `config.json`; a missing file means the local defaults. */
export async function loadConfig(url = "config.json"): Promise<DashboardConfig> {
  try {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) return DEFAULT_CONFIG;
    const loaded = (await response.json()) as Partial<DashboardConfig>;
    return {
      ...DEFAULT_CONFIG,
      ...loaded,
      auth: loaded.auth ?? DEFAULT_CONFIG.auth,
      apiBaseUrl: (loaded.apiBaseUrl ?? "").replace(/\/+$/, ""),
    };
  } catch {
    return DEFAULT_CONFIG;
  }
}
