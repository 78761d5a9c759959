import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import fc from "fast-check";
import {
  ACCEPTED_BUDGET_FORMS,
  type Budget,
  BudgetParseError,
  compareBudgets,
  CurrencyMismatchError,
  formatBudget,
  parseBudget,
} from "./budget.ts";
import { ISO_4217, ISO_4217_CODES } from "./_iso4217.ts";

const RUNS = 500;

const ACCEPTED: readonly [input: string, expected: Budget][] = [
  ["$50.00", { amount: "50.00", currency: "USD" }],
  ["$ 50", { amount: "50", currency: "USD" }],
  ["US$7.25", { amount: "7.25", currency: "USD" }],
  ["100 USD", { amount: "100", currency: "USD" }],
  ["100USD", { amount: "100", currency: "USD" }],
  ["100 usd", { amount: "100", currency: "USD" }],
  ["50.5 EUR", { amount: "50.5", currency: "EUR" }],
  ["USD 100", { amount: "100", currency: "USD" }],
  ["chf 12.3456", { amount: "12.3456", currency: "CHF" }],
  ["€20", { amount: "20", currency: "EUR" }],
  ["20 €", { amount: "20", currency: "EUR" }],
  ["£5", { amount: "5", currency: "GBP" }],
  ["1,000.50 USD", { amount: "1000.50", currency: "USD" }],
  ["$1,234,567", { amount: "1234567", currency: "USD" }],
  ["007 JPY", { amount: "7", currency: "JPY" }],
  ["0.0001 BTN", { amount: "0.0001", currency: "BTN" }],
  ["  42 GBP  ", { amount: "42", currency: "GBP" }],
  ["99999999999999.9999 USD", { amount: "99999999999999.9999", currency: "USD" }],
  ["99,999,999,999,999.9999 USD", { amount: "99999999999999.9999", currency: "USD" }],
  ["5 XCG", { amount: "5", currency: "XCG" }],
  ["5 ZWG", { amount: "5", currency: "ZWG" }],
];

for (const [input, expected] of ACCEPTED) {
  Deno.test(`parseBudget(${JSON.stringify(input)}) → ${formatBudget(expected)}`, () => {
    assertEquals(parseBudget(input), expected);
  });
}

const REJECTED: readonly [label: string, input: string, problem: string][] = [
  ["ambiguous ¥", "¥100", `"¥" is ambiguous (JPY or CNY)`],
  ["ambiguous fullwidth ￥", "￥100", `"￥" is ambiguous (JPY or CNY)`],
  ["ambiguous kr", "100 kr", `"kr" is ambiguous (SEK, NOK, DKK or ISK)`],
  ["ambiguous C$", "C$5", `"C$" is ambiguous (CAD or NIO)`],
  ["unknown code", "50 XYZ", `"XYZ" is not an active ISO 4217 currency code`],
  ["withdrawn code", "50 HRK", `"HRK" is not an active ISO 4217 currency code`],
  ["no-currency code", "5 XXX", "no currency is involved"],
  ["testing code", "5 XTS", "reserved for testing"],
  ["unknown symbol", "₿5", `"₿" is not a recognised currency symbol`],
  ["negative", "-5 USD", "the amount is negative"],
  ["negative after symbol", "$-5", "the amount is negative"],
  ["negative, unicode minus", "\u22125 EUR", "the amount is negative"],
  ["zero", "0 USD", `amount "0" must be greater than zero`],
  ["zero with decimals", "$0.0000", `amount "0.0000" must be greater than zero`],
  ["too many decimals", "1.23456 USD", "has 5 decimal places; at most 4"],
  ["too many integer digits", "123456789012345 USD", "has 15 digits before the decimal point"],
  ["bad grouping", "1,00 USD", "must group the digits before the point in threes"],
  ["two points", "1.2.3 USD", "is malformed"],
  ["no digit before point", ".5 USD", "is malformed"],
  ["no digit after point", "5. USD", "is malformed"],
  ["exponent", "1e5 USD", "expected an amount and a currency"],
  ["plus sign", "+5 USD", "expected an amount and a currency"],
  ["garbage", "lots of money", "expected an amount and a currency"],
  ["empty", "", "it is empty"],
  ["blank", "   ", "it is empty"],
  ["no currency", "100", "it names no currency"],
  ["no amount", "USD", "expected an amount and a currency"],
  ["currency on both sides", "USD 5 EUR", "names a currency on both sides"],
];

for (const [label, input, problem] of REJECTED) {
  Deno.test(`parseBudget refuses ${label}: ${JSON.stringify(input)}`, () => {
    const error = assertThrows(() => parseBudget(input), BudgetParseError);
    assertEquals(error.name, "BudgetParseError");
    assertEquals(error.input, input);
    assertStringIncludes(error.message, `Cannot parse budget ${JSON.stringify(input)}: `);
    assertStringIncludes(error.message, problem);
    assertStringIncludes(error.message, `Accepted forms: ${ACCEPTED_BUDGET_FORMS}`);
  });
}

Deno.test("parseBudget quotes a long input shortened", () => {
  const input = `${"9".repeat(200)} USD`;
  const error = assertThrows(() => parseBudget(input), BudgetParseError);
  assertStringIncludes(error.message, `"${"9".repeat(80)}…"`);
});

Deno.test("the ISO 4217 list is the active List One (177 codes)", () => {
  assertEquals(ISO_4217_CODES.size, 177);
  for (const code of ["USD", "EUR", "GBP", "JPY", "CNY", "CHF", "SLE", "VED", "XCG", "ZWG"]) {
    assertEquals(ISO_4217_CODES.has(code), true, code);
  }
  for (const code of ["HRK", "CUC", "SLL", "ZWL", "ANG", "BGN", "VEF", "MRO", "STD"]) {
    assertEquals(ISO_4217_CODES.has(code), false, code);
  }
  for (const [code, entry] of Object.entries(ISO_4217)) {
    assertEquals(/^[A-Z]{3}$/.test(code) && /^\d{3}$/.test(entry.numeric), true, code);
  }
});

Deno.test("compareBudgets compares exactly, equal scales or not", () => {
  const usd = (amount: string): Budget => ({ amount, currency: "USD" });
  assertEquals(compareBudgets(usd("10"), usd("10.00")), 0);
  assertEquals(compareBudgets(usd("10.0001"), usd("10")), 1);
  assertEquals(compareBudgets(usd("9.9999"), usd("10")), -1);
  assertEquals(compareBudgets(usd("007.5"), usd("7.50")), 0);
  // Beyond float precision: these two are the same double.
  assertEquals(compareBudgets(usd("99999999999999.9999"), usd("99999999999999.9998")), 1);
  assertEquals(Number("99999999999999.9999") === Number("99999999999999.9998"), true);
});

Deno.test("compareBudgets throws CurrencyMismatchError on different currencies", () => {
  const error = assertThrows(
    () => compareBudgets({ amount: "1", currency: "USD" }, { amount: "1", currency: "EUR" }),
    CurrencyMismatchError,
  );
  assertEquals(error.name, "CurrencyMismatchError");
  assertStringIncludes(error.message, `"1 USD" and "1 EUR"`);
  assertStringIncludes(error.message, "currencies USD and EUR differ");
});

Deno.test("compareBudgets refuses an amount outside the contract", () => {
  for (const amount of ["1e5", "-1", "1.23456", "", "1,000"]) {
    const error = assertThrows(
      () => compareBudgets({ amount, currency: "USD" }, { amount: "1", currency: "USD" }),
      BudgetParseError,
    );
    assertStringIncludes(error.message, `Cannot compare budget amount ${JSON.stringify(amount)}`);
  }
});

// ---- properties ----

/** A positive amount as canonical text: 1–14 integer digits, 0–4 decimal places. */
const amountParts = fc.tuple(
  fc.bigInt({ min: 0n, max: 99_999_999_999_999n }),
  fc.option(fc.stringMatching(/^\d{1,4}$/), { nil: undefined }),
).filter(([integer, fraction]) => integer > 0n || /[1-9]/.test(fraction ?? ""));

function group(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const currencies = fc.constantFrom(
  ...[...ISO_4217_CODES].filter((code) => code !== "XXX" && code !== "XTS"),
);

Deno.test(`property: every written form parses to the canonical budget (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      amountParts,
      currencies,
      fc.constantFrom("suffix", "prefix", "glued", "lower", "grouped", "zeros", "symbol"),
      ([integer, fraction], currency, form) => {
        const whole = integer.toString();
        const canonical = fraction === undefined ? whole : `${whole}.${fraction}`;
        const tail = fraction === undefined ? "" : `.${fraction}`;
        const symbol = { USD: "$", EUR: "€", GBP: "£" }[currency as "USD" | "EUR" | "GBP"];
        const text = {
          suffix: `${canonical} ${currency}`,
          prefix: `${currency} ${canonical}`,
          glued: `${canonical}${currency}`,
          lower: `${canonical} ${currency.toLowerCase()}`,
          grouped: `${group(whole)}${tail} ${currency}`,
          zeros: `000${canonical} ${currency}`,
          symbol: symbol ? `${symbol}${canonical}` : `${canonical} ${currency}`,
        }[form];
        assertEquals(parseBudget(text), { amount: canonical, currency });
        assertEquals(parseBudget(formatBudget({ amount: canonical, currency })), {
          amount: canonical,
          currency,
        });
      },
    ),
    { numRuns: RUNS },
  );
});

/** Independent oracle: compare by padding both amounts to 14.4 digits as text. */
function padded(amount: string): string {
  const [whole = "", fraction = ""] = amount.split(".");
  return `${whole.padStart(14, "0")}.${fraction.padEnd(4, "0")}`;
}

Deno.test(`property: compareBudgets agrees with a text oracle and is antisymmetric (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(amountParts, amountParts, ([ai, af], [bi, bf]) => {
      const a: Budget = { amount: af === undefined ? `${ai}` : `${ai}.${af}`, currency: "EUR" };
      const b: Budget = { amount: bf === undefined ? `${bi}` : `${bi}.${bf}`, currency: "EUR" };
      const pa = padded(a.amount);
      const pb = padded(b.amount);
      const expected = pa < pb ? -1 : pa > pb ? 1 : 0;
      assertEquals(compareBudgets(a, b), expected);
      assertEquals(compareBudgets(b, a), -expected || 0);
      assertEquals(compareBudgets(a, a), 0);
    }),
    { numRuns: RUNS },
  );
});

Deno.test(`property: parseBudget returns a Budget or throws BudgetParseError (${RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), (text) => {
      try {
        const budget = parseBudget(text);
        assertEquals(/^\d{1,14}(\.\d{1,4})?$/.test(budget.amount), true);
        assertEquals(ISO_4217_CODES.has(budget.currency), true);
      } catch (error) {
        assert(error instanceof BudgetParseError, String(error));
      }
    }),
    { numRuns: RUNS },
  );
});
