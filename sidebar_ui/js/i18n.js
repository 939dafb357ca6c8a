// Texts: the catalog /sidebar/ui/i18n/<language>.json (the core's and the plugins'), English as the fallback for any missing key.

const SUPPORTED = ["en", "fr", "it"];
let messages = {};
let fallback = {};
let language = "en";

export function languageOf(locale) {
  const primary = String(locale || "en").toLowerCase().split(/[-_]/)[0];
  return SUPPORTED.includes(primary) ? primary : "en";
}

export async function loadMessages(uiBase, locale) {
  language = languageOf(locale);
  fallback = await fetchJson(`${uiBase}/i18n/en.json`);
  messages = language === "en" ? fallback : { ...fallback, ...(await fetchJson(`${uiBase}/i18n/${language}.json`)) };
  document.documentElement.lang = language;
  return language;
}

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "omit" });
  if (!response.ok) throw new Error(`texts ${url}: ${response.status}`);
  return response.json();
}

export function has(key) {
  return key in messages || key in fallback;
}

// A text with {placeholders}; a text may be {"one": ..., "other": ...}, chosen for values.count by the
// language's plural rules.
export function t(key, values = {}) {
  let text = messages[key] ?? fallback[key] ?? key;
  if (text && typeof text === "object") {
    const count = Number(values.count);
    const form = Number.isNaN(count) ? "other" : new Intl.PluralRules(language).select(count);
    text = text[form] ?? text.other ?? key;
  }
  return String(text).replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

// The catalog's label for a value ("status.open"), or the value itself when none exists.
export function label(prefix, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${prefix}.${value}`;
  const text = t(key);
  return text === key ? String(value).replace(/_/g, " ") : text;
}

export function locale() {
  return language;
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatDay(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(language, { dateStyle: "medium" }).format(date);
}

// How many minor units a currency's major unit has, as a power of ten: 2 for EUR, 0 for JPY, 3 for KWD.
export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: currency || "EUR" })
      .resolvedOptions().maximumFractionDigits;
  } catch (error) {
    return 2;
  }
}

// Minor units (cents) of a currency as a formatted amount: {"money": 999, "currency": "EUR"} is 9,99 €.
export function formatMinorUnits(minor, currency) {
  const number = Number(minor);
  if (minor === null || minor === undefined || Number.isNaN(number)) return "";
  return formatMoney(number / 10 ** currencyDigits(currency), currency);
}

export function formatNumber(value) {
  const number = Number(value);
  return Number.isNaN(number) ? String(value) : new Intl.NumberFormat(language).format(number);
}

// Minor units as an agent types the amount in this language: 999 EUR is "9,99" in Italian, "9.99" in English
// (no symbol, no grouping), the way a money field shows its default.
export function moneyInput(minor, currency) {
  const number = Number(minor);
  if (minor === null || minor === undefined || minor === "" || Number.isNaN(number)) return "";
  const digits = currencyDigits(currency);
  return new Intl.NumberFormat(language, { minimumFractionDigits: digits, maximumFractionDigits: digits,
    useGrouping: false }).format(number / 10 ** digits);
}

// The currency's sign in this language and on which side of the amount it goes ("€" after in Italian).
export function currencySign(currency) {
  try {
    const parts = new Intl.NumberFormat(language, { style: "currency", currency: currency || "EUR" }).formatToParts(1);
    const sign = parts.findIndex((part) => part.type === "currency");
    return { sign: parts[sign].value, after: sign > parts.findIndex((part) => part.type === "integer") };
  } catch (error) {
    return { sign: currency || "", after: true };
  }
}

function separators() {
  const parts = new Intl.NumberFormat(language).formatToParts(12345.6);
  return { group: parts.find((part) => part.type === "group")?.value || ",",
    decimal: parts.find((part) => part.type === "decimal")?.value || "." };
}

// An amount as an agent types it, in major units, to integer minor units: "4,99", "4.99", "1.234,50",
// "1,234.50", "€ 4,99" and "4" all work whatever the language, because agents paste amounts from e-mails
// written in other conventions. Answers {minor} or {error: "not_an_amount" | "too_many_decimals" |
// "whole_amount", digits}. Integers only from here on: no float rounding reaches the amount sent.
export function parseMoney(input, currency) {
  const digits = currencyDigits(currency);
  let typed = String(input ?? "").replace(/[\s\u00a0\u202f'’]/g, "");
  for (const mark of [currencySign(currency).sign, currency || ""]) {
    if (mark) typed = typed.split(mark).join("").split(mark.toLowerCase()).join("");
  }
  if (!/^-?(\d|[.,]\d)[\d.,]*$/.test(typed)) return { error: "not_an_amount", digits };
  const negative = typed.startsWith("-");
  typed = typed.replace(/^-/, "");
  const dot = typed.lastIndexOf(".");
  const comma = typed.lastIndexOf(",");
  let decimal = null;
  if (dot >= 0 && comma >= 0) {
    decimal = dot > comma ? "." : ",";
  } else if (dot >= 0 || comma >= 0) {
    const mark = dot >= 0 ? "." : ",";
    const count = typed.split(mark).length - 1;
    const after = typed.length - typed.lastIndexOf(mark) - 1;
    // One mark before exactly three digits is ambiguous ("1.234"): a thousand when this language groups with
    // it or the currency has no decimals, a decimal point otherwise. Several of the same mark always group.
    const grouping = count > 1 || (after === 3 && (mark === separators().group || digits === 0));
    decimal = grouping ? null : mark;
  }
  const [whole, fraction = ""] = decimal ? [typed.slice(0, typed.lastIndexOf(decimal)),
    typed.slice(typed.lastIndexOf(decimal) + 1)] : [typed, ""];
  const groups = whole.split(/[.,]/);
  if (groups.length > 1 && (!/^\d{1,3}$/.test(groups[0]) || groups.slice(1).some((group) => !/^\d{3}$/.test(group)))) {
    return { error: "not_an_amount", digits };
  }
  if (!/^\d*$/.test(fraction)) return { error: "not_an_amount", digits };
  if (fraction.length > digits) return { error: digits === 0 ? "whole_amount" : "too_many_decimals", digits };
  const minor = Number(groups.join("") || "0") * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  if (!Number.isSafeInteger(minor)) return { error: "not_an_amount", digits };
  return { minor: negative ? -minor : minor };
}

export function formatMoney(amount, currency) {
  if (amount === null || amount === undefined || amount === "") return "";
  const number = Number(amount);
  if (Number.isNaN(number)) return String(amount);
  try {
    return new Intl.NumberFormat(language, { style: "currency", currency: currency || "EUR" }).format(number);
  } catch (error) {
    return `${number} ${currency || ""}`.trim();
  }
}

// "1 h 05 min", "12 min", "40 s": the sidebar's way to say a duration.
export function formatDuration(totalSeconds) {
  const seconds = Math.max(0, Math.round(totalSeconds));
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  // A zero part is left out: a target of a day reads "1 d", not "1 d 0 h".
  if (days > 0) return hours ? t("duration.days_hours", { days, hours }) : t("duration.days", { days });
  if (hours > 0 && minutes === 0 && seconds % 60 === 0) return t("duration.hours", { hours });
  if (hours > 0) return t("duration.hours_minutes", { hours, minutes: String(minutes).padStart(2, "0") });
  if (minutes > 0) return t("duration.minutes_seconds", { minutes, seconds: String(seconds % 60).padStart(2, "0") });
  return t("duration.seconds", { seconds });
}
