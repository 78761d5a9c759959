/**
 * Formats a zod issue path as a JSON path: `a.b[0]["odd key"]`, or with
 * `root: "$"`, `$.a.b[0]["odd key"]`. An empty path is the root itself.
 */
export function jsonPath(path: readonly PropertyKey[], options: { root?: string } = {}): string {
  let out = options.root ?? "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      out += out === "" ? key : `.${key}`;
    } else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
