// Texts: the catalog /sidebar/ui/i18n/<language>.json (the core's and the plugins'), English as the fallback for any missing key.

const SUPPORTED = ["en", "it"];
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

// Minor units (cents) of a currency as a formatted amount: {"money": 999, "currency": "EUR"} is 9,99 €.
export function formatMinorUnits(minor, currency) {
  const number = Number(minor);
  if (minor === null || minor === undefined || Number.isNaN(number)) return "";
  let digits = 2;
  try {
    digits = new Intl.NumberFormat("en", { style: "currency", currency: currency || "EUR" })
      .resolvedOptions().maximumFractionDigits;
  } catch (error) {
    digits = 2;
  }
  return formatMoney(number / 10 ** digits, currency);
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
  if (days > 0) return t("duration.days_hours", { days, hours });
  if (hours > 0) return t("duration.hours_minutes", { hours, minutes: String(minutes).padStart(2, "0") });
  if (minutes > 0) return t("duration.minutes_seconds", { minutes, seconds: String(seconds % 60).padStart(2, "0") });
  return t("duration.seconds", { seconds });
}
