/**
 * The fingerprint module, loaded only after analytics consent (a separate file, ~11 KB gzipped).
 *
 * ThumbmarkJS with its vendor logging off (it would otherwise post samples to its vendor and load
 * remote code) and the high-entropy sources excluded: audio, canvas, fonts, WebGL, WebRTC (which
 * can reveal local addresses) and speech voices. What remains (screen, hardware class, locales,
 * system, math, plugins, permissions) tells devices apart for stitching, not people apart.
 */
import { Thumbmark } from "@thumbmarkjs/thumbmarkjs";

export const EXCLUDED_SOURCES = ["audio", "canvas", "fonts", "webgl", "webrtc", "speech"];

/** The device's fingerprint hash; ThumbmarkJS's own storage keys get `prefix` so withdrawal erases them. */
export async function fingerprint(prefix: string): Promise<string | null> {
  const thumbmark = new Thumbmark({
    logging: false,
    exclude: EXCLUDED_SOURCES,
    timeout: 3000,
    property_name_factory: (name: string) => prefix + name,
  });
  const result = await thumbmark.get();
  return result && result.thumbmark ? result.thumbmark : null;
}
