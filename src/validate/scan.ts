/**
 * A small TypeScript/JavaScript tokenizer, just precise enough to find module
 * specifiers and identifiers without being fooled by comments, strings,
 * template literals or regular expressions. It does not build a syntax tree:
 * {@linkcode findImports} and {@linkcode findGlobalUses} read the token stream.
 *
 * Known limits: JSX text is not understood (an apostrophe in JSX text starts a
 * string), and a regex literal right after `)` or `}` is read as division.
 *
 * @module
 */

/** The kinds of token the scanner emits. Comments and whitespace are dropped. */
export type TokenKind = "identifier" | "string" | "template" | "number" | "regex" | "punctuator";

/** One token with its 1-based position. */
export interface Token {
  /** What kind of token. */
  readonly kind: TokenKind;
  /** Identifier name, punctuator text, or the contents of a string or template (no quotes). */
  readonly value: string;
  /** For templates: whether the literal has `${…}` substitutions (then `value` is partial). */
  readonly substitutions: boolean;
  /** 1-based line of the token's first character. */
  readonly line: number;
  /** 1-based column of the token's first character. */
  readonly col: number;
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_KEYWORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

const ID_START = /[\p{ID_Start}$_]/u;
const ID_CONTINUE = /[\p{ID_Continue}$\u200c\u200d]/u;
const THREE_CHAR = new Set(["...", "===", "!==", "**=", "<<=", ">>=", "&&=", "||=", "??="]);
const TWO_CHAR = new Set([
  "=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "**",
  "<<",
  ">>",
]);

/** Maps offsets to 1-based line and column. */
function lineIndex(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - (starts[low] ?? 0) + 1 };
  };
}

function unescape(raw: string): string {
  return raw.replace(/\\(\r\n|[\s\S])/g, (_, ch: string) => {
    switch (ch) {
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "\n":
      case "\r\n":
        return "";
      default:
        return ch;
    }
  });
}

function regexAllowedAfter(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  switch (previous.kind) {
    case "identifier":
      return REGEX_AFTER_KEYWORDS.has(previous.value);
    case "punctuator":
      return ![")", "]", "}"].includes(previous.value);
    default:
      return false;
  }
}

/**
 * Splits source text into tokens, dropping comments and whitespace. Never
 * throws: an unterminated string, comment or template simply runs to the end.
 */
export function tokenize(text: string): Token[] {
  const at = lineIndex(text);
  const tokens: Token[] = [];
  /** Open `{` and `${`, so a `}` knows whether it resumes a template. */
  const braces: ("brace" | "template")[] = [];
  let i = text.startsWith("#!") ? text.indexOf("\n") === -1 ? text.length : text.indexOf("\n") : 0;

  function push(kind: TokenKind, value: string, start: number, substitutions = false): void {
    tokens.push({ kind, value, substitutions, ...at(start) });
  }

  /** Scans template characters from `i` (just past "`" or "}"); returns at the end or a `${`. */
  function scanTemplate(start: number, head: boolean): void {
    let j = i;
    while (j < text.length) {
      const ch = text[j];
      if (ch === "\\") {
        j += 2;
        continue;
      }
      if (ch === "`") {
        if (head) push("template", unescape(text.slice(i, j)), start);
        i = j + 1;
        return;
      }
      if (ch === "$" && text[j + 1] === "{") {
        if (head) push("template", unescape(text.slice(i, j)), start, true);
        braces.push("template");
        i = j + 2;
        return;
      }
      j++;
    }
    if (head) push("template", unescape(text.slice(i)), start);
    i = text.length;
  }

  while (i < text.length) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end;
    } else if (ch === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      push("string", unescape(text.slice(i + 1, Math.min(j, text.length))), i);
      i = j + 1;
    } else if (ch === "`") {
      const start = i;
      i++;
      scanTemplate(start, true);
    } else if (ch === "}" && braces.at(-1) === "template") {
      braces.pop();
      i++;
      scanTemplate(i, false);
    } else if (ID_START.test(ch)) {
      let j = i + 1;
      while (j < text.length && ID_CONTINUE.test(text[j] as string)) j++;
      push("identifier", text.slice(i, j), i);
      i = j;
    } else if (/[0-9]/.test(ch) || (ch === "." && next !== undefined && /[0-9]/.test(next))) {
      let j = i + 1;
      while (j < text.length && /[0-9a-zA-Z_.]/.test(text[j] as string)) {
        // an exponent sign belongs to the number: 1e-7
        j += /[eE]/.test(text[j] as string) && /[+-]/.test(text[j + 1] ?? "") ? 2 : 1;
      }
      push("number", text.slice(i, j), i);
      i = j;
    } else if (ch === "/" && regexAllowedAfter(tokens.at(-1))) {
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== "\n") {
        const c = text[j];
        if (c === "\\") j++;
        else if (c === "[") inClass = true;
        else if (c === "]") inClass = false;
        else if (c === "/" && !inClass) break;
        j++;
      }
      if (text[j] === "/") {
        j++;
        while (j < text.length && /[a-z]/.test(text[j] as string)) j++;
        push("regex", text.slice(i, j), i);
        i = j;
      } else {
        push("punctuator", "/", i); // not a regex after all: no closing slash on the line
        i++;
      }
    } else {
      const three = text.slice(i, i + 3);
      const two = text.slice(i, i + 2);
      const value = THREE_CHAR.has(three) ? three : TWO_CHAR.has(two) ? two : ch;
      if (value === "{") braces.push("brace");
      if (value === "}") braces.pop();
      push("punctuator", value, i);
      i += value.length;
    }
  }
  return tokens;
}

/** How a module is referenced. */
export type ImportKind = "import" | "export-from" | "dynamic" | "require";

/** One module reference found in source text. */
export interface ImportRef {
  /** How it is referenced. */
  readonly kind: ImportKind;
  /** The specifier, or `undefined` for a dynamic `import()` of a computed value. */
  readonly specifier: string | undefined;
  /** Whether only types are imported (`import type`, `export type`, or all `{ type X }`). */
  readonly typeOnly: boolean;
  /** 1-based line of the specifier (or of `import` when computed). */
  readonly line: number;
  /** 1-based column of the specifier (or of `import` when computed). */
  readonly col: number;
}

function isPunct(token: Token | undefined, value: string): boolean {
  return token?.kind === "punctuator" && token.value === value;
}

function isIdent(token: Token | undefined, value: string): boolean {
  return token?.kind === "identifier" && token.value === value;
}

/** A string literal or a template literal without substitutions. */
function literalText(token: Token | undefined): string | undefined {
  if (token?.kind === "string") return token.value;
  if (token?.kind === "template" && !token.substitutions) return token.value;
  return undefined;
}

/** True when a token is used as a property name (`x.import`, `x?.import`). */
function isMemberName(tokens: readonly Token[], index: number): boolean {
  const previous = tokens[index - 1];
  return isPunct(previous, ".") || isPunct(previous, "?.");
}

/**
 * Reads a `{ … }` clause starting at `open`; returns the index after `}` and
 * whether it names at least one binding and every binding is `type X`.
 */
function readBraces(tokens: readonly Token[], open: number): { end: number; allTypes: boolean } {
  const groups: Token[][] = [[]];
  let j = open + 1;
  while (j < tokens.length && !isPunct(tokens[j], "}")) {
    const token = tokens[j] as Token;
    if (isPunct(token, ",")) groups.push([]);
    else groups.at(-1)?.push(token);
    j++;
  }
  const named = groups.filter((group) => group.length > 0);
  // `type X` and `type X as Y` are type-only; a lone `type` or `type as t` is a value named "type".
  const allTypes = named.length > 0 &&
    named.every((group) =>
      isIdent(group[0], "type") && group.length >= 2 &&
      !(isIdent(group[1], "as") && group.length === 3)
    );
  return { end: j + 1, allTypes };
}

function ref(kind: ImportKind, token: Token, specifier: string | undefined, typeOnly: boolean) {
  return { kind, specifier, typeOnly, line: token.line, col: token.col };
}

/** Reads a static `import …` declaration whose `import` keyword is at `index`. */
function readStaticImport(tokens: readonly Token[], index: number): ImportRef | undefined {
  let j = index + 1;
  const first = tokens[j];
  if (first?.kind === "string") return ref("import", first, first.value, false);
  let typeOnly = false;
  if (isIdent(first, "type")) {
    const after = tokens[j + 1];
    // `import type from "x"` and `import type, { a } from "x"` import a value named `type`.
    const defaultNamedType = isPunct(after, ",") ||
      (isIdent(after, "from") && tokens[j + 2]?.kind === "string");
    if (!defaultNamedType) {
      typeOnly = true;
      j++;
    }
  }
  let sawDefaultOrNamespace = false;
  let allInlineTypes = false;
  for (; j < tokens.length; j++) {
    const token = tokens[j] as Token;
    if (isPunct(token, "{")) {
      const braces = readBraces(tokens, j);
      allInlineTypes = braces.allTypes;
      j = braces.end - 1;
    } else if (isIdent(token, "from") && tokens[j + 1]?.kind === "string") {
      const spec = tokens[j + 1] as Token;
      return ref(
        "import",
        spec,
        spec.value,
        typeOnly || (allInlineTypes && !sawDefaultOrNamespace),
      );
    } else if (isPunct(token, "=")) {
      // `import x = require("y")`
      const spec = tokens[j + 3];
      if (
        isIdent(tokens[j + 1], "require") && isPunct(tokens[j + 2], "(") && spec?.kind === "string"
      ) {
        return ref("require", spec, spec.value, typeOnly);
      }
      return undefined;
    } else if (isPunct(token, ";") || isIdent(token, "import") || isIdent(token, "export")) {
      return undefined;
    } else if (token.kind === "identifier" || isPunct(token, "*")) {
      sawDefaultOrNamespace = true;
    }
  }
  return undefined;
}

/** Reads `export … from "x"` whose `export` keyword is at `index`, if it is a re-export. */
function readReExport(tokens: readonly Token[], index: number): ImportRef | undefined {
  let j = index + 1;
  let typeOnly = false;
  if (isIdent(tokens[j], "type") && (isPunct(tokens[j + 1], "{") || isPunct(tokens[j + 1], "*"))) {
    typeOnly = true;
    j++;
  }
  if (isPunct(tokens[j], "*")) {
    j++;
    if (isIdent(tokens[j], "as")) j += 2;
  } else if (isPunct(tokens[j], "{")) {
    const braces = readBraces(tokens, j);
    typeOnly ||= braces.allTypes;
    j = braces.end;
  } else {
    return undefined;
  }
  const spec = tokens[j + 1];
  if (isIdent(tokens[j], "from") && spec?.kind === "string") {
    return ref("export-from", spec, spec.value, typeOnly);
  }
  return undefined;
}

/** Whether an `import(…)` at `index` sits in a type position (`typeof import(…)`, `type X = import(…)`). */
function inTypePosition(tokens: readonly Token[], index: number): boolean {
  if (isIdent(tokens[index - 1], "typeof")) return true;
  return isPunct(tokens[index - 1], "=") && tokens[index - 2]?.kind === "identifier" &&
    isIdent(tokens[index - 3], "type");
}

/**
 * Finds every module reference in the tokens: static imports, `export … from`,
 * dynamic `import()` (with `specifier: undefined` when computed) and
 * `require("…")`. `import.meta` and property names are ignored.
 */
export function findImports(tokens: readonly Token[]): ImportRef[] {
  const found: ImportRef[] = [];
  tokens.forEach((token, index) => {
    if (token.kind !== "identifier" || isMemberName(tokens, index)) return;
    const next = tokens[index + 1];
    if (token.value === "import") {
      if (isPunct(next, "(")) {
        const arg = tokens[index + 2];
        const text = literalText(arg);
        const closes = isPunct(tokens[index + 3], ")") || isPunct(tokens[index + 3], ",");
        const typeOnly = inTypePosition(tokens, index);
        found.push(
          text !== undefined && closes && arg
            ? ref("dynamic", arg, text, typeOnly)
            : ref("dynamic", token, undefined, typeOnly),
        );
      } else if (!isPunct(next, ".") && !isPunct(next, ":")) {
        const read = readStaticImport(tokens, index);
        if (read) found.push(read);
      }
    } else if (token.value === "export") {
      const read = readReExport(tokens, index);
      if (read) found.push(read);
    } else if (token.value === "require" && isPunct(next, "(")) {
      const arg = tokens[index + 2];
      const text = literalText(arg);
      if (text !== undefined && arg && isPunct(tokens[index + 3], ")")) {
        found.push(ref("require", arg, text, false));
      }
    }
  });
  return found;
}

/** Objects through which a global is also reachable: `globalThis.Deno`. */
const GLOBAL_OBJECTS = new Set(["globalThis", "window", "self", "global"]);

/**
 * Finds uses of a global by name (e.g. `Deno`): the bare identifier, or a
 * property of `globalThis`; not `x.Deno` for other `x`, not in comments or strings.
 */
export function findGlobalUses(tokens: readonly Token[], name: string): Token[] {
  return tokens.filter((token, index) => {
    if (token.kind !== "identifier" || token.value !== name) return false;
    if (!isMemberName(tokens, index)) {
      return !isPunct(tokens[index + 1], ":") || !isObjectKey(tokens, index);
    }
    const owner = tokens[index - 2];
    return owner?.kind === "identifier" && GLOBAL_OBJECTS.has(owner.value);
  });
}

/** `{ Deno: 1 }`: an identifier used as an object key, not a reference. */
function isObjectKey(tokens: readonly Token[], index: number): boolean {
  return isPunct(tokens[index - 1], "{") || isPunct(tokens[index - 1], ",");
}
