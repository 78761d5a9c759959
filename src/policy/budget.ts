/**
 * Budget strings: parsing `"$50.00"`, `"100 USD"`, `"USD 100"`, `"€20"`,
 * `"£5"`, `"1,000.50 USD"` into a {@linkcode Budget}, and comparing two
 * budgets exactly (scaled `BigInt`, never floats).
 *
 * The rules, in full:
 *
 * - **Currency.** An ISO 4217 code (active List One, `_iso4217.ts`; any
 *   letter case, stored upper case) before or after the amount, with or
 *   without a space; or one of the symbols `$` and `US$` (both mean **USD**:
 *   Keel reads `$` as the US dollar, never CAD, AUD, MXN…), `€` (EUR) or
 *   `£` (GBP), before or after the amount. Ambiguous symbols are refused with
 *   the codes they could mean: `¥`/`￥` (JPY or CNY), `kr` (SEK, NOK, DKK or
 *   ISK), `C$` (CAD or NIO). Other symbols (`A$`, `R$`, `₹`, …) and unknown
 *   codes are refused; so are `XXX` (no currency) and `XTS` (testing).
 * - **Amount.** Digits with an optional decimal point (`.`) and 1 to 4
 *   decimal places; a digit is needed on both sides of the point. Commas are
 *   thousands separators only, and must group the integer digits in threes
 *   (`1,000.50`); they are removed. At most 14 digits before the point (after
 *   leading zeros are dropped). The amount must be greater than zero; a minus
 *   sign is refused, and so is `+`.
 * - **Canonical amount.** The amount as written, minus thousands separators
 *   and leading zeros of the integer part: `"1,000.50"` → `"1000.50"`,
 *   `"007"` → `"7"`, `"50.5"` → `"50.5"`, `"$10.00"` → `"10.00"`. Trailing
 *   zeros of the fraction are kept (they say how the amount was written and
 *   are shown back in policy reasons); `"10"` and `"10.00"` compare equal.
 *   Every canonical amount matches the directive contract's decimal pattern.
 *
 * @module
 */
import { type Budget, DECIMAL_PATTERN, scaledDecimal } from "../models/mod.ts";
import { ISO_4217_CODES } from "./_iso4217.ts";

export type { Budget } from "../models/mod.ts";

/** Most digits before the decimal point, as in `numeric(18, 4)`. */
export const BUDGET_MAX_INTEGER_DIGITS = 14;
/** Most digits after the decimal point, as in `numeric(18, 4)`. */
export const BUDGET_MAX_DECIMAL_PLACES = 4;

/** The forms `parseBudget` accepts, quoted in every error message. */
export const ACCEPTED_BUDGET_FORMS =
  `"100 USD", "USD 100", "50.5 EUR", "$50.00" ($ means USD), "€20" (EUR), "£5" (GBP), ` +
  `optionally with thousands separators ("1,000.50 USD"); a positive amount with at most ` +
  `${BUDGET_MAX_DECIMAL_PLACES} decimal places and ${BUDGET_MAX_INTEGER_DIGITS} digits ` +
  `before the point, and an active ISO 4217 code`;

/** Thrown when a budget string or amount cannot be used. */
export class BudgetParseError extends Error {
  /** The text that was refused. */
  readonly input: string;
  /** Creates the error. */
  constructor(input: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BudgetParseError";
    this.input = input;
  }
}

/** Thrown when two budgets in different currencies are compared. */
export class CurrencyMismatchError extends Error {
  /** The currency of the left budget. */
  readonly left: string;
  /** The currency of the right budget. */
  readonly right: string;
  /** Creates the error. */
  constructor(left: Budget, right: Budget, options?: ErrorOptions) {
    super(
      `Cannot compare budgets "${formatBudget(left)}" and "${formatBudget(right)}": ` +
        `currencies ${left.currency} and ${right.currency} differ, and Keel never converts`,
      options,
    );
    this.name = "CurrencyMismatchError";
    this.left = left.currency;
    this.right = right.currency;
  }
}

/** Symbols that name exactly one currency. Keys are matched exactly. */
const SYMBOLS: Readonly<Record<string, string>> = {
  "$": "USD",
  "US$": "USD",
  "€": "EUR",
  "£": "GBP",
};

/** Symbols that could mean several currencies. Keys are matched case-insensitively. */
const AMBIGUOUS: Readonly<Record<string, readonly string[]>> = {
  "¥": ["JPY", "CNY"],
  "￥": ["JPY", "CNY"],
  "kr": ["SEK", "NOK", "DKK", "ISK"],
  "c$": ["CAD", "NIO"],
};

/** Codes in List One that are not money. */
const NOT_MONEY: Readonly<Record<string, string>> = {
  XXX: "denotes transactions where no currency is involved",
  XTS: "is reserved for testing",
};

const MINUS = "\\-\u2212";
// sign, currency before, sign, amount, currency after. Currency tokens hold no
// digits, spaces, signs, points or commas.
const SHAPE = new RegExp(
  `^([${MINUS}+]?)\\s*([^\\d\\s.,+${MINUS}]*)\\s*([${MINUS}+]?)\\s*([\\d.,]+)\\s*([^\\d\\s.,+${MINUS}]*)$`,
  "u",
);
const PLAIN_AMOUNT = /^\d+(?:\.\d+)?$/;
const GROUPED_AMOUNT = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;
const CANONICAL_AMOUNT = DECIMAL_PATTERN;
const MAX_QUOTED = 80;

function quote(input: string): string {
  const shown = input.length > MAX_QUOTED ? `${input.slice(0, MAX_QUOTED)}…` : input;
  return JSON.stringify(shown);
}

function refuse(input: string, problem: string): BudgetParseError {
  return new BudgetParseError(
    input,
    `Cannot parse budget ${quote(input)}: ${problem}. Accepted forms: ${ACCEPTED_BUDGET_FORMS}`,
  );
}

function orList(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

function resolveCurrency(input: string, token: string, amount: string): string {
  if (Object.hasOwn(SYMBOLS, token)) return SYMBOLS[token] as string;
  const lower = token.toLowerCase();
  if (Object.hasOwn(AMBIGUOUS, lower)) {
    const codes = AMBIGUOUS[lower] as readonly string[];
    throw refuse(
      input,
      `${JSON.stringify(token)} is ambiguous (${orList(codes)}); write the ISO 4217 code ` +
        `instead, e.g. "${amount} ${codes[0]}"`,
    );
  }
  if (/^[A-Za-z]{3}$/.test(token)) {
    const code = token.toUpperCase();
    if (Object.hasOwn(NOT_MONEY, code)) {
      throw refuse(input, `currency code "${code}" ${NOT_MONEY[code]}`);
    }
    if (!ISO_4217_CODES.has(code)) {
      throw refuse(input, `"${code}" is not an active ISO 4217 currency code`);
    }
    return code;
  }
  throw refuse(
    input,
    `${JSON.stringify(token)} is not a recognised currency symbol or ISO 4217 code`,
  );
}

function canonicalAmount(input: string, written: string): string {
  if (written.includes(",")) {
    if (!GROUPED_AMOUNT.test(written)) {
      throw refuse(
        input,
        `amount "${written}" is malformed: commas are thousands separators and must group ` +
          `the digits before the point in threes, e.g. "1,000.50"`,
      );
    }
  } else if (!PLAIN_AMOUNT.test(written)) {
    throw refuse(
      input,
      `amount "${written}" is malformed: expected digits with at most one decimal point and ` +
        `a digit on each side of it`,
    );
  }
  const [whole = "", fraction] = written.replaceAll(",", "").split(".");
  const integer = whole.replace(/^0+(?=\d)/, "");
  if (integer.length > BUDGET_MAX_INTEGER_DIGITS) {
    throw refuse(
      input,
      `amount "${written}" has ${integer.length} digits before the decimal point; at most ` +
        `${BUDGET_MAX_INTEGER_DIGITS} are allowed`,
    );
  }
  if (fraction !== undefined && fraction.length > BUDGET_MAX_DECIMAL_PLACES) {
    throw refuse(
      input,
      `amount "${written}" has ${fraction.length} decimal places; at most ` +
        `${BUDGET_MAX_DECIMAL_PLACES} are allowed`,
    );
  }
  const amount = fraction === undefined ? integer : `${integer}.${fraction}`;
  if (/^[0.]+$/.test(amount)) {
    throw refuse(input, `amount "${written}" must be greater than zero`);
  }
  return amount;
}

/**
 * Parses a budget string such as `"$50.00"`, `"100 USD"` or `"USD 1,000.50"`.
 * See the module documentation for the exact rules; `$` means USD.
 *
 * @example
 * ```ts
 * parseBudget("1,000.50 USD"); // { amount: "1000.50", currency: "USD" }
 * parseBudget("€20");          // { amount: "20", currency: "EUR" }
 * ```
 *
 * @throws {BudgetParseError} naming the input, the problem and the accepted forms.
 */
export function parseBudget(text: string): Budget {
  if (typeof text !== "string") {
    throw refuse(String(text), `expected a string, got ${text === null ? "null" : typeof text}`);
  }
  const input = text.trim();
  if (input === "") throw refuse(text, "it is empty");
  const match = SHAPE.exec(input);
  if (!match) {
    throw refuse(text, "expected an amount and a currency code or symbol");
  }
  const [, sign1 = "", before = "", sign2 = "", written = "", after = ""] = match;
  if (sign1 === "+" || sign2 === "+" || (sign1 !== "" && sign2 !== "")) {
    throw refuse(text, "expected an amount and a currency code or symbol");
  }
  if (sign1 !== "" || sign2 !== "") {
    throw refuse(text, "the amount is negative; a budget must be greater than zero");
  }
  if (before !== "" && after !== "") {
    throw refuse(text, `it names a currency on both sides of the amount ("${before}", "${after}")`);
  }
  if (before === "" && after === "") {
    throw refuse(text, "it names no currency");
  }
  const amount = canonicalAmount(text, written);
  const currency = resolveCurrency(text, before || after, amount);
  return { amount, currency };
}

/** Formats a budget as `"<amount> <CODE>"`, e.g. `"10.00 USD"`, which `parseBudget` reads back. */
export function formatBudget(budget: Budget): string {
  return `${budget.amount} ${budget.currency}`;
}

/** The amount in ten-thousandths, exactly. */
function scaled(amount: string): bigint {
  if (typeof amount !== "string" || !CANONICAL_AMOUNT.test(amount)) {
    throw new BudgetParseError(
      String(amount),
      `Cannot compare budget amount ${
        JSON.stringify(amount)
      }: expected a decimal with at most ${BUDGET_MAX_INTEGER_DIGITS} digits before and ` +
        `${BUDGET_MAX_DECIMAL_PLACES} after the point`,
    );
  }
  return scaledDecimal(amount);
}

/**
 * Compares two budgets of the same currency exactly: `-1` when `a < b`, `0`
 * when equal (`"10"` equals `"10.00"`), `1` when `a > b`. Amounts are
 * compared as `BigInt` ten-thousandths, never as floats.
 *
 * @throws {CurrencyMismatchError} when the currencies differ: there is no conversion.
 * @throws {BudgetParseError} when an amount is not a decimal of the contract's shape.
 */
export function compareBudgets(a: Budget, b: Budget): -1 | 0 | 1 {
  if (a.currency !== b.currency) throw new CurrencyMismatchError(a, b);
  const left = scaled(a.amount);
  const right = scaled(b.amount);
  return left < right ? -1 : left > right ? 1 : 0;
}
