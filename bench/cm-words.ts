/**
 * `node dist/bench/cm-words.js [--corpus FILE[,FILE…]] [--notes] [--one N] [--two N] [--space] [--high] [--caps] [--cjk N]`: would a reversible
 * word-replacement transform in front of `cm` (paq8's and xwrt's "WRT": frequent words become one- or two-byte codes,
 * so the model's orders 2–4 span more text and fewer bytes are coded) pay? Measured, not adopted: docs/CM.md, "A word
 * transform in front of version 8".
 *
 * The split is cm-split's: the dev corpus's first 1500 records trained on and the other 500 coded one by one, or the
 * first three quarters of each plain-text file's paragraphs; with `--notes`, `npm run bench`'s second corpus: trained on
 * the whole dev corpus, coding each of the team's short notes (test/fixtures/entities*.json). The dictionary is the training text's most frequent ASCII
 * words (`[A-Za-z]+`, case kept; with `--space` a word takes the space before it along): the first `--one` get one-byte
 * codes, the next `--two` (three letters or more) two-byte codes. Code bytes are control bytes the texts do not use
 * (every byte below 0x20 but tab, newline and carriage return, and 0x7f; with `--high` also the bytes UTF-8 never
 * uses, 0xc0, 0xc1, 0xf5–0xff); the first is an escape that makes any of them in a text literal. With `--caps` the
 * second marks a capitalised word ("The": the mark, then "the" as a code or letters), so both spellings share a code.
 * `--cjk N` measures a second transform in place of the words: the training text's N × 64 most frequent characters of
 * three UTF-8 bytes (Chinese) become two-byte sequences shaped like UTF-8's (a lead 0xc0 + k >> 6, a continuation
 * 0x80 + k & 63), so orders 2–4 span more characters; a real two-byte character whose lead is taken is escaped. Each row trains
 * version 8 on the transformed training text, codes each transformed test record, checks that the transform inverts,
 * and reports payload bits per byte of the ORIGINAL text, beside the untransformed model in the same run. (A snapshot
 * would have to store the word list, a few hundred bytes once per namespace; it is not counted here.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { createCmCodec } from "../src/codec/cm.js";
import { encodeSnapshot } from "../src/codec/cm/snapshot.js";

const { values } = parseArgs({
  options: {
    corpus: { type: "string" },
    one: { type: "string" },
    two: { type: "string" },
    space: { type: "boolean" },
    caps: { type: "boolean" },
    cjk: { type: "string" },
    notes: { type: "boolean" },
    high: { type: "boolean" },
  },
});
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const corpora = (values.corpus ?? join(ROOT, "..", "shared", "corpus", "memories-dev.jsonl")).split(",");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Sample {
  text: string;
  lang: string;
}

const train: Sample[] = [];
const test: Sample[] = [];
for (const file of corpora) {
  if (file.endsWith(".jsonl")) {
    const records = readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { text: string; lang?: string })
      .map((r) => ({ text: r.text, lang: r.lang ?? "?" }));
    train.push(...(values.notes ? records : records.slice(0, 1500)));
    if (!values.notes) test.push(...records.slice(1500));
  } else {
    const paragraphs = readFileSync(file, "utf8")
      .split(/\r?\n\s*\r?\n/)
      .filter((p) => p.trim() !== "")
      .map((text) => ({ text, lang: "en" }));
    const n = Math.floor(paragraphs.length * 0.75);
    train.push(...paragraphs.slice(0, n));
    test.push(...paragraphs.slice(n));
  }
}

if (values.notes) {
  const fixtures = join(ROOT, "test", "fixtures");
  for (const file of readdirSync(fixtures).filter((f) => /^entities.*\.json$/.test(f)).sort()) {
    for (const note of JSON.parse(readFileSync(join(fixtures, file), "utf8")) as { text: string; language?: string }[]) {
      test.push({ text: note.text, lang: note.language ?? (/\p{Script=Han}/u.test(note.text) ? "zh" : "en") });
    }
  }
}

/** A word dictionary and the transform it defines. */
interface WordTransform {
  words: number;
  forward(text: string): Uint8Array;
  inverse(bytes: Uint8Array): string;
}

function wordTransform(samples: readonly Sample[], one: number, two: number, space: boolean, high: boolean, caps: boolean): WordTransform {
  const reserved: number[] = [];
  for (let b = 0; b < 0x20; b++) if (b !== 9 && b !== 10 && b !== 13) reserved.push(b);
  reserved.push(0x7f);
  if (high) reserved.push(0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff);
  const escape = reserved[0] as number;
  const capital = caps ? (reserved[1] as number) : -1;
  const first = caps ? 2 : 1;
  const singles = reserved.slice(first, first + one);
  const leads = reserved.slice(first + one);
  // "The" (and " The") is the capital mark with "the"; other spellings ("THE", "McDonald") stay as they are.
  const capitalised = (w: string): boolean => caps && /^ ?[A-Z][a-z]+$/.test(w);
  const key = (w: string): string => (capitalised(w) ? w.toLowerCase() : w);
  const isReserved = new Uint8Array(256);
  for (const b of reserved) isReserved[b] = 1;
  const isLead = new Uint8Array(256);
  for (const b of leads) isLead[b] = 1;
  const wordPattern = space ? / ?[A-Za-z]+/g : /[A-Za-z]+/g;

  const counts = new Map<string, number>();
  for (const s of samples)
    for (const [w] of s.text.matchAll(wordPattern)) {
      if (w.trim().length >= 2) counts.set(key(w), (counts.get(key(w)) ?? 0) + 1);
    }
  const ranked = [...counts].filter(([, n]) => n >= 2).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const codeOf = new Map<string, number[]>();
  let pairs = 0;
  for (const [w] of ranked) {
    if (codeOf.size < singles.length) codeOf.set(w, [singles[codeOf.size] as number]);
    else if (pairs < two && w.trim().length >= 3) {
      const lead = leads[pairs >> 8];
      if (lead === undefined) break;
      codeOf.set(w, [lead, pairs & 0xff]);
      pairs++;
    } else if (pairs >= two) break;
  }
  const wordOf = new Map([...codeOf].map(([w, code]) => [code.length === 1 ? (code[0] as number) : ((code[0] as number) << 8) | (code[1] as number), encoder.encode(w)]));

  return {
    words: codeOf.size,
    forward(text) {
      const out: number[] = [];
      const literal = (s: string): void => {
        for (const b of encoder.encode(s)) {
          if (isReserved[b]) out.push(escape);
          out.push(b);
        }
      };
      let last = 0;
      for (const m of text.matchAll(wordPattern)) {
        const code = codeOf.get(key(m[0]));
        if (code === undefined && !capitalised(m[0])) continue;
        literal(text.slice(last, m.index));
        if (capitalised(m[0])) out.push(capital);
        if (code === undefined) literal(key(m[0]));
        else out.push(...code);
        last = m.index + m[0].length;
      }
      literal(text.slice(last));
      return Uint8Array.from(out);
    },
    inverse(bytes) {
      const out: number[] = [];
      // After a capital mark, the first lower-case letter written is the word's first.
      let upper = false;
      const push = (byte: number): void => {
        if (upper && byte >= 0x61 && byte <= 0x7a) {
          out.push(byte - 0x20);
          upper = false;
        } else out.push(byte);
      };
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i] as number;
        if (b === escape) push(bytes[++i] as number);
        else if (b === capital) upper = true;
        else if (isReserved[b]) for (const c of wordOf.get(isLead[b] ? (b << 8) | (bytes[++i] as number) : b) ?? []) push(c);
        else push(b);
      }
      return decoder.decode(Uint8Array.from(out));
    },
  };
}

/** The `--cjk` transform: frequent three-byte characters as two bytes (see the header). */
function charTransform(samples: readonly Sample[], leads: number): WordTransform {
  const escape = 0x01;
  const counts = new Map<string, number>();
  for (const s of samples) {
    for (const ch of s.text) {
      const cp = ch.codePointAt(0) as number;
      if (cp >= 0x800 && cp <= 0xffff) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, leads * 64);
  const codeOf = new Map(ranked.map(([ch], k) => [ch, [0xc0 + (k >> 6), 0x80 + (k & 63)]]));
  const charOf = new Map([...codeOf].map(([ch, code]) => [((code[0] as number) << 8) | (code[1] as number), ch]));
  return {
    words: codeOf.size,
    forward(text) {
      const out: number[] = [];
      for (const ch of text) {
        const code = codeOf.get(ch);
        if (code) {
          out.push(...code);
          continue;
        }
        const bytes = encoder.encode(ch);
        if (bytes[0] === escape || (bytes.length === 2 && (bytes[0] as number) < 0xc0 + leads)) out.push(escape);
        out.push(...bytes);
      }
      return Uint8Array.from(out);
    },
    inverse(bytes) {
      let text = "";
      const literal: number[] = [];
      const flush = (): void => {
        text += decoder.decode(Uint8Array.from(literal));
        literal.length = 0;
      };
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i] as number;
        if (b === escape) {
          const n = (bytes[i + 1] as number) >= 0xc0 ? 2 : 1;
          for (let k = 1; k <= n; k++) literal.push(bytes[i + k] as number);
          i += n;
        } else if (b >= 0xc0 && b < 0xc0 + leads) {
          flush();
          text += charOf.get((b << 8) | (bytes[++i] as number)) ?? "";
        } else literal.push(b);
      }
      flush();
      return text;
    },
  };
}

const originalBytes = test.map((s) => encoder.encode(s.text).length);
const original = originalBytes.reduce((sum, n) => sum + n, 0);
const plain: WordTransform = { words: 0, forward: (text) => encoder.encode(text), inverse: (bytes) => decoder.decode(bytes) };
const rows: [string, WordTransform][] = [
  ["version 8", plain],
  values.cjk === undefined
    ? ["words", wordTransform(train, Number(values.one ?? 28), Number(values.two ?? 0), values.space === true, values.high === true, values.caps === true)]
    : ["characters", charTransform(train, Number(values.cjk))],
];
for (const [name, transform] of rows) {
  const coded = test.map((s) => transform.forward(s.text));
  coded.forEach((bytes, i) => {
    if (transform.inverse(bytes) !== (test[i] as Sample).text) throw new Error(`${name}: record ${i} does not invert`);
  });
  const snapshot = encodeSnapshot(train.map((s) => transform.forward(s.text)));
  const asset = { id: createHash("sha256").update(snapshot).digest("hex"), kind: "cm-snapshot" as const, bytes: snapshot };
  const codec = createCmCodec();
  codec.prepare?.(asset);
  const started = performance.now();
  const payloads = coded.map((bytes) => codec.encode(bytes, asset) as Uint8Array);
  const seconds = (performance.now() - started) / 1000;
  payloads.forEach((p, i) => {
    if (!Buffer.from(codec.decode(p, (coded[i] as Uint8Array).length, asset) as Uint8Array).equals(coded[i] as Uint8Array)) throw new Error(`${name}: record ${i} does not decode`);
  });
  const byLang: Record<string, number> = {};
  for (const lang of new Set(test.map((s) => s.lang))) {
    let bytes = 0;
    let payload = 0;
    test.forEach((s, i) => {
      if (s.lang !== lang) return;
      bytes += originalBytes[i] as number;
      payload += (payloads[i] as Uint8Array).length;
    });
    byLang[lang] = Number(((payload * 8) / bytes).toFixed(4));
  }
  const payloadBytes = payloads.reduce((sum, p) => sum + p.length, 0);
  const codedBytes = coded.reduce((sum, b) => sum + b.length, 0);
  console.log(
    JSON.stringify({
      row: name,
      words: transform.words,
      payloadBitsPerByte: Number(((payloadBytes * 8) / original).toFixed(4)),
      byLang,
      codedBytesPerByte: Number((codedBytes / original).toFixed(3)),
      encodeMBps: Number((original / 1e6 / seconds).toFixed(3)),
    }),
  );
}
