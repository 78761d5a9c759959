/** A non-negative decimal as Postgres `numeric(18,4)` holds it. */
export const DECIMAL_PATTERN = /^\d{1,14}(\.\d{1,4})?$/;

/** A decimal in ten-thousandths, exactly; throws a TypeError on anything else. */
export function scaledDecimal(text: string): bigint {
  if (typeof text !== "string" || !DECIMAL_PATTERN.test(text)) {
    throw new TypeError(
      `Cannot read ${JSON.stringify(text)} as a decimal with at most 14 digits and 4 places`,
    );
  }
  const [whole = "0", fraction = ""] = text.split(".");
  return BigInt(whole + fraction.padEnd(4, "0"));
}

/** Compares two decimals exactly: -1, 0 or 1 (`"10"` equals `"10.00"`). */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const left = scaledDecimal(a);
  const right = scaledDecimal(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Formats ten-thousandths as a decimal with 4 places: `12345n` is `"1.2345"`. */
export function formatScaled(scaled: bigint): string {
  const negative = scaled < 0n;
  const text = (negative ? -scaled : scaled).toString().padStart(5, "0");
  return `${negative ? "-" : ""}${text.slice(0, -4)}.${text.slice(-4)}`;
}
