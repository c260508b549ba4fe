/** The API's JSON shapes (README for realtime, visitors and rejected; docs/api-analytics.md for the rest). */

export interface FreshnessBlock {
  source: string;
  data_as_of: string | null;
  generated_at: string;
}

export interface Realtime {
  window_minutes: number;
  generated_at: string;
  data_as_of: string;
  events_by_type: Record<string, number>;
  track_events: Record<string, number>;
  total_events: number;
  bot_events: number;
  active_visitors: number;
  active_visitors_5m: number;
  per_minute: { minute: string; counts: Record<string, number>; active_visitors: number }[];
  /** The site's own events, then the tracker's automatic ones (absent from older deployments). */
  business_events?: Ranked[];
  automatic_events?: Ranked[];
  live_visitors?: LiveVisitor[];
  live_pages?: Ranked[];
  live_sources?: Ranked[];
  live_sampled?: boolean;
}

export interface Ranked {
  key: string;
  value: number;
}

export interface LiveVisitor {
  visitor_key: string;
  last_seen_at: string | null;
  active_now: boolean;
  page: string;
  channel: string;
  referrer_host: string | null;
  device_type: string | null;
  country: string | null;
  session_pages: number;
  identified: boolean;
  lead_score: number;
}

export interface Person {
  visitor_key: string;
  kind: string;
  identified: boolean;
  first_seen_at: string | null;
  last_seen_at: string | null;
  sessions: number;
  page_views: number;
  conversions: number;
  revenue: number;
  lead_score: number;
  journey_stage: string | null;
  last_channel: string | null;
  device_type: string | null;
  country: string | null;
}

export interface People {
  people: Person[];
  next_cursor: string | null;
  from?: string;
  to?: string;
  searched_by?: string;
  data_as_of?: string | null;
}

export interface Rejected {
  count: number;
  rejected: {
    id: string;
    stage: string;
    reason: string;
    index: number | null;
    message_id: string | null;
    source_id: string | null;
    raw: string;
    rejected_at: string;
  }[];
}

export interface Touchpoint {
  sequence_number: number;
  touchpoint: string;
  journey_stage: string;
  created_at: string;
  time_spent: number;
  conversion_event: boolean;
  page_path: string | null;
  event_name: string | null;
  session_id: string;
  visitor_key: string;
}

export interface VisitorSession {
  session_id: string;
  started_at: string;
  ended_at: string;
  page_views: number;
  events: number;
  entry_page: string | null;
  exit_page: string | null;
  channel: string;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  device_type: string | null;
  browser: string | null;
  os: string | null;
  country: string | null;
  converted: boolean;
  revenue: number;
  visitor_key: string;
  duration_seconds: number;
}

export interface VisitorProfile {
  fingerprint: string;
  anonymous_id: string | null;
  user_id: string | null;
  first_seen_at: string | null;
  last_seen_at: string | null;
  total_sessions: number;
  total_page_views: number;
  total_events: number;
  total_time_spent: number;
  avg_session_duration: number;
  pages_per_session: number;
  bounce_rate: number;
  lead_score: number;
  conversion_score: number;
  customer_segment: string | null;
  device_types: string[];
  preferred_services: string[];
  referrer_sources: string[];
  journey_stage: string | null;
  conversions: number;
  total_revenue: number;
  first_channel: string | null;
  last_channel: string | null;
  countries: string[];
}

export interface Visitor {
  visitor_id: string;
  identity_keys: string[];
  profile: VisitorProfile;
  sessions: VisitorSession[];
  journey: Touchpoint[];
  data_as_of: string;
}

export interface Kpi {
  /** The whole range, today so far included. */
  value: number | null;
  /** The range's complete days only: what `change` compares with `previous`. */
  compared?: number | null;
  previous: number | null;
  change: number | null;
}

/** Which days the KPI changes compare (open days, i.e. today, are left out). */
export interface KpiComparison {
  current: { from: string; to: string } | null;
  previous: { from: string; to: string } | null;
  excluded_open_days: number;
}

export interface Breakdown {
  key: string;
  value: number;
  previous: number | null;
}

export interface Overview {
  from: string;
  to: string;
  interval: string;
  previous: { from: string; to: string };
  comparison?: KpiComparison;
  kpis: Record<
    | "visitors"
    | "sessions"
    | "page_views"
    | "bounce_rate"
    | "avg_session_duration_seconds"
    | "conversions"
    | "conversion_rate"
    | "revenue",
    Kpi
  >;
  series: ({ bucket: string } & Record<string, number>)[];
  top_pages: Breakdown[];
  channels: Breakdown[];
  devices: Breakdown[];
  countries: Breakdown[];
  visitors_estimated: boolean;
  filters?: Record<string, string>;
  freshness: FreshnessBlock;
}

export type FunnelStepSpec = { type: "page" } | { url: string } | { event: string } | { touchpoint: string };

/** POST /v1/funnels (`count`, `conversion_from_start`, `drop_off` are older names of the same figures). */
export interface Funnel {
  from: string;
  to: string;
  window_hours: number;
  breakdown: string | null;
  entered_visitors: number;
  completed_visitors: number;
  funnel_completion_rate: number;
  steps: {
    index: number;
    label: string;
    visitors: number;
    reached_rate_from_start: number;
    drop_off_visitors: number;
    drop_off_rate: number;
    median_seconds_from_previous: number | null;
  }[];
  breakdowns: { key: string; steps: { index: number; visitors: number }[] }[];
  other_keys: number;
  freshness: FreshnessBlock;
}

export interface VocabularyTerm {
  value: string;
  visitors: number;
  events: number;
}

/** GET /v1/funnels/vocabulary: what the lake holds to build steps from, and the rules' presets. */
export interface FunnelVocabulary {
  events: VocabularyTerm[];
  pages: VocabularyTerm[];
  patterns: VocabularyTerm[];
  touchpoints: VocabularyTerm[];
  presets: { id: string; name: string; steps: { step: FunnelStepSpec; label: string }[] }[];
}

/** One of GET /v1/funnels/saved's funnels, or POST's answer. */
export interface SavedFunnel {
  id: string;
  name: string;
  steps: FunnelStepSpec[];
  labels: string[];
  window_hours: number;
  breakdown: string | null;
  created_at: string;
  updated_at: string;
}

export interface Retention {
  cohort: string;
  periods: number;
  from: string;
  to: string;
  cohorts: { cohort: string; size: number; retained: number[]; rates: number[] }[];
  freshness: FreshnessBlock;
}

export interface Paths {
  from: string;
  to: string;
  from_step: string | null;
  depth: number;
  nodes: { id: string; name: string; depth: number; count: number }[];
  links: { source: string; target: string; value: number }[];
  top_paths: { steps: string[]; sessions: number }[];
  stage_transitions: { from: string; to: string; count: number }[];
  freshness: FreshnessBlock;
}

export interface AttributionRow {
  channel: string;
  campaign: string | null;
  conversions: number;
  revenue: number;
  spend: number | null;
  cac: number | null;
  roas: number | null;
  roi: number | null;
}

export interface Attribution {
  model: string;
  from: string;
  to: string;
  lookback_days: number;
  totals: { conversions: number; revenue: number; spend: number | null };
  rows: AttributionRow[];
  total: number;
  next_cursor: string | null;
  freshness: FreshnessBlock;
}

export interface Campaign {
  campaign: string;
  source: string | null;
  medium: string | null;
  visitors: number;
  sessions: number;
  conversions: number;
  revenue: number;
  conversion_rate: number;
  spend: number | null;
  trend: { visitors: number[]; conversions: number[] };
}

export interface Campaigns {
  from: string;
  to: string;
  days: string[];
  campaigns: Campaign[];
  total: number;
  next_cursor: string | null;
  freshness: FreshnessBlock;
}
