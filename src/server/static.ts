/**
 * The dashboard's files: a fixed list, served from `src/server/dashboard/`
 * (ES modules, so the page needs no build step and no inline script).
 *
 * @module
 */
import { ProblemError } from "./_http.ts";

const JS = "text/javascript; charset=utf-8";

/** Each file the dashboard is made of, and its content type. */
export const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "app.js": JS,
  "dom.js": JS,
  "list.js": JS,
  "inbox.js": JS,
  "directive.js": JS,
  "contract.js": JS,
  "charts.js": JS,
  "overview.js": JS,
  "live.js": JS,
};

/** A dashboard file, or a 404 naming it. */
export async function staticFile(name: string): Promise<Response> {
  const type = Object.hasOwn(DASHBOARD_FILES, name) ? DASHBOARD_FILES[name] : undefined;
  if (type === undefined) throw new ProblemError(404, `no dashboard file "${name.slice(0, 80)}"`);
  const body = await Deno.readFile(new URL(`./dashboard/${name}`, import.meta.url));
  return new Response(body, { headers: { "content-type": type } });
}
