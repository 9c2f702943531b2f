import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Language names for prompts, by the codes `detectLanguage` gives. */
const NAMES: Record<string, string> = {
  en: "English", zh: "Chinese", ja: "Japanese", ko: "Korean", de: "German", fr: "French", es: "Spanish", it: "Italian", pt: "Portuguese",
  nl: "Dutch", sv: "Swedish", da: "Danish", no: "Norwegian", fi: "Finnish", pl: "Polish", cs: "Czech", tr: "Turkish", ru: "Russian",
  uk: "Ukrainian", ar: "Arabic", he: "Hebrew", hi: "Hindi", th: "Thai", vi: "Vietnamese", id: "Indonesian", el: "Greek",
};

/** Languages the detector may answer for Latin and Cyrillic text (tinyld's guesses beyond these are mostly noise on short texts). */
const CANDIDATES = ["en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "tr", "vi", "id", "ru", "uk"];
const ENGLISH_WORDS = new Set(
  "the a an to of and or in on at for from with by is are was were be been it this that these my our your their we you they he she i not no after before until about as if when".split(" "),
);

/**
 * For the shortcut below: function words of English that are not words of the other Latin-script
 * languages above (unlike "a", "i", "in", "no", "on", "is", "to", "of", "was" …), and frequent
 * function words of those languages; a text with one of the latter goes to tinyld.
 */
const ENGLISH_ONLY_WORDS = new Set(
  "the and with this that these those were are been from you your they their them when about after before until which would could should there what have has had not but will than then because while".split(" "),
);
const OTHER_LANGUAGE_WORDS = new Set(
  "de la le les des du au aux el los las del un una uno unos il lo gli della con per che non sono est et tu nous vous ils une que qui pas pour avec sur dans das dos uma com em nas nos por para mas het een en van ik zijn niet der und ist nicht ich wir sie ein eine mit auf zu dem och att jag det ett som inte og ikke jeg si".split(" "),
);

type Tinyld = { detectAll(text: string, options?: { only?: string[] }): { lang: string; accuracy: number }[] };
let tinyld: Tinyld | undefined;

/**
 * The language of a memory's text as an ISO 639-1 code ("en", "zh", …) or "und" when it cannot
 * tell (too few letters). Scripts decide first: Han (with no kana) is Chinese, kana Japanese,
 * Hangul Korean, even inside English words and code; a text counts as Chinese when its Han
 * characters are at least a quarter of its Latin letters. Latin and Cyrillic text goes to
 * tinyld (n-gram statistics, no network); a short text it is unsure of counts as English when it
 * has English function words.
 */
export function detectLanguage(text: string, options: { englishShortcut?: boolean } = {}): string {
  const prose = proseOf(text);
  const count = (pattern: RegExp) => prose.match(pattern)?.length ?? 0;
  const han = count(/\p{Script=Han}/gu);
  const kana = count(/[\p{Script=Hiragana}\p{Script=Katakana}]/gu);
  const hangul = count(/\p{Script=Hangul}/gu);
  const latin = count(/\p{Script=Latin}/gu);
  const cyrillic = count(/\p{Script=Cyrillic}/gu);
  if (kana >= 2 && kana + han >= latin / 4) return "ja";
  if (hangul >= 2 && hangul >= latin / 4) return "ko";
  if (han >= 2 && han >= latin / 4) return "zh";
  for (const [code, pattern] of [["ar", /\p{Script=Arabic}/gu], ["he", /\p{Script=Hebrew}/gu], ["hi", /\p{Script=Devanagari}/gu], ["th", /\p{Script=Thai}/gu], ["el", /\p{Script=Greek}/gu]] as const) {
    if (count(pattern) >= Math.max(2, latin)) return code;
  }
  if (latin + cyrillic < 3) return han > 0 ? "zh" : "und";
  const words = prose.toLowerCase().match(/\p{L}+/gu) ?? [];
  if (options.englishShortcut !== false && plainlyEnglish(words)) return "en";
  tinyld ??= require("tinyld") as Tinyld;
  const [best] = tinyld.detectAll(prose.slice(0, 600));
  if (best && best.accuracy >= 0.5 && CANDIDATES.includes(best.lang)) return best.lang;
  if (words.some((w) => ENGLISH_WORDS.has(w))) return "en";
  if (cyrillic > latin) return "ru";
  return "und";
}

/** Tokens (runs of non-space) that are identifiers, paths, URLs, emails or numbers: one of these characters, a dot or colon before a word character, or a digit. */
const CODE_TOKEN = /[/@_=`{}<>\\]|[.:]\w|\d/;

/**
 * The text with identifiers, URLs, emails and numbers blanked (they say nothing about the language of the prose
 * around them); in such a token with Han characters only its Latin letters and digits are blanked. Token by token,
 * so the work is linear in the text (a single pattern `\S*X\S*` backtracks quadratically through a long run without X).
 */
export function proseOf(text: string): string {
  return text.replace(/\S+/g, (token) => (!CODE_TOKEN.test(token) ? token : /\p{Script=Han}/u.test(token) ? token.replace(/[\p{Script=Latin}\d]/gu, " ") : " "));
}

/**
 * Loads tinyld and its n-gram tables now instead of at the first text that needs them (about 0.2–0.35 s
 * of CPU, which that text's write would pay): a long-lived process (`memzip worker`) calls it
 * before it takes work. An English sentence does not do it: the shortcut below answers it.
 */
export function loadLanguageDetector(): void {
  tinyld ??= require("tinyld") as Tinyld;
  tinyld.detectAll("Der Arbeiter lädt seine Spracherkennung, bevor er Arbeit annimmt.");
}

/** Whether tinyld has been loaded in this process (by `loadLanguageDetector` or a text that needed it). */
export function languageDetectorLoaded(): boolean {
  return tinyld !== undefined;
}

/**
 * Prose whose letters are all ASCII, with no frequent function word of another Latin-script
 * language, whose words are at least a fifth English function words (three or more, one of them
 * English only) is English, without asking tinyld: its n-gram scoring was ~40 % of a
 * write's CPU (`memzip import`, `memzip worker`). On the dev corpus it changes no answer but for
 * English records that tinyld calls another language (test/semantic/language.test.ts; Italian,
 * Spanish, Portuguese, Dutch and French without accents still go to tinyld).
 * `detectLanguage(text, { englishShortcut: false })` skips it.
 */
function plainlyEnglish(words: readonly string[]): boolean {
  let english = 0;
  let englishOnly = 0;
  for (const word of words) {
    if (!/^[a-z]+$/.test(word) || OTHER_LANGUAGE_WORDS.has(word)) return false;
    if (ENGLISH_WORDS.has(word)) english++;
    if (ENGLISH_ONLY_WORDS.has(word)) englishOnly++;
  }
  return englishOnly >= 1 && english >= 3 && english * 5 >= words.length;
}

/** "Chinese (zh)" for prompts; the code alone when it has no name here. */
export function languageName(code: string): string {
  const name = NAMES[code];
  return name ? `${name} (${code})` : code;
}
